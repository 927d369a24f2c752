import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_PCI,
  EID_DHT,
  EID_FA,
  EID_FIRST_FLOW,
  decTtl,
  decodePci,
  eidEndpoint,
  eidFromBigint,
  eidToBigint,
  getEcn,
  getTtl,
  isFlowEid,
  makeFlowEid,
  orEcn,
  pciConfig,
  pciLen,
  setTtl,
  writePci,
  type Pci,
} from '../../../../src/ipcpd/unicast/dt/pci.js';
import { Rng } from '../../../helpers/rng.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('default PCI: 15 bytes, address and eid little-endian (WIRE §11.1)', () => {
  assert.equal(pciLen(DEFAULT_PCI), 15);
  const b = new Uint8Array(15);
  assert.equal(writePci(DEFAULT_PCI, b, 0, 0x0a0b0c0d, 1, 60, 0, 0x55667788, 0x11223344), 15);
  assert.equal(
    hex(b),
    '0d0c0b0a' + // dst
      '01' + // qos cube (video)
      '3c' + // ttl 60
      '00' + // ecn
      '8877665544332211', // eid 0x1122334455667788
  );
  const p = decodePci(DEFAULT_PCI, b);
  assert.ok(typeof p !== 'string');
  assert.deepEqual(p, { dst: 0x0a0b0c0d, qc: 1, ttl: 60, ecn: 0, eidLo: 0x55667788, eidHi: 0x11223344, len: 15 });
  assert.equal(eidToBigint(p.eidLo, p.eidHi), 0x1122334455667788n);
});

test('address sizes 1..8: low bytes of the address, little-endian', () => {
  const cases: [number, number, string][] = [
    [1, 0xab, 'ab'],
    [2, 0x1234, '3412'],
    [3, 0x123456, '563412'],
    [5, 0x01_0203_0405, '0504030201'],
    [6, 0x0102_0304_0506, '060504030201'],
    [7, 0x1f_ffff_ffff_ffff, 'ffffffffffff1f'],
    [8, Number.MAX_SAFE_INTEGER, 'ffffffffffff1f00'],
  ];
  for (const [size, dst, want] of cases) {
    const cfg = pciConfig(size);
    assert.equal(pciLen(cfg), size + 11);
    const b = new Uint8Array(pciLen(cfg));
    writePci(cfg, b, 0, dst, 2, 7, 3, 64, 0);
    assert.equal(hex(b), want + '02' + '07' + '03' + '4000000000000000', `addrSize ${size}`);
    const p = decodePci(cfg, b) as Pci;
    assert.equal(p.dst, dst);
    assert.equal(p.len, size + 11);
  }
  // written as the low bytes of the address, as the reference's memcpy of a u64
  const b = new Uint8Array(13);
  writePci(pciConfig(2), b, 0, 0x0a0b0c0d, 0, 0, 0, 0, 0);
  assert.equal(hex(b.subarray(0, 2)), '0d0c');
});

test('addresses beyond 2^53 are refused', () => {
  for (const [size, addr] of [
    [7, 'ffffffffffff20'],
    [8, 'ffffffffffff1f01'],
    [8, '0000000000000080'],
  ] as const) {
    const cfg = pciConfig(size);
    const b = Buffer.concat([Buffer.from(addr, 'hex'), Buffer.alloc(11)]);
    assert.match(decodePci(cfg, b) as string, /53 bits/);
  }
});

test('short PDUs, offsets and a reused output object', () => {
  assert.match(decodePci(DEFAULT_PCI, new Uint8Array(14)) as string, /14 bytes is shorter than its 15-byte PCI/);
  assert.match(decodePci(DEFAULT_PCI, new Uint8Array(20), 6) as string, /14 bytes/);
  assert.equal(typeof decodePci(DEFAULT_PCI, new Uint8Array(0)), 'string');
  assert.equal(typeof decodePci(DEFAULT_PCI, new Uint8Array(20), -1), 'string');
  const b = new Uint8Array(25).fill(0xee);
  writePci(DEFAULT_PCI, b, 5, 42, 0, 60, 0, 65, 0xdeadbeef);
  assert.equal(hex(b.subarray(0, 5)), 'eeeeeeeeee', 'nothing written before the offset');
  assert.equal(hex(b.subarray(20)), 'eeeeeeeeee', 'nothing written after the PCI');
  const out = {} as Pci;
  const p = decodePci(DEFAULT_PCI, b, 5, out);
  assert.equal(p, out);
  assert.deepEqual(out, { dst: 42, qc: 0, ttl: 60, ecn: 0, eidLo: 65, eidHi: 0xdeadbeef, len: 15 });
  assert.throws(() => writePci(DEFAULT_PCI, new Uint8Array(14), 0, 1, 0, 0, 0, 0, 0), RangeError);
  assert.throws(() => writePci(DEFAULT_PCI, new Uint8Array(20), 6, 1, 0, 0, 0, 0, 0), RangeError);
});

