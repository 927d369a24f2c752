/**
 * The flow allocator of a unicast IPCP: allocates N+1 flows across the layer
 * with FLOW_REQ / FLOW_REPLY (to eid 0 of the peer's address, found in the
 * directory), carries their SDUs in DT PDUs to the peer's endpoint id, and
 * runs congestion avoidance (FLOW_UPDATE carries the receiver's feedback).
 *
 * Endpoint ids are 64 bits: the high 32 random and non-zero, the low 32 the
 * flow id irmd gave the N+1 flow here (so an incoming eid is valid only if
 * both halves match a live flow).
 */
import { randomInt } from 'node:crypto';
import type { Ipcp } from '../common/ipcp.js';
import type { FlowAllocReq, FlowAllocResp } from '../common/ops.js';
import { Endpoint, EndpointEvent } from '../../lib/data/endpoint.js';
import { qosCube } from '../../lib/qos.js';
import { fail, resultOf } from '../../common/errors.js';
import { PendingTable } from '../common/pending.js';
import { FaCode, decodeFa, encodeFlowReply, encodeFlowReq, encodeFlowUpdate, type FaMsg } from './fa/wire.js';
import { EID_FA, eidFromBigint, eidToBigint } from './dt/pci.js';
import { Offer, type Dt, type Pdu } from './dt.js';
import type { CaFlow, CaPolicy } from './ca/index.js';
import type { Directory } from './dir/index.js';

/** Maximum packet lifetime reported for flows of a unicast layer (ms). */
export const UNICAST_MPL = 10000;
const PENDING_WAIT_MS = 5000;
/** A FLOW_REQ without an answer is sent again this often (the reference sends it once)... */
const REQ_RESEND_MS = 1000;
/** ...this many times at most. */
const REQ_RESENDS = 10;

interface FaFlow {
  /** Our eid: hi random, lo = flow id. */
  eidHi: number;
  eidLo: number;
  remoteAddr: number;
  remoteHi: number;
  remoteLo: number;
  /** Known once the peer answered (outgoing) or from the request (incoming). */
  established: boolean;
  pendingOut: boolean;
  pendingIn: boolean;
  cube: number;
  ep: Endpoint | undefined;
  ca: CaFlow;
  /** A send waits for congestion avoidance. */
  waiting: NodeJS.Timeout | undefined;
  /** The SDU at the head of the endpoint is accounted by congestion avoidance already (it waited for it). */
  paid: boolean;
  /** The next hop's window is full: DT calls `wake` when it can take SDUs again. */
  blocked: boolean;
  wake: () => void;
  /** Outgoing: FLOW_REQ sent again until answered. */
  resend: NodeJS.Timeout | undefined;
  /** Incoming: our FLOW_REPLY, sent again if the request comes again (the reply was lost). */
  reply: Uint8Array | undefined;
  /** Incoming: the request's `address:eid` (its key in FlowAllocator.byRequest). */
  requestKey: string | undefined;
}

export interface FaCounters {
  reqTx: number;
  reqRx: number;
  /** Requests that came again (answered with the reply already sent). */
  reqDup: number;
  replyRx: number;
  updates: number;
  malformed: number;
  unknownEid: number;
  windowDrops: number;
  noRoute: number;
}

export class FlowAllocator {
  private readonly flows = new Map<number, FaFlow>();
  private readonly incoming = new PendingTable<FaFlow>();
  /** FLOW_REQs being handed to irmd, by requester address and eid (duplicates are dropped). */
  private readonly requests = new Set<string>();
  /** Flows made for a FLOW_REQ, by its `address:eid`: a repeated request finds its flow here. */
  private readonly byRequest = new Map<string, FaFlow>();
  readonly counters: FaCounters = { reqTx: 0, reqRx: 0, reqDup: 0, replyRx: 0, updates: 0, malformed: 0, unknownEid: 0, windowDrops: 0, noRoute: 0 };

  constructor(
    private readonly ipcp: Ipcp,
    private readonly dt: Dt,
    private readonly dir: Directory,
    private readonly ca: CaPolicy,
    private readonly hashLen: number,
    private readonly address: () => number,
  ) {
    dt.register(EID_FA, (pdu) => this.onMessage(pdu));
    dt.onFlowPdu = (pdu) => this.onData(pdu);
  }

  private newFlow(flowId: number, remoteAddr: number, cube: number): FaFlow {
    const f: FaFlow = {
      eidHi: randomInt(1, 2 ** 32),
      eidLo: flowId,
      remoteAddr,
      remoteHi: 0,
      remoteLo: 0,
      established: false,
      pendingOut: false,
      pendingIn: false,
      cube,
      ep: undefined,
      ca: this.ca.newFlow(nowNs()),
      waiting: undefined,
      paid: false,
      blocked: false,
      wake: () => {
        f.blocked = false;
        this.drain(f);
      },
      resend: undefined,
      reply: undefined,
      requestKey: undefined,
    };
    return f;
  }

