import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rng } from '../../../helpers/rng.js';
import { createHash } from 'node:crypto';
import { FakeClock } from '../../../helpers/fake-clock.js';
import { Dht, DHT_T_RESP_MS, workerIntervalS, type DhtOptions } from '../../../../src/ipcpd/unicast/dir/dht.js';
import { addrToValue, decodeDhtMsg, DhtCode, encodeDhtMsg, type DhtMessage } from '../../../../src/ipcpd/unicast/dir/dht-wire.js';
import { createDirectory, DIRECTORY_POLICIES } from '../../../../src/ipcpd/unicast/dir/index.js';
import { OuroborosError } from '../../../../src/common/errors.js';

const HL = 32;

const randomBytesFrom = (r: () => number) => (n: number) => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));

const nameHash = (s: string): Uint8Array => Uint8Array.from(createHash('sha3-256').update(s).digest());
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Waits (in fake time) until p settles. */
async function until<T>(clock: FakeClock, p: Promise<T>, maxMs = 60_000, step = 10): Promise<T> {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  p.then(
    (v) => ((done = true), (value = v)),
    (e) => ((done = true), (error = e)),
  );
  await new Promise<void>((r) => setImmediate(r));
  for (let t = 0; t < maxMs && !done; t += step) await clock.run(step, step);
  assert.ok(done, `not settled after ${maxMs} ms of fake time`);
  if (error) throw error;
  return value as T;
}

const ADDRS = new WeakMap<Dht, number>();

/** Nodes wired by an in-memory network: send() delivers to the node with that address, on a later turn. */
class Net {
  readonly clock = new FakeClock();
  readonly nodes: Dht[] = [];
  readonly byAddr = new Map<number, Dht>();
  readonly down = new Set<number>();
  private readonly r: () => number;

  constructor(
    seed: number,
    private readonly params: Pick<DhtOptions, 'alpha' | 'k' | 'tExpireS' | 'tRefreshS' | 'tReplicateS'>,
    /** Deliver from within send() (a re-entrancy check) instead of on a later turn. */
    private readonly sync = false,
  ) {
    this.r = rng(seed);
  }

  add(): Dht {
    let addr: number;
    do addr = 1 + Math.floor(this.r() * 0xfffffffe);
    while (this.byAddr.has(addr));
    const d = new Dht({
      ...this.params,
      addr,
      hashLen: HL,
      clock: this.clock,
      random: randomBytesFrom(this.r),
      send: (to, sdu) => {
        const n = this.byAddr.get(to);
        if (!n || this.down.has(to)) return; // lost, as in a DT without a route to a dead node
        if (this.sync) return n.receive(sdu);
        setImmediate(() => {
          if (!this.down.has(to)) n.receive(sdu);
        });
      },
    });
    this.nodes.push(d);
    this.byAddr.set(addr, d);
    ADDRS.set(d, addr);
    return d;
  }

  /** Grows the network to n nodes, each enrolling with (and bootstrapping from) one random earlier node. */
  async grow(n: number, settleMs = 200): Promise<void> {
    while (this.nodes.length < n) {
      const peer = this.nodes.length ? addrOf(this.nodes[Math.floor(this.r() * this.nodes.length)]!) : undefined;
      this.add().start(peer);
      await this.clock.run(settleMs, 10);
    }
  }

  leave(d: Dht): void {
    d.stop();
    this.down.add(addrOf(d));
  }

  live(): Dht[] {
    return this.nodes.filter((d) => !this.down.has(addrOf(d)));
  }

  total(c: keyof Dht['counters']): number {
    return this.nodes.reduce((s, d) => s + d.counters[c], 0);
  }
}

const addrOf = (d: Dht): number => ADDRS.get(d)!;

