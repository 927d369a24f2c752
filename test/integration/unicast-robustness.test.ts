/**
 * A unicast IPCP fed garbage on every input it has: CEP handshakes, LSUs on
 * a management connection, PDUs on a data transfer connection (to other
 * addresses, to the flow allocator, to the DHT, to unknown endpoints) and
 * enrollment messages. Everything is dropped and counted, the IPCP keeps
 * running, and the layer keeps carrying flows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnicastNetwork } from '../helpers/unicast.js';
import { rng } from '../helpers/rng.js';
import { encodeCep, decodeCep, cepMsg, CEP_DT_UNICAST, CEP_MGMT, CEP_ENROLLMENT } from '../../src/ipcpd/common/cep.js';
import { pciLen, writePci, DEFAULT_PCI } from '../../src/ipcpd/unicast/dt/pci.js';
import type { Flow, Process } from '../../src/lib/api.js';
import { encodeFa, FaCode } from '../../src/ipcpd/unicast/fa/wire.js';
import { HashAlgo, hashName } from '../../src/common/hash.js';
import { oapClientPrepare } from '../../src/irmd/oap/oap.js';
import { loadTrustStore } from '../../src/irmd/oap/auth.js';
import { NO_ENCRYPTION } from '../../src/lib/crypt/enc-conf.js';

const FAKE_ADDR = 0x0badcafe;

async function handshake(proc: Process, dst: string, ours: Uint8Array): Promise<Flow> {
  const f = await proc.flowAlloc(dst);
  await f.write(ours);
  f.readTimeout = 5000;
  const theirs = decodeCep(await f.read());
  assert.notEqual(typeof theirs, 'string', 'the IPCP answers a valid CEP message');
  return f;
}

function garbage(rand: () => number, min: number, max: number): Buffer {
  const n = min + Math.floor(rand() * (max - min + 1));
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

test('garbage on every input of a unicast IPCP is dropped and counted; the layer still works', async () => {
  const net = await UnicastNetwork.build(['a', 'b'], [['a', 'b']]);
  const rand = rng(7);
  let proc: Process | undefined;
  try {
    await net.converged();
    const a = await net.inspect('a');
    proc = await net.sys('a').connect('fuzzer');

    // A CEP message that does not decode: the IPCP drops the connection.
    const bad = await proc.flowAlloc('a');
    await bad.write(garbage(rand, 1, 200));
    bad.readTimeout = 5000;
    await assert.rejects(bad.read(), (e: Error & { code?: string }) => e.code === 'EFLOWDOWN' || e.code === 'ETIMEDOUT');
    await bad.dealloc();

    // Management: LSUs of the wrong size, and 24-byte ones that claim an adjacency with itself.
    const mgmt = await handshake(proc, 'a', encodeCep(cepMsg(CEP_MGMT, FAKE_ADDR)));
    for (let i = 0; i < 200; i++) {
      const g = garbage(rand, 0, 64);
      if (g.length === 24) g.copy(g, 0, 8, 16); // dst = src: malformed
      await mgmt.write(g);
    }
    const self = Buffer.alloc(24);
    self.writeBigUInt64BE(BigInt(FAKE_ADDR), 0);
    self.writeBigUInt64BE(BigInt(FAKE_ADDR), 8);
    await mgmt.write(self);

    // Data transfer: PDUs too short for a PCI, for unknown addresses, for the FA, the DHT and unknown eids.
    const dt = await handshake(proc, 'a', encodeCep(cepMsg(CEP_DT_UNICAST, FAKE_ADDR)));
    const hdr = pciLen(DEFAULT_PCI);
    for (let i = 0; i < 300; i++) {
      const kind = i % 5;
      if (kind === 0) {
        await dt.write(garbage(rand, 0, hdr - 1));
        continue;
      }
      const body = garbage(rand, 0, 300);
      const pdu = Buffer.alloc(hdr + body.length);
      const dst = kind === 1 ? 0x7fff0000 + i : a.address;
      const eid = kind === 2 ? 0 : kind === 3 ? 1 : 0x1000 + i;
      writePci(DEFAULT_PCI, pdu, 0, dst, 0, 10, 0, eid, kind === 4 ? 0xdead : 0);
      body.copy(pdu, hdr);
      await dt.write(pdu);
    }

    // Enrollment: a request that does not decode.
    const enr = await handshake(proc, 'a', encodeCep(cepMsg(CEP_ENROLLMENT, 0)));
    await enr.write(garbage(rand, 1, 100));

    // The IPCP counted what it dropped...
    const { until } = await import('../helpers/system.js');
    const s = await until(
      async () => {
        const st = await net.inspect('a');
        const c = st.counters;
        return c.routing!.malformed! > 0 && c.dt!.malformed! > 0 && c.fa!.malformed! > 0 && c.dht!.malformed! > 0 && c.dt!.noRoute! > 0 ? st : undefined;
      },
      10000,
      'the garbage counted',
    );
    assert.ok(s.counters.dt!.unknownEid! > 0 || s.counters.fa!.unknownEid! > 0, JSON.stringify(s.counters));
    for (const f of [mgmt, dt, enr]) await f.dealloc();

    // ...and the layer still carries flows.
    await net.register('b', 'still');
    const srv = net.sys('b').spawn('oping', ['-l', '-n', 'still']);
    await srv.waitFor(/Ouroboros ping server started/);
    await net.sys('b').irm(['bind', 'process', String(srv.pid), 'name', 'still']);
    const r = await net.sys('a').run('oping', ['-n', 'still', '-c', '3', '-i', '10ms']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /3 packets transmitted, 3 received/);
  } finally {
    await proc?.close();
    await net.stop();
  }
});

test('a FLOW_REQ that comes again is answered with the same reply and makes no second flow', async () => {
  const net = await UnicastNetwork.build(['a', 'b'], [['a', 'b']]);
  let proc: Process | undefined;
  try {
    await net.converged();
    await net.register('a', 'twice');
    const srv = net.sys('a').spawn('oping', ['-l', '-n', 'twice']);
    await srv.waitFor(/Ouroboros ping server started/);
    await net.sys('a').irm(['bind', 'process', String(srv.pid), 'name', 'twice']);
    const a = await net.inspect('a');
    proc = await net.sys('a').connect('requester');
    // A neighbour at FAKE_ADDR asks twice for a flow to 'twice', with the same eid.
    const dt = await handshake(proc, 'a', encodeCep(cepMsg(CEP_DT_UNICAST, FAKE_ADDR)));
    const req = encodeFa({
      code: FaCode.FLOW_REQ,
      sAddr: FAKE_ADDR,
      rEid: 0n,
      sEid: 0x1234_5678_0000_0042n,
      qos: undefined,
      response: 0,
      ece: 0,
      hash: hashName(HashAlgo.SHA3_256, 'twice'),
      // An unauthenticated, unencrypted OAP request, as every allocation carries.
      pk: oapClientPrepare({ trust: loadTrustStore() }, { name: 'twice', enc: NO_ENCRYPTION }).request,
    });
    const hdr = pciLen(DEFAULT_PCI);
    const pdu = Buffer.alloc(hdr + req.length);
    writePci(DEFAULT_PCI, pdu, 0, a.address, 0, 10, 0, 0, 0);
    req.copy(pdu, hdr);
    const { until } = await import('../helpers/system.js');
    await dt.write(pdu);
    // The first one becomes a flow (oping accepts it)...
    await until(async () => ((await net.inspect('a')).flows.length === 1 ? true : undefined), 10000, 'the flow for the first FLOW_REQ');
    await dt.write(pdu);
    await dt.write(pdu);
    // ...the others are recognised as the same request.
    const s = await until(
      async () => {
        const st = await net.inspect('a');
        return st.counters.fa!.reqDup === 2 ? st : undefined;
      },
      10000,
      'the repeated FLOW_REQs counted',
    );
    assert.equal(s.counters.fa!.reqRx, 3);
    assert.equal(s.flows.length, 1, JSON.stringify(s.flows));
    await dt.dealloc();
  } finally {
    await proc?.close();
    await net.stop();
  }
});
