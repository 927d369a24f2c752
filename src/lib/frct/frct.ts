/**
 * FRCT, the Flow and Retransmission Control Protocol of one flow, as a pure
 * protocol engine: no sockets, no OS timers, no clock of its own. The owner
 * (src/lib/flow.ts) feeds it PDUs from the peer (receive), SDUs from the
 * application (write), reads in-order SDUs out of it (read), and calls
 * tick() at nextDeadline(). Everything the engine wants to transmit is handed
 * to out.send() as a plain PDU (12-byte header + data, or a 12-byte control
 * PDU); the owner then encrypts / appends the CRC and transmits it.
 *
 * Wire format and rules kept from the reference (WIRE.md §7): the header
 * (header.ts), sequence arithmetic modulo 2^32 (seq.ts), the packet kinds,
 * random initial sequence numbers and data runs (DRF starts a run at an
 * inactive receiver; inactivity = (3*MPL + A + R) s sender side, (2*MPL + A +
 * R) s receiver side, whole seconds + 1), sender start window 64, receiver
 * window 256 (the reorder queue), the 24-bit window field and its roll-over
 * reconstruction, the Linux RTT estimator (rtt.ts), and the receiver window
 * semantics: ackno and the advertised right window edge advance only when the
 * application *consumes* SDUs (rwe = lwe + 256 at all times).
 *
 * Where o7s deliberately differs from the reference 0.23.0
 * --------------------------------------------------------
 * 1. Window probes work without a prior FC (WIRE.md §7.4). The reference only
 *    probes once an FC was received and gives up after 1 s closed; a one-way
 *    non-reliable flow stalls after 64 SDUs. Here:
 *    a. the receiver advertises its window unprompted: an FC (non-reliable) or
 *       ACK+FC (reliable) is scheduled (10 ms delayed) whenever the sender is
 *       within half a window of the last edge the receiver advertised (or
 *       assumed: run start + 64) and the edge can move;
 *    b. a sender whose window is closed with nothing unacknowledged sends
 *       RDVS probes from a timer (100 ms, doubling to 1 s), whether or not it
 *       ever received an FC, and never fails merely for being closed;
 *    c. the probe is RDVS+DRF with seqno = the sender's next sequence number
 *       (the reference sends RDVS with all fields 0). DRF is truthful (probes
 *       are only sent with nothing unacknowledged). A reference receiver that
 *       has no run starts one at that seqno (its DRF rule) and answers FC; an
 *       o7s receiver of a NON-reliable flow with nothing queued uses it to
 *       skip lost SDUs in [lwe, seqno) so the window reopens after tail loss.
 *       An o7s receiver answers the reference's all-zero RDVS with FC too.
 * 2. Non-reliable receive (reference: lwe := seqno of each arrival, SDUs left
 *    in other slots are delivered 256 SDUs later, rwe never follows lwe so the
 *    window shrinks with every loss): here arrivals are queued by seqno and
 *    read() returns them in order; a hole at the delivery point is skipped
 *    once it is overdue (reorderWaitMs, default 10 ms, after the first SDU
 *    queued behind it arrived), so reordered SDUs are not lost; SDUs arriving
 *    behind the delivery point are dropped (late); rwe = lwe + 256 always.
 * 3. Retransmissions re-run the full send path (WIRE.md §7.10): the engine
 *    keeps its own copy of each unacknowledged SDU and hands out a freshly
 *    built plain PDU for every (re)transmission, so the owner encrypts and
 *    CRCs each one. Control PDUs go through the same out.send, so the owner
 *    CRCs/encrypts them like data (the reference never CRCs them, §6).
 *    The retransmitted header carries the current ACK/FC, not stale ones.
 * 4. Retransmission strategy: one RTO timer for the oldest unacknowledged SDU
 *    (RFC 6298 style) instead of one timer per packet; on expiry only that SDU
 *    is resent and the RTO doubles (capped at min(maxRtoMs = 15 s, R/8)); the
 *    back-off is cleared by the next ACK that acknowledges new data. Fast
 *    retransmit: the receiver sends an immediate ACK+FC for every SDU that
 *    arrives behind a hole at its ack point (a duplicate ACK); every third
 *    duplicate ACK (ACK without DATA, ackno = sender lwe, no window advance)
 *    resends the oldest SDU if it was last sent more than one SRTT ago.
 *    Partial ACKs during recovery resend the new oldest SDU at once (NewReno).
 *    Karn: resending an SDU at or below the RTT probe cancels the probe
 *    (its cumulative ACK would include the repair time). Duplicates are
 *    answered with an immediate ACK+FC.
 * 5. Bounded memory: at most `window` (256) SDUs unacknowledged, whatever the
 *    peer advertises and also with FRCTFRESCNTL cleared; the reorder queue
 *    holds at most `window` SDUs.
 * 6. Give up: a flow with unacknowledged data, or probing a closed window,
 *    that receives no ACK/FC at all for R (rtxGiveUpMs, default 120 s) goes
 *    down (out.onDown, once). Any ACK or FC counts as an answer, so a receiver
 *    that stops reading keeps the flow up (windows close, data stays queued,
 *    retransmissions back off). The reference instead downs the flow when one
 *    packet is unacknowledged for R, or cannot schedule an RTO > 68.7 s.
 * 7. Run activity: the receiver refreshes its run only on DATA and RDVS (the
 *    reference refreshes on any packet, so pure ACKs kept a run-less receive
 *    side "active" and it then rejected the peer's first DRF); the sender
 *    counts retransmissions and probes as activity too, so it never starts a
 *    new run while the receiver still considers the old one alive.
 * 8. The 24-bit window is widened to the 32-bit value nearest the current
 *    rwe (either direction; the reference only corrects upward roll-over); a
 *    stale or shrinking FC never moves the sender's rwe backward; ACKs beyond
 *    the next seqno to send are ignored.
 * 9. FRCTSFLAGS: setFlags sets FRCTFRESCNTL and FRCTFLINGER as given (the
 *    reference can only clear them); FRCTFRTX stays fixed by the QoS.
 * 10. An explicit ACK is sent whenever the application consumed something new
 *    (10 ms delayed, coalesced), not only when a data packet arrived within
 *    the last 10 ms; the A (10 s) limit only applies to piggy-backed ACKs.
 *
 * Callbacks: out.* may be invoked synchronously from write(), receive(),
 * tick(), setFlags() and close(); read() never calls out. onReadable,
 * onWritable and onDown run last, with the engine state consistent, so they
 * may call read()/write()/close(). onReadable is edge-like ("more became
 * readable"): read until undefined. out.send must not synchronously re-enter
 * receive() (queue the delivery instead).
 *
 * Timers: one TimerQueue per engine (timers.ts, 1 ms resolution, deadlines
 * rounded up): RTO, delayed ACK / window update, window probe, give-up and the
 * non-reliable reorder wait. The owner keeps one OS timer at nextDeadline().
 * Times are ms from init.now() (monotonic; fractions allowed).
 */