test('worker interval as the reference (defaults: 90 s per task)', () => {
  assert.equal(workerIntervalS(86400, 900, 900), 90);
  assert.equal(workerIntervalS(60, 10, 10), 1);
  assert.equal(workerIntervalS(50, 10, 10), 1); // t_exp - 5 t_repl = 0
  assert.equal(workerIntervalS(3, 2, 1), 1);
});

test('100 nodes: bootstrap, every name registered and found from other nodes in O(log n) rounds', async (t) => {
  const N = 100;
  const net = new Net(0x100, { alpha: 3, k: 8, tExpireS: 86400, tRefreshS: 900, tReplicateS: 900 });
  await net.grow(N);
  for (const d of net.nodes) assert.ok(d.snapshot().contacts.length >= 8, 'every node knows at least k others after joining');

  const names = net.nodes.map((_, i) => nameHash(`name-${i}`));
  await until(
    net.clock,
    Promise.all(net.nodes.map((d, i) => d.reg(names[i]!))),
  );
  await net.clock.run(50, 10); // the STOREs are on their way
  // each value sits at (about) the k nodes closest to its key
  const snaps = net.nodes.map((d) => d.snapshot());
  for (const key of names.map(hex)) {
    const holders = snaps.filter((s) => s.values.some((v) => v.key === key && !v.owned)).length;
    assert.ok(holders >= 7 && holders <= 8 + 2, `${holders} replicas of ${key.slice(0, 8)}`);
  }

  // Three batches; in each, every node looks up one other node's name (one lookup per node at a time,
  // so its round counter tells that lookup's rounds).
  const rounds: number[] = [];
  for (const off of [1, 37, 71]) {
    const before = net.nodes.map((d) => ({ ...d.counters }));
    const got = await until(
      net.clock,
      Promise.all(net.nodes.map((d, j) => d.query(names[(j + off) % N]!))),
    );
    net.nodes.forEach((d, j) => {
      assert.equal(got[j], addrOf(net.nodes[(j + off) % N]!), `node ${j} resolving name-${(j + off) % N}`);
      const lookups = d.counters.lookups - before[j]!.lookups;
      assert.ok(lookups <= 1);
      if (lookups === 1) rounds.push(d.counters.lookupRounds - before[j]!.lookupRounds);
    });
  }
  const max = Math.max(...rounds);
  const mean = rounds.reduce((a, b) => a + b, 0) / rounds.length;
  t.diagnostic(`${rounds.length} remote lookups, rounds mean ${mean.toFixed(2)} max ${max}; ${net.total('tx')} messages`);
  assert.ok(rounds.length > 250, `${rounds.length} remote lookups`);
  assert.ok(max <= Math.ceil(Math.log2(N)), `max rounds ${max}`);
  assert.ok(mean <= 3, `mean rounds ${mean}`);

  // A newcomer that knows a single node (as right after enrollment, before its join lookup): the
  // reference's one-round lookup could only succeed if that node held the value; iterating finds all.
  const newcomer = net.add();
  newcomer.start();
  const x = net.nodes[0]!.snapshot();
  newcomer.receive(encodeDhtMsg({ code: DhtCode.FIND_NODE_REQ, src: { id: Buffer.from(x.id, 'hex'), addr: x.addr }, cookie: 1n, key: newcomer.id }));
  await net.clock.run(50, 10);
  assert.deepEqual(newcomer.snapshot().contacts.map((c) => c.addr), [x.addr]);
  const picks = [10, 20, 30, 40, 50, 60, 70, 80, 90, 99];
  const found = await until(net.clock, Promise.all(picks.map((i) => newcomer.query(names[i]!))));
  assert.deepEqual(found, picks.map((i) => addrOf(net.nodes[i]!)));
  assert.equal(newcomer.counters.lookups, picks.length);
  t.diagnostic(`newcomer: ${newcomer.counters.lookupRounds} rounds for ${picks.length} lookups`);
  // a lookup ends in one round only when that single node holds the value itself (~k/n of the keys)
  assert.ok(newcomer.counters.lookupRounds >= 1.5 * picks.length, `${newcomer.counters.lookupRounds} rounds`);
  assert.ok(newcomer.counters.lookupRounds <= Math.ceil(Math.log2(N)) * picks.length);

  // nothing malformed, nothing lost; the one unmatched message is the answer to the request forged above
  assert.equal(net.total('malformed'), 0);
  assert.equal(net.total('unmatched'), 1);
  assert.equal(net.total('tx') + 1, net.total('rx'));
  for (const d of net.nodes) assert.equal(d.snapshot().lookups, 0);
  net.nodes.forEach((d) => d.stop());
});

