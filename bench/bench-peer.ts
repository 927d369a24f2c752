/**
 * One end of a benchmark measurement, run as its own process:
 *
 *   node dist/bench/bench-peer.js '<json PeerArgs>'
 *
 * Roles: an o7s server (echo or sink) and client (ping or flood) on a flow,
 * and the same over a raw Unix stream socket or raw UDP datagrams (Node's
 * dgram, one `send` per datagram) for the baselines. The peer
 * reports on stdout with JSON lines (`{"ev": ...}`), takes `accept` on
 * stdin, and finishes when stdin ends. Nothing here runs longer than its
 * `maxMs`.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Flow, Process } from '../src/lib/index.js';

/** Loaded only by the o7s roles, so that raw peers stay lean. */
const lib = async (): Promise<typeof import('../src/lib/index.js')> => import('../src/lib/index.js');

export interface PeerArgs {
  role: 'o7s-server' | 'o7s-client' | 'raw-server' | 'raw-client' | 'raw-relay' | 'udp-server' | 'udp-client' | 'udp-relay';
  /** echo/ping: round trips; sink/flood: one-way packets; recv/send: goodput of a fixed transfer. */
  mode: 'echo' | 'sink' | 'ping' | 'flood' | 'recv' | 'send';
  size: number;
  /** o7s: rundir and name to allocate to. */
  rundir?: string;
  name?: string;
  /** o7s server: accept at once (direct flows) or only on `accept` from stdin. */
  acceptNow?: boolean;
  /** raw: the socket path (the relay listens on it). */
  path?: string;
  /** raw relay: the server's socket path it forwards to. */
  to?: string;
  /** udp: the server's address and port (it binds them); the client binds `bindIp`, any port. */
  ip?: string;
  port?: number;
  bindIp?: string;
  /** udp relay: where its datagrams go (the other relay). */
  peerIp?: string;
  peerPort?: number;
  /**
   * flood/sink: a u32 BE sequence number at the start of each packet; the
   * sink then also reports how many were sent during its window (for the
   * loss on paths that drop).
   */
  seq?: boolean;
  /** ping: warm-up round trips, then at most `count` measured ones. */
  warm?: number;
  count?: number;
  /** sink: ms ignored after the first packet, then ms measured. */
  warmMs?: number;
  durMs?: number;
  /** o7s client: the QoS of the flow it allocates (default raw). */
  qos?: 'raw' | 'data';
  /** send: stop after this many bytes (or after `durMs`, whichever first). */
  bytes?: number;
  /**
   * send/recv: first this many bytes of warm-up, not measured (the other
   * figures warm up too: a program's first thousands of packets run while
   * V8 is still compiling its data path).
   */
  warmBytes?: number;
  /** recv: the transfer is over when nothing arrived for this long (the last packet may be lost on a raw flow). */
  idleMs?: number;
  /**
   * send/recv on a raw flow: flow control in the application, as a reliable
   * flow has it in FRCT: the receiver sends back the next sequence number it
   * expects (u32 BE) every `fcEvery` packets, and the sender keeps at most
   * `fcWindow` packets beyond it. No retransmission: a raw flow that is not
   * overrun does not lose packets on loopback.
   */
  fcWindow?: number;
  fcEvery?: number;
  /** Hard bound on the peer's work. */
  maxMs: number;
  /** flood, o7s: 'try' = tryWrite until the window closes, then await write(); 'await' = await write() per packet. */
  writer?: 'try' | 'await';
  /** sink, o7s: 'try' = tryRead() until empty, then await readable(); 'await' = await read() per packet. */
  reader?: 'try' | 'await';
}

/** The synchronous calls flows have beyond the Flow interface (FlowImpl). */
interface FastFlow extends Flow {
  tryWrite?(data: Uint8Array): boolean;
  tryRead?(): Buffer | undefined;
  readable?(timeout?: number | null): Promise<boolean>;
}