import { randomBytes } from 'node:crypto';
import {
  FRCT_HDR_LEN,
  FrctFlag,
  ackPdu,
  dataPdu,
  decodeHeader,
  finalAckPdu,
  rdvsPdu,
  windowUpdatePdu,
  type FrctHeader,
} from './header.js';
import { after, before, seqAdd, seqDiff, seqDist } from './seq.js';
import { RttEstimator } from './rtt.js';
import { Timer, TimerQueue } from './timers.js';

/** fccntl FRCT flags (ARCHITECTURE §4.3). */
export const FRCTFRTX = 0o1;
export const FRCTFRESCNTL = 0o2;
export const FRCTFLINGER = 0o4;

export const FRCT_DEFAULTS = {
  /** A: maximum time to ACK (ms); piggy-backed ACKs only within A of the last receive. */
  ackTimeoutMs: 10_000,
  /** R: give up after this long without any ACK/FC while waiting for one (ms). */
  rtxGiveUpMs: 120_000,
  /** Receiver window / reorder queue size, also the cap on unacknowledged SDUs (RQ_SIZE). */
  window: 256,
  /** Sender window at the start of a run, before any FC (START_WINDOW). */
  startWindow: 64,
  /** Delayed ACK / window update (2 x TICTIME in the reference). */
  ackDelayMs: 10,
  /** First window probe after the window closed, then doubling. */
  rdvIntervalMs: 100,
  rdvMaxIntervalMs: 1_000,
  initialRtoMs: 1_000,
  /** Cap of the backed-off RTO (also never more than R/8, so R covers several tries). */
  maxRtoMs: 15_000,
  dupAckThreshold: 3,
  /** Non-reliable: how long a hole may hold back later SDUs before it is skipped. */
  reorderWaitMs: 10,
  timerResolutionMs: 1,
} as const;

export interface FrctInit {
  /** QoS loss == 0: retransmission, FRCTFRTX (fixed) and FRCTFLINGER. */
  reliable: boolean;
  /** FRCTFRESCNTL initially (default true, as in the reference). */
  resourceControl?: boolean;
  /** FRCTFLINGER initially (default: reliable). */
  linger?: boolean;
  /** Maximum packet lifetime of the layer below (ms). */
  mpl: number;
  /** Monotonic clock in ms. */
  now: () => number;
  /** Uniform in [0, 1); initial sequence number = floor(random() * 2^32). Default: crypto. */
  random?: () => number;
  rtxGiveUpMs?: number;
  ackTimeoutMs?: number;
  /** Power of two, 2 .. 2^22. */
  window?: number;
  startWindow?: number;
  ackDelayMs?: number;
  rdvIntervalMs?: number;
  rdvMaxIntervalMs?: number;
  initialRtoMs?: number;
  maxRtoMs?: number;
  dupAckThreshold?: number;
  /** Non-reliable: wait this long for a missing SDU before skipping it (0 = skip at once). */
  reorderWaitMs?: number;
  timerResolutionMs?: number;
}

