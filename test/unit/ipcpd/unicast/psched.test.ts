/**
 * The packet scheduler (src/ipcpd/unicast/psched.ts) on flows of the
 * library (FlowImpl), whose events it gets synchronously: packets reach the
 * handler, higher cubes first; a flow deallocated here or by its peer ends
 * with onDown at once (no timer involved).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketScheduler } from '../../../../src/ipcpd/unicast/psched.js';
import { FlowImpl } from '../../../../src/lib/flow.js';
import { Endpoint, type EndpointOwner } from '../../../../src/lib/data/endpoint.js';
import { qos as QOS, QosCube } from '../../../../src/lib/qos.js';
import type { Link } from '../../../../src/lib/data/link.js';

const link = { send() {}, sendU32() {}, flush() {} } as unknown as Link;
const owner: EndpointOwner = { linkTo: () => link, release() {} };

function flow(id: number): { f: FlowImpl; ep: Endpoint } {
  const ep = new Endpoint(id, 1, owner);
  const f = new FlowImpl(id, id, QOS.raw, ep, { dealloc: async () => {} });
  return { f, ep };
}

/** Lets queued microtasks and immediates run. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('PDUs reach the handler in order; the voice cube is served before best effort', async () => {
  const s = new PacketScheduler();
  const got: string[] = [];
  const be = flow(1);
  const voice = flow(2);
  s.add(be.f, QosCube.BE, (p) => got.push(`be${p[0]}`), () => {});
  s.add(voice.f, QosCube.VOICE, (p) => got.push(`v${p[0]}`), () => {});
  be.ep.deliver(Buffer.from([1]));
  be.ep.deliver(Buffer.from([2]));
  voice.ep.deliver(Buffer.from([1]));
  await turn();
  assert.deepEqual(got, ['v1', 'be1', 'be2']);
});

test('a flow deallocated here gets a last turn and onDown, without waiting for a timer', async () => {
  const s = new PacketScheduler();
  const got: number[] = [];
  let downs = 0;
  const { f, ep } = flow(3);
  s.add(f, QosCube.BE, (p) => got.push(p[0]!), () => downs++);
  await turn();
  assert.equal(downs, 0);
  await f.dealloc();
  await turn();
  assert.equal(downs, 1);
  assert.equal(s.size, 0);
  ep.deliver(Buffer.from([9]));
  await turn();
  assert.deepEqual(got, [], 'nothing read from a removed flow');
});

test('a flow whose peer deallocates delivers what is queued, then onDown', async () => {
  const s = new PacketScheduler();
  const got: number[] = [];
  let downs = 0;
  const { f, ep } = flow(4);
  s.add(f, QosCube.BE, (p) => got.push(p[0]!), () => downs++);
  ep.deliver(Buffer.from([1]));
  ep.deliver(Buffer.from([2]));
  ep.markDown();
  await turn();
  assert.deepEqual(got, [1, 2]);
  assert.equal(downs, 1);
});

test('a flow deallocated here with SDUs still queued ends too (they can no longer be read)', async () => {
  const s = new PacketScheduler();
  const got: number[] = [];
  let downs = 0;
  const { f, ep } = flow(5);
  s.add(f, QosCube.BE, (p) => got.push(p[0]!), () => downs++);
  await turn();
  ep.deliver(Buffer.from([1]));
  const gone = f.dealloc(); // before the scheduler's turn: the SDU stays queued
  await gone;
  await turn();
  assert.equal(downs, 1);
  assert.equal(s.size, 0);
  assert.deepEqual(got, []);
});
