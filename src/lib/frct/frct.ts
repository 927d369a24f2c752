/**
 * FRCT, the Flow and Retransmission Control Protocol of one flow, as a pure
 * protocol engine: no sockets, no OS timers, no clock of its own. The owner
 * (src/lib/sdu-path.ts) feeds it PDUs from the peer (receive), SDUs from the
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
 *    keeps its own copy of each unacknowledged SDU (rtxstore.ts) and hands
 *    out a freshly built plain PDU for every retransmission, so the owner
 *    encrypts and CRCs each one. Control PDUs go through the same out.send,
 *    so the owner CRCs/encrypts them like data (the reference never CRCs
 *    them, §6). The retransmitted header carries the current ACK/FC, not
 *    stale ones. With keepPdus (an owner that never modifies what it is
 *    handed, only fills the `tailroom` left for its CRC) the first PDU itself
 *    is the copy kept: one copy of the SDU per send instead of three.
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
 *    answered with an immediate ACK+FC. Duplicate-ACK and partial-ACK
 *    retransmissions are guesses; once the peer has sent a hole report (11)
 *    the sender stops guessing and resends what it is told.
 * 5. Bounded memory: at most `window` (default 256) SDUs unacknowledged,
 *    whatever the peer advertises and also with FRCTFRESCNTL cleared; the
 *    reorder queue holds at most `window` SDUs. The window advertised can be
 *    smaller (advWindow, rwe = lwe + advWindow; default: window): the rest of
 *    the reorder queue is for what hole reports promise (11).
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
 *    At once after a quarter of the advertised window was consumed, and
 *    (ackOnDrain, off by default) when the reader has taken everything in
 *    order and at least that many SDUs.
 * 11. Hole reports (holeReports, reliable receivers; off by default): the
 *    reference has only cumulative ACKs (ackno = the first SDU the
 *    application has not consumed), which tell the sender about one hole
 *    per round trip; with 1% loss and hundreds of SDUs in flight that stalls
 *    the window for several round trips per window. Without changing the
 *    header or a field's meaning, an o7s receiver tells the sender about
 *    every hole: when an SDU is missing and reportAfter (3) later sequence
 *    numbers have arrived, or it has been missing for half the measured
 *    repair time (the end of a burst), the receiver sends an ordinary
 *    FC-only window update whose edge is (missing seqno + advWindow). That
 *    is a true window: the reorder queue (window > advWindow) holds
 *    everything up to it, so a reference sender simply may send a little
 *    further. It repeats the report every twice the measured repair time
 *    while the SDU is still missing (the report or the repair was lost).
 *    The sender knows the peer's advWindow from its ACK+FC packets
 *    (window - ackno) and treats an FC-only PDU that arrives while data is
 *    outstanding as a report of (edge - advWindow): it resends that SDU at
 *    once, or, if it resent it less than one SRTT ago, ignores the repeat.
 *    The reference only sends FC-only PDUs in answer to a probe, which an
 *    o7s sender sends with nothing outstanding, so a reference peer never
 *    triggers a retransmission this way; a reference sender sees window
 *    updates, a reference receiver sends no reports and gets the
 *    reference's recovery (RTO, and duplicate/partial ACK guesses).
 * 12. Tail loss probe (tailProbe, reliable senders; off by default): when
 *    nothing was written or acknowledged for two SRTTs (at least 2 ms, at
 *    most the RTO), the newest unacknowledged SDU is resent once, and the
 *    RTO restarted (RFC 8985): its arrival lets the receiver report (11) the
 *    SDUs lost before it, at the end of a transfer, long before the RTO.
 * 13. Spurious timeouts are undone (a simple F-RTO, RFC 5682): when the
 *    first ACK of new data after a timeout covers more than the SDU resent
 *    and comes sooner than half an SRTT after the resend, it answers the
 *    first transmissions (they were late, e.g. a scheduling stall, not
 *    lost): no NewReno recovery follows, and the count goes to
 *    stats.spuriousTimeouts.
 *
 * Callbacks: out.* may be invoked synchronously from write(), offer(),
 * receive(), tick(), setFlags() and close(); read() only calls out.send (an
 * ACK). onReadable,
 * onWritable and onDown run last, with the engine state consistent, so they
 * may call read()/write()/close(). onReadable is edge-like ("more became
 * readable"): read until undefined. out.send must not synchronously re-enter
 * receive() (queue the delivery instead).
 *
 * Timers: one TimerQueue per engine (timers.ts, 1 ms resolution, deadlines
 * rounded up): RTO, delayed ACK / window update, window probe, give-up, the
 * non-reliable reorder wait, hole reports and the tail loss probe. The give-up
 * and tail probe timers are armed lazily and check their real deadline when
 * they fire, so sending an SDU costs no timer work. The owner keeps one OS
 * timer at nextDeadline().
 * Times are ms from init.now() (monotonic; fractions allowed).
 */