const SHORT = { alpha: 3, k: 8, tExpireS: 60, tRefreshS: 10, tReplicateS: 10 }; // one task a second

test('owned values are republished; values of an unregistered name expire everywhere', async () => {
  const net = new Net(0x200, SHORT);
  await net.grow(16);
  const [a, b, c, e] = [net.nodes[3]!, net.nodes[7]!, net.nodes[11]!, net.nodes[14]!];
  const KA = nameHash('kept');
  const KB = nameHash('dropped');
  await until(net.clock, Promise.all([a.reg(KA), b.reg(KB)]));
  await net.clock.run(50, 10);
  const t0 = net.clock.wallNow();
  const replicas = (key: Uint8Array) =>
    net.live().flatMap((d) => d.snapshot().values.filter((v) => v.key === hex(key) && !v.owned));
  const firstExp = Math.max(...replicas(KA).map((v) => v.expiresAt));
  assert.ok(firstExp <= t0 + 60_000 && firstExp > t0 + 55_000);
  assert.ok(replicas(KB).length >= 7);

  await b.unreg(KB);
  await assert.rejects(b.unreg(KB), /not registered/);
  await net.clock.run(30_000, 100);
  assert.ok(replicas(KB).length >= 7, 'replicas live until their expiry');
  assert.equal(await until(net.clock, c.query(KB)), addrOf(b));

  await net.clock.run(120_000, 100);
  assert.equal(replicas(KB).length, 0, 'expired everywhere');
  assert.ok(net.live().every((d) => !d.snapshot().values.some((v) => v.key === hex(KB))));
  assert.equal(await until(net.clock, e.query(KB)), undefined);
  assert.equal(await until(net.clock, c.query(KB)), undefined, 'the 60 s cache is gone too');

  // KA was republished by its owner with fresh expiry times, so it outlived its first expiry
  const now = net.clock.wallNow();
  const ra = replicas(KA);
  assert.ok(ra.length >= 7, `${ra.length} replicas of the kept name`);
  assert.ok(ra.every((v) => v.expiresAt > now), 'no expired replica is kept');
  assert.ok(Math.max(...ra.map((v) => v.expiresAt)) > firstExp + 60_000);
  assert.equal(await until(net.clock, e.query(KA)), addrOf(a));
  assert.ok(a.snapshot().values.some((v) => v.key === hex(KA) && v.owned));
  assert.equal(net.total('malformed') + net.total('unmatched'), 0);
  net.nodes.forEach((d) => d.stop());
});

test('a node that leaves is eventually dropped from every contact table; lookups keep working', async () => {
  const net = new Net(0x300, SHORT);
  await net.grow(16);
  const x = net.nodes[5]!;
  const key = nameHash('survivor');
  await until(net.clock, net.nodes[9]!.reg(key));
  const knowing = () => net.live().filter((d) => d.snapshot().contacts.some((c) => c.addr === addrOf(x))).length;
  assert.ok(knowing() > 3);
  net.leave(x);
  let t = 0;
  while (knowing() > 0 && t < 600_000) {
    await net.clock.run(5_000, 100);
    t += 5_000;
  }
  assert.equal(knowing(), 0, `still known by ${knowing()} nodes after ${t / 1000} s`);
  for (const d of net.live()) assert.ok(d.snapshot().contacts.length >= 8);
  assert.equal(await until(net.clock, net.nodes[2]!.query(key)), addrOf(net.nodes[9]!));
  net.nodes.forEach((d) => d.stop());
});

