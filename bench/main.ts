/**
 * `npm run bench [-- [--json] [--only REGEX] [--rounds N] [--quick] [--relay]]`
 *
 * Measures o7s flows (through ipcpd-local, and direct between two programs)
 * against raw Unix stream sockets between two Node processes, and flows over
 * a udp4 layer between two systems against raw UDP datagrams between two
 * Node processes, and the goodput of reliable (FRCT) flows over udp4 against
 * raw ones, in the same run, and prints each figure with its ratio
 * o7s / baseline and whether the target is met. See bench/README.md.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerArgs } from './bench-peer.js';
import { Child, cpuNs, killAll, removeDir, tempDir, udpDrops } from './proc.js';
import { BIN, BenchSystem, NAME_DIRECT, NAME_LOCAL, NAME_UDP, UdpPair, snapshot } from './system.js';
import { oapBench } from './oap.js';
import { fmt, peer, result, table, type Kind, type Row } from './common.js';
import { UNICAST_FIGURES, unicastBench } from './unicast.js';

type Path = 'local' | 'direct' | 'udp4' | 'frct';

interface Figure {
  name: string;
  path: Path;
  kind: Kind;
  size: number;
  /** frct: the o7s side's udp4 layer drops this share of the data datagrams each IPCP sends (bootstrap option `drop`). */
  loss?: number;
  /** Overrides TARGET. */
  target?: number;
}


const TARGET: Record<Path, Partial<Record<Kind, number>>> = {
  /** o7s RTT at most 1.3 times the raw Unix socket pair's; packets/s at least half the raw batched pair's. */
  local: { rtt: 1.3, pps: 0.5 },
  direct: { rtt: 1.3, pps: 0.5 },
  /** Over UDP: RTT at most 1.5 times raw dgram's; packets/s received at least raw dgram's (one send per datagram). */
  udp4: { rtt: 1.5, pps: 1.0 },
  /** Goodput of a reliable flow over udp4: at least 0.8 of a raw flow's on a lossless layer, 0.5 with 1% loss (per figure). */
  frct: { goodput: 0.8 },
};

const targetOf = (f: Figure): number => f.target ?? TARGET[f.path][f.kind]!;
const unitOf = (kind: Kind): string => (kind === 'rtt' ? 'us' : kind === 'pps' ? 'pkt/s' : 'Mb/s');

const FIGURES: Figure[] = [];
for (const path of ['local', 'direct', 'udp4'] as const)
  for (const kind of ['rtt', 'pps'] as const) for (const size of [64, 1400]) FIGURES.push({ name: `${path}.${kind}.${size}`, path, kind, size });
/** A reliable flow (qos.data: FRCT with retransmission, CRC) against a raw one (qos.raw, over the lossless layer), 1400-byte writes. */
FIGURES.push({ name: 'frct.goodput.lossless', path: 'frct', kind: 'goodput', size: 1400, target: 0.8 });
FIGURES.push({ name: 'frct.goodput.loss1', path: 'frct', kind: 'goodput', size: 1400, loss: 0.01, target: 0.5 });

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
const ROUNDS = { rtt: opts.rounds || (opts.quick ? 1 : 3), pps: opts.rounds || (opts.quick ? 1 : 3), goodput: opts.rounds || (opts.quick ? 1 : 3) };
/**
 * Goodput: `warmBytes` of warm-up (not measured), then a transfer of `bytes`, or what the sender writes in `durMs`;
 * the receiver gives up `idleMs` after the last packet.
 */
const GOODPUT = opts.quick ? { warmBytes: 5e6, bytes: 20e6, durMs: 1000, idleMs: 500 } : { warmBytes: 15e6, bytes: 50e6, durMs: 1500, idleMs: 500 };
/**
 * The goodput baseline's flow control: the raw flow's receiver reports what it
 * got every `fcEvery` packets and the sender keeps at most `fcWindow` beyond
 * it, as a reliable flow's FRCT does (its advertised window, 512, and an ACK
 * per quarter of it), so the raw flow does not overrun the receiving IPCP and
 * lose what it sent (see bench/README.md).
 */
