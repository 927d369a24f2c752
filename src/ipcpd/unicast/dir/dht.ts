/**
 * The unicast IPCP's directory: a Kademlia DHT from name hashes to IPCP
 * addresses (ARCHITECTURE §7.6), speaking the reference's messages
 * (WIRE §11.6, codec in dht-wire.ts) on DT eid 1.
 *
 * Kept as the reference:
 *  - node ID = random, hash length; values = 8-byte big-endian addresses;
 *  - STORE / FIND_NODE / FIND_VALUE request and response contents, random
 *    non-zero cookies echoed with the key, responses accepted only when they
 *    match an outstanding (key, cookie), up to k contacts and 8 values;
 *  - the routing table: buckets split 256 ways on the next ID byte (β = 8)
 *    when full and covering our own ID, else newcomers go to a replacement
 *    list of at most k (oldest dropped); a contact re-appearing with the same
 *    address replaces the old entry; every valid message refreshes its sender;
 *  - bootstrap: FIND_NODE for our own ID to the enrollment peer with the
 *    "magic" cookie (a random cookie fixed for the life of the node), retried
 *    with exponential back-off from 1 ms capped at 1 s while sending fails,
 *    and again whenever the contact table is empty;
 *  - the worker: five tasks (check contacts, remove expired values, remove
 *    expired cached lookups — requests here expire on their own timers —,
 *    replicate, refresh) one every
 *    max(1, gcd(gcd(t_exp, t_exp − 5·t_repl), gcd(t_repl, t_refr)) / 2 / 5) s;
 *    refresh looks up the ID of the oldest contact of every bucket not used
 *    by a lookup for t_refresh when that contact was not heard from for
 *    t_refresh;
 *  - values: owned values never expire locally and are re-STOREd with a fresh
 *    expiry when older than t_replicate and within 5·t_replicate of expiry;
 *    others are re-STOREd with their own expiry every t_replicate and
 *    dropped once expired; a STORE never overwrites an owned value and is
 *    refused once expired; values seen in responses are cached 60 s;
 *  - query: local values (replicas, then owned) first, an address other than
 *    our own; 2 s (DHT_T_RESP) per request; at most 128 lookups at once;
 *    unreg of a name that is not registered fails with ENOENT.
 *
 * Where this differs from the reference, and why:
 *  - Lookups are iterative Kademlia lookups. The reference sends one round of
 *    FIND_* to alpha contacts and its peer de-duplication suppresses every
 *    follow-up, so a key is found only when one of those alpha holds it.
 *    Here a lookup keeps a shortlist ordered by XOR distance, queries the
 *    alpha closest unqueried nodes per round, and, when a round brings
 *    nothing closer, all unqueried nodes of the k closest; it ends when the
 *    k closest live nodes have answered (or a FIND_VALUE gets a usable value),
 *    so it converges in O(log n) rounds. A round lasts until its requests are
 *    answered or time out (2 s).
 *  - reg and replication first look up the k closest nodes to the key and
 *    STORE there, instead of sending to the contacts of one local bucket.
 *  - Contact lists in responses are the k closest to the key over the whole
 *    table (sorted by full-length XOR distance; the reference uses the first
 *    8 bytes and appends a bucket's entries unsorted), without ourselves and
 *    without the requester (it knows itself) — unless the list would be
 *    empty: then it is the requester alone, because a reference node built
 *    with assertions (Debug) aborts on a response without contacts.
 *  - Contacts heard of in responses are not put in the routing table until
 *    they answer themselves (standard Kademlia): the reference adds them
 *    unverified, which also keeps re-adding nodes that have left.
 *  - Liveness: a contact that fails to answer 2 requests in a row
 *    (DHT_R_PING, defined but unused in the reference) is removed and the most
 *    recently seen replacement takes its place. The reference never drops a
 *    contact, so a node that leaves stays in tables for ever.
 *  - A table that empties (its last contact failed) asks the bootstrap peer
 *    again at once, rather than at the next contact check (minutes away).
 *  - After a bootstrap FIND_NODE was sent, it is re-sent every 2 s until the
 *    peer answers (the reference waits for the next contact check, 450 s
 *    with defaults). The answer starts the Kademlia join: a lookup of our
 *    own ID, then one lookup of a random ID at each bit distance further out
 *    than the nearest neighbour found (about log2 n lookups), so the table
 *    has a contact in every populated distance class. Without this, sparse
 *    tables (small k) let lookups stall short of the closest nodes.
 *  - The reference keeps one request per key and accepts every answer while
 *    it lives; here each request (cookie) is answered once — a duplicate or
 *    late answer after its 2 s is unmatched — and concurrent queries for a
 *    key share one lookup.
 *  - A query whose only local value is our own address goes on to a lookup
 *    (the reference answers "none").
 *  - reg resolves once the STOREs are sent (after the lookup); as in the
 *    reference it does not fail when no node could be reached.
 *  - A STORE received for a value we do not have yet counts as a replication
 *    (Kademlia's optimisation): it is re-STOREd t_replicate later, not at the
 *    next pass.
 *  - Expired values are also never returned between two clean-up passes, and
 *    the 60 s cache of looked-up values is honoured (the reference's request
 *    cache lives until the next expired-request pass).
 *  - A message with an unknown code, or claiming our own address as source,
 *    is dropped as malformed (the reference refreshes the sender first).
 */
import { randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../../../common/clock.js';
import { fail, OuroborosError } from '../../../common/errors.js';
import {
  addrToValue,
  decodeDhtMsg,
  DHT_CODE_NAMES,
  DHT_MAX_VALS,
  DhtCode,
  encodeDhtMsg,
  valueToAddr,
  type DhtContact,
  type DhtMessage,
} from './dht-wire.js';

/** Wait for an answer to a request (ms): the reference's DHT_T_RESP. */
export const DHT_T_RESP_MS = 2000;
/** Lifetime of values learnt from responses (s). */
export const DHT_T_CACHE_S = 60;
/** Owned values are republished within this many t_replicate of expiry. */
export const DHT_N_REPUB = 5;
/** Most lookups in progress at once. */
export const DHT_MAX_REQS = 128;
/** Unanswered requests in a row before a contact is removed. */
export const DHT_R_PING = 2;
/** Bucket split factor (bits): a split makes 256 children on the next byte. */
export const DHT_BETA = 8;
const BOOT_BACKOFF_CAP_MS = 1000;
/** Replication and refresh start no lookups beyond this many in progress. */
const BACKGROUND_LOOKUPS = DHT_MAX_REQS / 4;
const N_TASKS = 5;

export interface DhtLog {
  dbg(s: string): void;
  info(s: string): void;
  warn(s: string): void;
}

export interface DhtOptions {
  /** Our IPCP address (non-zero). */
  addr: number;
  /** Layer hash length: ID and key length (≥ 8). */
  hashLen: number;
  alpha: number;
  k: number;
  tExpireS: number;
  tRefreshS: number;
  tReplicateS: number;
  clock: Clock;
  /** Sends one DHT message to the DHT (eid 1) at `addr`; may throw when it cannot. */
  send(addr: number, sdu: Uint8Array): void;
  random?: (n: number) => Uint8Array;
  log?: DhtLog;
}

export interface DhtSnapshot {
  id: string;
  addr: number;
  /** lastSeenMs: the Clock's monotonic now() when the contact was last heard from. */
  contacts: { id: string; addr: number; lastSeenMs: number }[];
  /** One entry per key and kind (owned / replica); expiresAt: latest expiry, Unix ms. */
  values: { key: string; addrs: number[]; expiresAt: number; owned: boolean }[];
  /** Lookups in progress. */
  lookups: number;
}

export interface DhtCounters {
  rx: number;
  tx: number;
  malformed: number;
  unmatched: number;
  lookups: number;
  lookupRounds: number;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const short = (b: Uint8Array): string => hex(b.subarray(0, 8));

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Orders a and b by XOR distance to t (negative: a is closer). */
function cmpDist(a: Uint8Array, b: Uint8Array, t: Uint8Array): number {
  for (let i = 0; i < t.length; i++) {
    const d = (a[i]! ^ t[i]!) - (b[i]! ^ t[i]!);
    if (d !== 0) return d;
  }
  return 0;
}

/** Number of leading bits a and b share. */
function prefixBits(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return a.length * 8;
}

function gcd(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  while (a !== 0) [a, b] = [b % a, a];
  return b;
}

/** Seconds between two worker tasks, as the reference computes it. */
export function workerIntervalS(tExp: number, tRefr: number, tRepl: number): number {
  const g = gcd(gcd(tExp, tExp - DHT_N_REPUB * tRepl), gcd(tRepl, tRefr));
  return Math.max(1, Math.floor(Math.floor(g / 2) / N_TASKS));
}

// --- routing table ---------------------------------------------------------------

interface Contact {
  id: Uint8Array;
  addr: number;
  lastSeen: number;
  fails: number;
}

interface Bucket {
  depth: number;
  /** The first `depth` bytes every ID in this bucket starts with. */
  prefix: Uint8Array;
  /** Oldest (least recently seen) first. */
  contacts: Contact[];
  /** Replacements, oldest first, at most k. */
  alts: Contact[];
  /** Monotonic ms after which the bucket wants refreshing. */
  tRefresh: number;
  children?: Bucket[];
}

class Table {
  readonly root: Bucket;
  /** Every contact and replacement by address. */
  private readonly where = new Map<number, { c: Contact; b: Bucket; alt: boolean }>();
  private readonly byId = new Map<string, number>();

  constructor(
    private readonly self: Uint8Array,
    private readonly k: number,
    private readonly refreshMs: number,
    private readonly now: () => number,
  ) {
    this.root = this.bucket(0, new Uint8Array(0));
  }

  private bucket(depth: number, prefix: Uint8Array): Bucket {
    return { depth, prefix, contacts: [], alts: [], tRefresh: this.now() + this.refreshMs };
  }

  leaf(id: Uint8Array): Bucket {
    let b = this.root;
    while (b.children) b = b.children[id[b.depth]!]!;
    return b;
  }

  private covers(b: Bucket, id: Uint8Array): boolean {
    for (let i = 0; i < b.depth; i++) if (b.prefix[i] !== id[i]) return false;
    return true;
  }

  get size(): number {
    let n = 0;
    for (const w of this.where.values()) if (!w.alt) n++;
    return n;
  }

  has(addr: number): boolean {
    const w = this.where.get(addr);
    return w !== undefined && !w.alt;
  }

  /** Heard from (id, addr) just now. */
  seen(id: Uint8Array, addr: number): void {
    const now = this.now();
    const w = this.where.get(addr);
    if (w && equal(w.c.id, id)) {
      w.c.lastSeen = now;
      w.c.fails = 0;
      const list = w.alt ? w.b.alts : w.b.contacts;
      list.splice(list.indexOf(w.c), 1);
      list.push(w.c);
      return;
    }
    if (w) this.drop(addr);
    const other = this.byId.get(hex(id));
    if (other !== undefined) this.drop(other);
    this.insert({ id: id.slice(), addr, lastSeen: now, fails: 0 });
  }

  private index(c: Contact, b: Bucket, alt: boolean): void {
    this.where.set(c.addr, { c, b, alt });
    this.byId.set(hex(c.id), c.addr);
  }

  private unindex(c: Contact): void {
    this.where.delete(c.addr);
    this.byId.delete(hex(c.id));
  }

  private insert(c: Contact): void {
    const b = this.leaf(c.id);
    if (b.contacts.length < this.k) {
      b.contacts.push(c);
      this.index(c, b, false);
    } else if (this.covers(b, this.self) && b.depth < this.self.length) {
      b.contacts.push(c);
      this.index(c, b, false);
      this.split(b);
    } else {
      this.toAlts(b, c);
    }
  }

  private toAlts(b: Bucket, c: Contact): void {
    b.alts.push(c);
    this.index(c, b, true);
    while (b.alts.length > this.k) this.unindex(b.alts.shift()!);
  }

  private split(b: Bucket): void {
    const kids: Bucket[] = [];
    for (let i = 0; i < 1 << DHT_BETA; i++) {
      const p = new Uint8Array(b.depth + 1);
      p.set(b.prefix);
      p[b.depth] = i;
      kids.push(this.bucket(b.depth + 1, p));
    }
    b.children = kids;
    const contacts = b.contacts;
    const alts = b.alts;
    b.contacts = [];
    b.alts = [];
    for (const c of contacts) {
      const kid = kids[c.id[b.depth]!]!;
      kid.contacts.push(c);
      this.index(c, kid, false);
    }
    for (const c of alts) {
      const kid = kids[c.id[b.depth]!]!;
      if (kid.contacts.length < this.k) {
        kid.contacts.push(c);
        this.index(c, kid, false);
      } else this.toAlts(kid, c);
    }
    for (const kid of kids) {
      if (kid.contacts.length <= this.k) continue;
      if (this.covers(kid, this.self) && kid.depth < this.self.length) this.split(kid);
      else for (const c of kid.contacts.splice(this.k)) this.toAlts(kid, c);
    }
  }

  /** Removes a contact or replacement; a removed contact's place goes to the newest replacement. */
  drop(addr: number): void {
    const w = this.where.get(addr);
    if (!w) return;
    this.unindex(w.c);
    if (w.alt) {
      w.b.alts.splice(w.b.alts.indexOf(w.c), 1);
      return;
    }
    w.b.contacts.splice(w.b.contacts.indexOf(w.c), 1);
    const alt = w.b.alts.pop();
    if (alt) {
      w.b.contacts.push(alt);
      this.index(alt, w.b, false);
    }
  }

  /** A request to addr went unanswered; true when that removed the contact. */
  failed(addr: number): boolean {
    const w = this.where.get(addr);
    if (!w || w.alt) return false;
    if (++w.c.fails < DHT_R_PING) return false;
    this.drop(addr);
    return true;
  }

  all(): Contact[] {
    const out: Contact[] = [];
    const walk = (b: Bucket): void => {
      if (b.children) b.children.forEach(walk);
      else out.push(...b.contacts);
    };
    walk(this.root);
    return out;
  }

  leaves(): Bucket[] {
    const out: Bucket[] = [];
    const walk = (b: Bucket): void => {
      if (b.children) b.children.forEach(walk);
      else out.push(b);
    };
    walk(this.root);
    return out;
  }

  closest(key: Uint8Array, n: number, except?: number): Contact[] {
    return this.all()
      .filter((c) => c.addr !== except)
      .sort((a, b) => cmpDist(a.id, b.id, key))
      .slice(0, n);
  }
}

// --- lookups ------------------------------------------------------------------------

const NEW = 0;
const PENDING = 1;
const ANSWERED = 2;
const FAILED = 3;

interface Candidate {
  id: Uint8Array;
  addr: number;
  state: number;
}

type FindCode = typeof DhtCode.FIND_NODE_REQ | typeof DhtCode.FIND_VALUE_REQ;

interface LookupResult {
  /** Nodes that answered, closest first, at most k. */
  nodes: DhtContact[];
  /** Values from the FIND_VALUE_RSP that ended the lookup (empty if none). */
  values: Uint8Array[];
}

interface Lookup {
  key: Uint8Array;
  code: FindCode;
  cands: Candidate[];
  byAddr: Map<number, Candidate>;
  inFlight: number;
  rounds: number;
  /** The closest live candidate when the current round started. */
  closestAtRound?: Uint8Array;
  done: boolean;
  resolve(r: LookupResult): void;
}

interface Pending {
  cookie: bigint;
  key: Uint8Array;
  addr: number;
  lookup?: Lookup;
  cand?: Candidate;
  timer?: TimerHandle;
  magic: boolean;
}

// --- values -----------------------------------------------------------------------------

interface Val {
  val: Uint8Array;
  /** Expiry, Unix seconds. */
  exp: number;
  /** Last replication, Unix seconds. */
  repl: number;
}

interface Entry {
  key: Uint8Array;
  vals: Map<string, Val>;
  lvals: Map<string, Val>;
}

// --- the DHT -------------------------------------------------------------------------------

export class Dht {
  readonly id: Uint8Array;
  readonly counters: DhtCounters = { rx: 0, tx: 0, malformed: 0, unmatched: 0, lookups: 0, lookupRounds: 0 };

  private readonly o: DhtOptions;
  private readonly rnd: (n: number) => Uint8Array;
  private readonly log: DhtLog;
  private readonly table: Table;
  private readonly magic: bigint;
  private readonly pending = new Map<bigint, Pending>();
  private readonly lookups = new Set<Lookup>();
  private readonly queries = new Map<string, Promise<number | undefined>>();
  private readonly store = new Map<string, Entry>();
  private readonly cache = new Map<string, { addrs: number[]; exp: number }>();
  private readonly replicating = new Set<string>();
  private state: 'init' | 'running' | 'stopped' = 'init';
  private peer = 0;
  private worker?: TimerHandle;
  private task = 0;
  private boot?: { timer?: TimerHandle; backoff: number };

  constructor(opts: DhtOptions) {
    if (!Number.isInteger(opts.hashLen) || opts.hashLen < 8) fail('EINVAL', `DHT ID length ${opts.hashLen} < 8`);
    if (!Number.isInteger(opts.addr) || opts.addr <= 0 || opts.addr > 0xffff_ffff) fail('EINVAL', `bad DHT address ${opts.addr}`);
    if (opts.alpha < 1 || opts.k < 1) fail('EINVAL', 'DHT alpha and k must be positive');
    this.o = opts;
    this.rnd = opts.random ?? ((n) => randomBytes(n));
    this.log = opts.log ?? { dbg() {}, info() {}, warn() {} };
    this.id = Uint8Array.from(this.rnd(opts.hashLen).subarray(0, opts.hashLen));
    if (this.id.length !== opts.hashLen) fail('EINVAL', 'random source returned too few bytes');
    this.magic = this.cookie();
    this.table = new Table(this.id, opts.k, opts.tRefreshS * 1000, () => opts.clock.now());
  }

  // --- life cycle -----------------------------------------------------------------

  start(peer?: number): void {
    if (this.state === 'running') return;
    this.state = 'running';
    this.peer = peer && peer !== this.o.addr ? peer : 0;
    const intv = workerIntervalS(this.o.tExpireS, this.o.tRefreshS, this.o.tReplicateS);
    this.log.info(
      `DHT ${short(this.id)} at ${this.o.addr} started (alpha=${this.o.alpha}, k=${this.o.k}, ` +
        `t_exp=${this.o.tExpireS}, t_refr=${this.o.tRefreshS}, t_repl=${this.o.tReplicateS}, task every ${intv} s, peer ${this.peer}).`,
    );
    this.worker = this.o.clock.every(intv * 1000, () => this.runTask());
    this.bootstrap();
  }

  stop(): void {
    if (this.state !== 'running') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopped';
    this.worker?.cancel();
    this.worker = undefined;
    this.boot?.timer?.cancel();
    this.boot = undefined;
    for (const p of this.pending.values()) p.timer?.cancel();
    this.pending.clear();
    for (const l of [...this.lookups]) this.finish(l);
  }

  // --- directory operations ----------------------------------------------------------

  async reg(key: Uint8Array): Promise<void> {
    this.checkKey(key);
    const v = addrToValue(this.o.addr);
    const now = this.nowS();
    const e = this.entry(key);
    const exp = now + this.o.tExpireS;
    const lv = e.lvals.get(hex(v));
    if (lv) lv.exp = Math.max(lv.exp, exp);
    else e.lvals.set(hex(v), { val: v, exp, repl: now });
    e.vals.delete(hex(v));
    this.log.dbg(`${short(key)}: registered.`);
    const { nodes } = await this.lookup(key, DhtCode.FIND_NODE_REQ);
    this.storeAt(nodes, key, v, exp);
  }

  async unreg(key: Uint8Array): Promise<void> {
    this.checkKey(key);
    const e = this.store.get(hex(key));
    const v = hex(addrToValue(this.o.addr));
    if (!e || !e.lvals.delete(v)) fail('ENOENT', `${short(key)} is not registered`);
    if (e.vals.size === 0 && e.lvals.size === 0) this.store.delete(hex(key));
    this.log.dbg(`${short(key)}: unregistered.`);
  }

  query(key: Uint8Array): Promise<number | undefined> {
    try {
      this.checkKey(key);
    } catch (e) {
      return Promise.reject(e);
    }
    const h = hex(key);
    const local = this.pick(this.localValues(key));
    if (local !== undefined) return Promise.resolve(local);
    const c = this.cache.get(h);
    if (c && c.exp > this.o.clock.now()) {
      const a = c.addrs.find((x) => x !== this.o.addr);
      if (a !== undefined) return Promise.resolve(a);
    }
    if (this.state === 'stopped') return Promise.resolve(undefined);
    const running = this.queries.get(h);
    if (running) return running;
    const q = this.lookup(key, DhtCode.FIND_VALUE_REQ).then(({ values }) => {
      this.queries.delete(h);
      const addrs = values.map(valueToAddr).filter((a): a is number => a !== undefined && a !== 0);
      const a = this.pick(values);
      if (a === undefined) {
        this.log.dbg(`${short(key)}: no value found.`);
        return undefined;
      }
      this.cache.set(h, { addrs, exp: this.o.clock.now() + DHT_T_CACHE_S * 1000 });
      return a;
    });
    this.queries.set(h, q);
    return q;
  }

  // --- receiving -------------------------------------------------------------------------

  receive(sdu: Uint8Array): void {
    this.counters.rx++;
    if (this.state === 'stopped') return;
    try {
      this.handle(sdu);
    } catch (e) {
      this.log.warn(`DHT message handling failed: ${(e as Error).message}`);
    }
  }

  private handle(sdu: Uint8Array): void {
    const m = decodeDhtMsg(sdu, this.o.hashLen);
    if (m instanceof OuroborosError) {
      this.counters.malformed++;
      this.log.dbg(`Dropped: ${m.message}.`);
      return;
    }
    if (m.src.addr === this.o.addr || equal(m.src.id, this.id)) {
      this.counters.malformed++;
      this.log.warn(`Dropped ${DHT_CODE_NAMES[m.code]} claiming to come from ourselves (${m.src.addr}).`);
      return;
    }
    switch (m.code) {
      case DhtCode.FIND_NODE_RSP:
      case DhtCode.FIND_VALUE_RSP: {
        const p = this.pending.get(m.cookie);
        if (!p || !equal(p.key, m.key)) {
          this.counters.unmatched++;
          this.log.dbg(`Dropped ${DHT_CODE_NAMES[m.code]} from ${m.src.addr}: no request ${m.cookie.toString(16)} for ${short(m.key)}.`);
          return;
        }
        this.pending.delete(m.cookie);
        p.timer?.cancel();
        this.table.seen(m.src.id, m.src.addr);
        this.onResponse(p, m);
        return;
      }
      case DhtCode.FIND_NODE_REQ:
      case DhtCode.FIND_VALUE_REQ: {
        this.table.seen(m.src.id, m.src.addr);
        let contacts: DhtContact[] = this.table.closest(m.key, this.o.k, m.src.addr).map((c) => ({ id: c.id, addr: c.addr }));
        // Never an empty list: a reference node built with assertions aborts on one (it
        // asserts a response has contacts); the requester itself is harmless, it skips itself.
        if (contacts.length === 0) contacts = [{ id: m.src.id, addr: m.src.addr }];
        if (m.code === DhtCode.FIND_NODE_REQ) {
          this.send(m.src.addr, { code: DhtCode.FIND_NODE_RSP, src: this.src(), cookie: m.cookie, key: m.key, contacts });
        } else {
          const values = this.localValues(m.key).slice(0, DHT_MAX_VALS);
          this.send(m.src.addr, { code: DhtCode.FIND_VALUE_RSP, src: this.src(), cookie: m.cookie, key: m.key, contacts, values });
        }
        return;
      }
      case DhtCode.STORE:
        this.table.seen(m.src.id, m.src.addr);
        this.onStore(m.key, m.val, m.exp);
        return;
    }
  }

  private onStore(key: Uint8Array, val: Uint8Array, exp: number): void {
    const now = this.nowS();
    if (exp < now) {
      this.log.dbg(`${short(key)}: refused expired STORE.`);
      return;
    }
    const h = hex(val);
    const e = this.store.get(hex(key));
    if (e?.lvals.has(h)) return; // owned values are ours to publish
    const entry = e ?? this.entry(key);
    const v = entry.vals.get(h);
    if (v) v.exp = Math.max(v.exp, exp);
    else entry.vals.set(h, { val, exp, repl: now });
  }

  private onResponse(p: Pending, m: DhtMessage): void {
    if (m.code !== DhtCode.FIND_NODE_RSP && m.code !== DhtCode.FIND_VALUE_RSP) return;
    if (p.magic) {
      this.log.info(`Bootstrapped through ${m.src.addr} (${m.contacts.length} contacts).`);
      this.boot?.timer?.cancel();
      this.boot = undefined;
      this.join(m.contacts);
      return;
    }
    const l = p.lookup;
    const c = p.cand;
    if (!l || !c || l.done) return;
    c.state = ANSWERED;
    l.inFlight--;
    if (!equal(c.id, m.src.id)) c.id = m.src.id;
    this.addCandidates(l, m.contacts);
    if (m.code === DhtCode.FIND_VALUE_RSP && this.pick(m.values) !== undefined) {
      this.finish(l, m.values);
      return;
    }
    if (l.inFlight === 0) this.round(l);
  }

  private onTimeout(p: Pending): void {
    if (this.pending.get(p.cookie) !== p) return;
    this.pending.delete(p.cookie);
    if (this.table.failed(p.addr)) {
      this.log.dbg(`Contact ${p.addr} removed: no answers.`);
      // On a lossy layer the last contacts can go this way: ask the peer at once, not at the next check.
      this.checkContacts();
    }
    const l = p.lookup;
    const c = p.cand;
    if (!l || !c || l.done) return;
    c.state = FAILED;
    l.inFlight--;
    if (l.inFlight === 0) this.round(l);
  }

  // --- lookups ----------------------------------------------------------------------------

  private lookup(key: Uint8Array, code: FindCode, seeds: DhtContact[] = []): Promise<LookupResult> {
    if (this.state === 'stopped') return Promise.resolve({ nodes: [], values: [] });
    if (this.lookups.size >= DHT_MAX_REQS) {
      this.log.warn(`${short(key)}: too many lookups (${this.lookups.size}).`);
      return Promise.resolve({ nodes: [], values: [] });
    }
    this.counters.lookups++;
    this.table.leaf(key).tRefresh = this.o.clock.now() + this.o.tRefreshS * 1000;
    return new Promise((resolve) => {
      const l: Lookup = { key, code, cands: [], byAddr: new Map(), inFlight: 0, rounds: 0, done: false, resolve };
      this.lookups.add(l);
      this.addCandidates(l, this.table.closest(key, this.o.k));
      this.addCandidates(l, seeds);
      this.round(l);
    });
  }

  private addCandidates(l: Lookup, cs: DhtContact[]): void {
    let added = false;
    for (const c of cs) {
      if (c.addr === this.o.addr || equal(c.id, this.id) || l.byAddr.has(c.addr)) continue;
      const cand = { id: c.id, addr: c.addr, state: NEW };
      l.cands.push(cand);
      l.byAddr.set(c.addr, cand);
      added = true;
    }
    if (added) l.cands.sort((a, b) => cmpDist(a.id, b.id, l.key));
  }

  /** Starts the next round of a lookup, or ends it. */
  private round(l: Lookup): void {
    while (!l.done && l.inFlight === 0) {
      l.cands.sort((a, b) => cmpDist(a.id, b.id, l.key));
      const live = l.cands.filter((c) => c.state !== FAILED);
      const fresh = live.slice(0, this.o.k).filter((c) => c.state === NEW);
      if (fresh.length === 0) {
        this.finish(l);
        return;
      }
      // A round that brought nothing closer: ask all of the k closest not asked yet.
      const improved = l.closestAtRound === undefined || (live[0] !== undefined && cmpDist(live[0].id, l.closestAtRound, l.key) < 0);
      const batch = improved ? fresh.slice(0, this.o.alpha) : fresh;
      l.closestAtRound = live[0]!.id;
      l.rounds++;
      this.counters.lookupRounds++;
      for (const c of batch) {
        c.state = PENDING;
        l.inFlight++;
      }
      for (const c of batch) this.request(l, c);
    }
  }

  /** Sends one request of a round; the candidate is already PENDING and counted in flight. */
  private request(l: Lookup, c: Candidate): void {
    const cookie = this.cookie();
    const p: Pending = { cookie, key: l.key, addr: c.addr, lookup: l, cand: c, magic: false };
    this.pending.set(cookie, p); // before sending: an answer may come back from within send()
    if (!this.send(c.addr, { code: l.code, src: this.src(), cookie, key: l.key })) {
      this.pending.delete(cookie);
      c.state = FAILED;
      l.inFlight--;
      return;
    }
    if (this.pending.get(cookie) === p) p.timer = this.o.clock.after(DHT_T_RESP_MS, () => this.onTimeout(p));
  }

  private finish(l: Lookup, values: Uint8Array[] = []): void {
    if (l.done) return;
    l.done = true;
    this.lookups.delete(l);
    const nodes = l.cands
      .filter((c) => c.state === ANSWERED)
      .slice(0, this.o.k)
      .map((c) => ({ id: c.id, addr: c.addr }));
    this.log.dbg(`${short(l.key)}: ${DHT_CODE_NAMES[l.code]} lookup done in ${l.rounds} rounds, ${nodes.length} nodes, ${values.length} values.`);
    l.resolve({ nodes, values });
  }

  // --- bootstrap ------------------------------------------------------------------------------

  private bootstrap(): void {
    if (!this.peer || this.boot || this.state !== 'running') return;
    this.boot = { backoff: 1 };
    this.bootAttempt();
  }

  private bootAttempt(): void {
    const b = this.boot;
    if (!b || this.state !== 'running') return;
    // Keep asking the peer even when others found us first: nodes that know
    // the peer (the rest of the layer) may not know them, and the peer may
    // know nobody but us (it bootstrapped the layer).
    const asked = this.pending.has(this.magic); // an earlier attempt went out: its answer still counts
    this.pending.set(this.magic, { cookie: this.magic, key: this.id, addr: this.peer, magic: true });
    const sent = this.send(this.peer, { code: DhtCode.FIND_NODE_REQ, src: this.src(), cookie: this.magic, key: this.id });
    if (sent) this.log.dbg(`Asked bootstrap peer ${this.peer} for contacts.`);
    else if (!asked) this.pending.delete(this.magic);
    if (this.boot !== b) return; // answered from within send()
    const wait = sent ? Math.max(b.backoff, DHT_T_RESP_MS) : b.backoff;
    b.backoff = Math.min(b.backoff * 2, BOOT_BACKOFF_CAP_MS);
    b.timer = this.o.clock.after(wait, () => this.bootAttempt());
  }

  /**
   * The Kademlia join: look up our own ID (filling the table with our
   * neighbourhood), then one random ID at each bit distance further away than
   * the closest neighbour found, so that every distance class of the table
   * has a contact when one exists and lookups through us keep converging.
   */
  private join(seeds: DhtContact[]): void {
    void this.lookup(this.id, DhtCode.FIND_NODE_REQ, seeds).then(({ nodes }) => {
      const near = nodes[0];
      if (!near) return;
      const shared = Math.min(prefixBits(near.id, this.id), 64);
      for (let bit = 0; bit < shared; bit++) void this.lookup(this.idAtDistance(bit), DhtCode.FIND_NODE_REQ);
    });
  }

  /** A random ID sharing exactly `bit` leading bits with ours. */
  private idAtDistance(bit: number): Uint8Array {
    const t = Uint8Array.from(this.rnd(this.o.hashLen).subarray(0, this.o.hashLen));
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    t.set(this.id.subarray(0, byte));
    const keep = ~(mask - 1) & ~mask & 0xff; // bits before `bit` in this byte
    t[byte] = (this.id[byte]! & keep) | (~this.id[byte]! & mask) | (t[byte]! & (mask - 1));
    return t;
  }

  // --- worker tasks ------------------------------------------------------------------------------

  private runTask(): void {
    if (this.state !== 'running') return;
    const t = this.task++ % N_TASKS;
    try {
      if (t === 0) this.checkContacts();
      else if (t === 1) this.removeExpiredValues();
      else if (t === 2) this.removeExpiredCache();
      else if (t === 3) this.replicate();
      else this.refresh();
    } catch (e) {
      this.log.warn(`DHT task ${t} failed: ${(e as Error).message}`);
    }
  }

  private checkContacts(): void {
    if (this.table.size === 0 && this.peer) {
      this.log.dbg('No contacts: asking the bootstrap peer again.');
      this.bootstrap();
    }
  }

  private removeExpiredValues(): void {
    const now = this.nowS();
    for (const [h, e] of this.store) {
      for (const [vh, v] of e.vals) if (now > v.exp) e.vals.delete(vh);
      if (e.vals.size === 0 && e.lvals.size === 0) this.store.delete(h);
    }
  }

  private removeExpiredCache(): void {
    const now = this.o.clock.now();
    for (const [h, c] of this.cache) if (c.exp <= now) this.cache.delete(h);
  }

  private replicate(): void {
    const now = this.nowS();
    const tRepl = this.o.tReplicateS;
    for (const [h, e] of this.store) {
      if (this.lookups.size >= BACKGROUND_LOOKUPS) break; // the rest at the next pass
      if (this.replicating.has(h)) continue;
      const items: { v: Val; exp: number; owned: boolean }[] = [];
      for (const v of e.vals.values()) if (now > v.repl + tRepl && now <= v.exp) items.push({ v, exp: v.exp, owned: false });
      for (const v of e.lvals.values())
        if (now > v.repl + tRepl && v.exp - now < DHT_N_REPUB * tRepl) items.push({ v, exp: now + this.o.tExpireS, owned: true });
      if (items.length === 0) continue;
      this.replicating.add(h);
      void this.lookup(e.key, DhtCode.FIND_NODE_REQ).then(({ nodes }) => {
        this.replicating.delete(h);
        if (nodes.length === 0) return;
        for (const it of items) {
          if (it.owned && e.lvals.get(hex(it.v.val)) !== it.v) continue; // unregistered meanwhile
          this.storeAt(nodes, e.key, it.v.val, it.exp);
          it.v.repl = now;
          if (it.owned) it.v.exp = Math.max(it.v.exp, it.exp);
        }
        this.log.dbg(`${short(e.key)}: ${items.length} values replicated to ${nodes.length} nodes.`);
      });
    }
  }

  private refresh(): void {
    const now = this.o.clock.now();
    const ms = this.o.tRefreshS * 1000;
    for (const b of this.table.leaves()) {
      if (this.lookups.size >= BACKGROUND_LOOKUPS) break; // the rest at the next pass
      const oldest = b.contacts[0];
      if (now < b.tRefresh || !oldest || now - oldest.lastSeen <= ms) continue;
      this.log.dbg(`Refreshing bucket of ${short(oldest.id)} (${oldest.addr}).`);
      void this.lookup(oldest.id, DhtCode.FIND_NODE_REQ);
    }
  }

  // --- helpers --------------------------------------------------------------------------------

  private nowS(): number {
    return Math.floor(this.o.clock.wallNow() / 1000);
  }

  private checkKey(key: Uint8Array): void {
    if (key.length !== this.o.hashLen) fail('EINVAL', `DHT key of ${key.length} bytes, expected ${this.o.hashLen}`);
  }

  private entry(key: Uint8Array): Entry {
    const h = hex(key);
    let e = this.store.get(h);
    if (!e) {
      e = { key: key.slice(), vals: new Map(), lvals: new Map() };
      this.store.set(h, e);
    }
    return e;
  }

  /** Unexpired replicas, then owned values. */
  private localValues(key: Uint8Array): Uint8Array[] {
    const e = this.store.get(hex(key));
    if (!e) return [];
    const now = this.nowS();
    const out: Uint8Array[] = [];
    for (const v of e.vals.values()) if (now <= v.exp) out.push(v.val);
    for (const v of e.lvals.values()) out.push(v.val);
    return out;
  }

  /** The first value that is an address other than ours. */
  private pick(values: Uint8Array[]): number | undefined {
    for (const v of values) {
      const a = valueToAddr(v);
      if (a !== undefined && a !== 0 && a !== this.o.addr) return a;
    }
    return undefined;
  }

  private storeAt(nodes: DhtContact[], key: Uint8Array, val: Uint8Array, exp: number): void {
    for (const n of nodes) this.send(n.addr, { code: DhtCode.STORE, src: this.src(), key, val, exp });
  }

  private src(): DhtContact {
    return { id: this.id, addr: this.o.addr };
  }

  private cookie(): bigint {
    for (;;) {
      const b = this.rnd(8);
      const c = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
      if (c !== 0n && c !== this.magic && !this.pending.has(c)) return c;
    }
  }

  private send(addr: number, m: DhtMessage): boolean {
    if (this.state === 'stopped') return false;
    try {
      this.o.send(addr, encodeDhtMsg(m));
      this.counters.tx++;
      return true;
    } catch (e) {
      this.log.dbg(`${DHT_CODE_NAMES[m.code]} to ${addr} failed: ${(e as Error).message}`);
      return false;
    }
  }

  // --- inspection -------------------------------------------------------------------------------

  snapshot(): DhtSnapshot {
    const values: DhtSnapshot['values'] = [];
    for (const e of this.store.values()) {
      for (const [owned, m] of [
        [false, e.vals],
        [true, e.lvals],
      ] as const) {
        if (m.size === 0) continue;
        const vs = [...m.values()];
        values.push({
          key: hex(e.key),
          addrs: vs.map((v) => valueToAddr(v.val)).filter((a): a is number => a !== undefined),
          expiresAt: Math.max(...vs.map((v) => v.exp)) * 1000,
          owned,
        });
      }
    }
    return {
      id: hex(this.id),
      addr: this.o.addr,
      contacts: this.table.all().map((c) => ({ id: hex(c.id), addr: c.addr, lastSeenMs: c.lastSeen })),
      values,
      lookups: this.lookups.size,
    };
  }
}