import { randomBytes } from 'node:crypto';
import { FRCT_HDR_LEN, FrctFlag, allocPdu, readU32, readWindow, writeHeader } from './header.js';
import { after, before, seqAdd, seqDiff, seqDist } from './seq.js';
import { RttEstimator } from './rtt.js';
import { Timer, TimerQueue } from './timers.js';
import { RtxStore } from './rtxstore.js';

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
  /** Hole reports: at most this many reports at once (per arrival, per timer round). */
  maxReports: 16,
  /** Hole reports: re-report a hole still missing after this long, until the receiver has measured repairs (ms). */
  reReportMs: 10,
  /** Hole reports: a hole is reported once this many later sequence numbers have arrived past it. */
  reportAfter: 3,
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
  /**
   * Power of two, 2 .. 2^22: the reorder queue (receiver) and the most SDUs
   * unacknowledged (sender).
   */
  window?: number;
  /**
   * Receiver: how far beyond its left edge it advertises the window (rwe =
   * lwe + advWindow; default and at most `window`, the reference's rwe = lwe
   * + RQ_SIZE). Smaller than `window` leaves room for hole reports.
   */
  advWindow?: number;
  startWindow?: number;
  ackDelayMs?: number;
  /**
   * Reliable receiver: acknowledge at once when the application has read
   * everything in order and at least this many SDUs since the last ACK
   * (default: off; only every advWindow/4 SDUs and the delayed ACK).
   */
  ackOnDrain?: number;
  /**
   * Reliable receiver: report every missing SDU to the sender (an FC-only
   * window update), and again while it stays missing (see note 11).
   * Default off.
   */
  holeReports?: boolean;
  /**
   * Hole reports: report a missing SDU once an SDU this many sequence
   * numbers later has arrived (default 3; an SDU merely overtaken by fewer is
   * not reported), or once it has been missing for half the measured repair
   * time (the end of a burst).
   */
  reportAfter?: number;
  /**
   * Reliable sender: when nothing was written or acknowledged for two
   * smoothed RTTs, resend the newest unacknowledged SDU once (a tail loss
   * probe), so a loss at the end of a burst is found without waiting for
   * the RTO. Default off.
   */
  tailProbe?: boolean;
  rdvIntervalMs?: number;
  rdvMaxIntervalMs?: number;
  initialRtoMs?: number;
  maxRtoMs?: number;
  dupAckThreshold?: number;
  /** Non-reliable: wait this long for a missing SDU before skipping it (0 = skip at once). */
  reorderWaitMs?: number;
  timerResolutionMs?: number;
  /** Bytes left free (uninitialised) after every PDU handed to out.send, for the owner's CRC. Default 0. */
  tailroom?: number;
  /**
   * The owner never modifies a PDU it was handed (it may fill the tail
   * room): the engine then keeps the first transmission of each SDU as its
   * retransmission copy instead of copying the SDU once more. Default false.
   */
  keepPdus?: boolean;
}