const RAW_FC = { fcWindow: 512, fcEvery: 128 };
const STEP_MS = 15000;


/** `seq`: packets/s with sequence numbers, for the loss (paths that may drop). */
function peerArgs(kind: Kind, size: number, server: boolean, seq = false): Omit<PeerArgs, 'role'> {
  if (kind === 'goodput') {
    // The reliable flow still delivers after the sender's time is up: room for it.
    const maxMs = GOODPUT.durMs + 8000;
    return server
      ? { mode: 'recv', size, idleMs: GOODPUT.idleMs, maxMs }
      : { mode: 'send', size, warmBytes: GOODPUT.warmBytes, bytes: GOODPUT.bytes, durMs: GOODPUT.durMs, maxMs };
  }
  const maxMs = kind === 'rtt' ? RTT.ms + 3000 : PPS.warmMs + PPS.durMs + 4000;
  if (kind === 'rtt') return server ? { mode: 'echo', size, maxMs } : { mode: 'ping', size, warm: RTT.warm, count: RTT.count, maxMs };
  return server ? { mode: 'sink', size, warmMs: PPS.warmMs, durMs: PPS.durMs, maxMs, seq } : { mode: 'flood', size, maxMs, seq };
}


interface Sample {
  value: number;
  detail: Record<string, unknown>;
  /** CPU time per packet (pps) or per round trip (rtt), µs, by process role. */
  cpu: Record<string, number>;
  /** Datagrams the kernel dropped at the receiving UDP socket during the window. */
  drops?: number;
}

interface Watched {
  cpu: Record<string, number>;
  drops: number | undefined;
}

/**
 * Reads the CPU time of `pids` (and the drop count of the UDP socket bound
 * to `sock`) when `meter` starts its measured window and when it reports its
 * result.
 */
function cpuWatch(meter: Child, pids: Record<string, number | undefined>, sock?: { ip: string; port: number }): () => Watched {
  const start: Record<string, number> = {};
  const end: Record<string, number> = {};
  const read = (into: Record<string, number>): void => {
    for (const [k, pid] of Object.entries(pids)) if (pid !== undefined) into[k] = cpuNs(pid);
    if (sock) into[' drops'] = udpDrops(sock.ip, sock.port);
  };
  meter.onEvent = (e) => {
    if (e.ev === 'window') read(start);
    else if (e.ev === 'result') read(end);
  };
  return () => {
    const d: Record<string, number> = {};
    for (const k of Object.keys(start)) if (end[k] !== undefined) d[k] = end[k]! - start[k]!;
    const drops = d[' drops'];
    delete d[' drops'];
    return { cpu: d, drops: drops !== undefined && Number.isFinite(drops) ? drops : undefined };
  };
}

