/**
 * Secure-flow figures (issue #6), on one system with a local layer (irmd,
 * ipcpd-local in layer `lo`, bench/system.ts BenchSystem) whose irmd reads
 * a configuration directory with a test CA and the files of the name
 * `bench.local` (server certificate CN=bench.local, client certificate
 * CN=bench.client, both ECDSA P-256):
 *
 *   oap.alloc.p256          TARGET: median flow allocation time with OAP
 *                           authenticating both sides (ECDSA P-256
 *                           certificates) and an ECDHE P-256 key exchange
 *                           (enc.conf `kex = prime256v1`, the default
 *                           cipher aes-256-gcm), under 5 ms. Its baseline
 *                           column is that 5 ms budget, so the ratio is
 *                           met at ≤ 1.
 *   oap.alloc.plain         the same allocation with no security file (OAP
 *                           still runs, with nothing to sign, check or derive)
 *   oap.alloc.auth          certificates, no encryption
 *   oap.alloc.kex.<kex>     certificates and enc.conf `kex = <kex>`, for the
 *                           other key exchanges
 *   oap.goodput.<cipher>    TARGET: goodput of a flow encrypted with
 *                           <cipher> at least 0.5 of the same flow
 *                           unencrypted, 1400-byte writes as fast as the flow
 *                           takes them, best of alternating rounds; the note
 *                           gives each side's CPU time per packet
 *
 * (the info rows' ratio is to oap.alloc.plain, measured in the same rounds).
 * Every allocation goes through ipcpd-local: the server's flowAccept is
 * issued only once irmd has logged the allocation (so no accepter is waiting
 * when irmd looks for one, which would make the flow direct) and lands
 * while irmd queries and asks the IPCP; each flow is checked in irmd's log
 * to have gone through the layer. The allocation figures allocate and
 * accept in this process (one context: irmd takes one per process). The
 * goodput figures write from this process to a sink program (this script
 * with --sink, bound to `bench.oap.sink`): each side encrypts or decrypts
 * on its own core, as two programs do (ipcpd-local hands the flow over to a
 * direct link between them once it is allocated).

 * Run with the other figures by `npm run bench` (see the hook in
 * bench/main.ts), or alone: `node dist/bench/oap.js [--quick] [--json]
 * [--only REGEX] [--rounds N]`.
 */
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect, type Flow, type Process } from '../src/lib/index.js';
import { createTestCa, writeCredentials, writeEncConf } from '../src/irmd/oap/testca.js';
import { KEXES } from '../src/lib/crypt/nid.js';
import { Child, removeDir, tempDir } from './proc.js';
import { BIN, BenchSystem, NAME_LOCAL, snapshot } from './system.js';
import { standaloneOptions, table, type Row } from './common.js';

/** A figure, in the bench's Row shape. */
export type OapRow = Row;

export interface OapBenchOptions {
  quick?: boolean;
  json?: boolean;
  only?: RegExp | undefined;
  rounds?: number;
  progress?: (s: string) => void;
}