export interface FrctOutput {
  /**
   * Hand a plain PDU (header + data, or a 12-byte control PDU, each followed
   * by `tailroom` free bytes) to the lower layer. With keepPdus the owner
   * must not modify anything before the tail room; otherwise the engine
   * never touches the PDU again.
   */
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
  /** Data PDUs sent again (timeouts, fast, partial-ACK, reported and tail-probe retransmissions). */
  retransmitted: number;
  timeouts: number;
  /** Timeouts found to be spurious (the first transmission was acknowledged right after): undone. */
  spuriousTimeouts: number;
  fastRetransmits: number;
  /** Retransmissions asked for by the peer's hole reports. */
  reportRetransmits: number;
  /** Tail loss probes sent. */
  tailProbes: number;
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
  /** FC-only window updates sent (hole reports included). */
  windowUpdatesSent: number;
  /** Hole reports sent (missing SDUs reported to the sender, re-reports included). */
  holesReported: number;
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

type Counters = Omit<FrctStats, 'rttSamples' | 'srttMs' | 'rttMs' | 'rtoMs' | 'window' | 'unacked' | 'queued'>;

const { DATA, DRF, ACK, FC, RDVS } = FrctFlag;

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
  /** Advertised window (rwe = lwe + B). */
  private readonly B: number;
  private readonly mask: number;
  private readonly startWindow: number;
  private readonly ackDelay: number;
  private readonly ackEvery: number;
  private readonly ackOnDrain: number;
  private readonly reports: boolean;
  private readonly tlp: boolean;
  private readonly tail: number;
  private readonly keep: boolean;
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
  private readonly holeTimer: Timer;
  private readonly tlpTimer: Timer;
  private readonly rtt: RttEstimator;

  private isDown = false;
  private isClosed = false;

  // sender
  private sndLwe = 0;
  private sndRwe: number;
  private sndSeq = 0;
  private sndAct = -Infinity;
  /** Per unacknowledged SDU: its data (the whole first PDU with keepPdus), and (slot seq & mask) last send time, DRF, sends. */
  private readonly rtx: RtxStore;
  private readonly rtxLast: Float64Array;
  private readonly rtxDrf: Uint8Array;
  private readonly rtxCount: Uint8Array;
  private probing = false;
  private probeSeq = 0;
  private probeT = 0;
  private recover: number | undefined;
  /** The SDU resent by the last timeout and when, until the next ACK of new data (spurious timeout check). */
  private rtoSeq = 0;
  private rtoAt: number | undefined;
  private dupAcks = 0;
  private backoff = 0;
  private rdvInterval: number;
  private lastResponse = -Infinity;
  private waiting = false;
  private waitSince = 0;
  private blocked = false;
  /** The peer's advertised window (rwe - ackno of its ACK+FC packets), 0 until known. */
  private peerB = 0;
  /** The peer sent a valid hole report in this run: it tells us what is missing. */
  private peerReports = false;
  /** Last write or acknowledgement of new data (tail loss probe). */
  private tlpLast = 0;

  // receiver
  private rcvRun = false;
  private rcvLwe = 0;
  private rcvNext = 0;
  private rcvHigh = 0;
  private rcvAct = -Infinity;
  private readonly rq: (Buffer | undefined)[];
  /** Non-reliable: arrival time of each queued SDU. */
  private readonly rqAt: Float64Array;
  /** Hole reports: when each missing SDU was last reported (-Infinity: never), and first reported (repair time). */
  private readonly holeSeen: Float64Array;
  private readonly holeAt: Float64Array;
  private readonly holeFirst: Float64Array;
  private readonly holeOnce: Uint8Array;
  /** Hole reports: holes below this were looked at for a first report. */
  private reportFront = 0;
  private readonly reportAfter: number;
  /** Hole reports: smoothed time from a report to the repair (ms), 0 until measured. */
  private repairMs = 0;
  private buffered = 0;
  private carry: Buffer[] = [];
  private ackedLwe = 0;
  private advRwe = 0;

  private pendingReadable = false;
  private readonly c: Counters = {
    sent: 0,
    retransmitted: 0,
    timeouts: 0,
    spuriousTimeouts: 0,
    fastRetransmits: 0,
    reportRetransmits: 0,
    tailProbes: 0,
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
    holesReported: 0,
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
    this.B = init.advWindow ?? this.W;
    if (!Number.isInteger(this.B) || this.B < 2 || this.B > this.W) throw new RangeError('FRCT advWindow must be an integer from 2 to window');
    this.mask = this.W - 1;
    this.startWindow = Math.min(init.startWindow ?? d.startWindow, this.W);
    this.ackDelay = init.ackDelayMs ?? d.ackDelayMs;
    this.ackEvery = Math.max(1, this.B / 4);
    this.ackOnDrain = init.ackOnDrain ?? Infinity;
    this.reports = this.reliable && (init.holeReports ?? false);
    this.reportAfter = Math.max(1, init.reportAfter ?? d.reportAfter);
    this.tlp = this.reliable && (init.tailProbe ?? false);
    this.tail = init.tailroom ?? 0;
    this.keep = init.keepPdus ?? false;
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
    this.holeTimer = this.q.timer((now) => this.onHoleTimer(now));
    this.tlpTimer = this.q.timer((now) => this.onTlpTimer(now));
    this.rtt = new RttEstimator(init.initialRtoMs ?? d.initialRtoMs);

    const n = this.reliable ? this.W : 0;
    this.rtx = new RtxStore(this.reliable ? this.W : 1);
    this.rtxLast = new Float64Array(n);
    this.rtxDrf = new Uint8Array(n);
    this.rtxCount = new Uint8Array(n);
    this.rq = new Array<Buffer | undefined>(this.W).fill(undefined);
    this.rqAt = new Float64Array(this.reliable ? 0 : this.W);
    const h = this.reports ? this.W : 0;
    this.holeSeen = new Float64Array(h).fill(-Infinity);
    this.holeAt = new Float64Array(h).fill(-Infinity);
    this.holeFirst = new Float64Array(h);
    this.holeOnce = new Uint8Array(h);
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
    this.send(sdu, now);
  }