test('TTL: read, set, decrement in place (u8: 0 wraps to 255)', () => {
  const b = new Uint8Array(15);
  writePci(DEFAULT_PCI, b, 0, 1, 0, 60, 0, 64, 0);
  assert.equal(getTtl(DEFAULT_PCI, b), 60);
  assert.equal(decTtl(DEFAULT_PCI, b), 59);
  assert.equal(b[5], 59);
  setTtl(DEFAULT_PCI, b, 0, 1);
  assert.equal(decTtl(DEFAULT_PCI, b), 0);
  assert.equal(decTtl(DEFAULT_PCI, b), 255);
  const c = new Uint8Array(20);
  writePci(pciConfig(2), c, 3, 1, 0, 9, 0, 64, 0);
  assert.equal(decTtl(pciConfig(2), c, 3), 8);
  assert.equal(c[3 + 3], 8);
});

test('ECN: OR-ed in place, one byte', () => {
  const b = new Uint8Array(15);
  writePci(DEFAULT_PCI, b, 0, 1, 0, 60, 0x01, 64, 0);
  orEcn(DEFAULT_PCI, b, 0, 0x10);
  assert.equal(getEcn(DEFAULT_PCI, b), 0x11);
  orEcn(DEFAULT_PCI, b, 0, 0x102);
  assert.equal(b[6], 0x13);
  assert.equal(b[5], 60, 'TTL untouched');
});

test('configuration: address size 1..8, eid size forced to 8', () => {
  assert.deepEqual(pciConfig(), { addrSize: 4, eidSize: 8 });
  assert.equal(pciConfig(4, 4).eidSize, 8);
  for (const bad of [0, 9, 2.5, NaN, -1]) assert.throws(() => pciConfig(bad), RangeError);
});

test('eids: split/join, flow eids, internal ones', () => {
  assert.deepEqual(eidFromBigint(0x1122334455667788n), { lo: 0x55667788, hi: 0x11223344 });
  assert.deepEqual(eidFromBigint(0xffff_ffff_ffff_ffffn), { lo: 0xffffffff, hi: 0xffffffff });
  assert.equal(eidToBigint(0xffffffff, 0xffffffff), 0xffff_ffff_ffff_ffffn);
  assert.throws(() => eidFromBigint(-1n), RangeError);
  assert.throws(() => eidFromBigint(1n << 64n), RangeError);
  assert.deepEqual([EID_FA, EID_DHT, EID_FIRST_FLOW], [0, 1, 64]);
  assert.equal(isFlowEid(0, 0), false);
  assert.equal(isFlowEid(63, 0), false);
  assert.equal(isFlowEid(64, 0), true);
  assert.equal(isFlowEid(1, 7), true);
  const e = makeFlowEid(70, 0xcafebabe);
  assert.equal(e, 0xcafebabe_00000046n);
  assert.equal(eidEndpoint(e), 70);
});

test('fuzz: random bytes decode to a PCI that re-encodes identically, or to a reason', () => {
  const r = new Rng(0x0dc1);
  let ok = 0;
  for (let i = 0; i < 20000; i++) {
    const cfg = pciConfig(r.range(1, 8));
    const b = r.bytes(r.int(24));
    const off = r.int(4);
    let p: Pci | string;
    assert.doesNotThrow(() => {
      p = decodePci(cfg, b, off);
    });
    if (typeof p! === 'string') continue;
    ok++;
    const again = new Uint8Array(p!.len);
    writePci(cfg, again, 0, p!.dst, p!.qc, p!.ttl, p!.ecn, p!.eidLo, p!.eidHi);
    assert.equal(hex(again), hex(b.subarray(off, off + p!.len)));
  }
  assert.ok(ok > 1000);
});
