/**
 * What a flow reads from and writes to: its endpoint directly (raw flows), or
 * the end-to-end processing the QoS asks for (WIRE.md §6): FRCT when
 * `inOrder` is set (reliable when `loss` is 0) and a CRC-32 trailer when
 * `ber` is 0. Both ends derive it from the same QoS (the accepter gets the
 * allocator's), so they agree. Zero-length SDUs (keepalives) bypass it all.
 */
import { Endpoint, EndpointEvent } from './data/endpoint.js';
import { Frct, type FrctStats } from './frct/frct.js';
import { CRC_LEN, appendCrc, verifyCrc, writeCrc } from './frct/crc.js';
import type { QosSpec } from './qos.js';

export interface SduPath {
  /** Next SDU for the application, if one is ready. */
  take(): Buffer | undefined;
  /** Sends one SDU; false when a window is closed (wait for WRITABLE). */
  send(sdu: Uint8Array): boolean;
  readonly rxLength: number;
  /** True when take() would return an SDU now (reorder queues may hold SDUs that are not). */
  readonly readable: boolean;
  readonly txLength: number;
  readonly down: boolean;
  /** Events for the flow: PKT, WRITABLE, DOWN, LOST, PEER_*, KEEPALIVE (EndpointEvent values). */
  onEvent: ((ev: EndpointEvent) => void) | undefined;
  /** Resolves when nothing sent is still unacknowledged (reliable flows), at most `ms` later. */
  drain(ms: number): Promise<void>;
  /** Stops timers; a final ACK where one is owed. */
  stop(): void;
  readonly stats: PathStats;
  /** FRCT flags (FRCTF*), or undefined without FRCT. */
  frctFlags: number | undefined;
}

export interface PathStats {
  crcErrors: number;
  frct: FrctStats | undefined;
}

/**
 * FRCT settings of reliable flows (the engine's defaults are the
 * reference's): see the notes at the top of frct/frct.ts.
 *  - a 1024-SDU reorder queue / retransmission window, of which 512 are
 *    advertised (rwe = lwe + 512; the reference advertises 256): the
 *    receiving IPCP holds at most one program window (4096 packets,
 *    endpoint.ts, credit returned per 128) for us, so 512 in flight never
 *    overrun it; the other 512 leave room for hole reports, so the sender
 *    keeps going while losses are repaired. With an ACK per quarter of the
 *    advertised window (128 SDUs read) a fast sender is never held back.
 *  - hole reports (note 11): each missing SDU is reported once three later
 *    ones arrived (or at the end of a burst), so every loss of a window is
 *    repaired in about one round trip;
 *  - a tail loss probe (note 12), so a loss at the end of a burst is
 *    repaired after two round trips rather than an RTO.
 * (ackOnDrain is not used: an ACK per read batch costs the sender, the
 * IPCPs and the receiver a wakeup each, for no gain in throughput.)
 */
export const RELIABLE_TUNING = { window: 1024, advWindow: 512, holeReports: true, tailProbe: true } as const;

/** Chooses the path for a flow's QoS. */
export function sduPath(ep: Endpoint, qos: QosSpec, mpl: number): SduPath {
  if (qos.inOrder === 0 && qos.ber !== 0) return new RawPath(ep);
  return new ProcessedPath(ep, qos, mpl);
}

class RawPath implements SduPath {
  readonly stats: PathStats = { crcErrors: 0, frct: undefined };
  frctFlags: number | undefined = undefined;
  constructor(private readonly ep: Endpoint) {}
  get onEvent() {
    return this.ep.onEvent;
  }
  set onEvent(fn) {
    this.ep.onEvent = fn;
  }
  take(): Buffer | undefined {
    return this.ep.take();
  }
  send(sdu: Uint8Array): boolean {
    return this.ep.send(sdu);
  }
  get rxLength(): number {
    return this.ep.rxLength;
  }
  get readable(): boolean {
    return this.ep.rxLength > 0;
  }
  get txLength(): number {
    return this.ep.txLength;
  }
  get down(): boolean {
    return this.ep.down;
  }
  async drain(): Promise<void> {}
  stop(): void {}
}

/** CRC and/or FRCT between the flow and its endpoint. */
class ProcessedPath implements SduPath {
  private crcErrors = 0;
  onEvent: ((ev: EndpointEvent) => void) | undefined;
  private readonly frct: Frct | undefined;
  private readonly crc: boolean;
  /** PDUs FRCT handed out while the endpoint's window was closed. */
  private readonly pending: Buffer[] = [];
  /** Without FRCT: checked SDUs ready for the application. */
  private readonly ready: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private frctDown = false;
  private stopped = false;
  private drainWaiters: (() => void)[] = [];
  /** Packets from the endpoint wait for one batch (see fromEndpoint). */
  private batchQueued = false;
  private inBatch = false;
  private batchReadable = false;
  private batchWritable = false;