  /**
   * canWrite() and write() in one: sends the SDU and returns true, or
   * returns false (onWritable follows once the window reopens) when the
   * window is closed or the flow is down or closed.
   */
  offer(sdu: Uint8Array): boolean {
    if (this.isDown || this.isClosed) return false;
    if (sdu.length === 0) throw new RangeError('FRCT: empty SDU (zero-length SDUs bypass FRCT)');
    const now = this.nowFn();
    if (!this.windowOpen(now)) {
      this.blocked = true;
      return false;
    }
    this.send(sdu, now);
    return true;
  }

  private send(sdu: Uint8Array, now: number): void {
    const len = sdu.length;
    if (now - this.sndAct > this.sndInact && this.sndSeq === this.sndLwe) this.newSendRun();

    const seq = this.sndSeq;
    const drf = seq === this.sndLwe;
    const size = FRCT_HDR_LEN + len + this.tail;
    // With keepPdus the PDU is written straight into the retransmission store.
    const pdu = this.reliable && this.keep ? this.rtx.put(seq, size) : allocPdu(size);
    this.header(pdu, drf ? DATA | DRF : DATA, seq, now);
    pdu.set(sdu, FRCT_HDR_LEN);
    if (this.reliable) {
      const slot = seq & this.mask;
      if (!this.keep) this.rtx.put(seq, len).set(sdu);
      this.rtxLast[slot] = now;
      this.rtxDrf[slot] = drf ? 1 : 0;
      this.rtxCount[slot] = 1;
      if (!this.probing) {
        this.probing = true;
        this.probeSeq = seq;
        this.probeT = now;
      }
      if (!this.rtxTimer.pending) this.rtxTimer.set(now + this.rto());
      if (this.tlp) this.armTlp(now);
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
    const flags = pdu[0]!;
    const now = this.nowFn();
    const isData = (flags & DATA) !== 0;
    const isRdvs = (flags & RDVS) !== 0;

    if (isData || isRdvs) {
      if (!this.rcvActive(now)) {
        if (flags & DRF) {
          this.newReceiveRun(readU32(pdu, 4));
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
      this.handleRdvs(flags, readU32(pdu, 4));
    } else {
      if (flags & FC) {
        const window = readWindow(pdu);
        if (this.reliable && flags & ACK) this.peerB = (window - readU32(pdu, 8)) & 0xffffff;
        else if (this.reliable && !isData) this.holeReport(window, now);
        const fcAdvanced = this.handleFc(window, now);
        if (flags & ACK) this.handleAck(readU32(pdu, 8), now, isData, fcAdvanced);
        else this.afterWindowChange(now);
      } else if (flags & ACK) {
        this.handleAck(readU32(pdu, 8), now, isData, false);
      }
      if (isData) this.handleData(readU32(pdu, 4), pdu, now);
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
      if (this.reliable) {
        // A quarter of the window consumed since the last ACK, or everything
        // in order read (ackOnDrain): acknowledge at once, so a fast sender
        // is never held back by the delayed-ACK timer.
        const n = seqDiff(this.rcvLwe, this.ackedLwe);
        if (n >= this.ackEvery || (n >= this.ackOnDrain && this.rcvLwe === this.rcvNext)) this.sendAckNow();
        else this.ackTimer.setIfEarlier(this.nowFn() + this.ackDelay);
      } else {
        if (this.windowUpdateNeeded()) this.ackTimer.setIfEarlier(this.nowFn() + this.ackDelay);
        this.updateGap(this.nowFn());
      }
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
    if (this.reliable) this.rtx.clear();
    if (finalAck) {
      this.ackedLwe = this.rcvLwe;
      this.c.acksSent++;
      this.control(ACK, 0, 0, this.rcvLwe);
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

  // ------------------------------------------------------------ output

  /**
   * The header of an outgoing data PDU: `flags` plus the piggy-backed FC
   * (and ACK) when the receive side is active; records what was advertised.
   */
  private header(pdu: Buffer, flags: number, seq: number, now: number): void {
    let window = 0;
    let ackno = 0;
    if (this.rcvRun && now - this.rcvAct <= this.rcvInact) {
      const rwe = this.rcvRwe();
      flags |= FC;
      window = rwe & 0xffffff;
      if (after(rwe, this.advRwe)) this.advRwe = rwe;
      if (this.reliable && now - this.rcvAct <= this.A) {
        flags |= ACK;
        ackno = this.rcvLwe;
        this.ackedLwe = ackno;
      }
    }
    writeHeader(pdu, flags, window, seq, ackno);
  }

  /** A 12-byte control PDU (plus tail room). */
  private control(flags: number, window: number, seqno: number, ackno: number): void {
    const pdu = allocPdu(FRCT_HDR_LEN + this.tail);
    writeHeader(pdu, flags, window & 0xffffff, seqno, ackno);
    this.out.send(pdu);
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
    this.probing = false;
    this.recover = undefined;
    this.rtoAt = undefined;
    this.dupAcks = 0;
    this.peerReports = false;
    this.rdvInterval = this.rdvInitial;
  }

  private retransmit(seq: number, now: number): void {
    const slot = seq & this.mask;
    const d = this.rtx.get(seq);
    if (d === undefined) return;
    // Karn: the ACK covering the probe is delayed (or caused) by this resend.
    if (this.probing && !after(seq, this.probeSeq)) this.probing = false;
    const data = this.keep ? d.subarray(FRCT_HDR_LEN, d.length - this.tail) : d;
    const pdu = allocPdu(FRCT_HDR_LEN + data.length + this.tail);
    this.header(pdu, this.rtxDrf[slot] ? DATA | DRF : DATA, seq, now);
    pdu.set(data, FRCT_HDR_LEN);
    this.rtxLast[slot] = now;
    if (this.rtxCount[slot]! < 255) this.rtxCount[slot]!++;
    this.sndAct = now;
    this.c.retransmitted++;
    if (seq === this.sndLwe) this.rtxTimer.set(now + this.rto());
    this.out.send(pdu);
  }

  /** Current retransmission timeout including back-off (ms). */
  private rto(): number {
    return Math.min(this.maxRto, this.rtt.rtoMs * 2 ** this.backoff);
  }

  /** Resend the oldest SDU unless it was (re)sent less than about one RTT ago. */
  private retransmitOldestIfStale(now: number): boolean {
    const slot = this.sndLwe & this.mask;
    if (!this.rtx.has(this.sndLwe)) return false;
    const gap = this.rtt.samples > 0 ? this.rtt.srttMs : this.rto();
    if (now - this.rtxLast[slot]! < gap) return false;
    this.retransmit(this.sndLwe, now);
    return true;
  }

  private onRtxTimer(now: number): void {
    if (this.unacked() === 0) return;
    this.c.timeouts++;
    if (this.rtt.rtoMs * 2 ** this.backoff < this.maxRto) this.backoff++;
    this.dupAcks = 0;
    // With hole reports the peer says what else is missing: no NewReno guessing.
    if (!this.peerReports) this.recover = this.sndSeq;
    this.rtoSeq = this.sndLwe;
    this.rtoAt = now;
    this.retransmit(this.sndLwe, now);
  }

  /**
   * An FC-only PDU on a reliable flow while data is outstanding: an o7s
   * receiver's hole report, window = (missing seqno + its advertised
   * window). The reference only sends FC-only in answer to a probe, which
   * is never outstanding data (see note 11).
   */
  private holeReport(window: number, now: number): void {
    if (this.peerB === 0 || this.unacked() === 0) return;
    const s = seqAdd(this.widen(window), -this.peerB);
    if (before(s, this.sndLwe) || !before(s, this.sndSeq)) return;
    const slot = s & this.mask;
    if (!this.rtx.has(s)) return;
    this.peerReports = true;
    this.recover = undefined;
    // A re-report while the repair may still be on its way is ignored.
    const guard = this.rtt.samples > 0 ? this.rtt.srttMs : 0;
    if (this.rtxCount[slot]! > 1 && now - this.rtxLast[slot]! < guard) return;
    this.c.reportRetransmits++;
    this.retransmit(s, now);
  }

  /** The 32-bit edge nearest the current one for a 24-bit window field. */
  private widen(window: number): number {
    const base = this.sndRwe;
    let d = (window - (base & 0xffffff)) & 0xffffff;
    if (d >= 0x800000) d -= 0x1000000;
    return seqAdd(base, d);
  }

  private handleFc(window: number, now: number): boolean {
    this.lastResponse = now;
    const rwe = this.widen(window);
    if (!after(rwe, this.sndRwe)) return false;
    this.sndRwe = rwe;
    this.rdvInterval = this.rdvInitial;
    return true;
  }

  private handleAck(ackno: number, now: number, isData: boolean, fcAdvanced: boolean): void {
    this.c.acksReceived++;
    this.lastResponse = now;
    if (this.reliable && after(ackno, this.sndLwe) && !after(ackno, this.sndSeq)) {
      this.rtx.release(ackno);
      this.sndLwe = ackno;
      this.dupAcks = 0;
      this.backoff = 0;
      if (this.probing && after(ackno, this.probeSeq)) {
        this.rtt.sample(now - this.probeT);
        this.probing = false;
      }
      if (this.unacked() > 0) {
        this.rtxTimer.set(now + this.rto());
        if (this.tlp) this.armTlp(now);
      } else {
        this.rtxTimer.clear();
      }
      if (this.rtoAt !== undefined) {
        // The first ACK of new data after a timeout covers more than the SDU
        // resent, sooner than half a round trip after the resend: it answers
        // the first transmissions, which were only late (a scheduling stall,
        // not a loss). Undo the timeout: no recovery, no back-off (a simple
        // form of F-RTO, RFC 5682).
        if (after(ackno, seqAdd(this.rtoSeq, 1)) && now - this.rtoAt < this.rtt.srttMs / 2) {
          this.recover = undefined;
          this.c.spuriousTimeouts++;
        }
        this.rtoAt = undefined;
      }
      if (this.recover !== undefined) {
        // Partial ACK during recovery: the new oldest is most likely the next hole.
        if (before(this.sndLwe, this.recover)) this.retransmitOldestIfStale(now);
        else this.recover = undefined;
      }
    } else if (this.reliable && ackno === this.sndLwe && this.unacked() > 0 && !isData && !fcAdvanced && !this.peerReports) {
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

  private armTlp(now: number): void {
    this.tlpLast = now;
    if (!this.tlpTimer.pending && this.rtt.samples > 0) this.tlpTimer.set(now + this.pto());
  }

  /** Tail loss probe timeout: two smoothed RTTs, at least 2 ms, at most the RTO. */
  private pto(): number {
    return Math.min(Math.max(2 * this.rtt.srttMs, 2), this.rto());
  }

  private onTlpTimer(now: number): void {
    if (this.unacked() === 0) return;
    const due = this.tlpLast + this.pto();
    if (now < due) {
      this.tlpTimer.set(due);
      return;
    }
    // Nothing written or acknowledged for a while: resend the newest SDU once;
    // its arrival makes the receiver report whatever is missing before it.
    const last = seqAdd(this.sndSeq, -1);
    if (now - this.rtxLast[last & this.mask]! < this.pto()) return;
    this.c.tailProbes++;
    this.retransmit(last, now);
    // The probe gets its round trip before the RTO (RFC 8985 §7.3).
    this.rtxTimer.set(now + this.rto());
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
    } else if (this.rdvTimer.pending) {
      this.rdvTimer.clear();
    }
    const waitingNow = this.unacked() > 0 || probing;
    if (waitingNow) {
      if (!this.waiting) {
        this.waitSince = now;
        this.waiting = true;
        this.giveUpTimer.set(Math.max(this.waitSince, this.lastResponse) + this.R);
      }
      // else: the timer checks the deadline when it fires (it only moves later).
    } else if (this.waiting) {
      this.waiting = false;
      this.giveUpTimer.clear();
    }
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
    this.control(RDVS | DRF, 0, this.sndSeq, 0);
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
    if (this.reliable) this.rtx.clear();
    this.out.onDown(reason);
  }

  // ---------------------------------------------------------- receiver

  /** The right window edge advertised. */
  private rcvRwe(): number {
    return seqAdd(this.rcvLwe, this.B);
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
    if (this.reports) {
      this.holeSeen.fill(-Infinity);
      this.holeAt.fill(-Infinity);
      this.holeTimer.clear();
      this.reportFront = seq;
    }
    this.rcvRun = true;
    this.rcvLwe = seq;
    this.rcvNext = seq;
    this.rcvHigh = seq;
    this.ackedLwe = seq;
    this.advRwe = seqAdd(seq, this.startWindow);
  }

  private handleRdvs(flags: number, seqno: number): void {
    this.c.rdvsReceived++;
    if (!this.reliable && flags & DRF) {
      const s = seqno;
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

  private handleData(seq: number, pdu: Uint8Array, now: number): void {
    if (before(seq, this.rcvLwe)) {
      if (this.reliable) {
        this.c.duplicates++;
        this.sendAckNow();
      } else {
        this.c.late++;
      }
      return;
    }
    // The reorder queue: up to `window` SDUs from the left edge (the advertised
    // window, plus what hole reports promised).
    if (seqDiff(seq, this.rcvLwe) >= this.W) {
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
    this.rq[slot] = Buffer.isBuffer(pdu) ? pdu.subarray(FRCT_HDR_LEN) : Buffer.from(pdu.buffer, pdu.byteOffset + FRCT_HDR_LEN, pdu.length - FRCT_HDR_LEN);
    if (!this.reliable) this.rqAt[slot] = now;
    this.buffered++;
    this.c.received++;
    const newHigh = seqAdd(seq, 1);
    if (after(newHigh, this.rcvHigh)) {
      if (this.reports && seq !== this.rcvHigh) this.markHoles(this.rcvHigh, seq, now);
      this.rcvHigh = newHigh;
    }

    let ackNow = false;
    if (seq === this.rcvNext) {
      this.advanceRcvNext();
      this.pendingReadable = true;
      if (this.reports) {
        this.repaired(slot, now);
        this.reportEligible(now);
      }
    } else {
      this.c.outOfOrder++;
      if (this.reports) {
        this.repaired(slot, now);
        this.reportEligible(now);
      } else if (!this.reliable) {
        if (this.rq[this.rcvLwe & this.mask] === undefined) this.updateGap(now);
        else this.pendingReadable = true;
      }
      // A hole right at our ack point: tell the sender at once (duplicate ACKs).
      else if (this.rcvLwe === this.rcvNext) ackNow = true;
    }
    if (ackNow) this.sendAckNow();
    else if (this.windowUpdateNeeded()) this.ackTimer.setIfEarlier(now + this.ackDelay);
  }

  // ------------------------------------------------------ hole reports

  /** New holes [from, to): remember when they were seen (the reorder time counts from there). */
  private markHoles(from: number, to: number, now: number): void {
    for (let s = from, k = 0; s !== to && k < this.W; s = seqAdd(s, 1), k++) {
      const slot = s & this.mask;
      this.holeSeen[slot] = now;
      this.holeAt[slot] = -Infinity;
      this.holeOnce[slot] = 0;
    }
    this.holeTimer.setIfEarlier(now + this.reorderMs());
  }

  /** A hole was filled: learn how long a repair takes after a report. */
  private repaired(slot: number, now: number): void {
    if (this.holeSeen[slot] === -Infinity) return;
    if (this.holeOnce[slot]) {
      const m = now - this.holeFirst[slot]!;
      this.repairMs = this.repairMs === 0 ? m : this.repairMs + (m - this.repairMs) / 8;
    }
    this.holeSeen[slot] = -Infinity;
    this.holeAt[slot] = -Infinity;
  }

  /** Re-report a hole after this long without its repair. */
  private reReportMs(): number {
    return this.repairMs === 0 ? FRCT_DEFAULTS.reReportMs : Math.max(1, 2 * this.repairMs);
  }

  /** Report a hole that fewer than reportAfter later SDUs got past after this long. */
  private reorderMs(): number {
    return this.repairMs === 0 ? FRCT_DEFAULTS.reReportMs : Math.max(1, this.repairMs / 2);
  }

  /**
   * First reports: every hole that reportAfter later SDUs have got past (so
   * a SDU merely overtaken by fewer is not reported), at most maxReports at
   * a time; the hole timer does the rest.
   */
  private reportEligible(now: number): void {
    const limit = seqAdd(this.rcvHigh, -this.reportAfter);
    let s = after(this.reportFront, this.rcvNext) ? this.reportFront : this.rcvNext;
    for (let n = 0; before(s, limit); s = seqAdd(s, 1)) {
      const slot = s & this.mask;
      if (this.rq[slot] !== undefined || this.holeAt[slot] !== -Infinity || this.holeSeen[slot] === -Infinity) continue;
      if (n >= FRCT_DEFAULTS.maxReports || !this.reportHole(s, now)) break;
      n++;
    }
    this.reportFront = s;
  }

  /**
   * One hole report: an FC-only PDU advertising (s + advWindow). Only while
   * that edge stays within the reorder queue; false otherwise.
   */
  private reportHole(s: number, now: number): boolean {
    const edge = seqAdd(s, this.B);
    if (seqDiff(edge, this.rcvLwe) > this.W) return false;
    const slot = s & this.mask;
    if (this.holeAt[slot] === -Infinity) {
      this.holeFirst[slot] = now;
      this.holeOnce[slot] = 1;
    } else {
      this.holeOnce[slot] = 0;
    }
    this.holeAt[slot] = now;
    if (after(edge, this.advRwe)) this.advRwe = edge;
    this.c.holesReported++;
    this.c.windowUpdatesSent++;
    this.control(FC, edge, 0, 0);
    this.holeTimer.setIfEarlier(now + this.reReportMs());
    return true;
  }

  /**
   * Holes not reported yet once they are reorderMs old (fewer than
   * reportAfter SDUs came after them: the end of a burst), and holes still
   * missing reReportMs after their last report (the report or the repair
   * was lost).
   */
  private onHoleTimer(now: number): void {
    if (!this.rcvActive(now) || this.buffered === 0) return;
    const wait = this.reReportMs();
    const reorder = this.reorderMs();
    const limit = seqAdd(this.rcvHigh, -this.reportAfter);
    let next = Infinity;
    let n = 0;
    const end = this.rcvHigh;
    for (let s = this.rcvNext, k = 0; s !== end && k < this.W; s = seqAdd(s, 1), k++) {
      const slot = s & this.mask;
      if (this.rq[slot] !== undefined) continue;
      const at = this.holeAt[slot]!;
      const due = at === -Infinity ? (before(s, limit) ? now : this.holeSeen[slot]! + reorder) : at + wait;
      if (due > now) {
        next = Math.min(next, due);
        continue;
      }
      if (n >= FRCT_DEFAULTS.maxReports) {
        next = now + 1;
        break;
      }
      if (!this.reportHole(s, now)) {
        // Too far beyond the left edge to promise yet: once the application reads.
        next = Math.min(next, now + wait);
        break;
      }
      n++;
      next = Math.min(next, now + wait);
    }
    if (next !== Infinity) this.holeTimer.set(next);
  }

  // ------------------------------------------------ non-reliable holes

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
    const end = seqAdd(this.rcvLwe, this.W);
    while (before(this.rcvNext, end) && this.rq[this.rcvNext & this.mask] !== undefined) {
      this.rcvNext = seqAdd(this.rcvNext, 1);
    }
  }

  /** The sender is within half a window of the edge we last advertised, and the edge can move. */
  private windowUpdateNeeded(): boolean {
    if (!this.rcvRun) return false;
    const rwe = this.rcvRwe();
    if (!after(rwe, this.advRwe)) return false;
    return seqDiff(this.advRwe, this.rcvHigh) <= this.B / 2;
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
    if (after(rwe, this.advRwe)) this.advRwe = rwe;
    this.c.acksSent++;
    this.control(ACK | FC, rwe, 0, this.rcvLwe);
  }

  private sendWindowUpdateNow(): void {
    const rwe = this.rcvRwe();
    this.advRwe = rwe;
    this.c.windowUpdatesSent++;
    this.control(FC, rwe, 0, 0);
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
