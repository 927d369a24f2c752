import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkState } from '../../../../src/ipcpd/unicast/routing/link-state.js';
import { buildGraph, routingTable, type Link, type RoutingPolicy } from '../../../../src/ipcpd/unicast/routing/graph.js';
import { decodeLsu, encodeLsu, isWithdrawal, O7S_SEQNO_BASE } from '../../../../src/ipcpd/unicast/routing/lsu.js';
import { OuroborosError } from '../../../../src/common/errors.js';
import { FakeClock } from '../../../helpers/fake-clock.js';

const T = { tRecalcS: 4, tUpdateS: 15, tTimeoS: 60 };

interface Node {
  ls: LinkState;
  tables: Map<number, number[]>[];
}

/**
 * LinkState instances wired together in memory: a management "flow" between
 * a and b is a FIFO queue; flush() delivers until nothing is in flight.
 * Mgmt neighbour ids are the peer's address. With sync, send calls the
 * peer's receive directly (re-entrant).
 */
class Net {
  readonly clock = new FakeClock();
  readonly nodes = new Map<number, Node>();
  private readonly links = new Set<string>();
  private queue: { from: number; to: number; sdu: Uint8Array }[] = [];
  delivered = 0;

  constructor(
    private readonly policy: RoutingPolicy = 'simple',
    private readonly sync = false,
  ) {}

  add(...addrs: number[]): void {
    for (const a of addrs) {
      const tables: Map<number, number[]>[] = [];
      const ls = new LinkState({ self: a, policy: this.policy, ...T, clock: this.clock, onTable: (t) => tables.push(t) });
      ls.start();
      this.nodes.set(a, { ls, tables });
    }
  }

  ls(a: number): LinkState {
    return this.nodes.get(a)!.ls;
  }

  private key(a: number, b: number): string {
    return a < b ? `${a}-${b}` : `${b}-${a}`;
  }

  private sender(from: number, to: number): (sdu: Uint8Array) => void {
    return (sdu) => {
      if (this.sync) this.deliver(from, to, sdu);
      else this.queue.push({ from, to, sdu });
    };
  }

  private deliver(from: number, to: number, sdu: Uint8Array): void {
    if (!this.links.has(this.key(from, to))) return;
    const n = this.nodes.get(to);
    if (!n) return;
    this.delivered++;
    n.ls.receive(from, sdu);
  }

  /** A DT and a management connection between a and b, as the connection manager reports them. */
  link(a: number, b: number): void {
    this.links.add(this.key(a, b));
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      this.ls(x).addDtNeighbour(y);
      this.ls(x).addMgmtNeighbour(y, this.sender(x, y));
    }
  }

  unlink(a: number, b: number): void {
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      const n = this.nodes.get(x);
      if (!n) continue;
      n.ls.removeDtNeighbour(y);
      n.ls.removeMgmtNeighbour(y);
    }
    this.links.delete(this.key(a, b));
  }

  /** Node a stops without telling anyone (crash, cable cut elsewhere). */
  kill(a: number): void {
    this.ls(a).stop();
    this.nodes.delete(a);
  }

  /** Delivers until nothing is in flight; returns the number delivered. */
  flush(limit = 100_000): number {
    let n = 0;
    while (this.queue.length > 0) {
      const m = this.queue.shift()!;
      this.deliver(m.from, m.to, m.sdu);
      if (++n > limit) throw new Error('LSU storm: flooding does not stop');
    }
    return n;
  }

  /** Advances time in steps, delivering everything in flight after each step. */
  run(ms: number, step = 1000): void {
    for (let t = 0; t < ms; t += step) {
      this.clock.advance(Math.min(step, ms - t));
      this.flush();
    }
  }

  tx(): number {
    let s = 0;
    for (const n of this.nodes.values()) s += n.ls.counters.tx;
    return s;
  }

  table(a: number): Record<number, number[]> {
    return Object.fromEntries(this.ls(a).snapshot().table.map((e) => [e.dst, e.nextHops]));
  }

  /** Every node's table equals what the graph of `edges` gives it. */
  assertTables(edges: [number, number][], msg = ''): void {
    const links: Link[] = edges.flatMap(([a, b]) => [
      { src: a, dst: b },
      { src: b, dst: a },
    ]);
    const g = buildGraph(links);
    for (const a of this.nodes.keys()) {
      assert.deepEqual(this.table(a), Object.fromEntries(routingTable(g, a, this.policy)), `${msg} table of ${a}`);
    }
  }
}

