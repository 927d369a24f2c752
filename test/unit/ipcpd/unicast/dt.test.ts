/**
 * DT with fake N-1 flows: forwarding by the PFF, TTL decremented at every
 * hop (a routing loop dies out instead of circling), delivery by endpoint
 * id, ECN marking, and garbage dropped and counted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dt, type Pdu } from '../../../../src/ipcpd/unicast/dt.js';
import { SimplePff } from '../../../../src/ipcpd/unicast/pff/index.js';
import { nonePolicy } from '../../../../src/ipcpd/unicast/ca/none.js';
import { mbEcnPolicy } from '../../../../src/ipcpd/unicast/ca/mb-ecn.js';
import { decodePci, DEFAULT_PCI, pciLen, writePci } from '../../../../src/ipcpd/unicast/dt/pci.js';
import { silentLogger } from '../../../../src/common/log.js';
import type { Flow } from '../../../../src/lib/api.js';
import type { CaPolicy } from '../../../../src/ipcpd/unicast/ca/index.js';

/** One direction of a fake N-1 flow: what is written on one end is read on the other. */
class FakeFlow {
  readonly rx: Buffer[] = [];
  peer: FakeFlow | undefined;
  written: Buffer[] = [];
  closed = false;
  qos = {};
  readTimeout = null;
  txQueueLength = 0;
  private waiters: (() => void)[] = [];
  get rxQueueLength(): number {
    return this.rx.length;
  }
  tryWrite(b: Uint8Array): boolean {
    const copy = Buffer.from(b);
    this.written.push(Buffer.from(copy));
    if (this.peer) {
      this.peer.rx.push(copy);
      for (const w of this.peer.waiters.splice(0)) w();
    }
    return true;
  }
  tryRead(): Buffer | undefined {
    return this.rx.shift();
  }
  readable(): Promise<boolean> {
    if (this.rx.length > 0 || this.closed) return Promise.resolve(true);
    return new Promise((r) => this.waiters.push(() => r(true)));
  }
  async dealloc(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w();
  }
}

function pair(): [FakeFlow, FakeFlow] {
  const a = new FakeFlow();
  const b = new FakeFlow();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

function node(addr: number, table: [number, number[]][], ca: CaPolicy = nonePolicy, maxTtl = 60): { dt: Dt; pff: SimplePff; got: Pdu[] } {
  const pff = new SimplePff();
  pff.update(new Map(table));
  const dt = new Dt({ pci: DEFAULT_PCI, maxTtl, address: () => addr, pff, ca, log: silentLogger });
  const got: Pdu[] = [];
  dt.onFlowPdu = (p) => got.push({ ...p, sdu: Buffer.from(p.sdu) });
  return { dt, pff, got };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

test('a PDU crosses two hops and reaches its endpoint; TTL goes down by one per hop', async () => {
  const A = node(1, [[3, [2]]]);
  const B = node(2, [[3, [3]], [1, [1]]]);
  const C = node(3, [[1, [2]]]);
  const [ab, ba] = pair();
  const [bc, cb] = pair();
  A.dt.addConn(2, ab as unknown as Flow, 0);
  B.dt.addConn(1, ba as unknown as Flow, 0);
  B.dt.addConn(3, bc as unknown as Flow, 0);
  C.dt.addConn(2, cb as unknown as Flow, 0);
  assert.equal(A.dt.send(3, 1, 0x100, 0xabcdef01, Buffer.from('hello')), true);
  await settle();
  assert.equal(C.got.length, 1);
  assert.deepEqual([C.got[0]!.sdu.toString(), C.got[0]!.qc, C.got[0]!.eidLo, C.got[0]!.eidHi], ['hello', 1, 0x100, 0xabcdef01]);
  const atC = decodePci(DEFAULT_PCI, bc.written[0]!);
  assert.ok(typeof atC !== 'string');
  assert.equal(atC.ttl, 59, 'B decremented the TTL before forwarding');
  assert.equal(B.dt.counters.forwarded, 1);
  assert.equal(B.got.length, 0);
});

test('a routing loop: the PDU bounces until its TTL runs out, then is dropped and counted', async () => {
  // A and B each think the other is the way to 9.
  const A = node(1, [[9, [2]]], nonePolicy, 10);
  const B = node(2, [[9, [1]]], nonePolicy, 10);
  const [ab, ba] = pair();
  A.dt.addConn(2, ab as unknown as Flow, 0);
  B.dt.addConn(1, ba as unknown as Flow, 0);
  A.dt.send(9, 0, 0x200, 1, Buffer.from('lost'));
  await settle();
  await settle();
  const hops = ab.written.length + ba.written.length;
  assert.equal(hops, 10, 'one transmission per unit of TTL');
  assert.equal(A.dt.counters.ttlDrops + B.dt.counters.ttlDrops, 1);
});

test('internal components get their eids; unknown eids and short PDUs are counted', async () => {
  const A = node(1, [[2, [2]]]);
  const B = node(2, [[1, [1]]]);
  const [ab, ba] = pair();
  A.dt.addConn(2, ab as unknown as Flow, 0);
  B.dt.addConn(1, ba as unknown as Flow, 0);
  const fa: Buffer[] = [];
  B.dt.register(0, (p) => fa.push(Buffer.from(p.sdu)));
  A.dt.send(2, 0, 0, 0, Buffer.from('fa'));
  A.dt.send(2, 0, 5, 0, Buffer.from('nobody'));
  ab.tryWrite(Buffer.alloc(pciLen(DEFAULT_PCI) - 1));
  await settle();
  assert.deepEqual(fa.map(String), ['fa']);
  assert.equal(B.dt.counters.unknownEid, 1);
  assert.equal(B.dt.counters.malformed, 1);
  assert.throws(() => B.dt.register(64, () => {}), /not an internal/);
});

test('no route: the PDU is dropped and counted; a PDU to ourselves is delivered locally', () => {
  const A = node(1, []);
  assert.equal(A.dt.send(7, 0, 0x100, 1, Buffer.from('x')), false);
  assert.equal(A.dt.counters.noRoute, 1);
  assert.equal(A.dt.send(1, 0, 0x100, 1, Buffer.from('me')), true);
  assert.equal(A.got[0]!.sdu.toString(), 'me');
});

test('mb-ecn: a hop with a long queue on the next flow marks the PDU', async () => {
  const A = node(1, [[2, [2]]], mbEcnPolicy);
  const B = node(2, [[1, [1]]]);
  const [ab, ba] = pair();
  A.dt.addConn(2, ab as unknown as Flow, 0);
  B.dt.addConn(1, ba as unknown as Flow, 0);
  // txQueueLength includes up to 127 packets consumed but not yet credited back.
  ab.txQueueLength = 127 + 64;
  A.dt.send(2, 0, 0x100, 1, Buffer.from('x'));
  await settle();
  assert.equal(B.got[0]!.ecn, 64 >> 4);
  ab.txQueueLength = 120;
  A.dt.send(2, 0, 0x100, 1, Buffer.from('y'));
  await settle();
  assert.equal(B.got[1]!.ecn, 0);
});

test('writes into a PCI that fits the written header', () => {
  const b = Buffer.alloc(pciLen(DEFAULT_PCI));
  writePci(DEFAULT_PCI, b, 0, 0x0a0b0c0d, 1, 60, 0, 0x55667788, 0x11223344);
  assert.equal(b.toString('hex'), '0d0c0b0a013c008877665544332211');
});