test('re-entrant delivery (answers arriving from within send) works the same', async () => {
  const net = new Net(0x400, SHORT, true);
  await net.grow(20, 20);
  const names = net.nodes.map((_, i) => nameHash(`sync-${i}`));
  await until(net.clock, Promise.all(net.nodes.map((d, i) => d.reg(names[i]!))));
  const got = await until(net.clock, Promise.all(net.nodes.map((d, j) => d.query(names[(j + 3) % 20]!))));
  assert.deepEqual(got, net.nodes.map((_, j) => addrOf(net.nodes[(j + 3) % 20]!)));
  assert.equal(net.total('malformed') + net.total('unmatched'), 0);
  net.nodes.forEach((d) => d.stop());
});

// --- one node against a scripted peer -----------------------------------------------------

interface Rig {
  clock: FakeClock;
  dht: Dht;
  out: { to: number; msg: DhtMessage }[];
  failSends: number;
}

function rig(addr = 0x0a000001): Rig {
  const clock = new FakeClock();
  const r: Rig = { clock, out: [], failSends: 0, dht: undefined as unknown as Dht };
  r.dht = new Dht({
    addr,
    hashLen: HL,
    alpha: 3,
    k: 8,
    tExpireS: 86400,
    tRefreshS: 900,
    tReplicateS: 900,
    clock,
    random: randomBytesFrom(rng(addr)),
    send: (to, sdu) => {
      if (r.failSends > 0) {
        r.failSends--;
        throw new Error('no route');
      }
      const m = decodeDhtMsg(sdu, HL);
      assert.ok(!(m instanceof OuroborosError));
      r.out.push({ to, msg: m });
    },
  });
  return r;
}

const fakeId = (b: number): Uint8Array => new Uint8Array(HL).fill(b);

test('bootstrap: FIND_NODE for our own ID with the magic cookie, backing off while sending fails', async () => {
  const r = rig();
  const PEER = 77;
  r.failSends = 4;
  r.dht.start(PEER);
  // sending fails at t = 0, 1, 3, 7 ms (back-off 1, 2, 4, 8 ms); the fifth attempt, at t = 15, goes out
  let firstSent: number | undefined;
  for (let t = 0; t < 20; t++) {
    r.clock.advance(1);
    if (r.out.length && firstSent === undefined) firstSent = r.clock.now();
  }
  assert.equal(r.out.length, 1);
  assert.equal(firstSent, 15);
  const req = r.out[0]!;
  assert.equal(req.to, PEER);
  assert.ok(req.msg.code === DhtCode.FIND_NODE_REQ);
  assert.deepEqual(req.msg.key, r.dht.id);
  assert.deepEqual(req.msg.src, { id: r.dht.id, addr: 0x0a000001 });
  const magic = req.msg.cookie;
  assert.notEqual(magic, 0n);

  // no answer: asked again (same cookie) after DHT_T_RESP
  r.clock.advance(DHT_T_RESP_MS);
  assert.equal(r.out.length, 2);
  assert.ok(r.out[1]!.msg.code === DhtCode.FIND_NODE_REQ && r.out[1]!.msg.cookie === magic);

  // the peer answers like a reference node: same cookie, same key, its contacts (incl. us, which we skip)
  const other = { id: fakeId(0x55), addr: 88 };
  r.dht.receive(
    encodeDhtMsg({
      code: DhtCode.FIND_NODE_RSP,
      src: { id: fakeId(0x44), addr: PEER },
      cookie: magic,
      key: r.dht.id,
      contacts: [other, { id: r.dht.id, addr: 0x0a000001 }],
    }),
  );
  assert.deepEqual(
    r.dht.snapshot().contacts.map((c) => c.addr),
    [PEER],
  );
  // ... and the join lookup for our own ID asks both the peer and the node it told us about
  const join = r.out.slice(2);
  assert.deepEqual(join.map((o) => o.to).sort((a, b) => a - b), [PEER, 88]);
  assert.ok(join.every((o) => o.msg.code === DhtCode.FIND_NODE_REQ && hex(o.msg.key) === hex(r.dht.id) && o.msg.cookie !== magic));
  // no more bootstrap retries, a second magic answer is unmatched
  const n = r.out.length;
  r.clock.advance(10_000);
  assert.ok(r.out.slice(n).every((o) => o.msg.code !== DhtCode.FIND_NODE_REQ || o.msg.cookie !== magic));
  r.dht.receive(encodeDhtMsg({ code: DhtCode.FIND_NODE_RSP, src: { id: fakeId(0x44), addr: PEER }, cookie: magic, key: r.dht.id, contacts: [] }));
  assert.equal(r.dht.counters.unmatched, 1);
  r.dht.stop();
});

