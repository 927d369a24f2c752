/**
 * Data transfer: the PDUs of a unicast layer. Every PDU carries the DT PCI
 * (destination address, QoS cube, TTL, ECN, destination endpoint id). DT
 * sends PDUs to the next hop the forwarding table gives, forwards PDUs that
 * are not for this IPCP (TTL and ECN updated in place), and delivers the
 * others by endpoint id: internal components (0 flow allocator, 1 DHT) or the
 * flow allocator's N+1 flows (eid >= 64).
 */
import type { Flow } from '../../lib/api.js';
import type { QosCube } from '../../lib/qos.js';
import type { Logger } from '../../common/log.js';
import { fail } from '../../common/errors.js';
import { EID_FIRST_FLOW, decodePci, pciLen, writePci, type Pci, type PciConfig } from './dt/pci.js';
import type { Pff } from './pff/index.js';
import type { CaPolicy } from './ca/index.js';
import { PacketScheduler } from './psched.js';
import { CREDIT_BATCH } from '../../lib/data/endpoint.js';

/**
 * A flow's txQueueLength counts what the next hop has not acknowledged with
 * credit, and credit comes back in batches of CREDIT_BATCH: up to that many
 * less one are consumed already. Congestion marks count only the rest.
 */
const CREDIT_SLACK = CREDIT_BATCH - 1;

/** The send buffer's first size (a 1400-byte SDU and its PCI fit); it grows to the largest PDU sent, up to SCRATCH_MAX. */
const SCRATCH_MIN = 2048;
/** PDUs above this get a buffer of their own rather than growing the send buffer. */
const SCRATCH_MAX = 65536;

/** How long a held PDU waits for the next hop's window (ms). */
const HELD_WRITE_MS = 2000;


export interface Pdu {
  /** The SDU (a view into the received PDU). */
  sdu: Buffer;
  qc: number;
  ecn: number;
  eidLo: number;
  eidHi: number;
}

export interface DtCounters {
  rx: number;
  tx: number;
  forwarded: number;
  delivered: number;
  ttlDrops: number;
  noRoute: number;
  queueDrops: number;
  malformed: number;
  unknownEid: number;
}

interface Neighbour {
  addr: number;
  flow: Flow & { tryWrite(b: Uint8Array): boolean };
  cube: QosCube;
  /**
   * The flow's window was full for a PDU of ours (offer()): that PDU waits in
   * a write() of its own; until it is out, nothing else is written to this
   * flow (forwarded PDUs are dropped, offered ones wait in their N+1 flow).
   */
  held: boolean;
  /** offer()s that found the window full, woken once the held PDU is out or the connection is gone. */
  waiters: (() => void)[];
  /** Address of the end that made the connection. */
  initiator: number;
}

/** What offer() did with an SDU. */
export const Offer = {
  /** Sent (or held, see Neighbour.held): the SDU is ours. */
  SENT: 0,
  /** Dropped (no route, connection down): counted. */
  DROPPED: 1,
  /** The next hop's window is full: nothing was sent, `wake` is called when it can take PDUs again. */
  BLOCKED: 2,
} as const;
export type Offer = (typeof Offer)[keyof typeof Offer];

export interface DtInit {
  pci: PciConfig;
  maxTtl: number;
  address: () => number;
  pff: Pff;
  ca: CaPolicy;
  log: Logger;
}

export class Dt {
  private readonly neighbours = new Map<number, Neighbour>();
  private readonly sched = new PacketScheduler();
  private readonly components: (((pdu: Pdu) => void) | undefined)[] = [];
  /** PDUs for N+1 flows (eid >= 64): the flow allocator. */
  onFlowPdu: (pdu: Pdu) => void = () => {};
  /** A DT connection came up or went away. */
  onNeighbour: (addr: number, up: boolean) => void = () => {};
  readonly counters: DtCounters = { rx: 0, tx: 0, forwarded: 0, delivered: 0, ttlDrops: 0, noRoute: 0, queueDrops: 0, malformed: 0, unknownEid: 0 };
  private readonly hdr: number;
  private readonly ttlOff: number;
  /**
   * Where PDUs to an N-1 flow are built: a flow copies what it is given
   * before tryWrite returns (into its link's send slab, or into FRCT's or the
   * cipher's own buffer), so one buffer serves every send. `view` is its
   * first `viewLen` bytes, kept while PDUs keep the same length.
   */
  private scratch = Buffer.allocUnsafe(SCRATCH_MIN);
  private view: Buffer = this.scratch.subarray(0, 0);
  private viewLen = 0;
  /** The PCI of the PDU being delivered (decoded into, used before anything else is). */
  private readonly pci: Pci = { dst: 0, qc: 0, ttl: 0, ecn: 0, eidLo: 0, eidHi: 0, len: 0 };