export interface FrctOutput {
  /** Hand a plain PDU (header + data, or a control PDU) to the lower layer. The engine never touches it again. */
  send(pdu: Buffer): void;
  /** New in-order data can be read. */
  onReadable(): void;
  /** The send window reopened after canWrite() was false / write() refused. */
  onWritable(): void;
  /** The flow gave up (no answer for R); called once. */
  onDown(reason: string): void;
}

export interface FrctStats {
  /** SDUs written (first transmissions). */
  sent: number;
  /** Data PDUs sent again (timeouts + fast + partial-ACK retransmissions). */
  retransmitted: number;
  timeouts: number;
  fastRetransmits: number;
  /** Data PDUs accepted into the reorder queue. */
  received: number;
  /** SDUs returned by read(). */
  delivered: number;
  /** Data PDUs dropped because already queued, or (reliable) already delivered. */
  duplicates: number;
  /** Accepted data PDUs that arrived while an earlier SDU was still missing. */
  outOfOrder: number;
  /** Data PDUs beyond the receiver's right window edge. */
  outOfWindow: number;
  /** Non-reliable: data PDUs behind the delivery point (late or duplicate). */
  late: number;
  /** Non-reliable: sequence numbers skipped over as lost. */
  skipped: number;
  /** Data PDUs dropped because no data run was active (no DRF seen). */
  noRun: number;
  /** PDUs shorter than the header. */
  malformed: number;
  /** ACK-carrying control PDUs sent (delayed, immediate, probe answers, final). */
  acksSent: number;
  /** Packets with the ACK flag received. */
  acksReceived: number;
  /** FC-only window updates sent. */
  windowUpdatesSent: number;
  rdvsSent: number;
  rdvsReceived: number;
  rttSamples: number;
  srttMs: number;
  rttMs: number;
  rtoMs: number;
  /** SDUs that may be written now. */
  window: number;
  unacked: number;
  /** SDUs waiting in the reorder queue. */
  queued: number;
}

interface RtxEntry {
  data: Buffer;
  drf: boolean;
  firstSent: number;
  lastSent: number;
  transmissions: number;
}

type Counters = Omit<FrctStats, 'rttSamples' | 'srttMs' | 'rttMs' | 'rtoMs' | 'window' | 'unacked' | 'queued'>;

function defaultRandom(): number {
  return randomBytes(4).readUInt32BE(0) / 2 ** 32;
}

function inactMs(sum: number): number {
  return (Math.floor(sum / 1000) + 1) * 1000;
}

export class Frct {
  readonly reliable: boolean;
  private flagsV: number;
  private readonly nowFn: () => number;
  private readonly random: () => number;

  private readonly A: number;
  private readonly R: number;
  private readonly W: number;
  private readonly mask: number;
  private readonly startWindow: number;
  private readonly ackDelay: number;
  private readonly rdvInitial: number;
  private readonly rdvMax: number;
  private readonly maxRto: number;
  private readonly dupThresh: number;
  private readonly reorderWait: number;
  private readonly sndInact: number;
  private readonly rcvInact: number;

  private readonly q: TimerQueue;
  private readonly rtxTimer: Timer;
  private readonly ackTimer: Timer;
  private readonly rdvTimer: Timer;
  private readonly giveUpTimer: Timer;
  private readonly gapTimer: Timer;
  private readonly rtt: RttEstimator;

  private isDown = false;
  private isClosed = false;

  // sender
  private sndLwe = 0;
  private sndRwe: number;
  private sndSeq = 0;
  private sndAct = -Infinity;
  private readonly rtxBuf: (RtxEntry | undefined)[];
  private probe: { seq: number; t: number } | undefined;
  private recover: number | undefined;
  private dupAcks = 0;
  private backoff = 0;
  private rdvInterval: number;
  private lastResponse = -Infinity;
  private waiting = false;
  private waitSince = 0;
  private blocked = false;

  // receiver
  private rcvRun = false;
  private rcvLwe = 0;
  private rcvNext = 0;
  private rcvHigh = 0;
  private rcvAct = -Infinity;
  private readonly rq: (Buffer | undefined)[];
  /** Non-reliable: arrival time of each queued SDU. */
  private readonly rqAt: Float64Array;
  private buffered = 0;
  private carry: Buffer[] = [];
  private ackedLwe = 0;
  private advRwe = 0;

  private pendingReadable = false;
  private readonly c: Counters = {
    sent: 0,
    retransmitted: 0,
    timeouts: 0,
    fastRetransmits: 0,
    received: 0,
    delivered: 0,
    duplicates: 0,
    outOfOrder: 0,
    outOfWindow: 0,
    late: 0,
    skipped: 0,
    noRun: 0,
    malformed: 0,
    acksSent: 0,
    acksReceived: 0,
    windowUpdatesSent: 0,
    rdvsSent: 0,
    rdvsReceived: 0,
  };

