import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createPff,
  isPffPolicy,
  PFF_FOR_ROUTING,
  PFF_POLICIES,
  pffForRouting,
  type Pff,
} from '../../../../src/ipcpd/unicast/pff/index.js';
import { AlternatePff } from '../../../../src/ipcpd/unicast/pff/alternate.js';
import { MultipathPff } from '../../../../src/ipcpd/unicast/pff/multipath.js';
import { SimplePff } from '../../../../src/ipcpd/unicast/pff/simple.js';
import { buildGraph, routingTable } from '../../../../src/ipcpd/unicast/routing/graph.js';
import { OuroborosError } from '../../../../src/common/errors.js';

function count(p: Pff, dst: number, n: number): Map<number | undefined, number> {
  const c = new Map<number | undefined, number>();
  for (let i = 0; i < n; i++) {
    const h = p.nextHop(dst);
    c.set(h, (c.get(h) ?? 0) + 1);
  }
  return c;
}

test('pff: policies by name, and the one each routing policy uses', () => {
  assert.deepEqual(Object.keys(PFF_POLICIES).sort(), ['alternate', 'multipath', 'simple']);
  assert.deepEqual({ ...PFF_FOR_ROUTING }, { simple: 'simple', lfa: 'alternate', ecmp: 'multipath' });
  assert.ok(pffForRouting('simple') instanceof SimplePff);
  assert.ok(pffForRouting('lfa') instanceof AlternatePff);
  assert.ok(pffForRouting('ecmp') instanceof MultipathPff);
  assert.equal(createPff('multipath').name, 'multipath');
  assert.equal(isPffPolicy('alternate'), true);
  assert.equal(isPffPolicy('constructor'), false);
  const einval = (e: unknown) => e instanceof OuroborosError && e.code === 'EINVAL';
  assert.throws(() => createPff('nope' as never), einval);
  assert.throws(() => pffForRouting('nope' as never), einval);
});

test('pff simple: the first next hop, flow events change nothing', () => {
  const p = createPff('simple');
  assert.equal(p.nextHop(5), undefined);
  p.update(new Map([[5, [7, 8]], [3, [8]], [4, []]]));
  assert.equal(p.nextHop(5), 7);
  assert.equal(p.nextHop(3), 8);
  assert.equal(p.nextHop(4), undefined, 'an empty entry is no route');
  p.flowDown(7);
  assert.equal(p.nextHop(5), 7);
  assert.deepEqual(p.entries(), [
    { dst: 3, nextHops: [8] },
    { dst: 5, nextHops: [7] },
  ]);
  p.update(new Map([[3, [9]]]));
  assert.equal(p.nextHop(5), undefined, 'update replaces the whole table');
  assert.equal(p.nextHop(3), 9);
});

test('pff alternate: a down primary switches to the first working alternate at once, flowUp restores', () => {
  const p = createPff('alternate') as AlternatePff;
  // dst 10: primary 1, alternates 2, 3. dst 11: primary 2, alternate 1. dst 12: only 1.
  p.update(new Map([[10, [1, 2, 3]], [11, [2, 1]], [12, [1]]]));
  assert.deepEqual([p.nextHop(10), p.nextHop(11), p.nextHop(12)], [1, 2, 1]);
  p.flowDown(1);
  assert.deepEqual([p.nextHop(10), p.nextHop(11), p.nextHop(12)], [2, 2, undefined]);
  p.flowDown(2);
  assert.deepEqual([p.nextHop(10), p.nextHop(11)], [3, undefined]);
  p.flowUp(1);
  assert.deepEqual([p.nextHop(10), p.nextHop(11), p.nextHop(12)], [1, 1, 1]);
  p.flowUp(2);
  assert.deepEqual([p.nextHop(10), p.nextHop(11)], [1, 2]);
  assert.deepEqual(p.entries(), [
    { dst: 10, nextHops: [1, 2, 3] },
    { dst: 11, nextHops: [2, 1] },
    { dst: 12, nextHops: [1] },
  ]);
});

test('pff alternate: the down set survives a routing update (unlike the reference), forgotten hops start up', () => {
  const p = createPff('alternate') as AlternatePff;
  p.update(new Map([[10, [1, 2]]]));
  p.flowDown(1);
  p.flowDown(9); // not a next hop: forgotten at the next update
  p.update(new Map([[10, [1, 2]], [20, [1, 3]]]));
  assert.deepEqual([p.nextHop(10), p.nextHop(20)], [2, 3]);
  assert.deepEqual(p.downHops(), [1]);
  p.update(new Map([[20, [3]]]));
  assert.deepEqual(p.downHops(), [], '1 left the table');
  p.update(new Map([[10, [1, 2]]]));
  assert.equal(p.nextHop(10), 1);
});

test('pff alternate with LFA routing: a triangle keeps a path when the primary goes down', () => {
  const links = [
    [1, 2],
    [2, 3],
    [1, 3],
  ].flatMap(([a, b]) => [
    { src: a!, dst: b! },
    { src: b!, dst: a! },
  ]);
  const p = pffForRouting('lfa');
  p.update(routingTable(buildGraph(links), 1, 'lfa'));
  assert.deepEqual(p.entries(), [
    { dst: 2, nextHops: [2, 3] },
    { dst: 3, nextHops: [3, 2] },
  ]);
  p.flowDown(2);
  assert.deepEqual([p.nextHop(2), p.nextHop(3)], [3, 3]);
});

test('pff multipath: round-robin over the next hops, skipping those down', () => {
  const p = createPff('multipath') as MultipathPff;
  p.update(new Map([[10, [1, 2, 3]], [11, [4]]]));
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => p.nextHop(10)), [1, 2, 3, 1, 2, 3]);
  assert.deepEqual(count(p, 10, 300), new Map([[1, 100], [2, 100], [3, 100]]));
  assert.deepEqual(count(p, 11, 5), new Map([[4, 5]]));
  p.flowDown(2);
  assert.deepEqual(count(p, 10, 300), new Map([[1, 150], [3, 150]]));
  p.flowDown(1);
  p.flowDown(3);
  assert.equal(p.nextHop(10), undefined, 'all down: no route');
  p.flowUp(1);
  p.flowUp(2);
  p.flowUp(3);
  assert.deepEqual(count(p, 10, 30), new Map([[1, 10], [2, 10], [3, 10]]));
  assert.equal(p.nextHop(99), undefined);
  p.update(new Map([[10, [2, 3]]]));
  assert.deepEqual(count(p, 10, 10), new Map([[2, 5], [3, 5]]));
  assert.equal(p.nextHop(11), undefined);
  assert.deepEqual(p.entries(), [{ dst: 10, nextHops: [2, 3] }]);
});

test('pff: update copies the table (later changes by the caller do not leak in)', () => {
  for (const name of ['simple', 'alternate', 'multipath'] as const) {
    const p = createPff(name);
    const hops = [1, 2];
    const t = new Map([[10, hops]]);
    p.update(t);
    hops[0] = 7;
    t.set(11, [3]);
    assert.equal(p.nextHop(10), 1, name);
    assert.equal(p.nextHop(11), undefined, name);
    const e = p.entries();
    e[0]!.nextHops.push(99);
    assert.ok(!p.entries()[0]!.nextHops.includes(99), name);
  }
});