function lineEdges(n: number): [number, number][] {
  return Array.from({ length: n - 1 }, (_, i) => [i + 1, i + 2] as [number, number]);
}

function ringEdges(n: number): [number, number][] {
  return [...lineEdges(n), [n, 1]];
}

test('link state: a line of 5 converges; every node learns every adjacency', () => {
  const net = new Net('simple');
  net.add(1, 2, 3, 4, 5);
  for (const [a, b] of lineEdges(5)) net.link(a, b);
  net.flush();
  net.assertTables(lineEdges(5));
  assert.deepEqual(net.table(1), { 2: [2], 3: [2], 4: [2], 5: [2] });
  assert.deepEqual(net.table(3), { 1: [2], 2: [2], 4: [4], 5: [4] });
  for (const a of [1, 2, 3, 4, 5]) {
    const s = net.ls(a).snapshot();
    assert.equal(s.adjacencies.length, 8, `node ${a} knows both directions of 4 links`);
    assert.ok(s.adjacencies.every((x) => x.seqno >= O7S_SEQNO_BASE && x.seqno % 2 === 0 && x.ageMs === 0));
  }
  assert.deepEqual(net.ls(3).snapshot().neighbours, { dt: [2, 4], mgmt: [2, 4] });
  // onTable: only on changes, each a fresh map.
  const t1 = net.nodes.get(1)!.tables;
  assert.deepEqual(Object.fromEntries(t1.at(-1)!), { 2: [2], 3: [2], 4: [2], 5: [2] });
  const before = t1.length;
  net.run(3 * T.tUpdateS * 1000);
  assert.equal(t1.length, before, 'refreshes do not produce new tables');
  net.assertTables(lineEdges(5), 'after refreshes');
});

test('link state: a ring of 6 converges with ecmp and lfa', () => {
  for (const policy of ['ecmp', 'lfa'] as const) {
    const net = new Net(policy);
    net.add(1, 2, 3, 4, 5, 6);
    for (const [a, b] of ringEdges(6)) net.link(a, b);
    net.flush();
    net.assertTables(ringEdges(6), policy);
    assert.deepEqual(net.table(1)[4], [2, 6], `${policy}: two ways to the antipode`);
    assert.deepEqual(net.table(1)[3], [2], policy);
  }
});

test('link state: flooding stops; one refresh round costs 2E - (N-1) messages per LSU', () => {
  for (const [name, n, edges] of [
    ['ring of 6', 6, ringEdges(6)],
    ['line of 5', 5, lineEdges(5)],
  ] as const) {
    const net = new Net('simple');
    net.add(...Array.from({ length: n }, (_, i) => i + 1));
    for (const [a, b] of edges) net.link(a, b);
    const joined = net.flush();
    assert.ok(joined < 200, `${name}: joining took ${joined} messages`);
    const stale0 = [...net.nodes.values()].reduce((s, x) => s + x.ls.counters.stale, 0);
    const tx0 = net.tx();
    net.clock.advance(T.tUpdateS * 1000); // every node re-announces its own adjacencies
    const delivered = net.flush();
    const e = edges.length;
    const perLsu = 2 * e - (n - 1);
    assert.equal(net.tx() - tx0, 2 * e * perLsu, name);
    assert.equal(delivered, 2 * e * perLsu, name);
    const stale = [...net.nodes.values()].reduce((s, x) => s + x.ls.counters.stale, 0) - stale0;
    assert.equal(stale, 2 * e * (perLsu - (n - 1)), `${name}: every node takes each LSU once, duplicates die`);
    net.clock.advance(1000);
    assert.equal(net.flush(), 0, `${name}: nothing in flight between rounds`);
  }
});

test('link state: synchronous (re-entrant) delivery converges and terminates too', () => {
  const net = new Net('ecmp', true);
  net.add(1, 2, 3, 4, 5, 6);
  for (const [a, b] of [...ringEdges(6), [1, 4] as [number, number]]) net.link(a, b);
  net.assertTables([...ringEdges(6), [1, 4]]);
  net.run(2 * T.tUpdateS * 1000, 5000);
  net.assertTables([...ringEdges(6), [1, 4]], 'after refreshes');
});

