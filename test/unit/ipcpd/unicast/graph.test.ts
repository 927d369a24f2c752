import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildGraph,
  dijkstra,
  isRoutingPolicy,
  routingTable,
  ROUTING_POLICIES,
  tablesEqual,
  type Graph,
  type Link,
  type RoutingTable,
} from '../../../../src/ipcpd/unicast/routing/graph.js';
import { OuroborosError } from '../../../../src/common/errors.js';
import { Rng } from '../../../helpers/rng.js';

/** Both directions of every [a, b]. */
function both(edges: [number, number][]): Link[] {
  return edges.flatMap(([a, b]) => [
    { src: a, dst: b },
    { src: b, dst: a },
  ]);
}

function obj(t: RoutingTable): Record<number, number[]> {
  return Object.fromEntries(t);
}

const LINE = both([
  [1, 2],
  [2, 3],
  [3, 4],
  [4, 5],
]);
const RING6 = both([
  [1, 2],
  [2, 3],
  [3, 4],
  [4, 5],
  [5, 6],
  [6, 1],
]);
// 1 - 2
// | \ |
// 4 - 3
const SQUARE_DIAG = both([
  [1, 2],
  [2, 3],
  [3, 4],
  [4, 1],
  [1, 3],
]);

test('graph: an edge counts only when both ends announce it; self-loops ignored', () => {
  const g = buildGraph([
    { src: 1, dst: 2 },
    { src: 2, dst: 1 },
    { src: 2, dst: 3 }, // 3 never announces 2
    { src: 1, dst: 4 }, // 4 never announces 1
    { src: 4, dst: 3 },
    { src: 3, dst: 4 },
    { src: 5, dst: 5 },
  ]);
  assert.deepEqual([...(g.get(1)?.keys() ?? [])], [2]);
  assert.deepEqual([...(g.get(2)?.keys() ?? [])], [1]);
  assert.deepEqual([...(g.get(3)?.keys() ?? [])], [4]);
  assert.equal(g.get(5), undefined);
  for (const policy of ['simple', 'lfa', 'ecmp'] as const) {
    assert.deepEqual(obj(routingTable(g, 1, policy)), { 2: [2] }, `${policy}: 3 and 4 are unreachable, 4 is no neighbour`);
    assert.deepEqual(obj(routingTable(g, 4, policy)), { 3: [3] }, policy);
  }
  assert.deepEqual(obj(routingTable(g, 9, 'simple')), {}, 'a source outside the graph has no routes');
});

test('graph: a line', () => {
  const g = buildGraph(LINE);
  assert.deepEqual(Object.fromEntries(dijkstra(g, 1).dist), { 1: 0, 2: 1, 3: 2, 4: 3, 5: 4 });
  assert.deepEqual(obj(routingTable(g, 1, 'simple')), { 2: [2], 3: [2], 4: [2], 5: [2] });
  const mid = { 1: [2], 2: [2], 4: [4], 5: [4] };
  assert.deepEqual(obj(routingTable(g, 3, 'simple')), mid);
  assert.deepEqual(obj(routingTable(g, 3, 'ecmp')), mid);
  // dist(4,1) = 3 is not < dist(4,3) + dist(3,1) = 3: 4 would send it back.
  assert.deepEqual(obj(routingTable(g, 3, 'lfa')), mid);
  assert.equal([...routingTable(g, 3, 'simple').keys()].join(), '1,2,4,5', 'destinations ascending');
});

test('graph: a ring of 6', () => {
  const g = buildGraph(RING6);
  assert.deepEqual(Object.fromEntries(dijkstra(g, 1).dist), { 1: 0, 2: 1, 3: 2, 4: 3, 5: 2, 6: 1 });
  assert.deepEqual(Object.fromEntries(dijkstra(g, 1).firstHops), { 2: [2], 3: [2], 4: [2, 6], 5: [6], 6: [6] });
  assert.deepEqual(obj(routingTable(g, 1, 'simple')), { 2: [2], 3: [2], 4: [2], 5: [6], 6: [6] }, 'tie to 4: lower address');
  assert.deepEqual(obj(routingTable(g, 1, 'ecmp')), { 2: [2], 3: [2], 4: [2, 6], 5: [6], 6: [6] });
  // Only the antipode has a loop-free alternate: dist(6,4) = 2 < 1 + 3.
  // For 3: dist(6,3) = 3 is not < dist(6,1) + dist(1,3) = 3.
  assert.deepEqual(obj(routingTable(g, 1, 'lfa')), { 2: [2], 3: [2], 4: [2, 6], 5: [6], 6: [6] });
  assert.deepEqual(obj(routingTable(g, 4, 'ecmp')), { 1: [3, 5], 2: [3], 3: [3], 5: [5], 6: [5] });
});

test('graph: a square with a diagonal', () => {
  const g = buildGraph(SQUARE_DIAG);
  assert.deepEqual(obj(routingTable(g, 1, 'simple')), { 2: [2], 3: [3], 4: [4] });
  assert.deepEqual(obj(routingTable(g, 1, 'ecmp')), { 2: [2], 3: [3], 4: [4] });
  // To 2: 3 qualifies (1 < 1 + 1), 4 does not (2 < 2 fails). To 3: both 2 and 4, ties by address.
  assert.deepEqual(obj(routingTable(g, 1, 'lfa')), { 2: [2, 3], 3: [3, 2, 4], 4: [4, 3] });
  assert.deepEqual(obj(routingTable(g, 2, 'simple')), { 1: [1], 3: [3], 4: [1] });
  assert.deepEqual(obj(routingTable(g, 2, 'ecmp')), { 1: [1], 3: [3], 4: [1, 3] });
  assert.deepEqual(obj(routingTable(g, 2, 'lfa')), { 1: [1, 3], 3: [3, 1], 4: [1, 3] });
  // Without the diagonal's second announcement the square is a ring of 4.
  const g2 = buildGraph(SQUARE_DIAG.filter((l) => !(l.src === 3 && l.dst === 1)));
  assert.deepEqual(obj(routingTable(g2, 1, 'ecmp')), { 2: [2], 3: [2, 4], 4: [4] });
  assert.deepEqual(obj(routingTable(g2, 1, 'lfa')), { 2: [2], 3: [2, 4], 4: [4] });
});