test('answers requests as the reference: cookie and key echoed, contacts, values; STORE rules', async () => {
  const r = rig();
  r.dht.start();
  const Q = { id: fakeId(0x21), addr: 500 };
  const R = { id: fakeId(0x22), addr: 501 };
  // a reference node's own bootstrap: FIND_NODE for its own ID with its magic cookie
  r.dht.receive(encodeDhtMsg({ code: DhtCode.FIND_NODE_REQ, src: R, cookie: 0xfeedn, key: R.id }));
  let rsp = r.out.at(-1)!;
  assert.equal(rsp.to, R.addr);
  assert.ok(rsp.msg.code === DhtCode.FIND_NODE_RSP && rsp.msg.cookie === 0xfeedn && hex(rsp.msg.key) === hex(R.id));
  // the requester is only sent back to itself when we know nobody else (a reference node
  // built with assertions aborts on an empty contact list)
  assert.deepEqual(rsp.msg.contacts, [R]);
  r.dht.receive(encodeDhtMsg({ code: DhtCode.FIND_NODE_REQ, src: Q, cookie: 5n, key: fakeId(0x20) }));
  rsp = r.out.at(-1)!;
  assert.ok(rsp.msg.code === DhtCode.FIND_NODE_RSP && rsp.msg.cookie === 5n);
  assert.deepEqual(rsp.msg.contacts, [R]);
  assert.deepEqual(r.dht.snapshot().contacts.map((c) => c.addr).sort(), [500, 501]);

  // FIND_VALUE for a name we registered: our address as an 8-byte BE value
  const K = nameHash('mine');
  await until(r.clock, r.dht.reg(K));
  r.dht.receive(encodeDhtMsg({ code: DhtCode.FIND_VALUE_REQ, src: Q, cookie: 6n, key: K }));
  rsp = r.out.at(-1)!;
  assert.ok(rsp.msg.code === DhtCode.FIND_VALUE_RSP && rsp.msg.cookie === 6n);
  assert.deepEqual(rsp.msg.values, [addrToValue(0x0a000001)]);
  // unknown key: contacts, no values
  r.dht.receive(encodeDhtMsg({ code: DhtCode.FIND_VALUE_REQ, src: Q, cookie: 7n, key: nameHash('nobody') }));
  rsp = r.out.at(-1)!;
  assert.ok(rsp.msg.code === DhtCode.FIND_VALUE_RSP && rsp.msg.values.length === 0 && rsp.msg.contacts.length === 1);

  // STORE: refused once expired; never replaces an owned value; keeps the later expiry
  const nowS = Math.floor(r.clock.wallNow() / 1000);
  const K2 = nameHash('theirs');
  const store = (key: Uint8Array, val: Uint8Array, exp: number) => r.dht.receive(encodeDhtMsg({ code: DhtCode.STORE, src: Q, key, val, exp }));
  store(K2, addrToValue(500), nowS - 1);
  assert.equal(r.dht.snapshot().values.filter((v) => v.key === hex(K2)).length, 0);
  store(K2, addrToValue(500), nowS + 100);
  store(K2, addrToValue(500), nowS + 50);
  store(K, addrToValue(0x0a000001), nowS + 10);
  const vals = r.dht.snapshot().values;
  assert.deepEqual(
    vals.find((v) => v.key === hex(K2)),
    { key: hex(K2), addrs: [500], expiresAt: (nowS + 100) * 1000, owned: false },
  );
  assert.deepEqual(
    vals.filter((v) => v.key === hex(K)).map((v) => v.owned),
    [true],
  );
  // local hits need no lookup; our own address is never an answer
  const lookups = r.dht.counters.lookups;
  assert.equal(await r.dht.query(K2), 500);
  assert.equal(r.dht.counters.lookups, lookups);
  r.dht.stop();
});