  constructor(private readonly ep: Endpoint, qos: QosSpec, mpl: number) {
    this.crc = qos.ber === 0;
    if (qos.inOrder !== 0) {
      const reliable = qos.loss === 0;
      this.frct = new Frct(
        {
          reliable,
          mpl: Math.max(1, mpl),
          now: () => performance.now(),
          ...(reliable ? RELIABLE_TUNING : {}),
          // ACKs 2 ms after reading (the reference waits 10): RTT samples stay close
          // to the path's, so the RTO is short and losses are repaired sooner.
          ackDelayMs: 2,
          // The CRC goes into room left after each PDU, and PDUs are never
          // modified once handed out: FRCT keeps them for retransmission.
          tailroom: this.crc ? CRC_LEN : 0,
          keepPdus: true,
        },
        {
          send: (pdu) => this.lower(pdu),
          onReadable: () => {
            if (this.inBatch) this.batchReadable = true;
            else this.onEvent?.(EndpointEvent.PKT);
          },
          onWritable: () => {
            if (this.inBatch) this.batchWritable = true;
            else this.onEvent?.(EndpointEvent.WRITABLE);
          },
          onDown: () => {
            this.frctDown = true;
            this.onEvent?.(EndpointEvent.LOST);
          },
        },
      );
    }
    ep.onEvent = (ev) => this.fromEndpoint(ev);
  }

  get frctFlags(): number | undefined {
    return this.frct?.flags;
  }

  set frctFlags(v: number | undefined) {
    if (this.frct && v !== undefined) {
      this.frct.setFlags(v);
      this.rearm(); // e.g. flow control switched on may arm a probe
    }
  }

  /** One PDU to the endpoint (queued while its window is closed); FRCT's PDUs have room for the CRC. */
  private lower(pdu: Buffer): void {
    if (this.crc) writeCrc(pdu, pdu.length - CRC_LEN);
    this.toEndpoint(pdu);
  }

  private toEndpoint(out: Buffer): void {
    if (this.pending.length > 0 || !this.ep.send(out)) this.pending.push(out);
  }

  private flushPending(): void {
    while (this.pending.length > 0 && this.ep.send(this.pending[0]!)) this.pending.shift();
  }

  /**
   * The endpoint signals every packet; they are taken in one batch (a
   * microtask later: all the packets of one read from the link), with one
   * timer update and at most one PKT / WRITABLE event for the flow.
   */
  private fromEndpoint(ev: EndpointEvent): void {
    if (ev === EndpointEvent.PKT) {
      if (!this.batchQueued) {
        this.batchQueued = true;
        queueMicrotask(this.batch);
      }
      return;
    }
    // Anything else (down, lost, ...) comes after the packets before it.
    if (this.batchQueued) this.batch();
    if (ev === EndpointEvent.WRITABLE) {
      this.flushPending();
      if (this.pending.length === 0) this.onEvent?.(EndpointEvent.WRITABLE);
      return;
    }
    this.onEvent?.(ev);
  }

  private readonly batch = (): void => {
    if (!this.batchQueued) return;
    this.batchQueued = false;
    this.inBatch = true;
    try {
      for (let p = this.ep.take(); p; p = this.ep.take()) this.receive(p);
    } finally {
      this.inBatch = false;
    }
    this.rearm();
    if (this.frct) {
      if (this.batchWritable) {
        this.batchWritable = false;
        this.onEvent?.(EndpointEvent.WRITABLE);
      }
      if (this.batchReadable) {
        this.batchReadable = false;
        this.onEvent?.(EndpointEvent.PKT);
      }
    } else if (this.ready.length > 0) {
      this.onEvent?.(EndpointEvent.PKT);
    }
  };

  private receive(pdu: Buffer): void {
    let body: Buffer | undefined = pdu;
    if (this.crc) {
      body = verifyCrc(pdu);
      if (!body) {
        this.crcErrors++; // corrupted on the way: dropped
        return;
      }
    }
    if (this.frct) this.frct.receive(body);
    else this.ready.push(body);
  }

  /** One timer per flow, at FRCT's next deadline. */
  private rearm(): void {
    if (!this.frct || this.stopped) return;
    if (this.drainWaiters.length > 0 && this.frct.unacked() === 0) for (const w of this.drainWaiters.splice(0)) w();
    const at = this.frct.nextDeadline();
    if (at === undefined) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Infinity;
      return;
    }
    if (this.timer && at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.frct!.tick();
      this.rearm();
    }, Math.max(0, at - performance.now()));
    this.timer.unref();
  }

  take(): Buffer | undefined {
    if (this.batchQueued) this.batch();
    if (!this.frct) return this.ready.shift();
    const sdu = this.frct.read();
    this.rearm();
    return sdu;
  }

  send(sdu: Uint8Array): boolean {
    if (this.ep.down || this.frctDown) return false;
    if (this.pending.length > 0) return false;
    if (!this.frct) {
      this.toEndpoint(this.crc ? appendCrc(sdu) : Buffer.from(sdu));
      return true;
    }
    if (!this.frct.offer(sdu)) return false;
    this.rearm();
    return true;
  }

  get rxLength(): number {
    if (this.batchQueued) this.batch();
    return this.frct ? this.frct.queued() : this.ready.length;
  }

  get readable(): boolean {
    if (this.batchQueued) this.batch();
    return this.frct ? this.frct.readable() : this.ready.length > 0;
  }

  get txLength(): number {
    return this.pending.length + (this.frct ? this.frct.unacked() : this.ep.txLength);
  }

  get down(): boolean {
    return this.frctDown || this.ep.down;
  }

  drain(ms: number): Promise<void> {
    if (!this.frct || this.frct.unacked() === 0 || this.down) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(t);
        const i = self.drainWaiters.indexOf(done);
        if (i >= 0) self.drainWaiters.splice(i, 1);
        resolve();
      }
      this.drainWaiters.push(done);
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.frct?.close();
    for (const w of this.drainWaiters.splice(0)) w();
  }

  get stats(): PathStats {
    return { crcErrors: this.crcErrors, frct: this.frct?.stats };
  }
}