  constructor(
    init: FrctInit,
    private readonly out: FrctOutput,
  ) {
    const d = FRCT_DEFAULTS;
    this.reliable = init.reliable;
    this.nowFn = init.now;
    this.random = init.random ?? defaultRandom;
    this.A = init.ackTimeoutMs ?? d.ackTimeoutMs;
    this.R = init.rtxGiveUpMs ?? d.rtxGiveUpMs;
    this.W = init.window ?? d.window;
    if (!Number.isInteger(this.W) || this.W < 2 || this.W > 1 << 22 || (this.W & (this.W - 1)) !== 0)
      throw new RangeError('FRCT window must be a power of two between 2 and 2^22');
    this.mask = this.W - 1;
    this.startWindow = Math.min(init.startWindow ?? d.startWindow, this.W);
    this.ackDelay = init.ackDelayMs ?? d.ackDelayMs;
    this.rdvInitial = init.rdvIntervalMs ?? d.rdvIntervalMs;
    this.rdvMax = Math.max(this.rdvInitial, init.rdvMaxIntervalMs ?? d.rdvMaxIntervalMs);
    // Retransmissions must come often enough to get an answer before R runs out.
    this.maxRto = Math.min(init.maxRtoMs ?? d.maxRtoMs, this.R / 8);
    this.dupThresh = init.dupAckThreshold ?? d.dupAckThreshold;
    this.reorderWait = init.reorderWaitMs ?? d.reorderWaitMs;
    const mpl = Math.max(0, init.mpl);
    this.sndInact = inactMs(3 * mpl + this.A + this.R);
    this.rcvInact = inactMs(2 * mpl + this.A + this.R);
    this.rdvInterval = this.rdvInitial;
    this.sndRwe = this.startWindow;

    let flags = 0;
    if (this.reliable) flags |= FRCTFRTX;
    if (init.resourceControl ?? true) flags |= FRCTFRESCNTL;
    if (init.linger ?? this.reliable) flags |= FRCTFLINGER;
    this.flagsV = flags;

    this.q = new TimerQueue(init.timerResolutionMs ?? d.timerResolutionMs);
    this.rtxTimer = this.q.timer((now) => this.onRtxTimer(now));
    this.ackTimer = this.q.timer((now) => this.onAckTimer(now));
    this.rdvTimer = this.q.timer((now) => this.onRdvTimer(now));
    this.giveUpTimer = this.q.timer((now) => this.onGiveUpTimer(now));
    this.gapTimer = this.q.timer((now) => this.updateGap(now));
    this.rtt = new RttEstimator(init.initialRtoMs ?? d.initialRtoMs);

    this.rtxBuf = this.reliable ? new Array<RtxEntry | undefined>(this.W).fill(undefined) : [];
    this.rq = new Array<Buffer | undefined>(this.W).fill(undefined);
    this.rqAt = new Float64Array(this.reliable ? 0 : this.W);
  }

  // ------------------------------------------------------------------ API

  /** The FRCT flags (FRCTFRTX | FRCTFRESCNTL | FRCTFLINGER). */
  get flags(): number {
    return this.flagsV;
  }

  /** FRCTSFLAGS: FRCTFRESCNTL and FRCTFLINGER as given; FRCTFRTX stays as the QoS set it. */
  setFlags(flags: number): void {
    this.flagsV = (flags & (FRCTFRESCNTL | FRCTFLINGER)) | (this.reliable ? FRCTFRTX : 0);
    if (this.isClosed || this.isDown) return;
    this.updateSenderTimers(this.nowFn());
    this.notify();
  }