test('malformed and unmatched messages are dropped and counted, the sender is not learnt', async () => {
  const r = rig();
  r.dht.start();
  const Q = { id: fakeId(0x31), addr: 600 };
  r.dht.receive(new Uint8Array([1, 2, 3]));
  r.dht.receive(encodeDhtMsg({ code: DhtCode.FIND_NODE_REQ, src: Q, cookie: 1n, key: new Uint8Array(HL) }).subarray(0, 20));
  r.dht.receive(encodeDhtMsg({ code: DhtCode.FIND_NODE_REQ, src: { id: fakeId(1).subarray(0, 16), addr: 600 }, cookie: 1n, key: new Uint8Array(16) }));
  r.dht.receive(encodeDhtMsg({ code: DhtCode.FIND_NODE_REQ, src: { id: fakeId(9), addr: 0x0a000001 }, cookie: 1n, key: fakeId(2) }));
  assert.equal(r.dht.counters.malformed, 4);
  // a response nobody asked for
  r.dht.receive(encodeDhtMsg({ code: DhtCode.FIND_NODE_RSP, src: Q, cookie: 12345n, key: fakeId(3), contacts: [] }));
  r.dht.receive(encodeDhtMsg({ code: DhtCode.FIND_VALUE_RSP, src: Q, cookie: 12345n, key: fakeId(3), contacts: [], values: [addrToValue(600)] }));
  assert.equal(r.dht.counters.unmatched, 2);
  assert.equal(r.dht.counters.rx, 6);
  assert.equal(r.dht.snapshot().contacts.length, 0);
  assert.equal(r.out.length, 0, 'nothing answered');

  // a real request, answered with the right cookie but the wrong key, is unmatched too
  const P = { id: fakeId(0x32), addr: 601 };
  r.dht.receive(encodeDhtMsg({ code: DhtCode.FIND_NODE_REQ, src: P, cookie: 1n, key: P.id }));
  const K = nameHash('wanted');
  const q = r.dht.query(K);
  const req = r.out.find((o) => o.msg.code === DhtCode.FIND_VALUE_REQ)!;
  assert.ok(req.msg.code === DhtCode.FIND_VALUE_REQ && req.to === 601);
  r.dht.receive(encodeDhtMsg({ code: DhtCode.FIND_VALUE_RSP, src: P, cookie: req.msg.cookie, key: fakeId(4), contacts: [], values: [addrToValue(601)] }));
  assert.equal(r.dht.counters.unmatched, 3);
  r.dht.receive(encodeDhtMsg({ code: DhtCode.FIND_VALUE_RSP, src: P, cookie: req.msg.cookie, key: K, contacts: [], values: [addrToValue(601)] }));
  assert.equal(await until(r.clock, q), 601);
  assert.equal(r.dht.counters.unmatched, 3);
  // cached for DHT_T_CACHE: no second lookup
  const n = r.dht.counters.lookups;
  assert.equal(await r.dht.query(K), 601);
  assert.equal(r.dht.counters.lookups, n);
  r.dht.stop();
});