const args = JSON.parse(process.argv[2] ?? '{}') as PeerArgs;
const emit = (o: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

let stopping = false;
const stopWaiters: (() => void)[] = [];
const onStop = (fn: () => void): void => {
  if (stopping) fn();
  else stopWaiters.push(fn);
};
const stopNow = (): void => {
  if (stopping) return;
  stopping = true;
  for (const w of stopWaiters.splice(0)) w();
};
const commands: ((cmd: string) => void)[] = [];
let inbuf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d: string) => {
  inbuf += d;
  let nl: number;
  while ((nl = inbuf.indexOf('\n')) >= 0) {
    const cmd = inbuf.slice(0, nl).trim();
    inbuf = inbuf.slice(nl + 1);
    for (const c of commands) c(cmd);
  }
});
process.stdin.on('end', stopNow);
// The bench stops a peer by closing its stdin (then SIGKILL). A SIGTERM comes
// from outside the bench (seen on shared machines): report it, carry on.
process.on('SIGTERM', () => emit({ ev: 'sigterm' }));
const hardStop = setTimeout(() => {
  emit({ ev: 'error', message: `peer ran out of time (${args.maxMs} ms)` });
  process.exit(3);
}, args.maxMs + 5000);
hardStop.unref();
const softStop = setTimeout(stopNow, args.maxMs);
softStop.unref();

function command(name: string): Promise<void> {
  return new Promise((resolve) => {
    const fn = (cmd: string): void => {
      if (cmd === name) {
        commands.splice(commands.indexOf(fn), 1);
        resolve();
      }
    };
    commands.push(fn);
  });
}

const stopped = new Promise<void>((r) => onStop(r));

function payload(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = i & 0xff;
  return b;
}

// ---------------------------------------------------------------- measuring

/** Round trips with `once`, after `warm` of them: sorted per-trip times in µs. */
async function pingLoop(once: () => Promise<void>, warm: number, count: number, maxMs: number): Promise<Float64Array> {
  for (let i = 0; i < warm && !stopping; i++) await once();
  emit({ ev: 'window' });
  const t = new Float64Array(count);
  const end = Date.now() + maxMs;
  let n = 0;
  while (n < count && !stopping) {
    const t0 = process.hrtime.bigint();
    await once();
    t[n++] = Number(process.hrtime.bigint() - t0) / 1000;
    if ((n & 255) === 0 && Date.now() > end) break;
  }
  return t.subarray(0, n).sort();
}

