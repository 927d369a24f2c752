/**
 * Test harness for the FRCT engine: a discrete-event simulator with a fake
 * clock, lossy/duplicating/reordering channels and simple application ends.
 * Not a test file itself (imported by frct*.test.ts).
 */
import { Frct, type FrctInit, type FrctOutput } from '../../../../src/lib/frct/frct.js';
import { decodeHeader, type FrctHeader } from '../../../../src/lib/frct/header.js';

export { rng } from '../../../helpers/rng.js';

interface Ev {
  at: number;
  n: number;
  fn: () => void;
}

export class Sim {
  t = 0;
  private ev: Ev[] = [];
  private n = 0;
  engines: Frct[] = [];
  steps = 0;
  readonly now = (): number => this.t;

  at(at: number, fn: () => void): void {
    // binary min-heap on (at, n)
    const h = this.ev;
    const e = { at, n: this.n++, fn };
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!Sim.less(e, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  private static less(a: Ev, b: Ev): boolean {
    return a.at < b.at || (a.at === b.at && a.n < b.n);
  }

  private pop(): Ev {
    const h = this.ev;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && Sim.less(h[r]!, h[l]!) ? r : l;
        if (!Sim.less(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  /** Advance to the next event or engine deadline not after `limit`; false when there is none. */
  step(limit = Infinity): boolean {
    let next = this.ev.length > 0 ? this.ev[0]!.at : Infinity;
    for (const f of this.engines) {
      const d = f.nextDeadline();
      if (d !== undefined && d < next) next = d;
    }
    if (next === Infinity || next > limit) return false;
    if (next > this.t) this.t = next;
    while (this.ev.length > 0 && this.ev[0]!.at <= this.t) this.pop().fn();
    for (const f of this.engines) {
      const d = f.nextDeadline();
      if (d !== undefined && d <= this.t) f.tick();
    }
    this.steps++;
    return true;
  }

  /** Run until pred() holds (checked after each step) or time passes `until`; returns pred(). */
  runUntil(pred: () => boolean, until: number, maxSteps = 300_000): boolean {
    let s = 0;
    while (!pred()) {
      if (!this.step(until) || ++s > maxSteps) {
        if (this.t < until) this.t = until;
        return pred();
      }
    }
    return true;
  }

  /** Run everything up to time `until` (inclusive). */
  runTo(until: number): void {
    while (this.step(until)) {
      /* keep going */
    }
    if (this.t < until) this.t = until;
  }
}

export type Fate = 'pass' | 'drop' | 'dup';

export interface ChannelOpts {
  loss?: number;
  dup?: number;
  /** Base one-way delay (ms). */
  delay?: number;
  /** Uniform extra delay in [0, jitter) per copy: reorders packets. */
  jitter?: number;
  random?: () => number;
  /** Override the random fate of a PDU (index = count of PDUs offered so far). */
  decide?: (h: FrctHeader, index: number, pdu: Buffer) => Fate | undefined;
}

export interface ChannelLogEntry {
  t: number;
  h: FrctHeader;
  len: number;
  fate: Fate;
}

export class Channel {
  dst: Frct | undefined;
  cut = false;
  offered = 0;
  dropped = 0;
  duplicated = 0;
  delivered = 0;
  dataOffered = 0;
  dataDropped = 0;
  dataDuplicated = 0;
  readonly log: ChannelLogEntry[] = [];

  constructor(
    private readonly sim: Sim,
    public opts: ChannelOpts = {},
  ) {}

  send(pdu: Buffer): void {
    const h = decodeHeader(pdu);
    const o = this.opts;
    const r = o.random ?? Math.random;
    const idx = this.offered++;
    const forced = o.decide?.(h, idx, pdu);
    let fate: Fate = 'pass';
    if (this.cut) fate = 'drop';
    else if (forced !== undefined) fate = forced;
    else if (o.loss !== undefined && r() < o.loss) fate = 'drop';
    else if (o.dup !== undefined && r() < o.dup) fate = 'dup';
    this.log.push({ t: this.sim.t, h, len: pdu.length, fate });
    const isData = (h.flags & 0x01) !== 0;
    if (isData) this.dataOffered++;
    if (fate === 'drop') {
      this.dropped++;
      if (isData) this.dataDropped++;
      return;
    }
    const copies = fate === 'dup' ? 2 : 1;
    if (fate === 'dup') {
      this.duplicated++;
      if (isData) this.dataDuplicated++;
    }
    for (let i = 0; i < copies; i++) {
      const copy = Buffer.from(pdu);
      const at = this.sim.t + (o.delay ?? 1) + (o.jitter ? r() * o.jitter : 0);
      this.sim.at(at, () => {
        this.delivered++;
        this.dst?.receive(copy);
      });
    }
  }
}

/** SDU i: 4-byte BE index followed by (i % 61) bytes derived from i. */
export function sdu(i: number): Buffer {
  const len = 4 + (i % 61);
  const b = Buffer.allocUnsafe(len);
  b.writeUInt32BE(i >>> 0, 0);
  for (let k = 4; k < len; k++) b[k] = (i * 31 + k) & 0xff;
  return b;
}

export function sduIndex(b: Buffer): number {
  const i = b.readUInt32BE(0);
  if (!b.equals(sdu(i))) throw new Error(`corrupted SDU ${i}`);
  return i;
}

export class End {
  frct!: Frct;
  readonly got: Buffer[] = [];
  readonly downs: string[] = [];
  readable = 0;
  writable = 0;
  reading = true;
  /** Source of SDUs to write, and how many were written. */
  toWrite = 0;
  written = 0;
  /** Mutate PDUs after handing them out (as in-place encryption would). */
  scribble = false;
  sent: Buffer[] | undefined;

  constructor(readonly channel: Channel) {}

  readonly out: FrctOutput = {
    send: (pdu) => {
      this.channel.send(pdu);
      if (this.scribble) pdu.fill(0xaa);
    },
    onReadable: () => {
      this.readable++;
      if (this.reading) this.drain();
    },
    onWritable: () => {
      this.writable++;
      this.pump();
    },
    onDown: (reason) => {
      this.downs.push(reason);
    },
  };

  drain(): void {
    for (let b = this.frct.read(); b !== undefined; b = this.frct.read()) this.got.push(b);
  }

  pump(): void {
    while (this.written < this.toWrite && this.frct.canWrite()) this.frct.write(sdu(this.written++));
  }
}

export interface Pair {
  sim: Sim;
  a: End;
  b: End;
  ab: Channel;
  ba: Channel;
}

/** Two engines A and B joined by channels A->B and B->A. */
export function pair(
  init: Omit<FrctInit, 'now'>,
  ab: ChannelOpts = {},
  ba: ChannelOpts = {},
  initB?: Omit<FrctInit, 'now'>,
): Pair {
  const sim = new Sim();
  const chAB = new Channel(sim, ab);
  const chBA = new Channel(sim, ba);
  const a = new End(chAB);
  const b = new End(chBA);
  a.frct = new Frct({ ...init, now: sim.now }, a.out);
  b.frct = new Frct({ ...(initB ?? init), now: sim.now }, b.out);
  chAB.dst = b.frct;
  chBA.dst = a.frct;
  sim.engines.push(a.frct, b.frct);
  return { sim, a, b, ab: chAB, ba: chBA };
}

/** Assert-free check: got holds exactly SDUs 0..n-1 in order; returns a problem description or ''. */
export function inOrderProblem(got: Buffer[], n: number): string {
  if (got.length !== n) return `got ${got.length} SDUs, expected ${n}`;
  for (let i = 0; i < n; i++) {
    const k = sduIndex(got[i]!);
    if (k !== i) return `position ${i} holds SDU ${k}`;
  }
  return '';
}