test('a table that loses its last contact asks the bootstrap peer again at once', async () => {
  const r = rig();
  const PEER = 77;
  r.dht.start(PEER);
  r.clock.advance(1);
  const cookieOf = (m: DhtMessage): bigint | undefined => ('cookie' in m ? m.cookie : undefined);
  const magic = cookieOf(r.out[0]!.msg)!;
  r.dht.receive(encodeDhtMsg({ code: DhtCode.FIND_NODE_RSP, src: { id: fakeId(0x44), addr: PEER }, cookie: magic, key: r.dht.id, contacts: [] }));
  assert.deepEqual(r.dht.snapshot().contacts.map((c) => c.addr), [PEER]);
  // The peer goes silent: requests to it time out until it is dropped...
  const askedAgain = (): number => r.out.filter((o, i) => i > 0 && cookieOf(o.msg) === magic).length;
  for (let i = 0; i < 4 && r.dht.snapshot().contacts.length > 0; i++) await until(r.clock, r.dht.query(nameHash(`q${i}`)));
  assert.deepEqual(r.dht.snapshot().contacts, [], 'the silent peer was dropped');
  // ...and the bootstrap FIND_NODE went out again right then (the periodic check is minutes away).
  assert.equal(askedAgain(), 1);
  assert.ok(r.out.at(-1)!.to === PEER && cookieOf(r.out.at(-1)!.msg) === magic);
  r.dht.stop();
});

test('query fails after 2 s when nobody answers; a contact failing twice is dropped', async () => {
  const r = rig();
  r.dht.start();
  const Q = { id: fakeId(0x41), addr: 700 };
  r.dht.receive(encodeDhtMsg({ code: DhtCode.FIND_NODE_REQ, src: Q, cookie: 1n, key: Q.id }));
  const t0 = r.clock.now();
  let settled = false;
  const q = r.dht.query(nameHash('x')).then((v) => ((settled = true), v));
  await r.clock.run(DHT_T_RESP_MS - 10, 10);
  assert.equal(settled, false);
  assert.equal(await until(r.clock, q), undefined);
  assert.ok(r.clock.now() - t0 >= DHT_T_RESP_MS);
  assert.deepEqual(r.dht.snapshot().contacts.map((c) => c.addr), [700]);
  assert.equal(await until(r.clock, r.dht.query(nameHash('y'))), undefined);
  assert.deepEqual(r.dht.snapshot().contacts, []);
  // a lookup in progress ends (unanswered) when the DHT stops
  r.dht.receive(encodeDhtMsg({ code: DhtCode.FIND_NODE_REQ, src: Q, cookie: 2n, key: Q.id }));
  const pendingQuery = r.dht.query(nameHash('w'));
  assert.equal(r.dht.snapshot().lookups, 1);
  r.dht.stop();
  assert.equal(await pendingQuery, undefined);
  assert.equal(await r.dht.query(nameHash('z')), undefined);
  const sent = r.out.length;
  r.dht.receive(encodeDhtMsg({ code: DhtCode.FIND_NODE_REQ, src: Q, cookie: 3n, key: Q.id }));
  assert.equal(r.out.length, sent, 'a stopped DHT does not answer');
});

test('directory policy table', () => {
  assert.deepEqual(Object.keys(DIRECTORY_POLICIES), ['dht']);
  const opts: DhtOptions = {
    addr: 1,
    hashLen: HL,
    alpha: 3,
    k: 8,
    tExpireS: 86400,
    tRefreshS: 900,
    tReplicateS: 900,
    clock: new FakeClock(),
    send() {},
  };
  assert.ok(createDirectory('dht', opts) instanceof Dht);
  assert.ok(createDirectory(0, opts) instanceof Dht);
  assert.throws(() => createDirectory('chord', opts), /unknown directory policy/);
  assert.throws(() => new Dht({ ...opts, hashLen: 4 }), /< 8/);
});