function sampleOf(kind: Kind, r: Record<string, unknown>, w: Watched): Sample {
  const per = Number(kind === 'rtt' ? r.n : r.packets);
  const cpuPer: Record<string, number> = {};
  for (const [k, ns] of Object.entries(w.cpu)) cpuPer[k] = ns / 1000 / per;
  const s: Sample = { value: Number(kind === 'rtt' ? r.median : kind === 'pps' ? r.pps : r.mbps), detail: r, cpu: cpuPer };
  if (w.drops !== undefined) s.drops = w.drops;
  return s;
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

/** CPU of the four processes of a flow over the udp4 pair, and drops at the server's socket. */
function udpCpuWatch(pair: UdpPair, meter: Child, client: Child, server: Child): () => Watched {
  return cpuWatch(
    meter,
    { client: client.pid, 'ipcp-c': pair.client.ipcpPid, 'ipcp-s': pair.server.ipcpPid, server: server.pid },
    { ip: pair.serverIp, port: pair.port },
  );
}

/** Binds the o7s server peer to NAME_UDP on the server system and waits until it accepts; returns where the server's log stands. */
async function acceptingOnUdp(pair: UdpPair, server: Child): Promise<number> {
  const ready = await server.event('ready', STEP_MS);
  await pair.server.irm(['bind', 'process', String(ready.pid), 'name', NAME_UDP]);
  await server.event('accepting', STEP_MS);
  return pair.server.log.length;
}

/** Checks that the server's flow `flowId` came in through the server system's udp IPCP. */
async function cameThroughUdp(pair: UdpPair, f: Figure, flowId: number, from: number): Promise<void> {
  await pair.server.irmd.waitFor(new RegExp(`Flow ${flowId} accepted by \\d+ for ${NAME_UDP.replace('.', '\\.')}`), 3000, from);
  if (!/Flow request arrived for /.test(pair.server.log.slice(from))) throw new Error(`${f.name}: the flow did not come through the udp IPCP`);
}

/**
 * One o7s measurement over the udp4 layer: the server process on the server
 * system, bound to NAME_UDP and accepting; the client on the client system
 * allocates to the name, which its IPCP resolves to the server system's.
 */
async function udpO7sOnce(pair: UdpPair, f: Figure): Promise<Sample> {
  const seq = f.kind === 'pps';
  const server = peer(`o7s server (${f.name})`, {
    role: 'o7s-server',
    rundir: pair.server.rundir,
    name: NAME_UDP,
    ...peerArgs(f.kind, f.size, true, seq),
    acceptNow: true,
  });
  let client: Child | undefined;
  try {
    const from = await acceptingOnUdp(pair, server);
    client = peer(`o7s client (${f.name})`, { role: 'o7s-client', rundir: pair.client.rundir, name: NAME_UDP, ...peerArgs(f.kind, f.size, false, seq) });
    const meter = f.kind === 'rtt' ? client : server;
    const cpu = udpCpuWatch(pair, meter, client, server);
    await client.event('flow', STEP_MS);
    const sf = await server.event('flow', STEP_MS);
    await cameThroughUdp(pair, f, Number(sf.id), from);
    const r = f.kind === 'rtt' ? await result(client, server, STEP_MS + 10000) : await result(server, client, STEP_MS + 10000);
    return sampleOf(f.kind, r, cpu());
  } finally {
    await Promise.all([client?.stop(2000, 'SIGKILL'), server.stop(2000, 'SIGKILL')]);
    strays(client, server);
  }
}

/**
 * One goodput measurement over a udp4 layer: as udpO7sOnce, on a flow of
 * QoS `qos` (`data`: the reliable figure; `raw`: its baseline); the server
 * reports the goodput of the transfer, the client what it wrote (and, on a
 * reliable flow, its retransmissions), added to the sample's detail.
 */
async function goodputOnce(pair: UdpPair, f: Figure, qos: 'raw' | 'data'): Promise<Sample> {
  const fc = qos === 'raw' ? RAW_FC : {};
  const server = peer(`o7s ${qos} server (${f.name})`, {
    role: 'o7s-server',
    rundir: pair.server.rundir,
    name: NAME_UDP,
    ...peerArgs(f.kind, f.size, true),
    qos,
    ...fc,
    acceptNow: true,
  });
  let client: Child | undefined;
  try {
    const from = await acceptingOnUdp(pair, server);
    client = peer(`o7s ${qos} client (${f.name})`, { role: 'o7s-client', rundir: pair.client.rundir, name: NAME_UDP, ...peerArgs(f.kind, f.size, false), qos, ...fc });
    const cpu = udpCpuWatch(pair, server, client, server);
    await client.event('flow', STEP_MS);
    const sf = await server.event('flow', STEP_MS);
    await cameThroughUdp(pair, f, Number(sf.id), from);
    const c = client;
    const r = await result(server, c, GOODPUT.durMs + 12000).catch((e: unknown) => {
      // What the sender got to (its `sent` event, an error) tells a stalled transfer from a slow one.
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n${c.name} output:\n${c.out}${c.err}`);
    });
    // The client reports when its last write returned: before or about when the last packet arrived.
    const sent = await client.event('sent', 2000).catch(() => undefined);
    if (sent) for (const k of ['packets', 'retransmitted', 'timeouts', 'fastRetransmits', 'reported', 'probes', 'srttMs']) if (sent[k] !== undefined) r[`sent_${k}`] = sent[k];
    r.qos = qos;
    return sampleOf(f.kind, r, cpu());
  } finally {
    await Promise.all([client?.stop(2000, 'SIGKILL'), server.stop(2000, 'SIGKILL')]);
    strays(client, server);
  }
}

/** One baseline measurement over UDP: two processes with Node dgram sockets on two more loopback addresses. */
async function udpRawOnce(pair: UdpPair, f: Figure): Promise<Sample> {
  const seq = f.kind === 'pps';
  const at = { ip: pair.rawServerIp, port: pair.port };
  const server = peer(`raw udp server (${f.name})`, { role: 'udp-server', ...at, ...peerArgs(f.kind, f.size, true, seq) });
  let client: Child | undefined;
  try {
    await server.event('ready', STEP_MS);
    client = peer(`raw udp client (${f.name})`, { role: 'udp-client', ...at, bindIp: pair.rawClientIp, ...peerArgs(f.kind, f.size, false, seq) });
    const cpu = cpuWatch(f.kind === 'rtt' ? client : server, { client: client.pid, server: server.pid }, at);
    const r = f.kind === 'rtt' ? await result(client, server, STEP_MS + 10000) : await result(server, client, STEP_MS + 10000);
    return sampleOf(f.kind, r, cpu());
  } finally {
    await Promise.all([client?.stop(2000, 'SIGKILL'), server.stop(2000, 'SIGKILL')]);
    strays(client, server);
  }
}

/**
 * The udp4 flow's shape without o7s in it: raw client → relay → UDP → relay
 * → raw server (Unix sockets at both ends, dgram between the relays, on the
 * raw addresses), each relay an ideal udp IPCP that only forwards.
 */
async function udpChainOnce(pair: UdpPair, f: Figure): Promise<Sample> {
  const dir = tempDir(mkdtempSync(join(tmpdir(), 'o7s-bench-chain-')));
  const srvPath = join(dir, 'server.sock');
  const relayPath = join(dir, 'relay.sock');
  const server = peer(`raw server (${f.name} chain)`, { role: 'raw-server', path: srvPath, ...peerArgs(f.kind, f.size, true) });
  let far: Child | undefined;
  let near: Child | undefined;
  let client: Child | undefined;
  const udp = (ip: string, peerIp: string) => ({ ip, port: pair.port, peerIp, peerPort: pair.port });
  try {
    await server.event('ready', STEP_MS);
    far = peer(`udp relay s (${f.name} chain)`, { role: 'udp-relay', to: srvPath, ...udp(pair.rawServerIp, pair.rawClientIp), ...peerArgs(f.kind, f.size, true) });
    await far.event('ready', STEP_MS);
    near = peer(`udp relay c (${f.name} chain)`, { role: 'udp-relay', path: relayPath, ...udp(pair.rawClientIp, pair.rawServerIp), ...peerArgs(f.kind, f.size, true) });
    await near.event('ready', STEP_MS);
    client = peer(`raw client (${f.name} chain)`, { role: 'raw-client', path: relayPath, ...peerArgs(f.kind, f.size, false) });
    const cpu = cpuWatch(client, { client: client.pid, 'relay-c': near.pid, 'relay-s': far.pid, server: server.pid });
    return sampleOf(f.kind, await result(client, server, STEP_MS + 10000), cpu());
  } finally {
    await Promise.all([client?.stop(2000, 'SIGKILL'), near?.stop(2000, 'SIGKILL'), far?.stop(2000, 'SIGKILL'), server.stop(2000, 'SIGKILL')]);
    strays(client, near, far, server);
    removeDir(dir);
  }
}

/** Best of the rounds: lowest RTT, highest rate. */
function best(kind: Kind, s: Sample[]): Sample {
  return s.reduce((a, b) => (kind === 'rtt' ? (b.value < a.value ? b : a) : b.value > a.value ? b : a));
}

function cpuNote(s: Sample): string {
  const parts = Object.entries(s.cpu).map(([k, us]) => `${k} ${us.toFixed(us < 10 ? 2 : 1)}`);
  return parts.length ? `cpu us/${'n' in s.detail ? 'rtt' : 'pkt'}: ${parts.join(' ')}` : '';
}

/** For sinks that saw sequence numbers: packets sent in the window and the share lost (and where, when known). */
function lossNote(s: Sample): string {
  if (s.detail.sent === undefined) return '';
  const sent = Number(s.detail.sent);
  const lost = sent - Number(s.detail.packets);
  // The kernel's count is read by the bench at the sink's window events, so it covers about the same second, not exactly.
  const drops = s.drops === undefined ? '' : `; ~${s.drops} dropped in the receiving socket`;
  return `sent ${fmt(sent / Number(s.detail.secs), 'pkt/s')}/s, lost ${(Number(s.detail.loss) * 100).toFixed(1)}% (${lost} of ${sent}${drops}); `;
}

/** For goodput: how much in how long, how it ended, and the loss (raw) or retransmissions (reliable). */
function goodputNote(s: Sample): string {
  const d = s.detail;
  const parts = [`${(Number(d.bytes) / 1e6).toFixed(1)} MB in ${Number(d.secs).toFixed(2)} s (${String(d.end)})`];
  if (d.sent_packets !== undefined) {
    const sent = Number(d.sent_packets);
    parts.push(`${sent} pkts written`);
    if (d.qos === 'raw') parts.push(`lost ${(((sent - Number(d.packets)) / sent) * 100).toFixed(1)}%`);
  }
  if (d.sent_retransmitted !== undefined) {
    const how = [`timeouts ${String(d.sent_timeouts)}`, `fast ${String(d.sent_fastRetransmits)}`];
    if (d.sent_reported !== undefined) how.push(`reported ${String(d.sent_reported)}`, `tail probes ${String(d.sent_probes)}`);
    parts.push(`retransmitted ${String(d.sent_retransmitted)} (${how.join(', ')})`);
  }
  if (d.sent_srttMs !== undefined) parts.push(`srtt ${Number(d.sent_srttMs).toFixed(2)} ms`);
  if (d.acks !== undefined) parts.push(`${String(d.acks)} ACKs + ${String(d.updates)} FC back (${String(d.reports)} hole reports)`);
  if (s.drops !== undefined) parts.push(`~${s.drops} dropped in the receiving socket`);
  return `${parts.join(', ')}; `;
}

function note(kind: Kind, o: Sample, b: Sample): string {
  const d = (s: Sample): string =>
    (kind === 'rtt' ? `p10 ${Number(s.detail.p10).toFixed(0)} p90 ${Number(s.detail.p90).toFixed(0)}; ` : kind === 'goodput' ? goodputNote(s) : lossNote(s)) + cpuNote(s);
  return `o7s ${d(o)} | raw ${d(b)}`;
}

/**
 * What figures run on: the local system or the udp pair, started when a
 * figure first needs it, and started anew when it died during a figure.
 */
interface Bed {
  readonly healthy: boolean;
  o7s(f: Figure): Promise<Sample>;
  raw(f: Figure, relay?: boolean): Promise<Sample>;
  /** The raw chain of the udp4 flow's shape (udp4 RTT figures). */
  chain?(f: Figure): Promise<Sample>;
  /** Why it is unhealthy (one line). */
  gone(): string;
  /** The tail of the irmd logs. */
  tails(): string;
  /** The irmd logs in full, for BENCH_DEBUG. */
  logs(): string;
  stop(): Promise<void>;
}

function exitOf(sys: BenchSystem): string {
  return String(sys.irmd.proc.exitCode ?? sys.irmd.proc.signalCode ?? 'none: running');
}

function tail(log: string): string {
  return log.split('\n').slice(-25).join('\n');
}

async function localBed(): Promise<Bed> {
  const sys = await BenchSystem.start();
  return {
    get healthy() {
      return sys.healthy;
    },
    o7s: (f) => o7sOnce(sys, f),
    raw: (f, relay) => rawOnce(f, relay),
    gone: () => `irmd or ipcpd-local is gone (irmd exit ${exitOf(sys)})`,
    tails: () => `--- irmd log (tail) ---\n${tail(sys.log)}`,
    logs: () => `--- irmd log ---\n${sys.log}\n---`,
    stop: () => sys.stop(),
  };
}

async function udpBed(): Promise<Bed> {
  const pair = await UdpPair.start();
  return udpBedOn(pair, 'udp4 layer');
}

/** The o7s side's goodput on a lossy layer of its own; the baseline is the raw flow over the lossless layer of `clean`. */
async function lossyBed(loss: number, clean: () => Promise<Bed>): Promise<Bed> {
  const pair = await UdpPair.start(['drop', String(loss)]);
  const b = udpBedOn(pair, `lossy udp4 layer (drop ${loss})`);
  let other: Bed | undefined;
  return {
    ...b,
    get healthy() {
      return pair.healthy && (other?.healthy ?? true);
    },
    raw: async (f) => {
      other = await clean();
      return other.raw(f);
    },
  };
}

function udpBedOn(pair: UdpPair, what: string): Bed {
  if (process.env.BENCH_DEBUG) {
    progress(`${what} on port ${pair.port}: server system ipcpd-udp4 pid ${pair.server.ipcpPid} at ${pair.serverIp}, client system ipcpd-udp4 pid ${pair.client.ipcpPid} at ${pair.clientIp}`);
  }
  return {
    get healthy() {
      return pair.healthy;
    },
    o7s: (f) => (f.path === 'frct' ? goodputOnce(pair, f, 'data') : udpO7sOnce(pair, f)),
    raw: (f) => (f.path === 'frct' ? goodputOnce(pair, f, 'raw') : udpRawOnce(pair, f)),
    chain: (f) => udpChainOnce(pair, f),
    gone: () => `an irmd or ipcpd-udp4 is gone (server irmd exit ${exitOf(pair.server)}, client irmd exit ${exitOf(pair.client)})`,
    tails: () => `--- server irmd log (tail) ---\n${tail(pair.server.log)}\n--- client irmd log (tail) ---\n${tail(pair.client.log)}`,
    logs: () => `--- server irmd log ---\n${pair.server.log}\n--- client irmd log ---\n${pair.client.log}\n---`,
    stop: () => pair.stop(),
  };
}

async function measure(bed: Bed, f: Figure): Promise<Row[]> {
  const unit = unitOf(f.kind);
  const target = targetOf(f);
  const withRelay = opts.relay && f.path === 'local';
  const withChain = f.path === 'udp4' && f.kind === 'rtt' && bed.chain !== undefined;
  const os: Sample[] = [];
  const bs: Sample[] = [];
  const rs: Sample[] = [];
  try {
    for (let r = 0; r < ROUNDS[f.kind]; r++) {
      os.push(await bed.o7s(f));
      bs.push(await bed.raw(f));
      if (withRelay) rs.push(await bed.raw(f, true));
      if (withChain) rs.push(await bed.chain!(f));
    }
  } catch (e) {
    let error = e instanceof Error ? e.message : String(e);
    if (!bed.healthy) error = `${bed.gone()}; ${error}\n${bed.tails()}`;
    if (process.env.BENCH_DEBUG) progress(bed.logs());
    return [{ name: f.name, o7s: null, baseline: null, unit, ratio: null, note: '', error, kind: f.kind, target }];
  }
  const o = best(f.kind, os);
  const b = best(f.kind, bs);
  const rows: Row[] = [{ name: f.name, o7s: o.value, baseline: b.value, unit, ratio: o.value / b.value, note: note(f.kind, o, b), kind: f.kind, target }];
  if (withRelay) {
    const r = best(f.kind, rs);
    rows.push({ name: `${f.name}/relay`, o7s: o.value, baseline: r.value, unit, ratio: o.value / r.value, note: `relay ${cpuNote(r)}`, info: true, kind: f.kind, target });
  }
  if (withChain) {
    const r = best(f.kind, rs);
    rows.push({ name: `${f.name}/chain`, o7s: o.value, baseline: r.value, unit, ratio: o.value / r.value, note: `raw chain of the same shape: ${cpuNote(r)}`, info: true, kind: f.kind, target });
  }
  return rows;
}

async function main(): Promise<number> {
  const figures = FIGURES.filter((f) => !opts.only || opts.only.test(f.name));
  // Figures measured by their own modules (they apply --only themselves).
  const others = [...UNICAST_FIGURES, 'oap.alloc', 'oap.goodput'];
  if (figures.length === 0 && !others.some((n) => opts.only?.test(n))) {
    progress('bench: no figure matches --only');
    return 2;
  }
  const t0 = Date.now();
  progress(`o7s bench: ${figures.length} figures, node ${process.version}`);
  snapshot();
  type BedKey = 'local' | 'udp' | 'udp-loss';
  const beds = new Map<BedKey, Bed>();
  const keyOf = (f: Figure): BedKey => (f.path === 'udp4' || f.path === 'frct' ? (f.loss ? 'udp-loss' : 'udp') : 'local');
  let lossOf = 0;
  const start: Record<BedKey, () => Promise<Bed>> = { local: localBed, udp: udpBed, 'udp-loss': () => lossyBed(lossOf, () => bedAt('udp')) };
  const bedFor = (f: Figure): Promise<Bed> => {
    lossOf = f.loss ?? 0;
    return bedAt(keyOf(f));
  };
  const bedAt = async (k: BedKey): Promise<Bed> => {
    let b = beds.get(k);
    if (!b) {
      b = await start[k]();
      beds.set(k, b);
    }
    return b;
  };
  const rows: Row[] = [];
  try {
    for (const f of figures) {
      progress(`  ${f.name} ...`);
      const onBed = async (): Promise<{ bed?: Bed; rows: Row[] }> => {
        try {
          const bed = await bedFor(f);
          return { bed, rows: await measure(bed, f) };
        } catch (e) {
          const error = `cannot start the ${f.path === 'local' || f.path === 'direct' ? 'system' : 'udp4 systems'}: ${e instanceof Error ? e.message : String(e)}`;
          return { rows: [{ name: f.name, o7s: null, baseline: null, unit: unitOf(f.kind), ratio: null, note: '', error, kind: f.kind, target: targetOf(f) }] };
        }
      };
      let { bed, rows: result } = await onBed();
      if (bed && !bed.healthy) {
        // Something outside the bench stopped irmd or an IPCP (seen on shared machines): once more on fresh systems.
        progress(`  ${result[0]?.error?.split('\n')[0] ?? bed.gone()} during ${f.name}; retrying on new systems`);
        // The lossy bed's baseline runs on the lossless one: stop whichever is gone.
        for (const [k, b] of [...beds]) {
          if (b === bed || !b.healthy) {
            await b.stop();
            beds.delete(k);
          }
        }
        ({ bed, rows: result } = await onBed());
      }
      for (const row of result) {
        rows.push(row);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ name: row.name, o7s: row.o7s, baseline: row.baseline, unit: row.unit, ratio: row.ratio })}\n`);
        }
      }
    }
    rows.push(...(await oapBench({ ...opts, progress })));
    rows.push(...(await unicastBench({ ...opts, progress })));
  } finally {
    for (const b of beds.values()) await b.stop();
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