  get down(): boolean {
    return this.isDown;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Whether write() would accept an SDU now. */
  canWrite(): boolean {
    if (this.isDown || this.isClosed) return false;
    const ok = this.windowOpen(this.nowFn());
    if (!ok) this.blocked = true;
    return ok;
  }

  /** Send one SDU (non-empty). Throws when the window is closed, the flow is down or closed. */
  write(sdu: Uint8Array): void {
    if (this.isClosed) throw new Error('FRCT: flow closed');
    if (this.isDown) throw new Error('FRCT: flow down');
    if (sdu.length === 0) throw new RangeError('FRCT: empty SDU (zero-length SDUs bypass FRCT)');
    const now = this.nowFn();
    if (!this.windowOpen(now)) {
      this.blocked = true;
      throw new Error('FRCT: send window closed');
    }
    if (now - this.sndAct > this.sndInact && this.sndSeq === this.sndLwe) this.newSendRun();

    const seq = this.sndSeq;
    const drf = seq === this.sndLwe;
    const pb = this.piggyback(now);
    const pdu = dataPdu(seq, sdu, { drf, ...pb });
    if (this.reliable) {
      this.rtxBuf[seq & this.mask] = {
        data: Buffer.from(sdu),
        drf,
        firstSent: now,
        lastSent: now,
        transmissions: 1,
      };
      this.probe ??= { seq, t: now };
      if (!this.rtxTimer.pending) this.rtxTimer.set(now + this.rto());
    } else {
      this.sndLwe = seqAdd(seq, 1);
    }
    this.sndSeq = seqAdd(seq, 1);
    this.sndAct = now;
    this.c.sent++;
    this.updateSenderTimers(now);
    this.out.send(pdu);
  }

  /** One PDU from the peer (after CRC check / decryption), control or data. */
  receive(pdu: Uint8Array): void {
    if (this.isClosed || this.isDown) return;
    if (pdu.length < FRCT_HDR_LEN) {
      this.c.malformed++;
      return;
    }
    const h = decodeHeader(pdu);
    const now = this.nowFn();
    const isData = (h.flags & FrctFlag.DATA) !== 0;
    const isRdvs = (h.flags & FrctFlag.RDVS) !== 0;

    if (isData || isRdvs) {
      if (!this.rcvActive(now)) {
        if (h.flags & FrctFlag.DRF) {
          this.newReceiveRun(h.seqno);
        } else if (isData) {
          this.c.noRun++;
          return;
        } else {
          this.c.rdvsReceived++;
          return; // a probe for a run we do not know: nothing sensible to answer
        }
      }
      this.rcvAct = now;
    }

    if (isRdvs) {
      this.handleRdvs(h);
    } else {
      const fc = (h.flags & FrctFlag.FC) !== 0;
      const fcAdvanced = fc ? this.handleFc(h, now) : false;
      if (h.flags & FrctFlag.ACK) this.handleAck(h, now, isData, fcAdvanced);
      else if (fc) this.afterWindowChange(now);
      if (isData) this.handleData(h, pdu, now);
    }
    this.notify();
  }

  /** Next in-order SDU, or undefined. Advances lwe/rwe (and so the ACK and the window). */
  read(): Buffer | undefined {
    if (this.carry.length > 0) {
      this.c.delivered++;
      return this.carry.shift();
    }
    if (this.buffered === 0) return undefined;
    let s = this.rcvLwe;
    if (this.rq[s & this.mask] === undefined) {
      if (this.reliable) return undefined;
      // Non-reliable: a hole at the delivery point. Skip it only once it is
      // overdue, else wait for a reordered SDU to fill it.
      const now = this.nowFn();
      if (this.gapDue() > now) {
        this.updateGap(now);
        return undefined;
      }
      const first = this.firstQueued();
      this.c.skipped += seqDist(s, first);
      s = first;
    }
    const slot = s & this.mask;
    const b = this.rq[slot]!;
    this.rq[slot] = undefined;
    this.buffered--;
    this.rcvLwe = seqAdd(s, 1);
    if (before(this.rcvNext, this.rcvLwe)) {
      this.rcvNext = this.rcvLwe;
      this.advanceRcvNext();
    }
    this.c.delivered++;
    if (!this.isClosed && !this.isDown && this.rcvRun) {
      // A quarter of the window consumed since the last ACK: acknowledge at once,
      // so a fast sender is never held back by the delayed-ACK timer.
      if (this.reliable && seqDiff(this.rcvLwe, this.ackedLwe) >= this.W / 4) this.sendAckNow();
      else if (this.reliable || this.windowUpdateNeeded()) this.ackTimer.setIfEarlier(this.nowFn() + this.ackDelay);
      if (!this.reliable) this.updateGap(this.nowFn());
    }
    return b;
  }

  /** Whether read() would return an SDU. */
  readable(): boolean {
    if (this.carry.length > 0) return true;
    if (this.rq[this.rcvLwe & this.mask] !== undefined) return true;
    if (this.reliable || this.buffered === 0) return false;
    return this.gapDue() <= this.nowFn();
  }

  /** When tick() must run next (ms, same clock as init.now), or undefined. */
  nextDeadline(): number | undefined {
    if (this.isClosed || this.isDown) return undefined;
    return this.q.next();
  }

  /** Run due timers: retransmissions, delayed ACKs / window updates, probes, give-up. */
  tick(): void {
    if (this.isClosed || this.isDown) return;
    this.q.advance(this.nowFn());
    this.notify();
  }

  /** SDUs sent and not yet acknowledged (always 0 on non-reliable flows). */
  unacked(): number {
    return this.reliable ? seqDist(this.sndLwe, this.sndSeq) : 0;
  }

  /** SDUs received and not yet read (O(1); the same as stats.queued). */
  queued(): number {
    return this.buffered + this.carry.length;
  }

  /** Deallocation must wait: FRCTFLINGER set and unacknowledged data remains. */
  lingering(): boolean {
    return !this.isDown && (this.flagsV & FRCTFLINGER) !== 0 && this.unacked() > 0;
  }

  /**
   * How long the flow's identity must stay reserved after deallocation (ms):
   * until both sides' runs have expired, max(rcvInact - idle_rx, sndInact -
   * idle_tx), at least 0 (WIRE.md §7.9).
   */
  lingerMs(): number {
    const now = this.nowFn();
    const w = Math.max(this.rcvInact - (now - this.rcvAct), this.sndInact - (now - this.sndAct));
    return Number.isFinite(w) && w > 0 ? Math.ceil(w) : 0;
  }

  /** Stop: sends the final ACK if something consumed is unacknowledged, drops all timers and buffers. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const now = this.nowFn();
    const finalAck = !this.isDown && this.reliable && this.rcvActive(now) && this.rcvLwe !== this.ackedLwe;
    this.q.clear();
    if (this.reliable) this.rtxBuf.fill(undefined);
    if (finalAck) {
      this.ackedLwe = this.rcvLwe;
      this.c.acksSent++;
      this.out.send(finalAckPdu(this.rcvLwe));
    }
  }

  get stats(): FrctStats {
    const now = this.nowFn();
    let window = 0;
    if (!this.isDown && !this.isClosed) {
      if (now - this.sndAct > this.sndInact && this.sndSeq === this.sndLwe) {
        window = this.startWindow;
      } else {
        let w = this.reliable ? this.W - this.unacked() : Infinity;
        if (this.flagsV & FRCTFRESCNTL) w = Math.min(w, Math.max(0, seqDiff(this.sndRwe, this.sndSeq)));
        window = w;
      }
    }
    return {
      ...this.c,
      rttSamples: this.rtt.samples,
      srttMs: this.rtt.srttMs,
      rttMs: this.rtt.srttMs,
      rtoMs: this.rto(),
      window,
      unacked: this.unacked(),
      queued: this.queued(),
    };
  }

  // ------------------------------------------------------------ sender

  private windowOpen(now: number): boolean {
    if (now - this.sndAct > this.sndInact && this.sndSeq === this.sndLwe) return true; // a new run starts
    if (this.reliable && this.unacked() >= this.W) return false;
    if (this.flagsV & FRCTFRESCNTL) return before(this.sndSeq, this.sndRwe);
    return true;
  }

  private newSendRun(): void {
    const r = this.random();
    const seq = Math.floor(r * 2 ** 32) >>> 0;
    this.sndSeq = seq;
    this.sndLwe = seq;
    this.sndRwe = seqAdd(seq, this.startWindow);
    this.probe = undefined;
    this.recover = undefined;
    this.dupAcks = 0;
    this.rdvInterval = this.rdvInitial;
  }

  /** ACK / FC fields for an outgoing data PDU; records what was advertised. */
  private piggyback(now: number): { rwe?: number; ackno?: number } {
    const r: { rwe?: number; ackno?: number } = {};
    if (this.rcvActive(now)) {
      const rwe = this.rcvRwe();
      r.rwe = rwe;
      this.advRwe = rwe;
      if (this.reliable && now - this.rcvAct <= this.A) {
        r.ackno = this.rcvLwe;
        this.ackedLwe = this.rcvLwe;
      }
    }
    return r;
  }

  private retransmit(seq: number, now: number): void {
    const e = this.rtxBuf[seq & this.mask];
    if (e === undefined) return;
    // Karn: the ACK covering the probe is delayed (or caused) by this resend.
    if (this.probe && !after(seq, this.probe.seq)) this.probe = undefined;
    const pdu = dataPdu(seq, e.data, { drf: e.drf, ...this.piggyback(now) });
    e.lastSent = now;
    e.transmissions++;
    this.sndAct = now;
    this.c.retransmitted++;
    this.rtxTimer.set(now + this.rto());
    this.out.send(pdu);
  }

  /** Current retransmission timeout including back-off (ms). */
  private rto(): number {
    return Math.min(this.maxRto, this.rtt.rtoMs * 2 ** this.backoff);
  }

  /** Resend the oldest SDU unless it was (re)sent less than about one RTT ago. */
  private retransmitOldestIfStale(now: number): boolean {
    const e = this.rtxBuf[this.sndLwe & this.mask];
    if (e === undefined) return false;
    const gap = this.rtt.samples > 0 ? this.rtt.srttMs : this.rto();
    if (now - e.lastSent < gap) return false;
    this.retransmit(this.sndLwe, now);
    return true;
  }

  private onRtxTimer(now: number): void {
    if (this.unacked() === 0) return;
    this.c.timeouts++;
    if (this.rtt.rtoMs * 2 ** this.backoff < this.maxRto) this.backoff++;
    this.dupAcks = 0;
    this.recover = this.sndSeq;
    this.retransmit(this.sndLwe, now);
  }

  private handleFc(h: FrctHeader, now: number): boolean {
    this.lastResponse = now;
    const base = this.sndRwe;
    let d = (h.window - (base & 0xffffff)) & 0xffffff;
    if (d >= 0x800000) d -= 0x1000000;
    const rwe = seqAdd(base, d);
    if (!after(rwe, this.sndRwe)) return false;
    this.sndRwe = rwe;
    this.rdvInterval = this.rdvInitial;
    return true;
  }

  private handleAck(h: FrctHeader, now: number, isData: boolean, fcAdvanced: boolean): void {
    this.c.acksReceived++;
    this.lastResponse = now;
    const ackno = h.ackno;
    if (this.reliable && after(ackno, this.sndLwe) && !after(ackno, this.sndSeq)) {
      for (let s = this.sndLwe; s !== ackno; s = seqAdd(s, 1)) this.rtxBuf[s & this.mask] = undefined;
      this.sndLwe = ackno;
      this.dupAcks = 0;
      this.backoff = 0;
      if (this.probe && after(ackno, this.probe.seq)) {
        this.rtt.sample(now - this.probe.t);
        this.probe = undefined;
      }
      if (this.unacked() > 0) this.rtxTimer.set(now + this.rto());
      else this.rtxTimer.clear();
      if (this.recover !== undefined) {
        // Partial ACK during recovery: the new oldest is most likely the next hole.
        if (before(this.sndLwe, this.recover)) this.retransmitOldestIfStale(now);
        else this.recover = undefined;
      }
    } else if (
      this.reliable &&
      ackno === this.sndLwe &&
      this.unacked() > 0 &&
      !isData &&
      !fcAdvanced
    ) {
      this.dupAcks++;
      if (this.dupAcks >= this.dupThresh) {
        this.dupAcks = 0;
        if (this.retransmitOldestIfStale(now)) {
          this.recover ??= this.sndSeq;
          this.c.fastRetransmits++;
        }
      }
    }
    this.afterWindowChange(now);
  }

  private afterWindowChange(now: number): void {
    this.updateSenderTimers(now);
  }

  /** Arm / disarm the probe and give-up timers from the sender state. */
  private updateSenderTimers(now: number): void {
    if (this.isDown || this.isClosed) return;
    const probing = this.probeNeeded(now);
    if (probing) {
      if (!this.rdvTimer.pending) this.rdvTimer.set(now + this.rdvInterval);
    } else {
      this.rdvTimer.clear();
    }
    const waitingNow = this.unacked() > 0 || probing;
    if (waitingNow && !this.waiting) this.waitSince = now;
    this.waiting = waitingNow;
    if (waitingNow) this.giveUpTimer.set(Math.max(this.waitSince, this.lastResponse) + this.R);
    else this.giveUpTimer.clear();
  }

  private probeNeeded(now: number): boolean {
    if (!(this.flagsV & FRCTFRESCNTL)) return false;
    if (this.sndSeq !== this.sndLwe && this.reliable) return false; // retransmissions elicit answers
    if (now - this.sndAct > this.sndInact) return false; // next write starts a new run
    return !before(this.sndSeq, this.sndRwe);
  }

  private onRdvTimer(now: number): void {
    if (!this.probeNeeded(now)) return;
    this.c.rdvsSent++;
    this.sndAct = now;
    this.rdvInterval = Math.min(this.rdvInterval * 2, this.rdvMax);
    this.rdvTimer.set(now + this.rdvInterval);
    this.out.send(rdvsPdu(this.sndSeq));
  }

  private onGiveUpTimer(now: number): void {
    if (!this.waiting) return;
    const deadline = Math.max(this.waitSince, this.lastResponse) + this.R;
    if (now < deadline) {
      this.giveUpTimer.set(deadline);
      return;
    }
    this.goDown(`FRCT: no acknowledgement from the peer for ${this.R} ms`);
  }

  private goDown(reason: string): void {
    if (this.isDown) return;
    this.isDown = true;
    this.q.clear();
    if (this.reliable) this.rtxBuf.fill(undefined);
    this.out.onDown(reason);
  }

  // ---------------------------------------------------------- receiver

  private rcvRwe(): number {
    return seqAdd(this.rcvLwe, this.W);
  }

  private rcvActive(now: number): boolean {
    return this.rcvRun && now - this.rcvAct <= this.rcvInact;
  }

  private newReceiveRun(seq: number): void {
    // SDUs of the old run the application has not read yet stay readable first.
    if (this.buffered > 0) {
      let s = this.rcvLwe;
      for (let n = 0; n < this.W && this.buffered > 0; n++, s = seqAdd(s, 1)) {
        const slot = s & this.mask;
        const b = this.rq[slot];
        if (b === undefined) {
          if (this.reliable) break;
          continue;
        }
        this.carry.push(b);
        this.rq[slot] = undefined;
        this.buffered--;
      }
      this.rq.fill(undefined);
      this.buffered = 0;
    }
    this.rcvRun = true;
    this.rcvLwe = seq;
    this.rcvNext = seq;
    this.rcvHigh = seq;
    this.ackedLwe = seq;
    this.advRwe = seqAdd(seq, this.startWindow);
  }

  private handleRdvs(h: FrctHeader): void {
    this.c.rdvsReceived++;
    if (!this.reliable && h.flags & FrctFlag.DRF) {
      const s = h.seqno;
      if (this.buffered === 0 && after(s, this.rcvLwe) && !after(s, this.rcvRwe())) {
        this.c.skipped += seqDist(this.rcvLwe, s);
        this.rcvLwe = s;
        this.rcvNext = s;
        if (before(this.rcvHigh, s)) this.rcvHigh = s;
      }
    }
    this.ackTimer.clear();
    if (this.reliable) this.sendAckNow();
    else this.sendWindowUpdateNow();
  }

  private handleData(h: FrctHeader, pdu: Uint8Array, now: number): void {
    const seq = h.seqno;
    if (before(seq, this.rcvLwe)) {
      if (this.reliable) {
        this.c.duplicates++;
        this.sendAckNow();
      } else {
        this.c.late++;
      }
      return;
    }
    if (!before(seq, this.rcvRwe())) {
      this.c.outOfWindow++;
      if (this.reliable) this.sendAckNow();
      return;
    }
    const slot = seq & this.mask;
    if (this.rq[slot] !== undefined) {
      this.c.duplicates++;
      if (this.reliable) this.sendAckNow();
      return;
    }
    this.rq[slot] = Buffer.from(pdu.subarray(FRCT_HDR_LEN));
    if (!this.reliable) this.rqAt[slot] = now;
    this.buffered++;
    this.c.received++;
    if (after(seqAdd(seq, 1), this.rcvHigh)) this.rcvHigh = seqAdd(seq, 1);

    let ackNow = false;
    if (seq === this.rcvNext) {
      this.advanceRcvNext();
      this.pendingReadable = true;
    } else {
      this.c.outOfOrder++;
      if (!this.reliable) {
        if (this.rq[this.rcvLwe & this.mask] === undefined) this.updateGap(now);
        else this.pendingReadable = true;
      }
      // A hole right at our ack point: tell the sender at once (duplicate ACKs).
      else if (this.rcvLwe === this.rcvNext) ackNow = true;
    }
    if (ackNow) this.sendAckNow();
    else if (this.windowUpdateNeeded()) this.ackTimer.setIfEarlier(now + this.ackDelay);
  }

  /** Non-reliable: lowest queued seqno (buffered > 0). */
  private firstQueued(): number {
    let s = this.rcvLwe;
    for (let n = 0; n < this.W && this.rq[s & this.mask] === undefined; n++) s = seqAdd(s, 1);
    return s;
  }

  /**
   * Non-reliable, hole at lwe with SDUs queued behind it: when the hole may be
   * skipped. A reordered SDU is expected within reorderWait of the first SDU
   * queued after it.
   */
  private gapDue(): number {
    return this.rqAt[this.firstQueued() & this.mask]! + this.reorderWait;
  }

  /** Non-reliable: keep the gap timer in step with the hole at lwe (if any). */
  private updateGap(now: number): void {
    if (this.reliable || this.isClosed || this.isDown) return;
    if (this.buffered === 0 || this.rq[this.rcvLwe & this.mask] !== undefined) {
      this.gapTimer.clear();
      return;
    }
    const due = this.gapDue();
    if (due <= now) {
      this.gapTimer.clear();
      this.pendingReadable = true;
    } else {
      this.gapTimer.set(due);
    }
  }

  private advanceRcvNext(): void {
    const rwe = this.rcvRwe();
    while (before(this.rcvNext, rwe) && this.rq[this.rcvNext & this.mask] !== undefined) {
      this.rcvNext = seqAdd(this.rcvNext, 1);
    }
  }

  /** The sender is within half a window of the edge we last advertised, and the edge can move. */
  private windowUpdateNeeded(): boolean {
    if (!this.rcvRun) return false;
    const rwe = this.rcvRwe();
    if (!after(rwe, this.advRwe)) return false;
    return seqDiff(this.advRwe, this.rcvHigh) <= this.W / 2;
  }

  private onAckTimer(now: number): void {
    if (!this.rcvActive(now)) return;
    if (this.reliable) {
      if (after(this.rcvLwe, this.ackedLwe) || this.windowUpdateNeeded()) this.sendAckNow();
    } else if (this.windowUpdateNeeded()) {
      this.sendWindowUpdateNow();
    }
  }

  private sendAckNow(): void {
    const rwe = this.rcvRwe();
    this.ackedLwe = this.rcvLwe;
    this.advRwe = rwe;
    this.c.acksSent++;
    this.out.send(ackPdu(this.rcvLwe, rwe));
  }

  private sendWindowUpdateNow(): void {
    const rwe = this.rcvRwe();
    this.advRwe = rwe;
    this.c.windowUpdatesSent++;
    this.out.send(windowUpdatePdu(rwe));
  }

  // ------------------------------------------------------------ events

  private notify(): void {
    if (this.isClosed) return;
    if (this.pendingReadable) {
      this.pendingReadable = false;
      if (this.readable()) this.out.onReadable();
    }
    if (this.blocked && !this.isDown && this.windowOpen(this.nowFn())) {
      this.blocked = false;
      this.out.onWritable();
    }
  }
}
