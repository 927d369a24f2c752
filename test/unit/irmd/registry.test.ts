import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry, FlowState } from '../../../src/irmd/registry/index.js';
import { LoadBalance } from '../../../src/common/ipcp-types.js';
import { HashAlgo, hashName } from '../../../src/common/hash.js';
import { qos } from '../../../src/lib/qos.js';

const mk = (r: Registry) => r.flows.create({ nPid: 1, n1Pid: 0, qos: qos.raw, state: FlowState.INIT });

test('flow ids: from 1, handed out cyclically (a freed id is not reused at once), never 0', () => {
  const r = new Registry();
  const [a, b, c] = [mk(r)!, mk(r)!, mk(r)!];
  assert.deepEqual([a.id, b.id, c.id], [1, 2, 3]);
  r.flows.destroy(b);
  assert.equal(mk(r)!.id, 4, 'the next id, not the freed 2');
});

test('flow ids wrap around to the freed ones and run out at 10239 flows', () => {
  const r = new Registry();
  const all = [];
  for (let i = 1; i < 10240; i++) {
    const f = mk(r)!;
    assert.equal(f.id, i);
    all.push(f);
  }
  assert.equal(mk(r), undefined, 'table full');
  r.flows.destroy(all[41]!);
  r.flows.destroy(all[6]!);
  assert.equal(mk(r)!.id, 7, 'after the last id (10239) the search wraps to the lowest free');
  assert.equal(mk(r)!.id, 42);
  // destroying a stale entry whose id was reused leaves the new flow alone
  const reused = r.flows.get(7)!;
  r.flows.destroy(all[6]!);
  assert.equal(r.flows.get(7), reused);
});

test('waitChange resolves on a state change and times out otherwise', async () => {
  const r = new Registry();
  const f = r.flows.create({ nPid: 1, n1Pid: 0, qos: qos.raw, state: FlowState.ALLOC_PENDING })!;
  const t0 = Date.now();
  assert.equal(await r.flows.waitChange(f, FlowState.ALLOC_PENDING, Date.now() + 50), false);
  assert.ok(Date.now() - t0 >= 45);
  const p = r.flows.waitChange(f, FlowState.ALLOC_PENDING, Date.now() + 5000);
  r.flows.setState(f, FlowState.ALLOCATED);
  assert.equal(await p, true);
});

test('round-robin serves the longest waiting accepter, spill the most recent', () => {
  const r = new Registry();
  r.names.create('rr', LoadBalance.ROUND_ROBIN);
  r.names.create('sp', LoadBalance.SPILL);
  for (const pid of [10, 20]) {
    r.names.get('rr')!.pids.add(pid);
    r.names.get('sp')!.pids.add(pid);
  }
  r.names.addActive(10);
  r.names.addActive(20);
  assert.deepEqual(r.names.get('rr')!.active, [10, 20]);
  assert.deepEqual(r.names.get('sp')!.active, [20, 10]);
  r.names.removeActive(10);
  assert.deepEqual(r.names.get('rr')!.active, [20]);
  r.names.dropPid(20);
  assert.deepEqual(r.names.get('rr')!.active, []);
  assert.equal(r.names.get('rr')!.pids.has(20), false);
});

test('names: create is idempotent, list is alphabetical, lookup by hash per algorithm', () => {
  const r = new Registry();
  assert.equal(r.names.create('oping', LoadBalance.ROUND_ROBIN), true);
  assert.equal(r.names.create('oping', LoadBalance.SPILL), false);
  assert.equal(r.names.get('oping')!.lb, LoadBalance.ROUND_ROBIN);
  r.names.ensure('b');
  r.names.ensure('a');
  assert.deepEqual(r.names.list().map((n) => n.name), ['a', 'b', 'oping']);
  assert.equal(r.names.byHash(hashName(HashAlgo.SHA3_256, 'oping'), HashAlgo.SHA3_256)?.name, 'oping');
  assert.equal(r.names.byHash(hashName(HashAlgo.MD5, 'oping'), HashAlgo.MD5)?.name, 'oping');
  assert.equal(r.names.byHash(hashName(HashAlgo.MD5, 'oping'), HashAlgo.SHA3_256), undefined);
});

test('IPCPs are listed by type, then pid', () => {
  const r = new Registry();
  r.ipcps.add({ pid: 30, name: 'u', type: 5, state: 2, layer: undefined, ctrl: undefined });
  r.ipcps.add({ pid: 20, name: 'l2', type: 0, state: 2, layer: undefined, ctrl: undefined });
  r.ipcps.add({ pid: 10, name: 'l1', type: 0, state: 2, layer: undefined, ctrl: undefined });
  assert.deepEqual(r.ipcps.list().map((i) => i.pid), [10, 20, 30]);
  assert.equal(r.ipcps.layerName(r.ipcps.get(10)!), 'Not enrolled.');
});