test("link state: ageing removes a dead node's adjacencies within tTimeo + tUpdate", () => {
  const net = new Net('simple');
  net.add(1, 2, 3, 4);
  for (const [a, b] of lineEdges(4)) net.link(a, b);
  net.flush();
  net.run(7000); // not aligned with the update rounds
  net.kill(4); // silently: 3 still thinks it has a neighbour 4
  const t0 = net.clock.now();
  const gone = (a: number) => net.ls(a).snapshot().adjacencies.every((x) => x.src !== 4) && !(4 in net.table(a));
  let at: number | undefined;
  while (at === undefined && net.clock.now() - t0 < 5 * T.tTimeoS * 1000) {
    net.run(1000);
    if ([1, 2, 3].every(gone)) at = net.clock.now() - t0;
  }
  assert.ok(at !== undefined, 'the dead node is never forgotten');
  assert.ok(at <= (T.tTimeoS + T.tUpdateS) * 1000, `took ${at} ms`);
  assert.ok(at > T.tTimeoS * 1000 - T.tUpdateS * 1000, `too early: ${at} ms`);
  for (const a of [1, 2]) assert.equal(net.ls(a).counters.expired, 1, `node ${a} aged out 4 -> 3`);
  net.assertTables(lineEdges(3));
  // 3 -> 4 stays announced by 3 (it does not know), but one side is not an edge.
  assert.ok(net.ls(1).snapshot().adjacencies.some((x) => x.src === 3 && x.dst === 4));
});

test('link state: re-convergence after a node is removed, at once (withdrawals), then its records age out', () => {
  const net = new Net('simple');
  net.add(1, 2, 3, 4, 5, 6);
  for (const [a, b] of ringEdges(6)) net.link(a, b);
  net.flush();
  assert.deepEqual(net.table(1)[4], [2]);
  assert.deepEqual(net.table(3)[5], [4]);
  net.unlink(3, 4);
  net.unlink(4, 5);
  net.kill(4);
  net.flush();
  const line: [number, number][] = [
    [5, 6],
    [6, 1],
    [1, 2],
    [2, 3],
  ];
  net.assertTables(line, 'no time passed');
  assert.deepEqual(net.table(3), { 1: [2], 2: [2], 5: [2], 6: [2] });
  assert.deepEqual(net.table(5), { 1: [6], 2: [6], 3: [6], 6: [6] });
  assert.equal(net.ls(1).counters.expired, 0);
  net.run((T.tTimeoS + T.tUpdateS) * 1000);
  for (const a of net.nodes.keys()) {
    const adj = net.ls(a).snapshot().adjacencies;
    assert.ok(adj.every((x) => x.src !== 4 && x.dst !== 4), `node ${a} still has ${JSON.stringify(adj.filter((x) => x.src === 4 || x.dst === 4))}`);
    assert.equal(adj.length, 8);
  }
  net.assertTables(line, 'after ageing');
  // 4 comes back: the new announcements are newer than anything before, accepted at once.
  net.add(4);
  net.link(3, 4);
  net.link(4, 5);
  net.flush();
  net.assertTables(ringEdges(6), 'back');
});

test('link state: a flapping link is withdrawn and re-announced at once with ever higher seqnos', () => {
  const net = new Net('simple');
  net.add(1, 2, 3);
  net.link(1, 2);
  net.link(2, 3);
  net.flush();
  const seq = () => net.ls(3).snapshot().adjacencies.find((x) => x.src === 1 && x.dst === 2)!.seqno;
  const s0 = seq();
  net.ls(1).removeDtNeighbour(2); // the DT flow goes; the management flow stays
  net.flush();
  assert.deepEqual(net.table(3), { 2: [2] });
  assert.deepEqual(net.table(1), {});
  assert.ok(!net.ls(3).snapshot().adjacencies.some((x) => x.src === 1 && x.dst === 2), 'withdrawn records are not listed');
  net.ls(1).addDtNeighbour(2);
  net.flush();
  assert.deepEqual(net.table(3), { 1: [2], 2: [2] });
  assert.ok(seq() > s0 + 1);
  assert.equal(seq() % 2, 0);
  // Removing twice, adding twice: harmless.
  net.ls(1).addDtNeighbour(2);
  net.ls(1).removeDtNeighbour(9);
  assert.equal(net.flush(), 0);
});

