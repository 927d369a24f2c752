/**
 * `npm run bench [-- [--json] [--only REGEX] [--rounds N] [--quick] [--relay]]`
 *
 * Measures o7s flows (through ipcpd-local, and direct between two programs)
 * against raw Unix stream sockets between two Node processes, in the same
 * run, and prints each figure with its ratio o7s / baseline and whether the
 * target is met. See bench/README.md.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerArgs } from './bench-peer.js';
import { Child, cpuNs, killAll, removeDir, tempDir } from './proc.js';
import { BIN, BenchSystem, NAME_DIRECT, NAME_LOCAL } from './system.js';

type Path = 'local' | 'direct';
type Kind = 'rtt' | 'pps';

interface Figure {
  name: string;
  path: Path;
  kind: Kind;
  size: number;
}

interface Row {
  name: string;
  o7s: number | null;
  baseline: number | null;
  unit: string;
  ratio: number | null;
  /** Spread and extra detail for the table. */
  note: string;
  error?: string;
  /** Informational: no target. */
  info?: boolean;
}

const TARGET = {
  /** o7s RTT at most this times the raw pair's. */
  rtt: 1.3,
  /** o7s packets/s at least this times the raw batched pair's. */
  pps: 0.5,
};

const FIGURES: Figure[] = [];
for (const path of ['local', 'direct'] as const)
  for (const kind of ['rtt', 'pps'] as const) for (const size of [64, 1400]) FIGURES.push({ name: `${path}.${kind}.${size}`, path, kind, size });

