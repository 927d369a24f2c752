/**
 * An in-memory stand-in for the library, for testing tools without irmd:
 * processes that allocate and accept flows by name, and flows between
 * them, all on a virtual clock that only moves when told to.
 *
 * Every packet written takes a one-way delay chosen per packet (or is
 * lost); with a bit rate set, a flow end also takes size·8/rate to put a
 * packet on its link, and a write waits until the link is free (a window
 * of one packet), which is what lets a flooding sender make progress in
 * virtual time. Flows have the library's fast paths (tryWrite/tryRead).
 */
import type { Duplex } from 'node:stream';
import { OuroborosError, type ErrorCode } from '../../common/errors.js';
import { FlowFlags, type AcceptOptions, type AllocOptions, type Flow, type FlowSet, type Process } from '../../lib/api.js';
import { qos, type QosSpec } from '../../lib/qos.js';
import type { Clock } from '../oping/clock.js';

const msToNs = (ms: number): bigint => BigInt(Math.round(ms * 1e6));
/** Time of day at virtual time 0 (ns since the epoch). */
export const MEM_WALL_BASE = 1_700_000_000_000_000_000n;

export interface MemTimer {
  at: bigint;
  seq: number;
  fn: () => void;
}

/** Lets promise chains and setImmediate callbacks run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

export class MemClock implements Clock {
  /** Virtual monotonic time, ns. */
  t = 0n;
  /** Added to the time on every now() (a clock that moves while code spins). */
  tickNs = 0n;
  private timers: MemTimer[] = [];
  private seq = 0;

  now(): bigint {
    this.t += this.tickNs;
    return this.t;
  }
  realtime(): bigint {
    return MEM_WALL_BASE + this.t;
  }
  schedule(ms: number, fn: () => void): MemTimer {
    return this.scheduleAt(this.t + msToNs(Math.max(0, ms)), fn);
  }
  scheduleAt(at: bigint, fn: () => void): MemTimer {
    const tm = { at: at > this.t ? at : this.t, seq: this.seq++, fn };
    this.timers.push(tm);
    return tm;
  }
  cancel(tm: MemTimer | undefined): void {
    const i = tm ? this.timers.indexOf(tm) : -1;
    if (i >= 0) this.timers.splice(i, 1);
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const onAbort = (): void => {
        this.cancel(tm);
        resolve();
      };
      const tm = this.schedule(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
  private nextTimer(): MemTimer | undefined {
    this.timers.sort((a, b) => (a.at === b.at ? a.seq - b.seq : a.at < b.at ? -1 : 1));
    return this.timers[0];
  }
  /** Runs the earliest timer, moving the time up to it; false when none is left. */
  step(): boolean {
    const tm = this.nextTimer();
    if (!tm) return false;
    this.timers.shift();
    if (tm.at > this.t) this.t = tm.at;
    tm.fn();
    return true;
  }
  /** Moves time on, timer by timer, until `p` settles; throws if nothing is left to happen. */
  async run<T>(p: Promise<T>, limitMs = 24 * 3_600_000): Promise<T> {
    let done = false;
    p.then(
      () => (done = true),
      () => (done = true),
    );
    for (;;) {
      await settle();
      if (done) return p;
      if (this.t > msToNs(limitMs)) throw new Error('virtual time limit reached');
      if (!this.step()) {
        await settle();
        if (done) return p;
        // Code spinning on a ticking clock makes progress without timers.
        if (this.tickNs > 0n) continue;
        throw new Error('stalled: nothing left to happen');
      }
    }
  }
  /** Moves time on to `ms`, running every timer due on the way. */
  async runTo(ms: number): Promise<void> {
    const end = msToNs(ms);
    for (;;) {
      await settle();
      const tm = this.nextTimer();
      if (!tm || tm.at > end) break;
      this.step();
    }
    if (this.t < end) this.t = end;
    await settle();
  }
}

const err = (code: ErrorCode): OuroborosError => new OuroborosError(code);

/** One-way delay in ms for a packet, or null to lose it. */
export type DelayFn = (pkt: Buffer, from: MemFlow) => number | null;

export class MemNet {
  /** Bits per second each flow end puts on its link; null: writes take no time. */
  bitrate: number | null = null;
  nextFlowId = 1;
  readonly names = new Map<string, MemProcess>();
  private nextPid = 1000;

  constructor(
    readonly clock: MemClock = new MemClock(),
    public delay: DelayFn = () => 0.25,
  ) {}

  /** A process, bound to `names`. */
  process(...names: string[]): MemProcess {
    const p = new MemProcess(this, this.nextPid++);
    for (const n of names) this.names.set(n, p);
    return p;
  }
}

export class MemProcess implements Process {
  readonly rundir = '/mem';
  nextFd = 64;
  /** Every flowAlloc call. */
  readonly allocs: { dst: string; opts?: AllocOptions }[] = [];
  /** Every flow this process got. */
  readonly flows: MemFlow[] = [];
  private incoming: MemFlow[] = [];
  private acceptors: { resolve: (f: MemFlow) => void; reject: (e: unknown) => void }[] = [];

  constructor(
    readonly net: MemNet,
    readonly pid: number,
  ) {}

  flowAlloc(dst: string, opts?: AllocOptions): Promise<Flow> {
    this.allocs.push({ dst, opts });
    const srv = this.net.names.get(dst);
    if (!srv) return Promise.reject(err('ENAME'));
    const q = opts?.qos ?? qos.raw;
    const id = this.net.nextFlowId++;
    const mine = new MemFlow(this.net, this.nextFd++, id, q);
    const theirs = new MemFlow(this.net, srv.nextFd++, id, q);
    mine.peer = theirs;
    theirs.peer = mine;
    this.flows.push(mine);
    srv.flows.push(theirs);
    srv.offer(theirs);
    return Promise.resolve(mine);
  }
  private offer(f: MemFlow): void {
    const a = this.acceptors.shift();
    if (a) a.resolve(f);
    else this.incoming.push(f);
  }
  flowAccept(_opts?: AcceptOptions): Promise<Flow> {
    const f = this.incoming.shift();
    if (f) return Promise.resolve(f);
    return new Promise((resolve, reject) => this.acceptors.push({ resolve, reject }));
  }
  flowJoin(): Promise<Flow> {
    return Promise.reject(err('ENOTSUP'));
  }
  createFlowSet(): FlowSet {
    throw new Error('MemProcess has no flow sets');
  }
  async close(): Promise<void> {
    for (const a of this.acceptors.splice(0)) a.reject(err('EIRMD'));
  }
}

interface Reader {
  resolve: (b: Buffer) => void;
  reject: (e: unknown) => void;
  timer?: MemTimer;
}

export class MemFlow implements Flow {
  peer!: MemFlow;
  readTimeout: number | null = null;
  writeTimeout: number | null = null;
  flags: number = FlowFlags.DEFAULT;
  /** Every SDU written on this end, as written (lost ones too). */
  readonly sent: Buffer[] = [];
  deallocated = false;
  private rx: Buffer[] = [];
  private readers: Reader[] = [];
  private down = false;
  /** When this end's link is free again (ns). */
  private txFreeAt = 0n;
  /** When the last packet written on this end reaches the peer (ns). */
  private lastArrival = 0n;

  constructor(
    private readonly net: MemNet,
    readonly fd: number,
    readonly id: number,
    readonly qos: Readonly<QosSpec>,
  ) {}

  get closed(): boolean {
    return this.deallocated || this.down;
  }
  get rxQueueLength(): number {
    return this.rx.length;
  }
  get txQueueLength(): number {
    return 0;
  }

  private check(): void {
    if (this.deallocated) throw err('ENOTALLOC');
    if (this.down) throw err('EFLOWDOWN');
  }

  /** Puts a packet on the link starting at `start`; returns when the link is free again. */
  private transmit(data: Uint8Array, start: bigint): bigint {
    const copy = Buffer.from(data);
    this.sent.push(copy);
    const rate = this.net.bitrate;
    const done = rate ? start + BigInt(Math.round((copy.length * 8 * 1e9) / rate)) : start;
    this.txFreeAt = done;
    const d = this.net.delay(copy, this);
    if (d !== null) {
      const peer = this.peer;
      const at = done + msToNs(d);
      if (at > this.lastArrival) this.lastArrival = at;
      this.net.clock.scheduleAt(at, () => peer.deliver(copy));
    }
    return done;
  }

  tryWrite(data: Uint8Array): boolean {
    this.check();
    if (this.txFreeAt > this.net.clock.t) return false;
    this.transmit(data, this.net.clock.t);
    return true;
  }

  write(data: Uint8Array): Promise<void> {
    try {
      this.check();
    } catch (e) {
      return Promise.reject(e);
    }
    const now = this.net.clock.t;
    const start = this.txFreeAt > now ? this.txFreeAt : now;
    const done = this.transmit(data, start);
    if (done <= now) return Promise.resolve();
    return new Promise((resolve) => this.net.clock.scheduleAt(done, resolve));
  }

  tryRead(): Buffer | undefined {
    if (this.deallocated) throw err('ENOTALLOC');
    const pkt = this.rx.shift();
    if (!pkt && this.down) throw err('EFLOWDOWN');
    return pkt;
  }

  read(): Promise<Buffer> {
    if (this.deallocated) return Promise.reject(err('ENOTALLOC'));
    const pkt = this.rx.shift();
    if (pkt) return Promise.resolve(pkt);
    if (this.down) return Promise.reject(err('EFLOWDOWN'));
    if (this.flags & FlowFlags.RNOBLOCK) return Promise.reject(err('EAGAIN'));
    return new Promise((resolve, reject) => {
      const r: Reader = { resolve, reject };
      if (this.readTimeout !== null) {
        r.timer = this.net.clock.schedule(this.readTimeout, () => {
          const i = this.readers.indexOf(r);
          if (i >= 0) this.readers.splice(i, 1);
          reject(err('ETIMEDOUT'));
        });
      }
      this.readers.push(r);
    });
  }

  async readInto(buf: Uint8Array): Promise<number> {
    const pkt = await this.read();
    const n = Math.min(pkt.length, buf.length);
    buf.set(pkt.subarray(0, n));
    return n;
  }

  private deliver(pkt: Buffer): void {
    if (this.deallocated) return;
    const r = this.readers.shift();
    if (r) {
      this.net.clock.cancel(r.timer);
      r.resolve(pkt);
    } else {
      this.rx.push(pkt);
    }
  }

  private failReaders(e: OuroborosError): void {
    for (const r of this.readers.splice(0)) {
      this.net.clock.cancel(r.timer);
      r.reject(e);
    }
  }

  private markDown(): void {
    this.down = true;
    this.failReaders(err('EFLOWDOWN'));
  }

  async dealloc(): Promise<void> {
    if (this.deallocated) return;
    this.deallocated = true;
    this.failReaders(err('ENOTALLOC'));
    // The peer hears of it after the packets already on their way.
    const peer = this.peer;
    if (this.lastArrival > this.net.clock.t) this.net.clock.scheduleAt(this.lastArrival, () => peer.markDown());
    else peer.markDown();
  }

  fccntl(): unknown {
    throw err('ENOTSUP');
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) yield await this.read();
  }

  toStream(): Duplex {
    throw new Error('MemFlow has no stream');
  }
}

export type ServerRun = (proc: MemProcess, out: (line: string) => void, ctl: { clock: MemClock; signal: AbortSignal }) => Promise<number>;

/**
 * A virtual network with a server process on the name `srv`, started with
 * `run`; its lines are collected in `srvOut`, `stopServer` aborts it.
 */
export function serverWorld(run: ServerRun, delay?: DelayFn, bitrate: number | null = null) {
  const clock = new MemClock();
  const net = new MemNet(clock, delay);
  net.bitrate = bitrate;
  const srvProc = net.process('srv');
  const srvOut: string[] = [];
  const stopServer = new AbortController();
  const server = run(srvProc, (l) => srvOut.push(l), { clock, signal: stopServer.signal });
  return { clock, net, srvProc, srvOut, stopServer, server };
}