function q(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function reportRtt(sorted: Float64Array): void {
  emit({ ev: 'result', n: sorted.length, median: q(sorted, 0.5), min: q(sorted, 0), p10: q(sorted, 0.1), p90: q(sorted, 0.9), p99: q(sorted, 0.99) });
}

/**
 * Counts a sink's packets: from the first packet wait `warmMs`, then measure
 * `durMs`, and report packets per second over that window. With `top` (the
 * highest sequence number seen), also the packets sent in the window and the
 * share of them lost.
 */
function sinkMeter(count: () => number, top?: () => number): () => void {
  let started = false;
  return () => {
    if (started) return;
    started = true;
    const warmMs = args.warmMs ?? 300;
    const durMs = args.durMs ?? 1500;
    let c0 = 0;
    let s0 = 0;
    let t0 = 0n;
    setTimeout(() => {
      c0 = count();
      s0 = top?.() ?? 0;
      t0 = process.hrtime.bigint();
      emit({ ev: 'window' });
      setTimeout(() => {
        const c1 = count();
        const secs = Number(process.hrtime.bigint() - t0) / 1e9;
        const r: Record<string, unknown> = { ev: 'result', pps: (c1 - c0) / secs, packets: c1 - c0, secs };
        if (top) {
          r.sent = top() - s0;
          r.loss = r.sent ? 1 - (c1 - c0) / (r.sent as number) : 0;
        }
        emit(r);
      }, durMs);
    }, warmMs);
  };
}

// ---------------------------------------------------------------- o7s

async function o7sServer(): Promise<void> {
  const proc = await (await lib()).connect({ rundir: args.rundir!, prog: 'bench-peer' });
  emit({ ev: 'ready', pid: process.pid });
  if (!args.acceptNow) await command('accept');
  const accepting = proc.flowAccept({ timeout: args.maxMs });
  setImmediate(() => emit({ ev: 'accepting' }));
  const flow = (await accepting) as FastFlow;
  emit({ ev: 'flow', id: flow.id, fd: flow.fd });
  try {
    if (args.mode === 'echo') await o7sEcho(flow);
    else if (args.mode === 'recv') await o7sRecv(flow);
    else await o7sSink(flow);
  } catch (e) {
    if (!stopping) throw e;
  }
  await stopped;
  await finish(proc);
}

async function o7sEcho(flow: FastFlow): Promise<void> {
  onStop(() => void flow.dealloc());
  while (!stopping) {
    const pkt = await flow.read();
    await flow.write(pkt);
  }
}

async function o7sSink(flow: FastFlow): Promise<void> {
  let n = 0;
  let top = -1;
  const meter = sinkMeter(() => n, args.seq ? () => top : undefined);
  onStop(() => void flow.dealloc());
  if (args.seq && flow.tryRead && flow.readable) {
    while (!stopping) {
      for (let p = flow.tryRead(); p !== undefined; p = flow.tryRead()) {
        n++;
        const s = p.readUInt32BE(0);
        if (s > top) top = s;
      }
      meter();
      await flow.readable();
    }
  } else if (args.reader !== 'await' && flow.tryRead && flow.readable) {
    while (!stopping) {
      while (flow.tryRead() !== undefined) n++;
      meter();
      await flow.readable();
    }
  } else {
    while (!stopping) {
      await flow.read();
      n++;
      meter();
    }
  }
}

async function o7sClient(): Promise<void> {
  const proc = await (await lib()).connect({ rundir: args.rundir!, prog: 'bench-peer' });
  emit({ ev: 'ready', pid: process.pid });
  const { qos } = await lib();
  const flow = (await proc.flowAlloc(args.name!, { timeout: 15000, qos: args.qos === 'data' ? qos.data : qos.raw })) as FastFlow;
  emit({ ev: 'flow', id: flow.id, fd: flow.fd });
  onStop(() => void flow.dealloc());
  const buf = payload(args.size);
  try {
    if (args.mode === 'ping') {
      const once = async (): Promise<void> => {
        await flow.write(buf);
        const r = await flow.read();
        if (r.length !== buf.length) throw new Error(`echo of ${r.length} bytes for ${buf.length}`);
      };
      reportRtt(await pingLoop(once, args.warm ?? 1000, args.count ?? 10000, args.maxMs - 1000));
    } else if (args.mode === 'send') {
      await o7sSend(flow, buf);
    } else {
      await o7sFlood(flow, buf);
    }
  } catch (e) {
    if (!stopping) throw e;
  }
  await stopped;
  await finish(proc);
}

async function o7sFlood(flow: FastFlow, buf: Buffer): Promise<void> {
  let sent = 0;
  if (args.seq && flow.tryWrite) {
    // The flow copies what it is given: the one buffer can carry every number.
    while (!stopping) {
      buf.writeUInt32BE(sent >>> 0, 0);
      if (!flow.tryWrite(buf)) await flow.write(buf);
      sent++;
    }
  } else if (args.writer !== 'await' && flow.tryWrite) {
    while (!stopping) {
      while (flow.tryWrite(buf)) sent++;
      await flow.write(buf);
      sent++;
    }
  } else {
    while (!stopping) {
      await flow.write(buf);
      sent++;
    }
  }
  emit({ ev: 'sent', sent });
}

// ---------------------------------------------------------------- goodput

/** Goodput packets: [u32 BE sequence number][u8 flags][payload]; flags 1: the last one, 2: warm-up. */
const G_FLAGS = 4;
const G_LAST = 1;
const G_WARM = 2;

type GoodputFrct = { retransmitted: number; timeouts: number; fastRetransmits: number; reportRetransmits?: number; tailProbes?: number; srttMs: number; acksSent: number; windowUpdatesSent: number; holesReported?: number };
const frctOf = (flow: Flow): GoodputFrct | undefined => (flow as Flow & { stats?: { frct?: GoodputFrct } }).stats?.frct;

/**
 * A fixed transfer: `await write()` of one packet after the other, as fast
 * as the flow lets the program write: `warmBytes` of warm-up, then `bytes`
 * or what goes in `durMs`, whichever is less; the last packet carries the
 * end mark. With `fcWindow` (raw flows) at most that many packets beyond
 * what the receiver last reported having.
 */
async function o7sSend(flow: FastFlow, buf: Buffer): Promise<void> {
  const warm = Math.floor((args.warmBytes ?? 0) / buf.length);
  const total = warm + Math.max(1, Math.floor((args.bytes ?? 20e6) / buf.length));
  let end = Infinity;
  let n = 0;
  // Once a second, where the transfer is: shows a stalled one in the bench's error output.
  const tick = setInterval(() => emit({ ev: 'progress', packets: n, frct: frctOf(flow) }), 1000);
  onStop(() => clearInterval(tick));
  // Application-level flow control on a raw flow (fcWindow): the receiver's reports of what it got.
  const win = args.fcWindow ?? 0;
  let acked = 0;
  let wake: (() => void) | undefined;
  if (win > 0) {
    void (async () => {
      while (!stopping) {
        const p = await flow.read().catch(() => undefined);
        if (!p) return;
        if (p.length >= 4) acked = Math.max(acked, p.readUInt32BE(0));
        wake?.();
      }
    })();
  }
  let at0: GoodputFrct | undefined;
  while (!stopping) {
    if (n === warm) {
      end = Date.now() + (args.durMs ?? 2000);
      const f = frctOf(flow);
      at0 = f ? { ...f } : undefined;
    }
    const last = n + 1 >= total || (n > warm && (n & 63) === 0 && Date.now() >= end);
    while (win > 0 && n - acked >= win && !stopping) await new Promise<void>((r) => (wake = r));
    buf.writeUInt32BE(n >>> 0, 0);
    buf[G_FLAGS] = n < warm ? G_WARM : last ? G_LAST : 0;
    // The flow copies what it is given: the one buffer can carry every number.
    await flow.write(buf);
    n++;
    if (last) break;
  }
  clearInterval(tick);
  // What the measured part took: packets, and on a reliable flow its retransmissions.
  const f = frctOf(flow);
  const d = (k: 'retransmitted' | 'timeouts' | 'fastRetransmits' | 'reportRetransmits' | 'tailProbes'): number => (f?.[k] ?? 0) - (at0?.[k] ?? 0);
  const fr = f
    ? { retransmitted: d('retransmitted'), timeouts: d('timeouts'), fastRetransmits: d('fastRetransmits'), reported: d('reportRetransmits'), probes: d('tailProbes'), srttMs: f.srttMs }
    : {};
  emit({ ev: 'sent', packets: n - warm, bytes: (n - warm) * buf.length, ...fr });
}

/**
 * The receiving end of a fixed transfer: after the warm-up packets, counts
 * the bytes delivered in order (sequence number one above the last counted
 * one; with a raw flow every packet that arrives, gaps being losses) from
 * the first measured packet to the last, which carries the end mark, or,
 * when it is lost, to the last one before `idleMs` of silence. Reports Mb/s
 * of those bytes over that time. With `fcWindow`, reports back the next
 * sequence number it expects every `fcEvery` packets.
 */
async function o7sRecv(flow: FastFlow): Promise<void> {
  const reliable = args.qos === 'data';
  const idleMs = args.idleMs ?? 500;
  let t0 = 0n;
  let tLast = 0n;
  let bytes = 0;
  let packets = 0;
  let rx = 0;
  let next = 0;
  let gaps = 0;
  let disorder = 0;
  let done = false;
  let at0: GoodputFrct | undefined;
  const report = (how: string): void => {
    if (done) return;
    done = true;
    const secs = Number(tLast - t0) / 1e9;
    clearInterval(tick);
    // The receiver's FRCT traffic back to the sender in the measured part: ACKs and window updates (hole reports included).
    const f = frctOf(flow);
    const back = f
      ? { acks: f.acksSent - (at0?.acksSent ?? 0), updates: f.windowUpdatesSent - (at0?.windowUpdatesSent ?? 0), reports: (f.holesReported ?? 0) - (at0?.holesReported ?? 0) }
      : {};
    emit({ ev: 'result', mbps: secs > 0 ? (bytes * 8) / secs / 1e6 : 0, bytes, packets, secs, lost: gaps, disorder, end: how, ...back });
  };
  const tryRead = flow.tryRead!.bind(flow);
  const tick = setInterval(() => emit({ ev: 'progress', packets, frct: frctOf(flow) }), 1000);
  onStop(() => clearInterval(tick));
  onStop(() => void flow.dealloc());
  const fcEvery = args.fcWindow ? (args.fcEvery ?? 64) : 0;
  const fcMsg = Buffer.alloc(4);
  const take = (p: Buffer): void => {
    const now = process.hrtime.bigint();
    rx++;
    const warm = p[G_FLAGS] === G_WARM;
    if (!warm) {
      if (packets === 0) {
        t0 = now;
        const f = frctOf(flow);
        at0 = f ? { ...f } : undefined;
        emit({ ev: 'window' });
      }
      tLast = now;
      packets++;
    }
    const s = p.readUInt32BE(0);
    if (s === next) {
      if (!warm) bytes += p.length;
      next++;
    } else if (s > next && !reliable) {
      // Raw: what is missing was lost (loopback does not reorder).
      if (!warm) {
        bytes += p.length;
        gaps += s - next;
      }
      next = s + 1;
    } else {
      disorder++;
      if (reliable) throw new Error(`reliable flow delivered packet ${s} where ${next} was due`);
    }
    if (p[G_FLAGS] === G_LAST) report('mark');
    if (fcEvery > 0 && (rx % fcEvery === 0 || done)) {
      fcMsg.writeUInt32BE(next >>> 0, 0);
      void flow.write(fcMsg).catch(() => undefined);
    }
  };
  // tryRead() until empty, then wait in read() (with the idle timeout).
  let timer: NodeJS.Timeout | undefined;
  const idle = (): Promise<undefined> => new Promise((res) => (timer = setTimeout(() => res(undefined), idleMs)));
  while (!stopping && !done) {
    for (let p = tryRead(); p !== undefined && !done; p = tryRead()) take(p);
    if (done) break;
    const p = rx === 0 ? await flow.read() : await Promise.race([flow.read(), idle()]);
    clearTimeout(timer);
    if (p === undefined) report('idle');
    else take(p);
  }
}

async function finish(proc: Process): Promise<void> {
  const t = setTimeout(() => process.exit(0), 1000);
  await proc.close().catch(() => undefined);
  clearTimeout(t);
  process.exit(0);
}

// ---------------------------------------------------------------- raw Unix socket

const HDR = 4;

/** Calls `frame(buf, start, end)` for each whole `[u32 len][payload]` frame on the socket. */
function framer(frame: (buf: Buffer, start: number, end: number) => void): (chunk: Buffer) => void {
  let rest: Buffer | undefined;
  return (chunk) => {
    let buf = chunk;
    if (rest) {
      buf = Buffer.concat([rest, chunk]);
      rest = undefined;
    }
    let off = 0;
    while (buf.length - off >= HDR) {
      const len = buf.readUInt32BE(off);
      if (buf.length - off - HDR < len) break;
      frame(buf, off, off + HDR + len);
      off += HDR + len;
    }
    if (off < buf.length) rest = buf.subarray(off);
  };
}

async function rawServer(): Promise<void> {
  const server = net.createServer((sock) => {
    sock.on('error', () => {});
    if (args.mode === 'echo') {
      // One write per packet back.
      sock.on('data', framer((buf, s, e) => sock.write(buf.subarray(s, e))));
    } else {
      // Cost-free framing: count bytes, divide by the frame size.
      let bytes = 0;
      const frame = HDR + args.size;
      const meter = sinkMeter(() => Math.floor(bytes / frame));
      sock.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        meter();
      });
    }
    emit({ ev: 'flow' });
  });
  await serveUntilStopped(server, args.path!);
}

