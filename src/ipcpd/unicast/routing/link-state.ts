/**
 * Link-state routing (ARCHITECTURE.md §7.7), without I/O of its own: the
 * unicast IPCP tells it about DT neighbours (N-1 data flows, by address) and
 * management neighbours (flows carrying LSUs, by an opaque id with a send
 * function), hands it every SDU read from a management flow, and receives
 * the routing table (destination -> next-hop neighbours, primary first)
 * through onTable whenever it changes.
 *
 * The database holds one record per announced adjacency (src -> dst) with
 * its seqno and the time it was last refreshed.
 * - New DT neighbour A: record self -> A, announce it to every management
 *   neighbour, recompute at once.
 * - New management neighbour: send it every live record (one LSU each).
 * - Received LSU with a higher seqno than the stored one (or a new one):
 *   store it and flood the same LSU to every other management neighbour;
 *   anything else is dropped (counted as stale), so floods die out.
 * - Every tUpdate: records not refreshed for more than tTimeo are dropped;
 *   own adjacencies get a new seqno and are announced again.
 * - The table is recomputed at once when the set of two-sided edges changes
 *   (an adjacency appears, is withdrawn or expires while its reverse is
 *   live, and on every own DT neighbour change), and every tRecalc if other
 *   changes are pending. onTable is only called when the result differs.
 *
 * Differences from the reference (routing/link-state.c), all wire-compatible
 * (24-byte LSUs only, which a C peer handles as it handles its own):
 * - Seqnos. The reference numbers a new adjacency 0; after a reconnect or a
 *   restart its peers still hold a higher seqno, drop the new LSUs as stale
 *   and keep the old record until it times out. o7s numbers its own
 *   announcements from 2^52 + 2 x (wall clock in ms), even, and remembers
 *   the last seqno per neighbour, so every new announcement is higher than
 *   any earlier one, across reconnects and restarts.
 * - Withdrawal. When a DT neighbour goes away, the reference says nothing
 *   and the adjacency lingers everywhere for up to tTimeo + tUpdate. o7s
 *   announces the adjacency once more with the next odd seqno (see
 *   lsu.ts isWithdrawal): o7s peers keep it as a withdrawn record (so older
 *   copies still in flight are refused), drop the edge at once and flood the
 *   withdrawal on. A C peer sees an ordinary newer LSU: it stores and floods
 *   it (so o7s peers behind it learn of the withdrawal too) and lets it age
 *   out, which happens at most tUpdate later than without the message.
 *   Withdrawn records are not sent to new management neighbours (a C peer
 *   would take them for live ones) and age out like any record.
 * - Own adjacencies heard from the network. The reference stores an LSU
 *   naming itself as source like any other, and then refreshes it forever,
 *   even without such a neighbour (a ghost from an earlier run). Here our
 *   own adjacencies are ours alone: an LSU for one with a newer seqno than
 *   ours is answered with a newer announcement (still connected) or a
 *   withdrawal (not connected), never stored or flooded as is.
 * - A lost adjacency (own removal, expiry, withdrawal) triggers an
 *   immediate recomputation; the reference waits for the next tRecalc.
 * - LSUs with s_addr == d_addr are refused as malformed.
 */
import type { Clock, TimerHandle } from '../../../common/clock.js';
import { fail } from '../../../common/errors.js';
import { buildGraph, isRoutingPolicy, routingTable, tablesEqual, type RoutingPolicy, type RoutingTable } from './graph.js';
import { decodeLsu, encodeLsu, isWithdrawal, lsuToString, O7S_SEQNO_BASE, type Lsu } from './lsu.js';

export interface LinkStateLog {
  dbg(s: string): void;
  info(s: string): void;
  warn(s: string): void;
}

export interface LinkStateOptions {
  /** This IPCP's address. */
  self: number;
  policy: RoutingPolicy;
  /** Seconds between recomputations when changes are pending. */
  tRecalcS: number;
  /** Seconds between ageing rounds (own adjacencies re-announced). */
  tUpdateS: number;
  /** Seconds after which an adjacency that was not refreshed is dropped. */
  tTimeoS: number;
  clock: Clock;
  /** A new routing table (a fresh Map, this component keeps no reference). */
  onTable(table: Map<number, number[]>): void;
  log?: LinkStateLog;
}

