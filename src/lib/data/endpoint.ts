/**
 * One end of a flow's data path in this process: a bounded receive queue and a
 * send window, with credit-based flow control so that one slow flow never
 * blocks the others sharing the same connection.
 */
import { DataType, MAX_SDU } from './frame.js';
import type { Link } from './link.js';
import type { SduCodec } from '../crypt/path.js';

const EMPTY = new Uint8Array(0);

/**
 * Packets a receiver queues per flow. The reference's ring holds 1023, but
 * a Node process on a busy machine can be off its CPU for milliseconds,
 * while its IPCP goes on taking packets off the network at hundreds of
 * thousands per second: a deeper queue rides that out instead of dropping
 * (udp4 floods lost 8-40% with 1024).
 */
export const RX_WINDOW = 4096;
/** Bytes a sender has in flight per flow, besides the packet count: the window's bound in memory. */
export const TX_BYTE_WINDOW = 16 << 20;
/** Hard bounds of a receive queue: a window, plus one more while a path hand-over is in progress. */
const RX_LIMIT = 2 * RX_WINDOW;
/** A sender may go one packet past its byte window (checked before each), twice during a hand-over. */
const RX_BYTE_LIMIT = 2 * (TX_BYTE_WINDOW + MAX_SDU);
/** Credit is returned once this many packets were consumed (the most a sender's count is behind). */
export const CREDIT_BATCH = 128;

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
  /** The peer's last frame along the old path (after a hand-over): forwarders pass it on. */
  MARK: 8,
} as const;
export type EndpointEvent = (typeof EndpointEvent)[keyof typeof EndpointEvent];

export interface EndpointOwner {
  /** Returns the link to send on (creating it if needed), or undefined when the peer is unreachable. */
  linkTo(pid: number): Link | undefined;
  release(ep: Endpoint): void;
}

export class Endpoint {
  private readonly rx: Buffer[] = [];
  private rxBytes = 0;
  private head = 0;
  private credit = RX_WINDOW;
  /**
   * Bytes sent and not credited back; the sizes of those packets, oldest
   * first, in a ring that grows with them (up to RX_WINDOW entries).
   */
  private inflight = 0;
  private sizes = new Uint32Array(64);
  private sizeHead = 0;
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
  /**
   * A transform of the flow's non-empty SDUs (encryption, crypt/path.ts):
   * applied to each SDU sent and to each taken; a packet it cannot decode is
   * dropped. Set by the flow before it sends or reads anything.
   */
  codec: SduCodec | undefined;
  /** Where sends go and under which flow id: the peer, or after a hand-over the other program. */
  private txPid: number;
  private txId: number;
  /** A hand-over in progress: frames from the new peer wait until the old path's MARK. */
  private handover: { pid: number; held: { type: number; payload: Buffer }[] } | undefined;
  /** Forwarders: the peer handed its path over; nothing more comes from it here. */
  private peerDone = false;

  /** @param peerPid the process frames are taken from (changes once, at a hand-over). */
  /** The process the flow was set up through (an IPCP, or the peer of a direct flow). */
  readonly via: number;

  constructor(readonly id: number, public peerPid: number, private readonly owner: EndpointOwner) {
    this.txPid = peerPid;
    this.txId = id;
    this.via = peerPid;
  }

  /** The flow id to put on frames sent to `pid`. */
  private labelFor(pid: number): number {
    return pid === this.txPid ? this.txId : this.id;
  }

  /** The link to the process this end sends to. */
  private tx(): Link | undefined {
    return this.owner.linkTo(this.txPid);
  }

  /** Packets queued for reading. */
  get rxLength(): number {
    return this.rx.length - this.head;
  }

  /** Packets sent that the peer has not consumed yet. */
  get txLength(): number {
    return RX_WINDOW - this.credit;
  }

  /** Bytes of those packets. */
  get txBytes(): number {
    return this.inflight;
  }

  get canSend(): boolean {
    return this.credit > 0 && this.inflight < TX_BYTE_WINDOW && !this.peerGone && !this.released;
  }

  /** True when the peer is gone; queued packets can still be read. */
  get down(): boolean {
    return this.peerGone || this.released;
  }

  /** Sends one SDU; returns false when the window is closed. Throws nothing: check `down` first. */
  send(payload: Uint8Array): boolean {
    if (!this.canSend) return false;
    const link = this.tx();
    if (!link) {
      this.markDown();
      return false;
    }
    if (this.codec && payload.length > 0) payload = this.codec.encode(payload);
    const n = RX_WINDOW - this.credit;
    if (n === this.sizes.length) this.growSizes();
    this.sizes[(this.sizeHead + n) % this.sizes.length] = payload.length;
    this.inflight += payload.length;
    this.credit--;
    this.txActivity = true;
    this.stats.txPackets++;
    this.stats.txBytes += payload.length;
    link.send(DataType.DATA, this.txId, payload);
    return true;
  }

  /** Doubles the ring of in-flight sizes (it is full), oldest first at 0. */
  private growSizes(): void {
    const old = this.sizes;
    const grown = new Uint32Array(old.length * 2);
    grown.set(old.subarray(this.sizeHead));
    grown.set(old.subarray(0, this.sizeHead), old.length - this.sizeHead);
    this.sizes = grown;
    this.sizeHead = 0;
  }

  /** Takes the next queued packet (decoded, when the flow has a codec), returning window to the peer in batches. */
  take(): Buffer | undefined {
    if (!this.codec) return this.takeRaw();
    for (;;) {
      const pkt = this.takeRaw();
      if (pkt === undefined) return undefined;
      const sdu = this.codec.decode(pkt);
      if (sdu !== undefined) return sdu;
      this.stats.dropped++;
    }
  }