  private attach(f: FaFlow, appPid: number): void {
    const ep = this.ipcp.plane.endpoint(f.eidLo, appPid);
    f.ep = ep;
    ep.onEvent = (ev) => {
      if (ev === EndpointEvent.PKT) this.drain(f);
      else if (ev === EndpointEvent.KEEPALIVE && f.established) this.dt.send(f.remoteAddr, f.cube, f.remoteLo, f.remoteHi, EMPTY);
    };
  }

  /**
   * Moves the N+1 flow's queued SDUs into the layer, as congestion avoidance
   * allows. Called for every packet that arrives (the endpoint's PKT event),
   * so usually one SDU per call; the clock is read once per call. Each SDU is
   * accounted once: one that must wait is sent when the wait is over, as the
   * reference's ca_wnd_wait does. An SDU the next hop cannot take now stays
   * queued (DT wakes the flow), so the program's window closes rather than
   * its packets being dropped here.
   */
  private drain(f: FaFlow): void {
    const ep = f.ep;
    if (!ep || !f.established || f.waiting || f.blocked) return;
    let now = -1;
    for (let sdu = ep.peek(); sdu; sdu = ep.peek()) {
      if (!f.paid) {
        if (now < 0) now = nowNs();
        const wait = f.ca.beforeSend(sdu.length, now);
        f.paid = true;
        if (wait > 0) {
          f.waiting = setTimeout(() => {
            f.waiting = undefined;
            this.drain(f);
          }, Math.min(1000, Math.ceil(wait)));
          return;
        }
      }
      const r = this.dt.offer(f.remoteAddr, f.cube, f.remoteLo, f.remoteHi, sdu, f.wake);
      if (r === Offer.BLOCKED) {
        f.blocked = true;
        return;
      }
      f.paid = false;
      ep.take();
      if (r === Offer.DROPPED) this.counters.noRoute++;
    }
  }

  private sendRaw(addr: number, bytes: Uint8Array): void {
    if (!this.dt.send(addr, 0, EID_FA, 0, bytes)) this.counters.noRoute++;
  }

  async alloc(req: FlowAllocReq): Promise<void> {
    if (this.flows.has(req.flowId)) fail('EINVAL', `flow ${req.flowId} exists already`);
    // Known before the directory answers: a deallocation meanwhile (irmd gave up) removes it.
    const f = this.newFlow(req.flowId, 0, qosCube(req.qos));
    f.pendingOut = true;
    this.flows.set(f.eidLo, f);
    let addr: number | undefined;
    try {
      addr = await this.dir.query(req.hash);
    } finally {
      if (!addr) this.forget(f);
    }
    if (!addr) fail('ENAME', 'the name is not in the directory of this layer');
    if (this.flows.get(f.eidLo) !== f) fail('ENOTALLOC', `flow ${req.flowId} was deallocated during its allocation`);
    f.remoteAddr = addr;
    this.attach(f, req.pid);
    const msg = encodeFlowReq(this.address(), eidToBigint(f.eidLo, f.eidHi), req.qos, req.hash, req.pk);
    let left = REQ_RESENDS;
    const send = (): void => {
      this.counters.reqTx++;
      this.sendRaw(addr, msg);
      if (f.pendingOut && left-- > 0 && this.flows.get(f.eidLo) === f) f.resend = setTimeout(send, REQ_RESEND_MS);
    };
    send();
  }

  async allocResp(resp: FlowAllocResp): Promise<void> {
    const f = await this.incoming.take(resp.flowId, PENDING_WAIT_MS, () => this.ipcp.awaitingFlowRequests);
    if (!f || !f.pendingIn) fail('EINVAL', `flow ${resp.flowId} has no pending allocation`);
    f.pendingIn = false;
    f.reply = encodeFlowReply(eidToBigint(f.remoteLo, f.remoteHi), eidToBigint(f.eidLo, f.eidHi), resp.response, resp.response === 0 ? resp.pk : EMPTY);
    this.sendRaw(f.remoteAddr, f.reply);
    if (resp.response !== 0) {
      this.forget(f);
      f.ep?.discard();
    } else {
      f.established = true;
      this.drain(f);
    }
  }

  async dealloc(flowId: number): Promise<void> {
    // The flow as it is now: its id may be given to a new flow while this waits.
    const f = this.flows.get(flowId);
    await this.ipcp.drainAndRelease(flowId, f?.ep, () => {
      if (f) this.forget(f);
      this.incoming.delete(flowId);
      if (f?.waiting) clearTimeout(f.waiting);
      if (f?.resend) clearTimeout(f.resend);
      f?.ep?.discard();
    });
  }

  private onMessage(pdu: Pdu): void {
    const m = decodeFa(pdu.sdu, this.hashLen);
    if (typeof m === 'string') {
      this.counters.malformed++;
      return;
    }
    if (m.code === FaCode.FLOW_REQ) void this.onReq(m);
    else if (m.code === FaCode.FLOW_REPLY) this.onReply(m);
    else this.onUpdate(m);
  }