export interface LinkStateCounters {
  /** Well-formed LSUs received. */
  rx: number;
  /** LSUs sent (announcements, floods, replication). */
  tx: number;
  /** SDUs that are no valid LSU. */
  malformed: number;
  /** LSUs dropped as not newer than the stored record. */
  stale: number;
  /** Live adjacencies aged out. */
  expired: number;
  /** Routing table computations. */
  recalcs: number;
}

export interface LinkStateSnapshot {
  self: number;
  adjacencies: { src: number; dst: number; seqno: number; ageMs: number }[];
  table: { dst: number; nextHops: number[] }[];
  neighbours: { dt: number[]; mgmt: number[] };
}

interface Rec {
  src: number;
  dst: number;
  seqno: number;
  /** clock.now() at the last refresh. */
  stamp: number;
  withdrawn: boolean;
}

const NOLOG: LinkStateLog = { dbg() {}, info() {}, warn() {} };

function validAddress(a: number): boolean {
  return Number.isSafeInteger(a) && a >= 0;
}

function positive(v: number, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail('EINVAL', `link state: ${what} must be a positive number of seconds`);
  return v * 1000;
}

export class LinkState {
  readonly counters: LinkStateCounters = { rx: 0, tx: 0, malformed: 0, stale: 0, expired: 0, recalcs: 0 };

  private readonly self: number;
  private readonly policy: RoutingPolicy;
  private readonly clock: Clock;
  private readonly log: LinkStateLog;
  private readonly onTable: (table: Map<number, number[]>) => void;
  private readonly tRecalc: number;
  private readonly tUpdate: number;
  private readonly tTimeo: number;

  /** src -> dst -> record. */
  private readonly db = new Map<number, Map<number, Rec>>();
  private readonly dt = new Set<number>();
  private readonly mgmt = new Map<number, (lsu: Uint8Array) => void>();
  /** Highest seqno used or seen for each own adjacency self -> addr. */
  private readonly ownSeq = new Map<number, number>();
  private table: RoutingTable = new Map();
  private modified = false;
  private timers: TimerHandle[] = [];

  constructor(opts: LinkStateOptions) {
    if (!validAddress(opts.self)) fail('EINVAL', `link state: bad address ${opts.self}`);
    if (!isRoutingPolicy(opts.policy)) fail('EINVAL', `link state: unknown routing policy ${String(opts.policy)}`);
    this.self = opts.self;
    this.policy = opts.policy;
    this.clock = opts.clock;
    this.onTable = opts.onTable;
    this.log = opts.log ?? NOLOG;
    this.tRecalc = positive(opts.tRecalcS, 'tRecalc');
    this.tUpdate = positive(opts.tUpdateS, 'tUpdate');
    this.tTimeo = positive(opts.tTimeoS, 'tTimeo');
    if (this.tTimeo <= this.tUpdate) {
      this.log.warn(`Link timeout ${opts.tTimeoS} s is not above the update interval ${opts.tUpdateS} s: adjacencies will flap.`);
    }
  }

  start(): void {
    if (this.timers.length > 0) return;
    this.timers = [this.clock.every(this.tUpdate, () => this.age()), this.clock.every(this.tRecalc, () => this.periodicRecalc())];
  }

  stop(): void {
    for (const t of this.timers) t.cancel();
    this.timers = [];
  }

  addDtNeighbour(addr: number): void {
    if (!validAddress(addr) || addr === this.self) fail('EINVAL', `link state: bad neighbour address ${addr}`);
    if (this.dt.has(addr)) {
      this.log.dbg(`Already know dt neighbour ${addr}.`);
      return;
    }
    this.dt.add(addr);
    this.log.dbg(`Dt neighbour ${addr} added.`);
    this.announce(addr, this.announceSeq(addr));
    this.recompute();
  }