async function rawClient(): Promise<void> {
  const sock = net.createConnection(args.path!);
  sock.on('error', (e) => {
    if (!stopping) {
      emit({ ev: 'error', message: String(e) });
      process.exit(2);
    }
  });
  await new Promise<void>((res) => sock.once('connect', () => res()));
  emit({ ev: 'flow' });
  const size = args.size;
  const frameLen = HDR + size;
  const buf = payload(size);
  if (args.mode === 'ping') {
    let wake: (() => void) | undefined;
    sock.on(
      'data',
      framer((_b, s, e) => {
        if (e - s !== frameLen) throw new Error('bad echo');
        const w = wake;
        wake = undefined;
        w?.();
      }),
    );
    const once = (): Promise<void> =>
      new Promise<void>((res) => {
        wake = res;
        // One write per packet, header and payload in one buffer (a fresh one: the socket may hold it).
        const f = Buffer.allocUnsafe(frameLen);
        f.writeUInt32BE(size, 0);
        buf.copy(f, HDR);
        sock.write(f);
      });
    reportRtt(await pingLoop(once, args.warm ?? 1000, args.count ?? 10000, args.maxMs - 1000));
  } else {
    // Batched: 64 packets per write, each copied in as a program writing packets would.
    const BATCH = 64;
    let sent = 0;
    while (!stopping) {
      const b = Buffer.allocUnsafe(frameLen * BATCH);
      for (let i = 0, off = 0; i < BATCH; i++, off += frameLen) {
        b.writeUInt32BE(size, off);
        buf.copy(b, off + HDR);
      }
      sent += BATCH;
      if (!sock.write(b)) {
        await new Promise<void>((res) => {
          const done = (): void => {
            sock.off('drain', done);
            res();
          };
          sock.on('drain', done);
          onStop(done);
        });
      }
    }
    emit({ ev: 'sent', sent });
  }
  await stopped;
  sock.destroy();
  process.exit(0);
}