interface Options {
  json: boolean;
  only: RegExp | undefined;
  rounds: number;
  quick: boolean;
  relay: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { json: false, only: undefined, rounds: 0, quick: false, relay: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') o.json = true;
    else if (a === '--quick') o.quick = true;
    else if (a === '--relay') o.relay = true;
    else if (a === '--only' && argv[i + 1]) o.only = new RegExp(argv[++i]!);
    else if (a === '--rounds' && argv[i + 1]) o.rounds = Math.max(1, Number(argv[++i]) | 0);
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run bench [-- [--json] [--only REGEX] [--rounds N] [--quick] [--relay]]\n');
      process.exit(0);
    } else {
      process.stderr.write(`bench: unknown argument ${a}\n`);
      process.exit(2);
    }
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const progress = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

/** Measurement sizes: bounded in count and in time. */
const RTT = opts.quick ? { warm: 300, count: 2000, ms: 1000 } : { warm: 1000, count: 5000, ms: 1500 };
const PPS = opts.quick ? { warmMs: 200, durMs: 600 } : { warmMs: 300, durMs: 1000 };
/** Short alternating rounds, best of each side: the machine is shared and noisy. */
const ROUNDS = { rtt: opts.rounds || (opts.quick ? 1 : 3), pps: opts.rounds || (opts.quick ? 1 : 3) };
const STEP_MS = 15000;

function peer(name: string, a: PeerArgs, env?: NodeJS.ProcessEnv): Child {
  return Child.spawn(name, [BIN.peer, JSON.stringify(a)], env);
}

function peerArgs(kind: Kind, size: number, server: boolean): Omit<PeerArgs, 'role'> {
  const maxMs = kind === 'rtt' ? RTT.ms + 3000 : PPS.warmMs + PPS.durMs + 4000;
  if (kind === 'rtt') return server ? { mode: 'echo', size, maxMs } : { mode: 'ping', size, warm: RTT.warm, count: RTT.count, maxMs };
  return server ? { mode: 'sink', size, warmMs: PPS.warmMs, durMs: PPS.durMs, maxMs } : { mode: 'flood', size, maxMs };
}

/** Waits for the result of peer `c`, failing at once on an error of either peer. */
function result(c: Child, other: Child, ms: number): Promise<Record<string, unknown>> {
  const check = (p: Child): void => {
    const err = p.events.find((e) => e.ev === 'error');
    if (err) throw new Error(`${p.name}: ${String(err.message)}`);
  };
  // The other peer's output also wakes the wait.
  const poke = (): void => c.poke();
  other.proc.stdout?.on('data', poke);
  other.proc.once('exit', poke);
  return c
    .until(
      'a result',
      () => {
        check(other);
        check(c);
        return c.events.find((e) => e.ev === 'result');
      },
      ms,
    )
    .finally(() => other.proc.stdout?.off('data', poke));
}

interface Sample {
  value: number;
  detail: Record<string, unknown>;
  /** CPU time per packet (pps) or per round trip (rtt), µs, by process role. */
  cpu: Record<string, number>;
}

/**
 * Reads the CPU time of `pids` when `meter` starts its measured window and
 * when it reports its result.
 */
function cpuWatch(meter: Child, pids: Record<string, number | undefined>): () => Record<string, number> {
  const start: Record<string, number> = {};
  const end: Record<string, number> = {};
  const read = (into: Record<string, number>): void => {
    for (const [k, pid] of Object.entries(pids)) if (pid !== undefined) into[k] = cpuNs(pid);
  };
  meter.onEvent = (e) => {
    if (e.ev === 'window') read(start);
    else if (e.ev === 'result') read(end);
  };
  return () => {
    const d: Record<string, number> = {};
    for (const k of Object.keys(start)) if (end[k] !== undefined) d[k] = end[k]! - start[k]!;
    return d;
  };
}

function sampleOf(kind: Kind, r: Record<string, unknown>, cpu: Record<string, number>): Sample {
  const per = Number(kind === 'rtt' ? r.n : r.packets);
  const cpuPer: Record<string, number> = {};
  for (const [k, ns] of Object.entries(cpu)) cpuPer[k] = ns / 1000 / per;
  return { value: Number(kind === 'rtt' ? r.median : r.pps), detail: r, cpu: cpuPer };
}

/** One o7s measurement: a server and a client process on a flow of `sys`. */
async function o7sOnce(sys: BenchSystem, f: Figure): Promise<Sample> {
  const name = f.path === 'local' ? NAME_LOCAL : NAME_DIRECT;
  const base = { rundir: sys.rundir, name };
  const server = peer(`o7s server (${f.name})`, { role: 'o7s-server', ...base, ...peerArgs(f.kind, f.size, true), acceptNow: f.path === 'direct' });
  let client: Child | undefined;
  try {
    const ready = await server.event('ready', STEP_MS);
    await sys.irm(['bind', 'process', String(ready.pid), 'name', name]);
    if (f.path === 'direct') await server.event('accepting', STEP_MS);
    const from = sys.log.length;
    client = peer(`o7s client (${f.name})`, { role: 'o7s-client', ...base, ...peerArgs(f.kind, f.size, false) });
    if (f.path === 'local') {
      // Nobody accepts yet: irmd went to the local IPCP, which now waits for an accepter.
      const re = new RegExp(`Flow request arrived for ${name.replace('.', '\\.')}`);
      const c = client;
      const poke = (): void => sys.irmd.poke();
      c.proc.stdout?.on('data', poke);
      c.proc.once('exit', poke);
      try {
        await sys.irmd.until(
          `"Flow request arrived for ${name}" in the log`,
          () => {
            const err = c.events.find((e) => e.ev === 'error');
            if (err) throw new Error(`${c.name}: ${String(err.message)}`);
            if (!c.running) throw new Error(`${c.name} exited: ${c.out}${c.err}`);
            return re.test(sys.log.slice(from)) || undefined;
          },
          STEP_MS,
        );
      } finally {
        c.proc.stdout?.off('data', poke);
      }
      server.send('accept');
    }
    const meter = f.kind === 'rtt' ? client : server;
    const cpu = cpuWatch(meter, { client: client.pid, ...(f.path === 'local' ? { ipcp: sys.ipcpPid } : {}), server: server.pid });
    const cf = await client.event('flow', STEP_MS);
    const sf = await server.event('flow', STEP_MS);
    // Check which way the flow went.
    if (f.path === 'direct') {
      await sys.irmd.waitFor(new RegExp(`Flow ${Number(cf.id)} allocated \\(direct\\)`), 3000, from);
    } else {
      await sys.irmd.waitFor(new RegExp(`Flow ${Number(sf.id)} accepted by \\d+ for ${name.replace('.', '\\.')}`), 3000, from);
      if (new RegExp(`Flow (${Number(cf.id)}|${Number(sf.id)}) allocated \\(direct\\)`).test(sys.log.slice(from))) {
        throw new Error(`${f.name}: the flow was allocated direct, not through ipcpd-local`);
      }
    }
    const r = f.kind === 'rtt' ? await result(client, server, STEP_MS + 10000) : await result(server, client, STEP_MS + 10000);
    return sampleOf(f.kind, r, cpu());
  } finally {
    await Promise.all([client?.stop(2000, 'SIGKILL'), server.stop(2000, 'SIGKILL')]);
    strays(client, server);
  }
}

/** Warns about peers that got a SIGTERM nobody in the bench sent. */
function strays(...peers: (Child | undefined)[]): void {
  for (const p of peers) if (p?.events.some((e) => e.ev === 'sigterm')) progress(`  warning: ${p.name} (pid ${p.pid}) received a SIGTERM from outside the bench`);
}

/**
 * One baseline measurement: two processes on a raw Unix stream socket, or
 * with `relay` three: client, an ideal relay, server.
 */
async function rawOnce(f: Figure, relay = false): Promise<Sample> {
  const dir = tempDir(mkdtempSync(join(tmpdir(), 'o7s-bench-raw-')));
  const path = join(dir, 'raw.sock');
  const server = peer(`raw server (${f.name})`, { role: 'raw-server', path, ...peerArgs(f.kind, f.size, true) });
  let mid: Child | undefined;
  let client: Child | undefined;
  try {
    await server.event('ready', STEP_MS);
    let at = path;
    if (relay) {
      at = join(dir, 'relay.sock');
      mid = peer(`raw relay (${f.name})`, { role: 'raw-relay', path: at, to: path, ...peerArgs(f.kind, f.size, true) });
      await mid.event('ready', STEP_MS);
    }
    client = peer(`raw client (${f.name})`, { role: 'raw-client', path: at, ...peerArgs(f.kind, f.size, false) });
    const cpu = cpuWatch(f.kind === 'rtt' ? client : server, { client: client.pid, ...(mid ? { relay: mid.pid } : {}), server: server.pid });
    const r = f.kind === 'rtt' ? await result(client, server, STEP_MS + 10000) : await result(server, client, STEP_MS + 10000);
    return sampleOf(f.kind, r, cpu());
  } finally {
    await Promise.all([client?.stop(2000, 'SIGKILL'), mid?.stop(2000, 'SIGKILL'), server.stop(2000, 'SIGKILL')]);
    strays(client, mid, server);
    removeDir(dir);
  }
}

/** Best of the rounds: lowest RTT, highest rate. */
function best(kind: Kind, s: Sample[]): Sample {
  return s.reduce((a, b) => (kind === 'rtt' ? (b.value < a.value ? b : a) : b.value > a.value ? b : a));
}

function met(kind: Kind, ratio: number | null): boolean {
  if (ratio === null || !Number.isFinite(ratio)) return false;
  return kind === 'rtt' ? ratio <= TARGET.rtt : ratio >= TARGET.pps;
}

function fmt(v: number | null, unit: string): string {
  if (v === null || !Number.isFinite(v)) return '-';
  if (unit === 'pkt/s') return v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : `${(v / 1e3).toFixed(0)} k`;
  return v.toFixed(1);
}

function cpuNote(s: Sample): string {
  const parts = Object.entries(s.cpu).map(([k, us]) => `${k} ${us.toFixed(us < 10 ? 2 : 1)}`);
  return parts.length ? `cpu us/${'n' in s.detail ? 'rtt' : 'pkt'}: ${parts.join(' ')}` : '';
}

function note(kind: Kind, o: Sample, b: Sample): string {
  const d = (s: Sample): string => (kind === 'rtt' ? `p10 ${Number(s.detail.p10).toFixed(0)} p90 ${Number(s.detail.p90).toFixed(0)}; ` : '') + cpuNote(s);
  return `o7s ${d(o)} | raw ${d(b)}`;
}

async function measure(sys: BenchSystem, f: Figure): Promise<Row[]> {
  const unit = f.kind === 'rtt' ? 'us' : 'pkt/s';
  const withRelay = opts.relay && f.path === 'local';
  const os: Sample[] = [];
  const bs: Sample[] = [];
  const rs: Sample[] = [];
  try {
    for (let r = 0; r < ROUNDS[f.kind]; r++) {
      os.push(await o7sOnce(sys, f));
      bs.push(await rawOnce(f));
      if (withRelay) rs.push(await rawOnce(f, true));
    }
  } catch (e) {
    let error = e instanceof Error ? e.message : String(e);
    if (!sys.healthy) error = `irmd or ipcpd-local is gone (irmd exit ${sys.irmd.proc.exitCode ?? sys.irmd.proc.signalCode ?? 'none: running'}); ${error}\n--- irmd log (tail) ---\n${sys.log.split('\n').slice(-25).join('\n')}`;
    if (process.env.BENCH_DEBUG) progress(`--- irmd log ---\n${sys.log}\n---`);
    return [{ name: f.name, o7s: null, baseline: null, unit, ratio: null, note: '', error }];
  }
  const o = best(f.kind, os);
  const b = best(f.kind, bs);
  const rows: Row[] = [{ name: f.name, o7s: o.value, baseline: b.value, unit, ratio: o.value / b.value, note: note(f.kind, o, b) }];
  if (withRelay) {
    const r = best(f.kind, rs);
    rows.push({ name: `${f.name}/relay`, o7s: o.value, baseline: r.value, unit, ratio: o.value / r.value, note: `relay ${cpuNote(r)}`, info: true });
  }
  return rows;
}

function table(rows: Row[]): string {
  const head = ['figure', 'o7s', 'baseline', 'unit', 'ratio', 'target', 'met'];
  const body = rows.map((r) => {
    const kind = r.name.includes('.rtt.') ? 'rtt' : 'pps';
    const target = r.info ? 'info' : kind === 'rtt' ? `<= ${TARGET.rtt}` : `>= ${TARGET.pps}`;
    const ok = r.error ? 'ERROR' : r.info ? '' : met(kind, r.ratio) ? 'yes' : 'NO';
    return [r.name, fmt(r.o7s, r.unit), fmt(r.baseline, r.unit), r.unit, r.ratio === null ? '-' : r.ratio.toFixed(2), target, ok];
  });
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  const out = [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)];
  for (const r of rows) {
    if (r.note) out.push(`  ${r.name}: ${r.note}`);
    if (r.error) out.push(`  ${r.name}: ERROR ${r.error.split('\n').slice(0, 40).join('\n    ')}`);
  }
  return out.join('\n');
}