  removeDtNeighbour(addr: number): void {
    if (!this.dt.delete(addr)) {
      this.log.dbg(`No dt neighbour ${addr} to remove.`);
      return;
    }
    this.log.dbg(`Dt neighbour ${addr} removed.`);
    this.withdraw(addr);
    this.recompute();
  }

  addMgmtNeighbour(id: number, send: (lsu: Uint8Array) => void): void {
    if (this.mgmt.has(id)) this.log.dbg(`Mgmt neighbour ${id} replaced.`);
    this.mgmt.set(id, send);
    const recs = this.records()
      .filter((r) => !r.withdrawn)
      .sort((a, b) => a.dst - b.dst || a.src - b.src);
    for (const r of recs) this.sendTo(id, send, encodeLsu(r), r);
  }

  removeMgmtNeighbour(id: number): void {
    if (!this.mgmt.delete(id)) this.log.dbg(`No mgmt neighbour ${id} to remove.`);
  }

  /** One SDU read from the management flow of neighbour `fromId`. */
  receive(fromId: number, sdu: Uint8Array): void {
    const m = decodeLsu(sdu);
    if (typeof m === 'string' || m.src === m.dst) {
      this.counters.malformed++;
      this.log.dbg(`Dropped malformed LSU from ${fromId}: ${typeof m === 'string' ? m : 'source is destination'}.`);
      return;
    }
    this.counters.rx++;
    if (m.src === this.self) {
      this.ownHeard(m);
      return;
    }
    const old = this.get(m.src, m.dst);
    if (old && m.seqno <= old.seqno) {
      this.counters.stale++;
      return;
    }
    const withdrawn = isWithdrawal(m.seqno);
    this.put({ src: m.src, dst: m.dst, seqno: m.seqno, stamp: this.clock.now(), withdrawn });
    const bytes = encodeLsu(m);
    for (const [id, send] of [...this.mgmt]) if (id !== fromId) this.sendTo(id, send, bytes, m);
    const wasLive = old !== undefined && !old.withdrawn;
    if (wasLive === !withdrawn) return; // a refresh: same edges
    if (withdrawn) this.log.dbg(`${lsuToString(m)}: adjacency withdrawn.`);
    this.edgeChanged(m.src, m.dst);
  }

  snapshot(): LinkStateSnapshot {
    const now = this.clock.now();
    return {
      self: this.self,
      adjacencies: this.records()
        .filter((r) => !r.withdrawn)
        .sort((a, b) => a.src - b.src || a.dst - b.dst)
        .map((r) => ({ src: r.src, dst: r.dst, seqno: r.seqno, ageMs: now - r.stamp })),
      table: [...this.table].map(([dst, nextHops]) => ({ dst, nextHops: nextHops.slice() })),
      neighbours: {
        dt: [...this.dt].sort((a, b) => a - b),
        mgmt: [...this.mgmt.keys()].sort((a, b) => a - b),
      },
    };
  }

  // --- database ---

  private get(src: number, dst: number): Rec | undefined {
    return this.db.get(src)?.get(dst);
  }

  private put(r: Rec): void {
    let m = this.db.get(r.src);
    if (!m) this.db.set(r.src, (m = new Map()));
    m.set(r.dst, r);
  }

  private del(r: Rec): void {
    const m = this.db.get(r.src);
    if (!m) return;
    m.delete(r.dst);
    if (m.size === 0) this.db.delete(r.src);
  }

  private records(): Rec[] {
    const out: Rec[] = [];
    for (const m of this.db.values()) for (const r of m.values()) out.push(r);
    return out;
  }

  private live(src: number, dst: number): boolean {
    const r = this.get(src, dst);
    return r !== undefined && !r.withdrawn;
  }

  /** Adjacency src -> dst appeared or went away: the graph changed if dst -> src is live. */
  private edgeChanged(src: number, dst: number): void {
    if (this.live(dst, src)) this.recompute();
    else this.modified = true;
  }

  // --- own adjacencies ---