/**
 * An ideal relay between a raw client and a raw server (the shape of the
 * local IPCP's job, none of its work): each chunk read from one side is
 * written as it is to the other, in both directions.
 */
async function rawRelay(): Promise<void> {
  const up = net.createConnection(args.to!);
  up.on('error', () => {});
  await new Promise<void>((res) => up.once('connect', () => res()));
  const server = net.createServer((down) => {
    down.on('error', () => {});
    down.pipe(up);
    up.pipe(down);
  });
  await serveUntilStopped(server, args.path!);
}

// ---------------------------------------------------------------- raw UDP datagrams

/** The socket buffers the udp IPCP asks for (src/ipcpd/udp/udp.ts), for a like-for-like baseline. */
const UDP_SOCK_BUF = 4 << 20;

async function udpSocket(port: number, ip: string): Promise<dgram.Socket> {
  const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: UDP_SOCK_BUF, sendBufferSize: UDP_SOCK_BUF });
  await new Promise<void>((res, rej) => {
    sock.once('error', rej);
    sock.bind(port, ip, () => {
      sock.off('error', rej);
      res();
    });
  });
  sock.on('error', (e) => {
    if (!stopping) {
      emit({ ev: 'error', message: String(e) });
      process.exit(2);
    }
  });
  return sock;
}

