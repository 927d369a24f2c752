/**
 * Unicast-layer figures (issue #4): a line of four o7s systems s1 - s2 - s3
 * - s4, each an irmd with an ipcpd-udp4 (layer `udp`, one loopback address
 * each, one port) and an ipcpd-unicast (layer `uni`) enrolled over it, with
 * a management and a data transfer connection per link. Flows over the
 * unicast layer cross 1 (s1 -> s2), 2 (s1 -> s3) or 3 (s1 -> s4) unicast
 * hops; each figure's baseline is a flow over the udp4 layer beneath between
 * the same two systems (s1 -> sN: one UDP hop), measured in the same run in
 * alternating rounds, best round of each side kept.
 *
 *   unicast.rtt.1hop     median RTT (64 B) s1 -> s2 over `uni`  vs over `udp`    ratio <= 1.5
 *   unicast.rtt.3hop     the same s1 -> s4                      vs over `udp`    (info)
 *   unicast.rtt.hop      what each extra hop adds: (3hop - 1hop) / 2
 *                        vs the RTT of the udp4 flow (the hop it rides on)      ratio <= 1
 *   unicast.pps.1400     packets/s received, s1 -> s2 flood     vs over `udp`    ratio >= 0.8
 *   unicast.pps.transit  packets/s forwarded by s2's unicast IPCP (its DT
 *                        `forwarded` counter) for a 1400 B flood s1 -> s3,
 *                        absolute: the baseline column is the target, 200 k    ratio >= 1
 *
 * Run with the other figures by `npm run bench` (hook in bench/main.ts), or
 * alone: `node dist/bench/unicast.js [--quick] [--json] [--only REGEX]
 * [--rounds N]`.
 */
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IrmClient } from '../src/lib/irm-client.js';
import { IpcpControl } from '../src/irmd/ipcp-control.js';
import { ipcp_msg_code } from '../src/proto/gen/ipcp_pb.js';
import { HashAlgo, hashName } from '../src/common/hash.js';
import type { PeerArgs } from './bench-peer.js';
import { Child, adopt, alive, cpuNs, killAll, removeDir, tempDir, udpDrops } from './proc.js';
import { BIN, BenchSystem, snapshot } from './system.js';
import { fmt, peer, result, standaloneOptions, table, type Row } from './common.js';

type Kind = 'rtt' | 'pps';

/** A figure, in the bench's Row shape. */
export type UnicastRow = Row;

export interface UnicastBenchOptions {
  quick?: boolean;
  json?: boolean;
  only?: RegExp | undefined;
  rounds?: number;
  progress?: (s: string) => void;
}

/** The figures, in the order they are measured (the per-hop one is computed from the two RTTs). */
export const UNICAST_FIGURES = ['unicast.rtt.1hop', 'unicast.rtt.3hop', 'unicast.rtt.hop', 'unicast.pps.1400', 'unicast.pps.transit', 'unicast.pps.transit.cpu'] as const;

const TARGET = { rtt1: 1.5, hop: 1.0, pps: 0.8, transit: 1.0 };
/** Packets/s a transit IPCP must forward (1400 B). */
export const TRANSIT_TARGET_PPS = 200_000;
const RTT_SIZE = 64;
const PPS_SIZE = 1400;
const N = 4;
const STEP_MS = 15000;

const LAYER_UNI = 'uni';
const LAYER_UDP = 'udp';
const ipcpName = (i: number): string => `bench-uni-s${i + 1}`;
/** The server names on system i: one in each layer. */
export const flowName = (layer: 'uni' | 'udp', i: number): string => `bench.${layer}.s${i + 1}`;

// ------------------------------------------------------------------ the line

/** Extra bootstrap arguments for the unicast layer, for experiments (e.g. BENCH_UNI_BOOTSTRAP='congestion none'). */
const uniExtra = (): string[] => (process.env.BENCH_UNI_BOOTSTRAP ?? '').split(/\s+/).filter(Boolean);

/** What `irm ipcp inspect` tells of a unicast IPCP (the parts used here). */
interface UniState {
  address?: number;
  pff?: { dst: number }[];
  flows?: unknown;
  neighbours?: unknown;
  counters?: Counters;
}
type Counters = Record<string, Record<string, number> | undefined>;