test('graph: the reference test topology (graph_test.c)', () => {
  const links = both([
    [1, 2],
    [2, 3],
    [1, 3],
    [3, 4],
    [4, 5],
    [2, 6],
    [6, 7],
    [3, 7],
  ]);
  const want = { 2: 2, 3: 3, 4: 3, 5: 3, 6: 2, 7: 3 };
  for (const policy of ['simple', 'lfa', 'ecmp'] as const) {
    const t = routingTable(buildGraph(links), 1, policy);
    assert.deepEqual(Object.fromEntries([...t].map(([d, h]) => [d, h[0]])), want, policy);
  }
  // Deleting the pairs one by one shrinks the table to the single link 1-2.
  let l = links;
  const drop = (a: number, b: number) => (l = l.filter((x) => !((x.src === a && x.dst === b) || (x.src === b && x.dst === a))));
  drop(1, 3);
  drop(2, 3);
  drop(2, 6);
  assert.deepEqual(obj(routingTable(buildGraph(l), 1, 'simple')), { 2: [2] });
});

test('dijkstra: weights, and first hops as the union over equal-cost paths', () => {
  // 1-2 (1), 1-3 (2), 2-4 (2), 3-4 (1), 4-5 (1): 1->4 costs 3 both ways.
  const g: Graph = new Map([
    [1, new Map([[2, 1], [3, 2]])],
    [2, new Map([[1, 1], [4, 2]])],
    [3, new Map([[1, 2], [4, 1]])],
    [4, new Map([[2, 2], [3, 1], [5, 1]])],
    [5, new Map([[4, 1]])],
  ]);
  const sp = dijkstra(g, 1);
  assert.deepEqual(Object.fromEntries(sp.dist), { 1: 0, 2: 1, 3: 2, 4: 3, 5: 4 });
  assert.deepEqual(Object.fromEntries(sp.firstHops), { 2: [2], 3: [3], 4: [2, 3], 5: [2, 3] });
});

test('routing policies are chosen by name', () => {
  assert.deepEqual(Object.keys(ROUTING_POLICIES).sort(), ['ecmp', 'lfa', 'simple']);
  assert.equal(isRoutingPolicy('lfa'), true);
  assert.equal(isRoutingPolicy('toString'), false);
  assert.throws(
    () => routingTable(buildGraph(LINE), 1, 'nope' as never),
    (e: unknown) => e instanceof OuroborosError && e.code === 'EINVAL',
  );
  assert.equal(tablesEqual(new Map([[1, [2, 3]]]), new Map([[1, [2, 3]]])), true);
  assert.equal(tablesEqual(new Map([[1, [2, 3]]]), new Map([[1, [3, 2]]])), false);
  assert.equal(tablesEqual(new Map([[1, [2]]]), new Map([[2, [2]]])), false);
});

function bfs(links: Link[], src: number): Map<number, number> {
  const g = buildGraph(links);
  const d = new Map([[src, 0]]);
  const q = [src];
  while (q.length) {
    const u = q.shift()!;
    for (const v of g.get(u)?.keys() ?? []) {
      if (!d.has(v)) {
        d.set(v, d.get(u)! + 1);
        q.push(v);
      }
    }
  }
  return d;
}

test('graph fuzz: random graphs against brute force (BFS, the ECMP and LFA definitions)', () => {
  const r = new Rng(0x9a9);
  for (let round = 0; round < 150; round++) {
    const n = r.range(2, 14);
    const links: Link[] = [];
    for (let a = 1; a <= n; a++) {
      for (let b = 1; b <= n; b++) if (a !== b && r.bool(0.25)) links.push({ src: a * 10, dst: b * 10 });
    }
    const g = buildGraph(links);
    const self = r.range(1, n) * 10;
    const d = bfs(links, self);
    const sp = dijkstra(g, self);
    assert.deepEqual(sp.dist, d);
    const nbs = [...(g.get(self)?.keys() ?? [])].sort((x, y) => x - y);
    const nd = new Map(nbs.map((x) => [x, bfs(links, x)]));
    const simple = routingTable(g, self, 'simple');
    const ecmp = routingTable(g, self, 'ecmp');
    const lfa = routingTable(g, self, 'lfa');
    assert.deepEqual([...simple.keys()], [...d.keys()].filter((x) => x !== self).sort((x, y) => x - y));
    for (const [dst, hops] of ecmp) {
      const want = nbs.filter((x) => (nd.get(x)!.get(dst) ?? Infinity) + 1 === d.get(dst));
      assert.deepEqual(hops, want, `ecmp ${self}->${dst}`);
      assert.deepEqual(simple.get(dst), [want[0]]);
      const l = lfa.get(dst)!;
      assert.equal(l[0], want[0]);
      const alts = nbs.filter((x) => x !== dst && x !== want[0] && (nd.get(x)!.get(dst) ?? Infinity) < 1 + d.get(dst)!);
      assert.deepEqual([...l.slice(1)].sort((x, y) => x - y), alts, `lfa ${self}->${dst}`);
      for (let i = 2; i < l.length; i++) assert.ok(nd.get(l[i - 1]!)!.get(dst)! <= nd.get(l[i]!)!.get(dst)!, 'alternates best first');
    }
  }
});