/** Echo (one `send` back per datagram, to its source) or sink (counting datagrams). */
async function udpServer(): Promise<void> {
  const sock = await udpSocket(args.port!, args.ip!);
  if (args.mode === 'echo') {
    sock.on('message', (msg, from) => sock.send(msg, from.port, from.address));
  } else {
    let n = 0;
    let top = -1;
    const meter = sinkMeter(() => n, args.seq ? () => top : undefined);
    sock.on('message', (msg) => {
      n++;
      if (args.seq) {
        const s = msg.readUInt32BE(0);
        if (s > top) top = s;
      }
      meter();
    });
  }
  emit({ ev: 'ready', pid: process.pid });
  await stopped;
  sock.close();
  process.exit(0);
}

/**
 * Ping (send, wait for the echo) or flood (one `send` per datagram, as fast
 * as the loop goes, yielding to the event loop every 64). Unconnected sends
 * to ip:port, the calls the udp IPCP makes.
 */
async function udpClient(): Promise<void> {
  const sock = await udpSocket(0, args.bindIp!);
  emit({ ev: 'flow' });
  const size = args.size;
  const port = args.port!;
  const ip = args.ip!;
  if (args.mode === 'ping') {
    const buf = payload(size);
    let wake: (() => void) | undefined;
    sock.on('message', (msg) => {
      if (msg.length !== size) throw new Error(`echo of ${msg.length} bytes for ${size}`);
      const w = wake;
      wake = undefined;
      w?.();
    });
    // One datagram in flight: the buffer is free again once the echo is back.
    const once = (): Promise<void> =>
      new Promise<void>((res) => {
        wake = res;
        sock.send(buf, port, ip);
      });
    reportRtt(await pingLoop(once, args.warm ?? 1000, args.count ?? 10000, args.maxMs - 1000));
  } else {
    // dgram holds a buffer until its (deferred) send: a ring, each slot reused 1024 sends later.
    const RING = 1024;
    const BATCH = 64;
    const ring = Array.from({ length: RING }, () => payload(size));
    let sent = 0;
    while (!stopping) {
      for (let i = 0; i < BATCH; i++, sent++) {
        const b = ring[sent & (RING - 1)]!;
        if (args.seq) b.writeUInt32BE(sent >>> 0, 0);
        sock.send(b, port, ip);
      }
      await new Promise<void>((res) => setImmediate(res));
    }
    emit({ ev: 'sent', sent });
  }
  await stopped;
  sock.close();
  process.exit(0);
}

