/**
 * One end of a flow's data path in this process: a bounded receive queue and a
 * send window, with credit-based flow control so that one slow flow never
 * blocks the others sharing the same connection.
 */
import { DataType } from './frame.js';
import type { Link } from './link.js';

const EMPTY = new Uint8Array(0);

/** Packets a receiver queues per flow (the reference's ring holds 1023). */
export const RX_WINDOW = 1024;
/** Credit is returned once this many packets were consumed. */
const CREDIT_BATCH = RX_WINDOW / 8;

export const EndpointEvent = {
  /** A packet arrived. */
  PKT: 1,
  /** The peer end went away (no more data after what is queued). */
  DOWN: 2,
  /** Window opened: writes may go on. */
  WRITABLE: 3,
  /** The peer process or its connection was lost (not an orderly deallocation). */
  LOST: 4,
  /** The peer marked the flow down (FLOWFDOWN). */
  PEER_DOWN: 5,
  /** The peer marked the flow up again. */
  PEER_UP: 6,
  /** A keepalive (zero-length SDU) arrived. */
  KEEPALIVE: 7,
} as const;
export type EndpointEvent = (typeof EndpointEvent)[keyof typeof EndpointEvent];

export interface EndpointOwner {
  /** Returns the link to send on (creating it if needed), or undefined when the peer is unreachable. */
  linkTo(pid: number): Link | undefined;
  release(ep: Endpoint): void;
}

export class Endpoint {
  private readonly rx: Buffer[] = [];
  private head = 0;
  private credit = RX_WINDOW;
  private consumed = 0;
  private peerGone = false;
  private released = false;
  private readonly downWaiters: (() => void)[] = [];
  /** Statistics. */
  readonly stats = { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, dropped: 0 };
  /** Set when a packet (or keepalive) arrived / was sent; the keepalive timer clears them. */
  rxActivity = false;
  txActivity = false;
  /** Set by the owner of the endpoint (a Flow, or an IPCP's forwarder). */
  onEvent: ((ev: EndpointEvent) => void) | undefined;

  constructor(readonly id: number, readonly peerPid: number, private readonly owner: EndpointOwner) {}

  /** Packets queued for reading. */
  get rxLength(): number {
    return this.rx.length - this.head;
  }

  /** Packets sent that the peer has not consumed yet. */
  get txLength(): number {
    return RX_WINDOW - this.credit;
  }

  get canSend(): boolean {
    return this.credit > 0 && !this.peerGone && !this.released;
  }

  /** True when the peer is gone; queued packets can still be read. */
  get down(): boolean {
    return this.peerGone || this.released;
  }

  /** Sends one SDU; returns false when the window is closed. Throws nothing: check `down` first. */
  send(payload: Uint8Array): boolean {
    if (!this.canSend) return false;
    const link = this.owner.linkTo(this.peerPid);
    if (!link) {
      this.markDown();
      return false;
    }
    this.credit--;
    this.txActivity = true;
    this.stats.txPackets++;
    this.stats.txBytes += payload.length;
    link.send(DataType.DATA, this.id, payload);
    return true;
  }

  /** Takes the next queued packet, returning window to the peer in batches. */
  take(): Buffer | undefined {
    if (this.head >= this.rx.length) return undefined;
    const pkt = this.rx[this.head]!;
    this.rx[this.head++] = undefined as unknown as Buffer;
    if (this.head > 1024 && this.head * 2 > this.rx.length) {
      this.rx.splice(0, this.head);
      this.head = 0;
    }
    if (++this.consumed >= CREDIT_BATCH) this.returnCredit();
    return pkt;
  }

  /** Puts a packet back at the head (partial reads keep the rest themselves; this is for forwarders). */
  peek(): Buffer | undefined {
    return this.head < this.rx.length ? this.rx[this.head] : undefined;
  }

  private returnCredit(): void {
    if (this.consumed === 0 || this.peerGone || this.released) return;
    const n = this.consumed;
    this.consumed = 0;
    this.owner.linkTo(this.peerPid)?.sendU32(DataType.CREDIT, this.id, n);
  }

  /** Drops every queued packet (returning their window). */
  flushRx(): number {
    const n = this.rxLength;
    this.rx.length = 0;
    this.head = 0;
    this.consumed += n;
    this.returnCredit();
    return n;
  }

  // ---- called by the plane ----

  deliver(payload: Buffer): void {
    if (this.released) return;
    this.rxActivity = true;
    if (payload.length === 0) {
      // A keepalive: proof of life, never a packet for the reader.
      this.onEvent?.(EndpointEvent.KEEPALIVE);
      return;
    }
    if (this.rxLength >= RX_WINDOW) {
      // A peer that ignores its window: drop and count rather than grow without bound.
      this.stats.dropped++;
      return;
    }
    this.rx.push(payload);
    this.stats.rxPackets++;
    this.stats.rxBytes += payload.length;
    this.onEvent?.(EndpointEvent.PKT);
  }

  addCredit(n: number): void {
    const wasClosed = this.credit === 0;
    this.credit = Math.min(RX_WINDOW, this.credit + n);
    if (wasClosed && this.credit > 0) this.onEvent?.(EndpointEvent.WRITABLE);
  }

  /** The peer end is gone: deallocated (`DOWN` frame) or lost (connection closed). */
  markDown(lost = false): void {
    if (this.peerGone) return;
    this.peerGone = true;
    this.onEvent?.(lost ? EndpointEvent.LOST : EndpointEvent.DOWN);
    for (const w of this.downWaiters.splice(0)) w();
  }

  /**
   * Resolves once the peer's end is gone (its DOWN arrives after all its data)
   * or after `ms`: an IPCP told to deallocate waits for this, so that the last
   * packets a program wrote before deallocating are still passed on.
   */
  whenDown(ms: number): Promise<void> {
    if (this.down) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.downWaiters.push(done);
    });
  }

  /** Sends a keepalive (a zero-length SDU); it takes no window. */
  sendKeepalive(): void {
    if (this.down) return;
    this.txActivity = true;
    this.owner.linkTo(this.peerPid)?.send(DataType.DATA, this.id, EMPTY);
  }

  /** Tells the peer this end is marked down (true) or up (false). */
  sendState(down: boolean): void {
    if (this.down) return;
    this.owner.linkTo(this.peerPid)?.sendU32(DataType.STATE, this.id, down ? 1 : 0);
  }

  peerState(down: boolean): void {
    this.onEvent?.(down ? EndpointEvent.PEER_DOWN : EndpointEvent.PEER_UP);
  }

  /** Tells the peer that no more data will come, and stops using the endpoint. */
  close(): void {
    if (this.released) return;
    if (!this.peerGone) {
      const link = this.owner.linkTo(this.peerPid);
      link?.send(DataType.DOWN, this.id, EMPTY);
      link?.flush(); // before the program tells irmd, so the data leads the deallocation
    }
    this.discard();
  }

  /**
   * Stops using the endpoint without telling the peer: for ends the peer never
   * had (a refused allocation) or has closed already (irmd deallocating it).
   * A DOWN sent then could reach a later flow that reuses the id.
   */
  discard(): void {
    if (this.released) return;
    this.released = true;
    for (const w of this.downWaiters.splice(0)) w();
    this.rx.length = 0;
    this.head = 0;
    this.owner.release(this);
  }
}