test('link state: malformed SDUs are counted, not stored, not flooded', () => {
  const net = new Net('simple');
  net.add(1, 2, 3);
  net.link(1, 2);
  net.link(2, 3);
  net.flush();
  const ls = net.ls(2);
  const tx = ls.counters.tx;
  const big = Buffer.alloc(24);
  big.writeBigUInt64BE(2n ** 60n, 16);
  ls.receive(1, new Uint8Array(23));
  ls.receive(1, new Uint8Array(25));
  ls.receive(1, big);
  ls.receive(1, encodeLsu({ src: 7, dst: 7, seqno: 1 }));
  assert.equal(ls.counters.malformed, 4);
  assert.equal(ls.counters.tx, tx);
  assert.equal(net.flush(), 0);
  assert.equal(ls.snapshot().adjacencies.length, 4);
});

test('link state: LSUs from a reference peer (seqno 0, +1) are stored, flooded, refreshed and aged', () => {
  const clock = new FakeClock();
  const out: Uint8Array[] = [];
  const ls = new LinkState({ self: 1, policy: 'simple', ...T, clock, onTable: () => {} });
  ls.start();
  ls.addMgmtNeighbour(100, () => {}); // the C peer 5
  ls.addMgmtNeighbour(200, (b) => out.push(b));
  ls.addDtNeighbour(5);
  out.length = 0;
  ls.receive(100, encodeLsu({ src: 5, dst: 1, seqno: 0 }));
  assert.deepEqual(ls.snapshot().table, [{ dst: 5, nextHops: [5] }]);
  assert.deepEqual(out.map((b) => decodeLsu(b)), [{ src: 5, dst: 1, seqno: 0 }], 'flooded unchanged to the other neighbour');
  ls.receive(100, encodeLsu({ src: 5, dst: 1, seqno: 0 }));
  assert.equal(ls.counters.stale, 1);
  for (let s = 1; s <= 8; s++) {
    clock.advance(T.tUpdateS * 1000);
    ls.receive(100, encodeLsu({ src: 5, dst: 1, seqno: s }));
  }
  assert.deepEqual(ls.snapshot().table, [{ dst: 5, nextHops: [5] }], 'refreshed, never expired');
  assert.equal(ls.counters.expired, 0);
  clock.advance((T.tTimeoS + T.tUpdateS) * 1000);
  assert.deepEqual(ls.snapshot().table, []);
  assert.equal(ls.counters.expired, 1);
});

test('link state: a withdrawal crosses a reference peer, which just sees a newer LSU', () => {
  // o7s 1 -- C 2 -- o7s 3; the C peer stores by seqno, floods what is newer.
  const clock = new FakeClock();
  const cdb = new Map<string, number>();
  const nodes = new Map<number, LinkState>();
  const toC: Uint8Array[] = [];
  const cReceive = (from: number, b: Uint8Array) => {
    const m = decodeLsu(b);
    assert.ok(typeof m !== 'string');
    const k = `${m.src}-${m.dst}`;
    if ((cdb.get(k) ?? -1) >= m.seqno) return;
    cdb.set(k, m.seqno);
    for (const [a, ls] of nodes) if (a !== from) ls.receive(2, b);
  };
  for (const a of [1, 3]) {
    nodes.set(a, new LinkState({ self: a, policy: 'simple', ...T, clock, onTable: () => {} }));
  }
  for (const [a, ls] of nodes) {
    ls.addMgmtNeighbour(2, (b) => {
      toC.push(b);
      cReceive(a, b);
    });
    ls.addDtNeighbour(2);
  }
  const cAnnounce = (dst: number, seqno: number) => {
    const b = encodeLsu({ src: 2, dst, seqno });
    cdb.set(`2-${dst}`, seqno);
    for (const ls of nodes.values()) ls.receive(2, b);
  };
  cAnnounce(1, 0);
  cAnnounce(3, 0);
  assert.deepEqual(nodes.get(3)!.snapshot().table, [
    { dst: 1, nextHops: [2] },
    { dst: 2, nextHops: [2] },
  ]);
  nodes.get(1)!.removeDtNeighbour(2);
  const w = decodeLsu(toC.at(-1)!);
  assert.ok(typeof w !== 'string' && w.src === 1 && w.dst === 2 && isWithdrawal(w.seqno));
  assert.equal(cdb.get('1-2'), w.seqno, 'the C peer stores it as a newer LSU and floods it');
  assert.deepEqual(nodes.get(3)!.snapshot().table, [{ dst: 2, nextHops: [2] }], 'o7s behind it drops the edge at once');
});