interface Node {
  sys: BenchSystem;
  ip: string;
  udpPid: number;
  uniPid: number;
  client: IrmClient;
}

export class Line {
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly nodes: Node[],
    /** Every system started (also those that failed before becoming a node). */
    private readonly systems: BenchSystem[],
  ) {}

  static async start(): Promise<Line> {
    for (let attempt = 1; ; attempt++) {
      const net = `127.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
      const port = 20000 + Math.floor(Math.random() * 20000);
      try {
        return await Line.startAt(net, port);
      } catch (e) {
        if (attempt >= 3 || !/cannot bind|EADDRINUSE/.test(String(e))) throw e;
      }
    }
  }

  private static async startAt(net: string, port: number): Promise<Line> {
    const dir = tempDir(mkdtempSync(join(tmpdir(), 'o7s-bench-uni-')));
    const hosts = join(dir, 'hosts');
    writeFileSync(hosts, '# o7s bench unicast line\n');
    const started = await Promise.allSettled(Array.from({ length: N }, (_, i) => BenchSystem.bare(`irmd (uni s${i + 1})`)));
    const systems = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    const nodes: Node[] = [];
    const line = new Line(dir, port, nodes, systems);
    if (failed) {
      await Promise.all(systems.map((s) => s.stop()));
      removeDir(dir);
      throw failed.reason;
    }
    try {
      await Promise.all(
        systems.map(async (sys, i) => {
          const ip = `${net}.${i + 1}`;
          await sys.bootstrap(['type', 'udp4', 'name', 'udp', 'layer', LAYER_UDP, 'ip', ip, 'port', String(port), 'hosts', hosts], 'udp');
          nodes[i] = { sys, ip, udpPid: sys.ipcpPid ?? 0, uniPid: 0, client: await IrmClient.connect(sys.rundir) };
        }),
      );
      const publish = async (i: number): Promise<void> => {
        const n = nodes[i]!;
        n.uniPid = (await n.client.listIpcps()).find((p) => p.name === ipcpName(i))?.pid ?? 0;
        if (!n.uniPid) throw new Error(`no unicast IPCP on s${i + 1}`);
        adopt(n.uniPid, 'ipcpd');
        await n.sys.irm(['name', 'create', ipcpName(i)]).catch(() => '');
        await n.sys.irm(['name', 'register', ipcpName(i), 'layer', LAYER_UDP]);
        appendFileSync(hosts, `${n.ip} ${ipcpName(i)}\n`);
      };
      await nodes[0]!.sys.irm(['ipcp', 'bootstrap', 'type', 'unicast', 'name', ipcpName(0), 'layer', LAYER_UNI, 'autobind', ...uniExtra()]);
      await publish(0);
      for (let i = 1; i < N; i++) {
        await line.retry(i, ['ipcp', 'enroll', 'name', ipcpName(i), 'layer', LAYER_UNI, 'dst', ipcpName(i - 1), 'type', 'unicast', 'autobind']);
        await publish(i);
      }
      for (let i = 1; i < N; i++) await line.retry(i - 1, ['ipcp', 'connect', 'name', ipcpName(i - 1), 'dst', ipcpName(i)]);
      // Server names: s2..s4 in both layers (udp names resolved through the hosts file).
      for (let i = 1; i < N; i++) {
        const n = nodes[i]!;
        for (const layer of ['uni', 'udp'] as const) {
          await n.sys.irm(['name', 'create', flowName(layer, i)]);
          await n.sys.irm(['name', 'register', flowName(layer, i), 'layer', layer === 'uni' ? LAYER_UNI : LAYER_UDP]);
        }
        appendFileSync(hosts, `${n.ip} ${flowName('udp', i)}\n`);
      }
      await line.converged();
      for (let i = 1; i < N; i++) await line.resolvable(0, flowName('uni', i));
    } catch (e) {
      await line.stop();
      throw e;
    }
    return line;
  }

  /** `irm ARGS` on node i, again a few times when it fails (an enrollment may race the routes). */
  private async retry(i: number, args: string[], attempts = 5): Promise<void> {
    for (let k = 1; ; k++) {
      try {
        await this.nodes[i]!.sys.irm(args);
        return;
      } catch (e) {
        if (k >= attempts) throw e;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  }

  async inspect(i: number): Promise<UniState> {
    const n = this.nodes[i]!;
    return (await n.client.inspectIpcp(n.uniPid)) as UniState;
  }

  /** Until every node has a route to every other. */
  private async converged(ms = 30000): Promise<void> {
    const addrs: number[] = [];
    for (let i = 0; i < N; i++) addrs.push(Number((await this.inspect(i)).address));
    const end = Date.now() + ms;
    for (;;) {
      let ok = true;
      for (let i = 0; i < N && ok; i++) {
        const dsts = new Set(((await this.inspect(i)).pff ?? []).map((e) => e.dst));
        for (let j = 0; j < N; j++) if (j !== i && !dsts.has(addrs[j]!)) ok = false;
      }
      if (ok) return;
      if (Date.now() > end) throw new Error('the unicast line did not converge (routes to every node)');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Until node i's unicast IPCP resolves `name` (asking it as irmd does). */
  private async resolvable(i: number, name: string, ms = 20000): Promise<void> {
    const n = this.nodes[i]!;
    const ctl = await IpcpControl.open(n.sys.rundir, n.uniPid);
    try {
      const end = Date.now() + ms;
      for (;;) {
        const r = await ctl.call({ code: ipcp_msg_code.IPCP_QUERY, hash: hashName(HashAlgo.SHA3_256, name) }, 5000).catch(() => undefined);
        if (r?.result === 0) return;
        if (Date.now() > end) throw new Error(`${name} is not resolvable from s${i + 1}`);
        await new Promise((res) => setTimeout(res, 200));
      }
    } finally {
      ctl.close();
    }
  }

  get healthy(): boolean {
    return this.nodes.length === N && this.nodes.every((n) => n.sys.healthy && alive(n.uniPid));
  }

  /** The tail of each irmd's log (for errors). */
  tails(): string {
    return this.nodes.map((n, i) => `--- s${i + 1} irmd log (tail) ---\n${n.sys.log.split('\n').slice(-15).join('\n')}`).join('\n');
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) n?.client.close();
    await Promise.all(this.systems.map((s) => s.stop()));
    // irmd stops its IPCPs; make sure of the unicast ones (BenchSystem knows the udp4 one).
    for (const n of this.nodes) if (n?.uniPid && alive(n.uniPid)) process.kill(n.uniPid, 'SIGKILL');
    removeDir(this.dir);
  }
}

// ------------------------------------------------------------------ one measurement

interface Sizes {
  rtt: { warm: number; count: number; ms: number };
  pps: { warmMs: number; durMs: number };
}

function peerArgs(sz: Sizes, kind: Kind, size: number, server: boolean): Omit<PeerArgs, 'role'> {
  // A peer stops maxMs after it started, whatever it is doing: room for a slow allocation (the
  // far name is looked up in the DHT, twice) and slow round trips over 3 hops on a busy machine.
  // The count bounds a ping's measurement, the sink's window its flood.
  const maxMs = kind === 'rtt' ? sz.rtt.ms + 15000 : sz.pps.warmMs + sz.pps.durMs + 12000;
  if (kind === 'rtt') return server ? { mode: 'echo', size, maxMs } : { mode: 'ping', size, warm: sz.rtt.warm, count: sz.rtt.count, maxMs };
  return server ? { mode: 'sink', size, warmMs: sz.pps.warmMs, durMs: sz.pps.durMs, maxMs, seq: true } : { mode: 'flood', size, maxMs, seq: true };
}



interface Sample {
  value: number;
  detail: Record<string, unknown>;
  /** CPU µs per round trip / per packet received, by process. */
  cpu: Record<string, number>;
  /** Transit: packets/s forwarded by the middle IPCP, and its counters' deltas. */
  transit?: { pps: number; dt: Record<string, number> };
  /** Drops (deltas over the window) in the unicast IPCPs: dt queueDrops, fa noRoute (next hop full), fa windowDrops. */
  drops?: string;
}

const DROP_KEYS: [string, string][] = [
  ['dt', 'queueDrops'],
  ['fa', 'noRoute'],
  ['fa', 'windowDrops'],
];

/**
 * One flow from s1 to s(dst+1) over layer `layer`: a server bound to the
 * layer's name on the far system, a client on s1, CPU time of every process
 * on the path over the measured window. `transit`: also the forwarding rate
 * of node `transit`'s unicast IPCP over the window.
 */
async function flowOnce(line: Line, sz: Sizes, layer: 'uni' | 'udp', dst: number, kind: Kind, size: number, transit?: number): Promise<Sample> {
  const s = line.nodes[0]!;
  const d = line.nodes[dst]!;
  const name = flowName(layer, dst);
  const server = peer(`o7s server (${layer} s${dst + 1})`, { role: 'o7s-server', rundir: d.sys.rundir, name, ...peerArgs(sz, kind, size, true), acceptNow: true });
  let client: Child | undefined;
  try {
    const ready = await server.event('ready', STEP_MS);
    await d.sys.irm(['bind', 'process', String(ready.pid), 'name', name]);
    await server.event('accepting', STEP_MS);
    client = peer(`o7s client (${layer} s1)`, { role: 'o7s-client', rundir: s.sys.rundir, name, ...peerArgs(sz, kind, size, false) });
    // Every process on the path, in order.
    const pids: [string, number][] = [['client', client.pid]];
    if (layer === 'udp') pids.push(['udp1', s.udpPid], [`udp${dst + 1}`, d.udpPid]);
    else for (let i = 0; i <= dst; i++) pids.push([`uni${i + 1}`, line.nodes[i]!.uniPid], [`udp${i + 1}`, line.nodes[i]!.udpPid]);
    pids.push(['server', server.pid]);
    const meter = kind === 'rtt' ? client : server;
    const t0: Record<string, number> = {};
    const t1: Record<string, number> = {};
    let sock0 = NaN;
    let sock1 = NaN;
    const counters = async (): Promise<{ at: number; c: Counters[] }> => {
      const c = layer === 'uni' ? await Promise.all(line.nodes.slice(0, dst + 1).map((_, i) => line.inspect(i).then((r) => r.counters ?? {}))) : [];
      return { at: performance.now(), c };
    };
    let c0: Promise<{ at: number; c: Counters[] }> | undefined;
    let c1: Promise<{ at: number; c: Counters[] }> | undefined;
    meter.onEvent = (e) => {
      if (e.ev === 'window') {
        for (const [k, pid] of pids) t0[k] = cpuNs(pid);
        sock0 = udpDrops(d.ip, line.port);
        if (kind === 'pps') c0 = counters();
      } else if (e.ev === 'result') {
        for (const [k, pid] of pids) t1[k] = cpuNs(pid);
        sock1 = udpDrops(d.ip, line.port);
        if (kind === 'pps') c1 = counters();
      }
    };
    const tAlloc = performance.now();
    await client.event('flow', STEP_MS);
    const sf = await server.event('flow', STEP_MS);
    if (process.env.BENCH_DEBUG) process.stderr.write(`${layer} flow s1 -> s${dst + 1} allocated in ${(performance.now() - tAlloc).toFixed(0)} ms\n`);
    // The flow must have come through the layer asked for.
    const flows = await d.client.listFlows();
    const f = flows.find((x) => x.id === Number(sf.id));
    const want = layer === 'uni' ? d.uniPid : d.udpPid;
    if (!f || f.n1Pid !== want) throw new Error(`flow ${String(sf.id)} to ${name} is carried by ${f ? (f.direct ? 'no IPCP (direct)' : `pid ${f.n1Pid}`) : 'nothing known'}, not the ${layer} IPCP (pid ${want})`);
    const r = kind === 'rtt' ? await result(client, server, STEP_MS + 10000) : await result(server, client, STEP_MS + 10000);
    if (process.env.BENCH_DEBUG && layer === 'uni') {
      // Each unicast IPCP's flows (congestion avoidance state) and counters, for a figure that looks wrong.
      for (let i = 0; i <= dst; i++) {
        const s = await line.inspect(i);
        process.stderr.write(`s${i + 1} uni: flows ${JSON.stringify(s.flows)}\n  counters dt ${JSON.stringify(s.counters?.dt)} fa ${JSON.stringify(s.counters?.fa)}\n  neighbours ${JSON.stringify(s.neighbours)}\n`);
      }
    }
    const per = Number(kind === 'rtt' ? r.n : r.packets);
    const cpu: Record<string, number> = {};
    for (const [k] of pids) if (t0[k] !== undefined && t1[k] !== undefined) cpu[k] = (t1[k]! - t0[k]!) / 1000 / per;
    const sample: Sample = { value: Number(kind === 'rtt' ? r.median : r.pps), detail: r, cpu };
    if (Number.isFinite(sock1 - sock0)) sample.detail.sockDrops = sock1 - sock0;
    if (c0 && c1) {
      const [a, b] = await Promise.all([c0, c1]);
      const parts: string[] = [];
      for (let i = 0; i < b.c.length; i++) {
        for (const [g, k] of DROP_KEYS) {
          const n = Number(b.c[i]?.[g]?.[k] ?? 0) - Number(a.c[i]?.[g]?.[k] ?? 0);
          if (n > 0) parts.push(`uni${i + 1} ${g}.${k} ${n}`);
        }
      }
      sample.drops = parts.join(', ');
      if (transit !== undefined) {
        const dt: Record<string, number> = {};
        const end = b.c[transit]?.dt ?? {};
        for (const k of Object.keys(end)) dt[k] = Number(end[k]) - Number(a.c[transit]?.dt?.[k] ?? 0);
        sample.transit = { pps: (dt.forwarded ?? 0) / ((b.at - a.at) / 1000), dt };
        const fwd = dt.forwarded ?? 0;
        // Per packet forwarded, for the transit system's processes.
        for (const k of [`uni${transit + 1}`, `udp${transit + 1}`]) if (t0[k] !== undefined && t1[k] !== undefined && fwd > 0) sample.cpu[`${k}/fwd`] = (t1[k]! - t0[k]!) / 1000 / fwd;
      }
    }
    return sample;
  } catch (e) {
    if (process.env.BENCH_DEBUG && layer === 'uni') {
      for (let i = 0; i <= dst; i++) {
        const st = await line.inspect(i).catch(() => undefined);
        process.stderr.write(`s${i + 1} uni after the failure: flows ${JSON.stringify(st?.flows)}\n  counters ${JSON.stringify(st?.counters)}\n  neighbours ${JSON.stringify(st?.neighbours)}\n`);
      }
    }
    throw e;
  } finally {
    await Promise.all([client?.stop(2000, 'SIGKILL'), server.stop(2000, 'SIGKILL')]);
  }
}

/**
 * The 1-hop unicast flow's shape without o7s in it: raw client → relay →
 * relay → UDP → relay → relay → raw server, a Node process per IPCP that
 * only forwards (`raw-relay` for a unicast IPCP, `udp-relay` for a udp4 one),
 * on two more addresses of the line's network and its port. The RTT a
 * layer of processes would have if its IPCPs did no work.
 */
async function chainOnce(line: Line, sz: Sizes): Promise<Sample> {
  const dir = tempDir(mkdtempSync(join(tmpdir(), 'o7s-bench-unichain-')));
  const net = line.nodes[0]!.ip.replace(/\.\d+$/, '');
  const [ipC, ipS] = [`${net}.11`, `${net}.12`];
  const at = (n: string): string => join(dir, `${n}.sock`);
  const args = (server: boolean): Omit<PeerArgs, 'role'> => peerArgs(sz, 'rtt', RTT_SIZE, server);
  const started: Child[] = [];
  const start = async (name: string, a: PeerArgs): Promise<Child> => {
    const c = peer(`${name} (unicast chain)`, a);
    started.push(c);
    await c.event('ready', STEP_MS);
    return c;
  };
  try {
    await start('raw server', { role: 'raw-server', path: at('server'), ...args(true) });
    await start('uni relay s', { role: 'raw-relay', path: at('uni-s'), to: at('server'), ...args(true) });
    await start('udp relay s', { role: 'udp-relay', to: at('uni-s'), ip: ipS, port: line.port, peerIp: ipC, peerPort: line.port, ...args(true) });
    await start('udp relay c', { role: 'udp-relay', path: at('udp-c'), ip: ipC, port: line.port, peerIp: ipS, peerPort: line.port, ...args(true) });
    await start('uni relay c', { role: 'raw-relay', path: at('uni-c'), to: at('udp-c'), ...args(true) });
    const client = peer('raw client (unicast chain)', { role: 'raw-client', path: at('uni-c'), ...args(false) });
    started.push(client);
    const r = await result(client, started[0]!, STEP_MS + 10000);
    return { value: Number(r.median), detail: r, cpu: {} };
  } finally {
    await Promise.all(started.map((c) => c.stop(2000, 'SIGKILL')));
    removeDir(dir);
  }
}

// ------------------------------------------------------------------ figures


function cpuNote(s: Sample, unit: string): string {
  const parts = Object.entries(s.cpu).map(([k, us]) => `${k} ${us.toFixed(us < 10 ? 2 : 1)}`);
  return parts.length ? `cpu us/${unit}: ${parts.join(' ')}` : '';
}

function rttNote(s: Sample): string {
  return `p10 ${Number(s.detail.p10).toFixed(0)} p90 ${Number(s.detail.p90).toFixed(0)}; ${cpuNote(s, 'rtt')}`;
}

function ppsNote(s: Sample): string {
  const d = s.detail;
  const sent = Number(d.sent);
  const lost = sent - Number(d.packets);
  const where = [s.drops, d.sockDrops !== undefined ? `~${String(d.sockDrops)} in the receiving UDP socket` : ''].filter(Boolean).join(', ');
  return `sent ${fmt(sent / Number(d.secs), 'pkt/s')}/s, lost ${(Number(d.loss) * 100).toFixed(1)}% (${lost} of ${sent}${where ? `; ${where}` : ''}); ${cpuNote(s, 'pkt')}`;
}

const best = (kind: Kind, xs: Sample[]): Sample => xs.reduce((a, b) => (kind === 'rtt' ? (b.value < a.value ? b : a) : b.value > a.value ? b : a));

/** Runs the figures `only` selects; prints JSON lines when asked; returns the rows (main.ts's Row shape). */
export async function unicastBench(opts: UnicastBenchOptions = {}): Promise<UnicastRow[]> {
  const want = (n: string): boolean => !opts.only || opts.only.test(n);
  const names = UNICAST_FIGURES.filter(want);
  if (names.length === 0) return [];
  const say = opts.progress ?? ((s: string) => process.stderr.write(`${s}\n`));
  const rounds = opts.rounds && opts.rounds > 0 ? opts.rounds : opts.quick ? 1 : 3;
  const sz: Sizes = opts.quick ? { rtt: { warm: 300, count: 1000, ms: 1000 }, pps: { warmMs: 200, durMs: 600 } } : { rtt: { warm: 500, count: 3000, ms: 1500 }, pps: { warmMs: 300, durMs: 1000 } };
  const rows: UnicastRow[] = [];
  const emit = (r: UnicastRow): void => {
    rows.push(r);
    if (opts.json) process.stdout.write(`${JSON.stringify({ name: r.name, o7s: r.o7s, baseline: r.baseline, unit: r.unit, ratio: r.ratio })}\n`);
  };
  const failRow = (name: string, error: string): UnicastRow => {
    const kind: Kind = name.includes('.rtt.') ? 'rtt' : 'pps';
    return { name, o7s: null, baseline: null, unit: kind === 'rtt' ? 'us' : 'pkt/s', ratio: null, note: '', error, kind, target: targetOf(name) };
  };
  say('  unicast line (4 systems) ...');
  let line: Line;
  try {
    line = await Line.start();
  } catch (e) {
    const error = `cannot start the unicast line: ${e instanceof Error ? e.message : String(e)}`;
    for (const n of names) emit(failRow(n, error));
    return rows;
  }
  /** Alternating rounds (unicast, udp), best of each; on a dead system, once more on a new line. */
  const pairOf = async (dst: number, kind: Kind, size: number, transit?: number): Promise<{ o: Sample; b: Sample; os: Sample[]; bs: Sample[] }> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const os: Sample[] = [];
        const bs: Sample[] = [];
        for (let r = 0; r < rounds; r++) {
          os.push(await flowOnce(line, sz, 'uni', dst, kind, size, transit));
          if (transit === undefined) bs.push(await flowOnce(line, sz, 'udp', dst, kind, size));
        }
        return { o: best(kind, os), b: bs.length ? best(kind, bs) : os[0]!, os, bs };
      } catch (e) {
        if (line.healthy || attempt >= 2) {
          const msg = e instanceof Error ? e.message : String(e);
          throw new Error(line.healthy ? msg : `${msg}\n${line.tails()}`);
        }
        say('  a system of the unicast line is gone; retrying on a new line');
        await line.stop();
        line = await Line.start();
      }
    }
  };
  try {
    // A short warm-up flow each way (JIT, links between the processes).
    await flowOnce(line, { ...sz, rtt: { warm: 200, count: 200, ms: 500 } }, 'uni', N - 1, 'rtt', RTT_SIZE).catch(() => undefined);

    let r1: { o: Sample; b: Sample } | undefined;
    let r3: { o: Sample; b: Sample } | undefined;
    const needRtt = (n: string): boolean => want(n) || want('unicast.rtt.hop');
    for (const [name, dst] of [
      ['unicast.rtt.1hop', 1],
      ['unicast.rtt.3hop', 3],
    ] as const) {
      if (!needRtt(name)) continue;
      say(`  ${name} ...`);
      try {
        const p = await pairOf(dst, 'rtt', RTT_SIZE);
        if (dst === 1) r1 = p;
        else r3 = p;
        if (want(name)) {
          const row: UnicastRow = { name, o7s: p.o.value, baseline: p.b.value, unit: 'us', ratio: p.o.value / p.b.value, note: `uni ${rttNote(p.o)} | udp ${rttNote(p.b)}`, kind: 'rtt', target: targetOf(name) };
          if (dst === 3) row.info = true;
          emit(row);
        }
        if (dst === 1 && want(name)) {
          // The same shape with relays that only forward: what the processes cost by themselves.
          const cs: Sample[] = [];
          for (let r = 0; r < rounds; r++) cs.push(await chainOnce(line, sz));
          const c = best('rtt', cs);
          emit({ name: `${name}/chain`, o7s: p.o.value, baseline: c.value, unit: 'us', ratio: p.o.value / c.value, note: `against a raw chain of the same shape (client, 4 forwarding relays, server): p10 ${Number(c.detail.p10).toFixed(0)} p90 ${Number(c.detail.p90).toFixed(0)}`, kind: 'rtt', target: TARGET.rtt1, info: true });
        }
      } catch (e) {
        if (want(name)) emit(failRow(name, e instanceof Error ? e.message : String(e)));
      }
    }
    if (want('unicast.rtt.hop')) {
      if (r1 && r3) {
        const hop = (r3.o.value - r1.o.value) / 2;
        const udp = Math.min(r1.b.value, r3.b.value);
        emit({
          name: 'unicast.rtt.hop',
          o7s: hop,
          baseline: udp,
          unit: 'us',
          ratio: hop / udp,
          note: `(3hop ${r3.o.value.toFixed(1)} - 1hop ${r1.o.value.toFixed(1)}) / 2 against the udp4 flow's RTT (best of s1->s2 ${r1.b.value.toFixed(1)}, s1->s4 ${r3.b.value.toFixed(1)})`,
          kind: 'rtt',
          target: TARGET.hop,
        });
      } else emit(failRow('unicast.rtt.hop', 'an RTT figure it needs failed'));
    }
    if (want('unicast.pps.1400')) {
      say('  unicast.pps.1400 ...');
      try {
        const p = await pairOf(1, 'pps', PPS_SIZE);
        emit({ name: 'unicast.pps.1400', o7s: p.o.value, baseline: p.b.value, unit: 'pkt/s', ratio: p.o.value / p.b.value, note: `uni ${ppsNote(p.o)} | udp ${ppsNote(p.b)}`, kind: 'pps', target: TARGET.pps });
      } catch (e) {
        emit(failRow('unicast.pps.1400', e instanceof Error ? e.message : String(e)));
      }
    }
    if (want('unicast.pps.transit') || want('unicast.pps.transit.cpu')) {
      say('  unicast.pps.transit ...');
      try {
        const p = await pairOf(2, 'pps', PPS_SIZE, 1);
        // Best round by the forwarding rate; the CPU figure from the round where forwarding cost least.
        const t = p.os.reduce((a, b) => ((b.transit?.pps ?? 0) > (a.transit?.pps ?? 0) ? b : a));
        const fwd = t.transit?.pps ?? 0;
        const cpuOf = (x: Sample): number => x.cpu['uni2/fwd'] ?? Infinity;
        const c = p.os.reduce((a, b) => (cpuOf(b) < cpuOf(a) ? b : a));
        const uniCpu = cpuOf(c);
        const cpuText = Number.isFinite(uniCpu) ? `${uniCpu.toFixed(2)} us CPU per packet forwarded (its udp4 IPCP: ${c.cpu['udp2/fwd']?.toFixed(2) ?? '-'} us)` : 'no CPU figure';
        if (want('unicast.pps.transit')) {
          emit({
            name: 'unicast.pps.transit',
            o7s: fwd,
            baseline: TRANSIT_TARGET_PPS,
            unit: 'pkt/s',
            ratio: fwd / TRANSIT_TARGET_PPS,
            note: `forwarded by s2's unicast IPCP, flood s1 -> s3 (the baseline column is the absolute target); end to end: received ${fmt(t.value, 'pkt/s')}/s, ${ppsNote(t)}`,
            kind: 'pps',
            target: TARGET.transit,
          });
        }
        if (want('unicast.pps.transit.cpu')) {
          const cap = Number.isFinite(uniCpu) ? 1e6 / uniCpu : null;
          emit({
            name: 'unicast.pps.transit.cpu',
            o7s: cap,
            baseline: TRANSIT_TARGET_PPS,
            unit: 'pkt/s',
            ratio: cap === null ? null : cap / TRANSIT_TARGET_PPS,
            note: `what s2's unicast IPCP would forward on a core of its own: 1 s / ${cpuText}, in the same rounds`,
            info: true,
            kind: 'pps',
            target: TARGET.transit,
          });
        }
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        for (const n of ['unicast.pps.transit', 'unicast.pps.transit.cpu']) if (want(n)) emit(failRow(n, msg));
      }
    }
  } finally {
    await line.stop();
  }
  // The per-hop row after the two it is computed from, in the order of UNICAST_FIGURES.
  // An info row `<figure>/<what>` goes right after its figure.
  const rank = (name: string): number => {
    const [base, extra] = name.split('/');
    return UNICAST_FIGURES.indexOf(base as (typeof UNICAST_FIGURES)[number]) + (extra ? 0.5 : 0);
  };
  rows.sort((a, b) => rank(a.name) - rank(b.name));
  return rows;
}

function targetOf(name: string): number {
  if (name === 'unicast.rtt.1hop') return TARGET.rtt1;
  if (name === 'unicast.rtt.hop') return TARGET.hop;
  if (name === 'unicast.pps.1400') return TARGET.pps;
  if (name.startsWith('unicast.pps.transit')) return TARGET.transit;
  return 0;
}

// Standalone: node dist/bench/unicast.js [--quick] [--json] [--only REGEX] [--rounds N]
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const o: UnicastBenchOptions = standaloneOptions(process.argv.slice(2));
  const t0 = Date.now();
  snapshot();
  unicastBench(o).then(
    (rows) => {
      const text = table(rows);
      if (o.json) process.stderr.write(`${text}\n`);
      else process.stdout.write(`${text}\n`);
      process.stderr.write(`bench unicast done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      killAll();
      process.exit(rows.some((r) => r.error) ? 1 : 0);
    },
    (e: unknown) => {
      process.stderr.write(`bench unicast: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      killAll();
      process.exit(1);
    },
  );
}