  /** The lowest seqno for a fresh announcement: o7s range, grows with the wall clock. */
  private floorSeq(): number {
    const ms = Math.min(Math.max(0, Math.floor(this.clock.wallNow())), 2 ** 50);
    return O7S_SEQNO_BASE + 2 * ms;
  }

  private announceSeq(addr: number): number {
    const last = this.ownSeq.get(addr);
    const above = last === undefined ? 0 : last % 2 === 0 ? last + 2 : last + 1;
    return Math.max(above, this.floorSeq());
  }

  private announce(addr: number, seqno: number): void {
    this.ownSeq.set(addr, seqno);
    const r: Rec = { src: this.self, dst: addr, seqno, stamp: this.clock.now(), withdrawn: false };
    this.put(r);
    this.flood(r);
  }

  private withdraw(addr: number): void {
    const last = this.ownSeq.get(addr) ?? this.floorSeq();
    const seqno = Math.max(last % 2 === 0 ? last + 1 : last + 2, O7S_SEQNO_BASE + 1);
    this.ownSeq.set(addr, seqno);
    const r: Rec = { src: this.self, dst: addr, seqno, stamp: this.clock.now(), withdrawn: true };
    this.put(r);
    this.flood(r);
  }

  /** An LSU about one of our own adjacencies came back from the network. */
  private ownHeard(m: Lsu): void {
    const last = this.ownSeq.get(m.dst);
    if (last !== undefined && m.seqno <= last) {
      this.counters.stale++;
      return;
    }
    this.ownSeq.set(m.dst, m.seqno);
    if (this.dt.has(m.dst)) {
      this.log.info(`Heard newer ${lsuToString(m)} about ourselves; announcing again.`);
      this.announce(m.dst, this.announceSeq(m.dst));
    } else if (!isWithdrawal(m.seqno)) {
      this.log.info(`Heard ${lsuToString(m)} about ourselves without such a neighbour; withdrawing it.`);
      this.withdraw(m.dst);
    }
  }

  // --- sending ---

  private flood(r: Lsu): void {
    const bytes = encodeLsu(r);
    for (const [id, send] of [...this.mgmt]) this.sendTo(id, send, bytes, r);
  }

  /** Sends the encoded LSU `bytes` (of `l`, for the log); the sender copies them (one encoding serves every neighbour). */
  private sendTo(id: number, send: (lsu: Uint8Array) => void, bytes: Uint8Array, l: Lsu): void {
    this.counters.tx++;
    try {
      send(bytes);
    } catch (e) {
      this.log.warn(`Failed to send ${lsuToString(l)} to mgmt neighbour ${id}: ${e instanceof Error ? e.message : String(e)}.`);
    }
  }

  // --- timers ---

  private age(): void {
    const now = this.clock.now();
    let lost = false;
    for (const r of this.records()) {
      if (r.src === this.self && !r.withdrawn) continue;
      if (now - r.stamp <= this.tTimeo) continue;
      this.del(r);
      if (r.withdrawn) continue;
      this.counters.expired++;
      this.log.dbg(`Adjacency ${r.src} -- ${r.dst} timed out.`);
      if (this.live(r.dst, r.src)) lost = true;
      else this.modified = true;
    }
    for (const addr of [...this.dt].sort((a, b) => a - b)) {
      const last = this.ownSeq.get(addr)!;
      this.announce(addr, last % 2 === 0 ? last + 2 : last + 1);
    }
    if (lost) this.recompute();
  }

  private periodicRecalc(): void {
    if (this.modified) this.recompute();
  }

  private recompute(): void {
    this.modified = false;
    this.counters.recalcs++;
    const links = this.records().filter((r) => !r.withdrawn);
    const computed = routingTable(buildGraph(links), this.self, this.policy);
    const table: RoutingTable = new Map();
    for (const [dst, hops] of computed) {
      const usable = hops.filter((h) => this.dt.has(h));
      if (usable.length > 0) table.set(dst, usable);
    }
    if (tablesEqual(table, this.table)) return;
    this.table = table;
    this.onTable(new Map([...table].map(([d, h]) => [d, h.slice()])));
  }
}