  private async onReq(m: FaMsg): Promise<void> {
    this.counters.reqRx++;
    if (!m.sAddr || !m.hash || !m.qos) {
      this.counters.malformed++;
      return;
    }
    const remote = eidFromBigint(m.sEid);
    const key = `${m.sAddr}:${m.sEid}`;
    // The same request again (our reply, or the request's first copy, was lost or slow).
    if (this.requests.has(key)) return;
    const known = this.byRequest.get(key);
    if (known) {
      this.counters.reqDup++;
      if (known.reply) this.sendRaw(m.sAddr, known.reply);
      return;
    }
    this.requests.add(key);
    let acc;
    try {
      acc = await this.ipcp.flowReqArr(m.hash, m.qos, UNICAST_MPL, m.pk ?? new Uint8Array(0));
    } catch (e) {
      this.requests.delete(key);
      this.ipcp.log.dbg(`Flow request refused: ${(e as Error).message}`);
      // The reference sends no reply here; an answer spares the requester its timeout.
      this.sendRaw(m.sAddr, encodeFlowReply(m.sEid, 0n, resultOf(e), EMPTY));
      return;
    }
    const f = this.newFlow(acc.flowId, m.sAddr, qosCube(m.qos));
    f.remoteHi = remote.hi;
    f.remoteLo = remote.lo;
    f.pendingIn = true;
    f.requestKey = key;
    const stale = this.flows.get(f.eidLo);
    if (stale) this.forget(stale); // irmd reused the id before our deallocation of it finished
    this.flows.set(f.eidLo, f);
    this.byRequest.set(key, f);
    this.requests.delete(key);
    this.attach(f, acc.pid);
    this.incoming.set(f.eidLo, f);
  }

  /** Removes `f` from the tables (if it is still the one there). */
  private forget(f: FaFlow): void {
    if (this.flows.get(f.eidLo) === f) this.flows.delete(f.eidLo);
    if (f.requestKey !== undefined && this.byRequest.get(f.requestKey) === f) this.byRequest.delete(f.requestKey);
  }

  private find(e: bigint): FaFlow | undefined {
    const { hi, lo } = eidFromBigint(e);
    const f = this.flows.get(lo);
    if (!f || f.eidHi !== hi) {
      this.counters.unknownEid++;
      return undefined;
    }
    return f;
  }

  private onReply(m: FaMsg): void {
    this.counters.replyRx++;
    const f = this.find(m.rEid);
    if (!f || !f.pendingOut) return;
    f.pendingOut = false;
    if (f.resend) clearTimeout(f.resend);
    if (m.response !== 0) {
      this.forget(f);
      f.ep?.discard();
    } else {
      const r = eidFromBigint(m.sEid);
      f.remoteHi = r.hi;
      f.remoteLo = r.lo;
      f.established = true;
      this.drain(f);
    }
    this.ipcp.flowAllocReply(f.eidLo, UNICAST_MPL, m.response, m.pk ?? new Uint8Array(0)).catch((e) => {
      // irmd forgot the flow (it timed out): nobody will deallocate it.
      this.ipcp.log.err(`Failed to answer flow ${f.eidLo}: ${(e as Error).message}`);
      this.forget(f);
      f.ep?.discard();
    });
  }

  private onUpdate(m: FaMsg): void {
    const f = this.find(m.rEid);
    if (!f) return;
    this.counters.updates++;
    f.ca.onUpdate(m.ece);
  }

  /** An SDU for one of our N+1 flows. */
  private onData(pdu: Pdu): void {
    const f = this.flows.get(pdu.eidLo);
    if (!f || f.eidHi !== pdu.eidHi || !f.ep) {
      this.counters.unknownEid++;
      return;
    }
    const ece = f.ca.onReceive(pdu.sdu.length, pdu.ecn);
    if (ece !== undefined && f.established) {
      this.sendRaw(f.remoteAddr, encodeFlowUpdate(eidToBigint(f.remoteLo, f.remoteHi), ece));
    }
    if (pdu.sdu.length === 0) {
      f.ep.sendKeepalive();
      return;
    }
    if (!f.ep.send(pdu.sdu)) this.counters.windowDrops++;
  }

  list(): { flowId: number; eid: string; remoteAddr: number; remoteEid: string; cube: number; state: string; ca: Record<string, number> }[] {
    return [...this.flows.values()].map((f) => ({
      flowId: f.eidLo,
      eid: eidToBigint(f.eidLo, f.eidHi).toString(16),
      remoteAddr: f.remoteAddr,
      remoteEid: eidToBigint(f.remoteLo, f.remoteHi).toString(16),
      cube: f.cube,
      state: f.established ? 'allocated' : f.pendingOut ? 'alloc-pending' : 'accept-pending',
      ca: f.ca.stats(),
    }));
  }

  stop(): void {
    for (const f of this.flows.values()) {
      if (f.waiting) clearTimeout(f.waiting);
      if (f.resend) clearTimeout(f.resend);
      f.ep?.close();
    }
  }
}

const EMPTY = new Uint8Array(0);

/**
 * The congestion avoidance clock, in ns: a number (from performance.now(),
 * exact to well under a µs for months of uptime), not a bigint per packet.
 */
function nowNs(): number {
  return performance.now() * 1e6;
}