test('link state: our own adjacency heard with a newer seqno is superseded, never stored as is', () => {
  const clock = new FakeClock();
  const out: { src: number; dst: number; seqno: number }[] = [];
  const ls = new LinkState({ self: 1, policy: 'simple', ...T, clock, onTable: () => {} });
  ls.addMgmtNeighbour(2, (b) => out.push(decodeLsu(b) as never));
  ls.addDtNeighbour(2);
  const mine = out[0]!.seqno;
  ls.receive(2, encodeLsu({ src: 1, dst: 2, seqno: mine }));
  assert.equal(ls.counters.stale, 1, 'our own LSU coming back');
  // A ghost from an earlier run: a newer seqno for 1 -> 2 ...
  ls.receive(2, encodeLsu({ src: 1, dst: 2, seqno: mine + 10 }));
  assert.deepEqual(out.at(-1), { src: 1, dst: 2, seqno: mine + 12 }, '... is answered by a newer announcement');
  // ... and for a neighbour we do not have, by a withdrawal.
  ls.receive(2, encodeLsu({ src: 1, dst: 9, seqno: 5 }));
  const w = out.at(-1)!;
  assert.equal(w.dst, 9);
  assert.ok(isWithdrawal(w.seqno));
  assert.deepEqual(
    ls.snapshot().adjacencies.map((a) => [a.src, a.dst, a.seqno]),
    [[1, 2, mine + 12]],
  );
});

test('link state: a new management neighbour gets the whole database; periodic recalc only when modified', () => {
  const net = new Net('simple');
  net.add(1, 2, 3);
  net.link(1, 2);
  net.link(2, 3);
  net.flush();
  const got: Uint8Array[] = [];
  net.ls(2).addMgmtNeighbour(77, (b) => got.push(b));
  assert.equal(got.length, 4);
  assert.deepEqual(
    got.map((b) => decodeLsu(b) as { src: number; dst: number }).map((m) => [m.src, m.dst]),
    [
      [2, 1],
      [1, 2],
      [3, 2],
      [2, 3],
    ],
    'sorted by (dst, src) as the reference',
  );
  const r = net.ls(1).counters.recalcs;
  net.run(5 * T.tRecalcS * 1000);
  assert.equal(net.ls(1).counters.recalcs, r, 'nothing changed, nothing recomputed');
  // A one-sided adjacency changes the database but not the graph: the next tRecalc picks it up.
  net.ls(1).receive(2, encodeLsu({ src: 3, dst: 8, seqno: 1 }));
  assert.equal(net.ls(1).counters.recalcs, r);
  net.clock.advance(T.tRecalcS * 1000);
  assert.equal(net.ls(1).counters.recalcs, r + 1);
});

test('link state: options are checked', () => {
  const clock = new FakeClock();
  const base = { self: 1, policy: 'simple' as const, ...T, clock, onTable: () => {} };
  const einval = (e: unknown) => e instanceof OuroborosError && e.code === 'EINVAL';
  assert.throws(() => new LinkState({ ...base, policy: 'ospf' as never }), einval);
  assert.throws(() => new LinkState({ ...base, tUpdateS: 0 }), einval);
  assert.throws(() => new LinkState({ ...base, self: -1 }), einval);
  const warned: string[] = [];
  new LinkState({ ...base, tTimeoS: 10, log: { dbg() {}, info() {}, warn: (s) => warned.push(s) } });
  assert.equal(warned.length, 1);
  const ls = new LinkState(base);
  assert.throws(() => ls.addDtNeighbour(1), einval, 'not ourselves');
  ls.start();
  ls.start();
  ls.stop();
  ls.stop();
});