  constructor(private readonly init: DtInit) {
    this.hdr = pciLen(init.pci);
    this.ttlOff = init.pci.addrSize + 1;
  }

  /** Registers an internal component for endpoint id `eid` (< 64). */
  register(eid: number, handler: (pdu: Pdu) => void): void {
    if (eid < 0 || eid >= EID_FIRST_FLOW) fail('EINVAL', `eid ${eid} is not an internal one`);
    this.components[eid] = handler;
  }

  /** A DT connection to the neighbour at `addr` (from CACEP). */
  addConn(addr: number, flow: Flow, cube: QosCube, ours = false): void {
    if (addr === 0 || addr === this.init.address()) {
      this.init.log.warn(`DT connection from bad address ${addr}: closed.`);
      void flow.dealloc();
      return;
    }
    const old = this.neighbours.get(addr);
    // Two connections to one neighbour (both ends connected at once): both
    // ends keep the one the lower address made, so they keep the same one.
    const initiator = ours ? this.init.address() : addr;
    if (old && !old.flow.closed && old.initiator < initiator) {
      void flow.dealloc();
      return;
    }
    // A PDU held for a full window (offer()) is given up after this long, so a
    // neighbour that never returns credit cannot stall the flows behind it.
    flow.writeTimeout ??= HELD_WRITE_MS;
    const n: Neighbour = { addr, flow: flow as Neighbour['flow'], cube, held: false, waiters: [], initiator };
    this.neighbours.set(addr, n);
    if (old) this.dropConn(old, false);
    this.sched.add(flow, cube, (pdu) => this.receive(pdu), () => this.dropConn(n, true));
    this.init.log.info(`DT connection with ${addr} up.`);
    this.onNeighbour(addr, true);
  }

  private dropConn(n: Neighbour, notify: boolean): void {
    this.sched.remove(n.flow);
    if (this.neighbours.get(n.addr) === n) {
      this.neighbours.delete(n.addr);
      this.init.log.info(`DT connection with ${n.addr} down.`);
      if (notify) this.onNeighbour(n.addr, false);
    }
    if (!n.flow.closed) void n.flow.dealloc();
    this.release(n);
  }

  /** The held PDU is out (or the connection is gone): wakes the offers that waited. */
  private release(n: Neighbour): void {
    n.held = false;
    if (n.waiters.length === 0) return;
    for (const w of n.waiters.splice(0)) w();
  }

  /** PDUs whose handler threw (the packet scheduler dropped them). */
  get handlerErrors(): number {
    return this.sched.handlerErrors;
  }

  neighbourList(): { addr: number; cube: number; txQueue: number; rxQueue: number }[] {
    return [...this.neighbours.values()].map((n) => ({ addr: n.addr, cube: n.cube, txQueue: n.flow.txQueueLength, rxQueue: n.flow.rxQueueLength }));
  }

  /**
   * Sends `sdu` to endpoint (eidLo, eidHi) at address `dst` in cube `qc`.
   * Returns false when there is no route or the next hop's window is full
   * (dropped, counted).
   */
  send(dst: number, qc: number, eidLo: number, eidHi: number, sdu: Uint8Array, ecn = 0): boolean {
    if (dst === this.init.address()) {
      this.local(dst, qc, eidLo, eidHi, sdu, ecn);
      return true;
    }
    this.counters.tx++;
    const n = this.hop(dst);
    return n !== undefined && this.write(n, this.build(dst, qc, eidLo, eidHi, sdu, ecn));
  }

  /**
   * For the SDUs of N+1 flows (the flow allocator): as send(), but an SDU
   * the next hop's window cannot take now is not dropped: BLOCKED, nothing
   * sent, and `wake` is called once the hop can take PDUs again (the caller
   * keeps the SDU queued meanwhile, so its program's window closes: the
   * program is paced by the layer instead of losing packets at its own
   * IPCP). The first such PDU waits in a write() of its own and counts as
   * SENT.
   */
  offer(dst: number, qc: number, eidLo: number, eidHi: number, sdu: Uint8Array, wake: () => void): Offer {
    if (dst === this.init.address()) {
      this.local(dst, qc, eidLo, eidHi, sdu, 0);
      return Offer.SENT;
    }
    const n = this.hop(dst);
    if (!n) {
      this.counters.tx++;
      return Offer.DROPPED;
    }
    if (n.held) {
      n.waiters.push(wake);
      return Offer.BLOCKED;
    }
    const pdu = this.build(dst, qc, eidLo, eidHi, sdu, 0);
    this.counters.tx++;
    this.mark(n, pdu);
    try {
      if (n.flow.tryWrite(pdu)) return Offer.SENT;
    } catch {
      this.counters.queueDrops++;
      return Offer.DROPPED; // down: the scheduler drops the connection
    }
    // Window full: this PDU goes as soon as it opens; later ones wait for it.
    n.held = true;
    const done = (): void => this.release(n);
    n.flow.write(Buffer.from(pdu)).then(done, done);
    return Offer.SENT;
  }