async function main(): Promise<number> {
  const figures = FIGURES.filter((f) => !opts.only || opts.only.test(f.name));
  if (figures.length === 0) {
    progress('bench: no figure matches --only');
    return 2;
  }
  const t0 = Date.now();
  progress(`o7s bench: ${figures.length} figures, node ${process.version}`);
  let sys = await BenchSystem.start();
  const rows: Row[] = [];
  try {
    for (const f of figures) {
      progress(`  ${f.name} ...`);
      let result = await measure(sys, f);
      if (!sys.healthy) {
        // Something outside the bench stopped irmd or the IPCP (seen on shared machines): once more on a fresh system.
        progress(`  irmd or ipcpd-local went away during ${f.name} (${result[0]?.error?.split('\n')[0] ?? 'no error'}); retrying on a new system`);
        await sys.stop();
        sys = await BenchSystem.start();
        result = await measure(sys, f);
      }
      for (const row of result) {
        rows.push(row);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ name: row.name, o7s: row.o7s, baseline: row.baseline, unit: row.unit, ratio: row.ratio })}\n`);
        }
      }
    }
  } finally {
    await sys.stop();
  }
  const text = table(rows);
  if (opts.json) progress(text);
  else process.stdout.write(`${text}\n`);
  progress(`bench done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return rows.some((r) => r.error) ? 1 : 0;
}

main().then(
  (code) => {
    killAll();
    process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    killAll();
    process.exit(1);
  },
);