/** The budget for an allocation with P-256 on a local layer. */
const ALLOC_BUDGET_MS = 5;
/** Encrypted goodput at least this share of the unencrypted flow's. */
const GOODPUT_TARGET = 0.5;
const CIPHERS = ['aes-256-gcm', 'chacha20-poly1305', 'aes-128-gcm', 'aes-256-ctr'] as const;
const SDU = 1400;
/** The goodput figures' name, registered in layer `lo` and bound to the sink process. */
const NAME_SINK = 'bench.oap.sink';
const P256 = 'prime256v1';
const OTHER_KEXES = KEXES.map((k) => k.name).filter((k) => k !== P256);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/** The figure names, for --only. */
export function oapFigureNames(): string[] {
  return [
    'oap.alloc.p256',
    'oap.alloc.plain',
    'oap.alloc.auth',
    ...OTHER_KEXES.map((k) => `oap.alloc.kex.${k}`),
    ...CIPHERS.map((c) => `oap.goodput.${c}`),
  ];
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

class Bed {
  private constructor(
    readonly sys: BenchSystem,
    readonly cfg: string,
    readonly sec: string,
    /** This process's one context (irmd takes one per process): it allocates and accepts. */
    readonly proc: Process,
    /** The receiving program of the goodput figures (this script with --sink). */
    readonly sink: Child,
  ) {}

  static async start(): Promise<Bed> {
    const cfg = tempDir(mkdtempSync(join(tmpdir(), 'o7s-bench-oap-')));
    const sec = join(cfg, 'security');
    const ca = createTestCa({ dir: sec });
    writeCredentials(sec, 'server', NAME_LOCAL, ca.make(NAME_LOCAL));
    writeCredentials(sec, 'client', NAME_LOCAL, ca.make('bench.client'));
    // irmd reads this configuration directory (it inherits the environment).
    const before = process.env.OUROBOROS_CONFIG_DIR;
    process.env.OUROBOROS_CONFIG_DIR = cfg;
    let sys: BenchSystem;
    try {
      sys = await BenchSystem.start();
    } finally {
      if (before === undefined) delete process.env.OUROBOROS_CONFIG_DIR;
      else process.env.OUROBOROS_CONFIG_DIR = before;
    }
    let proc: Process | undefined;
    let sink: Child | undefined;
    try {
      proc = await connect({ rundir: sys.rundir, prog: 'oap-bench' });
      await sys.irm(['bind', 'process', String(process.pid), 'name', NAME_LOCAL]);
      const script = existsSync(join(dirname(BIN.peer), 'oap.js')) ? join(dirname(BIN.peer), 'oap.js') : fileURLToPath(import.meta.url);
      sink = Child.spawn('oap sink', [script, '--sink', sys.rundir], sys.env);
      const ready = await sink.event('ready', 15000);
      await sys.irm(['name', 'create', NAME_SINK]);
      await sys.irm(['name', 'register', NAME_SINK, 'layer', 'lo']);
      await sys.irm(['bind', 'process', String(ready.pid), 'name', NAME_SINK]);
      return new Bed(sys, cfg, sec, proc, sink);
    } catch (e) {
      // irmd stops the processes it knows when it stops: leave first.
      await sink?.stop(2000, 'SIGKILL');
      await proc?.close().catch(() => {});
      await sys.stop();
      removeDir(cfg);
      throw e;
    }
  }

  /**
   * Security configuration of both roles, read by irmd at the next
   * allocation: certificates or not (set aside as crt.pem.off), and the
   * enc.conf text (undefined: no enc.conf).
   */
  configure(auth: boolean, enc: string | undefined, name = NAME_LOCAL): void {
    for (const role of ['server', 'client'] as const) {
      const dir = join(this.sec, role, name);
      const on = join(dir, 'crt.pem');
      const off = `${on}.off`;
      if (!auth && existsSync(on)) renameSync(on, off);
      if (auth && existsSync(off)) renameSync(off, on);
      if (enc === undefined) rmSync(join(dir, 'enc.conf'), { force: true });
      else writeEncConf(this.sec, role, name, enc);
    }
  }

  /**
   * Allocates a flow to NAME_LOCAL through ipcpd-local and accepts it; the
   * time is the client's flowAlloc, call to return.
   */
  async alloc(): Promise<{ ms: number; client: Flow; server: Flow }> {
    const irmd = this.sys.irmd;
    const from = this.sys.log.length;
    const t0 = performance.now();
    const allocating = this.proc.flowAlloc(NAME_LOCAL, { timeout: 10_000 }).then(
      (f) => ({ f, ms: performance.now() - t0 }),
      (e: unknown) => ({ e }),
    );
    // irmd has looked for a waiting accepter (none) when it logs this; accept now.
    const logged = await Promise.race([irmd.waitFor(new RegExp(`Allocating flow for \\d+ to ${esc(NAME_LOCAL)}`), 5000, from), allocating]);
    if ('e' in logged) throw logged.e;
    const accepting = this.proc.flowAccept({ timeout: 10_000 });
    const a = await allocating;
    if ('e' in a) {
      accepting.then((f) => f.dealloc(), () => {});
      throw a.e;
    }
    const server = await accepting;
    await irmd.waitFor(new RegExp(`Flow ${server.id} accepted by \\d+ for ${esc(NAME_LOCAL)}`), 3000, from);
    if (/allocated \(direct\)/.test(this.sys.log.slice(from))) throw new Error('the flow was allocated direct, not through ipcpd-local');
    return { ms: a.ms, client: a.f, server };
  }

  /** One allocation and deallocation; ms. */
  async allocMs(): Promise<number> {
    const a = await this.alloc();
    await Promise.all([a.client.dealloc(), a.server.dealloc()]);
    return a.ms;
  }

  /**
   * Sends 1400-byte SDUs for `durMs` to the sink process over a fresh flow
   * through ipcpd-local; Mb/s the sink got (first to last byte).
   */
  async goodput(durMs: number): Promise<{ mbps: number; cipher: string | undefined; sinkCipher: string | undefined; cpuUsPerPkt: { writer: number; sink: number } }> {
    const irmd = this.sys.irmd;
    const from = this.sys.log.length;
    const seen = this.sink.events.length;
    const allocating = this.proc.flowAlloc(NAME_SINK, { timeout: 10_000 });
    allocating.catch(() => {});
    await Promise.race([irmd.waitFor(new RegExp(`Allocating flow for \\d+ to ${esc(NAME_SINK)}`), 5000, from), allocating]);
    this.sink.send('accept');
    const f = (await allocating) as Flow & { tryWrite?: (d: Uint8Array) => boolean };
    const next = (ev: string): Promise<Record<string, unknown>> =>
      this.sink.until(`sink event "${ev}"`, () => this.sink.events.slice(seen).find((e) => e.ev === ev || e.ev === 'error'), 15000).then((e) => {
        if (e.ev === 'error') throw new Error(`sink: ${String(e.message)}`);
        return e;
      });
    const accepted = await next('flow');
    if (/allocated \(direct\)/.test(this.sys.log.slice(from))) throw new Error('the flow was allocated direct, not through ipcpd-local');
    const buf = Buffer.alloc(SDU, 0x5a);
    const cpu0 = process.cpuUsage();
    const end = performance.now() + durMs;
    let n = 0;
    while (performance.now() < end) {
      if (!f.tryWrite?.(buf)) await f.write(buf);
      if (++n % 64 === 0) await new Promise<void>((r) => setImmediate(r));
    }
    const cpu = process.cpuUsage(cpu0);
    await new Promise((r) => setTimeout(r, 300)); // the tail
    const cipher = f.cipher;
    await f.dealloc();
    const done = await next('done');
    const bytes = Number(done.bytes);
    const ms = Number(done.ms);
    return {
      mbps: ms > 0 ? (bytes * 8) / 1e3 / ms : 0,
      cipher,
      sinkCipher: accepted.cipher === null ? undefined : String(accepted.cipher),
      cpuUsPerPkt: { writer: (cpu.user + cpu.system) / n, sink: Number(done.cpuUs) / (bytes / SDU) },
    };
  }

  get healthy(): boolean {
    return this.sys.healthy;
  }

  async stop(): Promise<void> {
    await this.sink.stop(2000, 'SIGKILL');
    // irmd stops the processes it knows when it stops: leave first.
    await this.proc.close().catch(() => {});
    await this.sys.stop();
    removeDir(this.cfg);
  }
}

interface AllocCase {
  name: string;
  auth: boolean;
  enc: string | undefined;
}

/** Runs the figures `only` selects; prints JSON lines when asked; returns the rows. */
export async function oapBench(opts: OapBenchOptions = {}): Promise<OapRow[]> {
  const names = oapFigureNames().filter((n) => !opts.only || opts.only.test(n));
  if (names.length === 0) return [];
  const say = opts.progress ?? ((s: string) => process.stderr.write(`${s}\n`));
  const rounds = opts.rounds && opts.rounds > 0 ? opts.rounds : opts.quick ? 1 : 3;
  const allocs = opts.quick ? 7 : 11;
  const durMs = opts.quick ? 600 : 1200;
  const rows: OapRow[] = [];
  const goodputRow = (name: string): boolean => name.startsWith('oap.goodput.');
  const targetOf = (name: string): { info: boolean; target: number } =>
    name === 'oap.alloc.p256' ? { info: false, target: 1 } : goodputRow(name) ? { info: false, target: GOODPUT_TARGET } : { info: true, target: 0 };
  const failed = (name: string, error: string): OapRow => (say(`  ${name}: ERROR ${error.split('\n')[0]}`), {
    name,
    o7s: null,
    baseline: null,
    unit: goodputRow(name) ? 'Mb/s' : 'ms',
    ratio: null,
    note: '',
    error,
    kind: goodputRow(name) ? 'goodput' : 'rtt',
    ...targetOf(name),
  });
  let bed: Bed;
  try {
    bed = await Bed.start();
  } catch (e) {
    const error = `cannot start the system: ${e instanceof Error ? e.message : String(e)}`;
    return names.map((name) => failed(name, error));
  }
  const emit = (r: OapRow): void => {
    rows.push(r);
    if (opts.json) process.stdout.write(`${JSON.stringify({ name: r.name, o7s: r.o7s, baseline: r.baseline, unit: r.unit, ratio: r.ratio })}\n`);
  };
  const p90 = (xs: number[]): string => quantile(xs, 0.9).toFixed(1);
  try {
    // Warm-up: the first allocations load the CA and get irmd's, the IPCP's and our code compiled.
    for (let i = 0; i < (opts.quick ? 4 : 10); i++) {
      bed.configure(true, `kex = ${P256}\n`);
      await bed.allocMs();
      bed.configure(false, undefined);
      await bed.allocMs();
    }

    // Allocation: plain, auth and P-256 in the same rounds; each other key exchange beside plain.
    const main: AllocCase[] = [
      { name: 'oap.alloc.plain', auth: false, enc: undefined },
      { name: 'oap.alloc.auth', auth: true, enc: undefined },
      { name: 'oap.alloc.p256', auth: true, enc: `kex = ${P256}\n` },
    ];
    const plain = main[0]!;
    const measureCases = async (cases: AllocCase[]): Promise<Map<string, number[]>> => {
      const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
      for (let r = 0; r < rounds; r++) {
        for (const c of cases) {
          bed.configure(c.auth, c.enc);
          for (let i = 0; i < allocs; i++) times.get(c.name)!.push(await bed.allocMs());
        }
      }
      return times;
    };
    let plainTimes: number[] = [];
    if (main.some((c) => names.includes(c.name))) {
      say('  oap.alloc.{p256,plain,auth} ...');
      try {
        const t = await measureCases(main);
        plainTimes = t.get(plain.name)!;
        const pm = median(plainTimes);
        const am = median(t.get('oap.alloc.auth')!);
        const p256 = t.get('oap.alloc.p256')!;
        const km = median(p256);
        if (names.includes('oap.alloc.p256')) {
          emit({
            name: 'oap.alloc.p256',
            o7s: km,
            baseline: ALLOC_BUDGET_MS,
            unit: 'ms',
            ratio: km / ALLOC_BUDGET_MS,
            note: `median of ${p256.length} (p90 ${p90(p256)} ms); baseline is the ${ALLOC_BUDGET_MS} ms budget; plain ${pm.toFixed(2)} ms, auth ${am.toFixed(2)} ms`,
            kind: 'rtt',
            target: 1,
          });
        }
        for (const c of main.slice(0, 2)) {
          if (!names.includes(c.name)) continue;
          const xs = t.get(c.name)!;
          const m = median(xs);
          emit({ name: c.name, o7s: m, baseline: pm, unit: 'ms', ratio: m / pm, note: `median of ${xs.length} (p90 ${p90(xs)} ms); baseline oap.alloc.plain`, info: true, kind: 'rtt', target: 0 });
        }
      } catch (e) {
        for (const c of main) if (names.includes(c.name)) emit(failed(c.name, String(e)));
      }
    }
    for (const k of OTHER_KEXES) {
      const name = `oap.alloc.kex.${k}`;
      if (!names.includes(name)) continue;
      say(`  ${name} ...`);
      try {
        const t = await measureCases([plain, { name, auth: true, enc: `kex = ${k}\n` }]);
        const xs = t.get(name)!;
        const pm = median(t.get(plain.name)!);
        const m = median(xs);
        emit({ name, o7s: m, baseline: pm, unit: 'ms', ratio: m / pm, note: `certificates + ${k}: median of ${xs.length} (p90 ${p90(xs)} ms); baseline oap.alloc.plain`, info: true, kind: 'rtt', target: 0 });
      } catch (e) {
        emit({ ...failed(name, String(e)), info: true });
      }
    }

    for (const c of CIPHERS) {
      const name = `oap.goodput.${c}`;
      if (!names.includes(name)) continue;
      say(`  ${name} ...`);
      try {
        const o: number[] = [];
        const b: number[] = [];
        const cpuO = { writer: [] as number[], sink: [] as number[] };
        const cpuB = { writer: [] as number[], sink: [] as number[] };
        for (let r = 0; r < rounds; r++) {
          bed.configure(false, undefined, NAME_SINK);
          const pl = await bed.goodput(durMs);
          if (pl.cipher !== undefined || pl.sinkCipher !== undefined) throw new Error('the plain flow is encrypted');
          b.push(pl.mbps);
          cpuB.writer.push(pl.cpuUsPerPkt.writer);
          cpuB.sink.push(pl.cpuUsPerPkt.sink);
          bed.configure(false, `cipher = ${c}\n`, NAME_SINK);
          const enc = await bed.goodput(durMs);
          if (enc.cipher !== c || enc.sinkCipher !== c) throw new Error(`the flow used ${enc.cipher}/${enc.sinkCipher}, not ${c}`);
          o.push(enc.mbps);
          cpuO.writer.push(enc.cpuUsPerPkt.writer);
          cpuO.sink.push(enc.cpuUsPerPkt.sink);
        }
        const om = Math.max(...o);
        const bm = Math.max(...b);
        emit({
          name,
          o7s: om,
          baseline: bm,
          unit: 'Mb/s',
          ratio: om / bm,
          note:
            `best of ${rounds}, ${SDU} B: encrypted ${o.map((x) => x.toFixed(0)).join('/')} plain ${b.map((x) => x.toFixed(0)).join('/')} Mb/s; ` +
            `CPU per packet (median): writer ${median(cpuO.writer).toFixed(1)} us encrypted, ${median(cpuB.writer).toFixed(1)} plain; ` +
            `sink ${median(cpuO.sink).toFixed(1)} us encrypted, ${median(cpuB.sink).toFixed(1)} plain`,
          kind: 'goodput',
          target: GOODPUT_TARGET,
        });
      } catch (e) {
        emit(failed(name, String(e)));
      }
    }
  } finally {
    if (!bed.healthy) say(`  warning: the bench system stopped during the OAP figures:\n${bed.sys.log.slice(-2000)}`);
    await bed.stop();
  }
  return rows;
}

/**
 * The receiving program of the goodput figures: `oap.js --sink RUNDIR`.
 * Prints {"ev":"ready","pid"}; on each `accept` line from stdin accepts one
 * flow ({"ev":"flow","cipher"}), reads it until the sender deallocates and
 * prints {"ev":"done","bytes","ms"} (first to last byte). Leaves at the end
 * of stdin.
 */
async function sinkMain(rundir: string): Promise<void> {
  const out = (o: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
  const proc = await connect({ rundir, prog: 'oap-bench-sink' });
  out({ ev: 'ready', pid: process.pid });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() !== 'accept') continue;
    try {
      const f = await proc.flowAccept({ timeout: 10_000 });
      out({ ev: 'flow', cipher: f.cipher ?? null });
      const cpu0 = process.cpuUsage();
      let bytes = 0;
      let first = 0;
      let last = 0;
      try {
        for (;;) {
          const p = await f.read();
          const now = performance.now();
          if (bytes === 0) first = now;
          last = now;
          bytes += p.length;
        }
      } catch {
        /* the sender deallocated */
      }
      const cpu = process.cpuUsage(cpu0);
      await f.dealloc().catch(() => {});
      out({ ev: 'done', bytes, ms: last - first, cpuUs: cpu.user + cpu.system });
    } catch (e) {
      out({ ev: 'error', message: e instanceof Error ? e.message : String(e) });
    }
  }
  await proc.close();
  process.exit(0);
}

// Standalone: node dist/bench/oap.js [--quick] [--json] [--only REGEX] [--rounds N]
const sinkAt = process.argv.indexOf('--sink');
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && sinkAt >= 0) {
  sinkMain(process.argv[sinkAt + 1]!).catch((e: unknown) => {
    process.stdout.write(`${JSON.stringify({ ev: 'error', message: e instanceof Error ? e.message : String(e) })}\n`);
    process.exit(1);
  });
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const o: OapBenchOptions = standaloneOptions(process.argv.slice(2));
  snapshot();
  oapBench(o).then(
    (rows) => {
      const text = table(rows);
      if (o.json) process.stderr.write(`${text}\n`);
      else process.stdout.write(`${text}\n`);
      process.exit(rows.some((r) => r.error) ? 1 : 0);
    },
    (e: unknown) => {
      process.stderr.write(`bench oap: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