  /** A PDU for this IPCP itself: handlers may keep views into it, so a buffer of its own. */
  private local(dst: number, qc: number, eidLo: number, eidHi: number, sdu: Uint8Array, ecn: number): void {
    this.counters.tx++;
    const own = Buffer.allocUnsafe(this.hdr + sdu.length);
    writePci(this.init.pci, own, 0, dst, qc, this.init.maxTtl, ecn, eidLo, eidHi);
    own.set(sdu, this.hdr);
    this.deliver(own);
  }

  /** The PDU for an N-1 flow, in the send buffer (valid until the next build). */
  private build(dst: number, qc: number, eidLo: number, eidHi: number, sdu: Uint8Array, ecn: number): Buffer {
    const len = this.hdr + sdu.length;
    let pdu: Buffer;
    if (len === this.viewLen) {
      pdu = this.view;
    } else if (len > SCRATCH_MAX) {
      pdu = Buffer.allocUnsafe(len);
    } else {
      if (len > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX, Math.max(len, this.scratch.length * 2)));
      pdu = this.view = this.scratch.subarray(0, len);
      this.viewLen = len;
    }
    writePci(this.init.pci, pdu, 0, dst, qc, this.init.maxTtl, ecn, eidLo, eidHi);
    pdu.set(sdu, this.hdr);
    return pdu;
  }

  /** The neighbour the PFF gives for `dst`, or undefined (counted). */
  private hop(dst: number): Neighbour | undefined {
    const nh = this.init.pff.nextHop(dst);
    const n = nh === undefined ? undefined : this.neighbours.get(nh);
    if (!n && this.counters.noRoute++ % 1000 === 0) this.init.log.dbg(`No route to ${dst} (${this.counters.noRoute} so far).`);
    return n;
  }

  private toNextHop(dst: number, pdu: Buffer): boolean {
    const n = this.hop(dst);
    return n !== undefined && this.write(n, pdu);
  }

  /** The hop's congestion mark, ORed into the PDU's ECN byte. */
  private mark(n: Neighbour, pdu: Buffer): void {
    const mark = this.init.ca.mark(Math.max(0, n.flow.txQueueLength - CREDIT_SLACK));
    if (mark) pdu[this.ttlOff + 1]! |= mark;
  }

  /** Marks and writes one PDU to the neighbour's N-1 flow; false when its window is full (dropped, counted). */
  private write(n: Neighbour, pdu: Buffer): boolean {
    if (!n.held) {
      this.mark(n, pdu);
      try {
        if (n.flow.tryWrite(pdu)) return true;
      } catch {
        /* down: the scheduler drops the connection */
      }
    }
    this.counters.queueDrops++;
    return false;
  }

  /** One PDU from an N-1 flow. */
  private receive(pdu: Buffer): void {
    this.counters.rx++;
    if (pdu.length < this.hdr) {
      this.counters.malformed++;
      return;
    }
    const ttl = pdu[this.ttlOff]! - 1;
    pdu[this.ttlOff] = ttl < 0 ? 0 : ttl;
    const dst = readAddr(pdu, this.init.pci.addrSize);
    if (dst !== this.init.address()) {
      if (ttl <= 0) {
        this.counters.ttlDrops++;
        return;
      }
      this.counters.forwarded++;
      this.toNextHop(dst, pdu);
      return;
    }
    this.deliver(pdu);
  }

  private deliver(pdu: Buffer): void {
    const p = decodePci(this.init.pci, pdu, 0, this.pci);
    if (typeof p === 'string') {
      this.counters.malformed++;
      return;
    }
    this.counters.delivered++;
    const out: Pdu = { sdu: pdu.subarray(p.len), qc: p.qc, ecn: p.ecn, eidLo: p.eidLo, eidHi: p.eidHi };
    if (p.eidHi === 0 && p.eidLo < EID_FIRST_FLOW) {
      const h = this.components[p.eidLo];
      if (h) h(out);
      else this.counters.unknownEid++;
      return;
    }
    this.onFlowPdu(out);
  }

  stop(): void {
    for (const n of [...this.neighbours.values()]) this.dropConn(n, false);
  }
}

/** The destination address: the first addrSize bytes, little-endian (host order of the reference). */
function readAddr(b: Buffer, size: number): number {
  if (size === 4) return b.readUInt32LE(0);
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + b[i]!;
  return v;
}