/**
 * An ideal udp IPCP: one end of a raw chain of the udp4 flow's shape
 * (client → relay → UDP → relay → server). Binds ip:port; every frame read
 * from its Unix socket (accepted on `path`, or connected to `to`) leaves as
 * one datagram to peerIp:peerPort, and every datagram is written as it is
 * to the Unix socket.
 */
async function udpRelay(): Promise<void> {
  const sock = await udpSocket(args.port!, args.ip!);
  const port = args.peerPort!;
  const ip = args.peerIp!;
  let unix: net.Socket | undefined;
  const attach = (s: net.Socket): void => {
    unix = s;
    s.on('error', () => {});
    s.on('data', framer((buf, start, end) => sock.send(buf.subarray(start, end), port, ip)));
  };
  sock.on('message', (msg) => unix?.write(msg));
  if (args.path) await serveUntilStopped(net.createServer(attach), args.path);
  const up = net.createConnection(args.to!);
  await new Promise<void>((res, rej) => {
    up.once('connect', () => res());
    up.once('error', rej);
  });
  attach(up);
  emit({ ev: 'ready', pid: process.pid });
  await stopped;
  up.destroy();
  sock.close();
  process.exit(0);
}

const roles = {
  'o7s-server': o7sServer,
  'o7s-client': o7sClient,
  'raw-server': rawServer,
  'raw-client': rawClient,
  'raw-relay': rawRelay,
  'udp-server': udpServer,
  'udp-client': udpClient,
  'udp-relay': udpRelay,
};
const fn = roles[args.role];
if (!fn) {
  emit({ ev: 'error', message: `unknown role ${String(args.role)}` });
  process.exit(2);
}
fn().catch((e: unknown) => {
  emit({ ev: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.exit(1);
});

/** Listens on the Unix socket `path`, says it is ready, and serves until told to stop; then exits. */
async function serveUntilStopped(server: net.Server, path: string): Promise<never> {
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(path, () => res());
  });
  emit({ ev: 'ready', pid: process.pid });
  await stopped;
  server.close();
  process.exit(0);
}