  private takeRaw(): Buffer | undefined {
    if (this.head >= this.rx.length) return undefined;
    const pkt = this.rx[this.head]!;
    this.rxBytes -= pkt.length;
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
    this.owner.linkTo(this.peerPid)?.sendU32(DataType.CREDIT, this.labelFor(this.peerPid), n);
  }

  /** Drops every queued packet (returning their window). */
  flushRx(): number {
    const n = this.rxLength;
    this.rx.length = 0;
    this.rxBytes = 0;
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
    if (this.rxLength >= RX_LIMIT || this.rxBytes + payload.length > RX_BYTE_LIMIT) {
      // A peer that ignores its window: drop and count rather than grow without bound.
      this.stats.dropped++;
      return;
    }
    this.rx.push(payload);
    this.rxBytes += payload.length;
    this.stats.rxPackets++;
    this.stats.rxBytes += payload.length;
    this.onEvent?.(EndpointEvent.PKT);
  }

  /** Window returned by `from` (credit from anyone but the current send peer is stale). */
  addCredit(n: number, from: number = this.txPid): void {
    if (from !== this.txPid) return;
    const wasClosed = this.credit === 0 || this.inflight >= TX_BYTE_WINDOW;
    n = Math.min(n, RX_WINDOW - this.credit);
    for (let i = 0; i < n; i++) {
      this.inflight -= this.sizes[this.sizeHead]!;
      this.sizeHead = (this.sizeHead + 1) % this.sizes.length;
    }
    this.credit += n;
    if (wasClosed && this.credit > 0 && this.inflight < TX_BYTE_WINDOW) this.onEvent?.(EndpointEvent.WRITABLE);
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
    if (this.down || this.peerDone) return Promise.resolve();
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
    this.tx()?.send(DataType.DATA, this.txId, EMPTY);
  }

  /** Tells the peer this end is marked down (true) or up (false). */
  sendState(down: boolean): void {
    if (this.down) return;
    this.tx()?.sendU32(DataType.STATE, this.txId, down ? 1 : 0);
  }

  /** Forwarders: passes a hand-over MARK on, after everything sent before it. */
  sendMark(): void {
    if (this.down) return;
    this.tx()?.send(DataType.MARK, this.txId, EMPTY);
  }

  /** Forwarders: tells the program at the other end to talk to `pid` (its flow `flowId`) directly. */
  sendRedirect(pid: number, flowId: number): void {
    if (this.down) return;
    const b = Buffer.allocUnsafe(8);
    b.writeUInt32BE(pid >>> 0, 0);
    b.writeUInt32BE(flowId >>> 0, 4);
    this.tx()?.send(DataType.REDIRECT, this.txId, b);
  }

  /**
   * A REDIRECT from the IPCP: send to `pid` (under its flow id `flowId`) from
   * now on, after a MARK along the old path; take its frames once the old
   * path's own MARK came in, so nothing is reordered.
   */
  redirect(pid: number, flowId: number, early: { type: number; payload: Buffer }[]): void {
    if (this.handover || this.down || pid === this.peerPid) return;
    this.tx()?.send(DataType.MARK, this.txId, EMPTY);
    this.txPid = pid;
    this.txId = flowId;
    this.credit = RX_WINDOW; // a fresh window at the new peer
    this.inflight = 0;
    this.handover = { pid, held: early };
    this.onEvent?.(EndpointEvent.WRITABLE);
  }

  /** Frames from the hand-over's new peer that came before the old path's MARK. */
  holdForHandover(pid: number, type: number, payload: Buffer): boolean {
    if (!this.handover || this.handover.pid !== pid) return false;
    if (this.handover.held.length >= RX_LIMIT) this.stats.dropped++;
    else this.handover.held.push({ type, payload });
    return true;
  }

  /**
   * The old path's MARK. Returns the frames held from the new peer (to be
   * dispatched in order); from now on frames come from the new peer.
   * An endpoint with no hand-over (a forwarder) raises the MARK event.
   */
  markFromPeer(): { type: number; payload: Buffer }[] {
    if (!this.handover) {
      this.peerDone = true;
      this.onEvent?.(EndpointEvent.MARK);
      return [];
    }
    const held = this.handover.held;
    this.peerPid = this.handover.pid;
    this.handover = undefined;
    return held;
  }

  /** True once a hand-over started: the IPCP is no longer on this flow's path. */
  get handedOver(): boolean {
    return this.txPid !== this.peerPid || this.handover !== undefined || this.txId !== this.id;
  }

  peerState(down: boolean): void {
    this.onEvent?.(down ? EndpointEvent.PEER_DOWN : EndpointEvent.PEER_UP);
  }

  /** Tells the peer that no more data will come, and stops using the endpoint. */
  close(): void {
    if (this.released) return;
    if (!this.peerGone) {
      const link = this.tx();
      link?.send(DataType.DOWN, this.txId, EMPTY);
      link?.flush(); // before the program tells irmd, so the data leads the deallocation
      if (this.handedOver && this.peerPid !== this.txPid) {
        // Mid hand-over: the old path (the IPCP) must hear it too.
        const old = this.owner.linkTo(this.peerPid);
        old?.send(DataType.DOWN, this.id, EMPTY);
        old?.flush();
      }
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
    this.rxBytes = 0;
    this.head = 0;
    this.owner.release(this);
  }
}
