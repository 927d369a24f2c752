import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FA_HDR_LEN,
  FA_MAX_LEN,
  FaCode,
  decodeFa,
  encodeFa,
  encodeFlowReply,
  encodeFlowReq,
  encodeFlowUpdate,
  type FaMsg,
} from '../../../../src/ipcpd/unicast/fa/wire.js';
import { HashAlgo, hashName } from '../../../../src/common/hash.js';
import { OuroborosError } from '../../../../src/common/errors.js';
import { qos } from '../../../../src/lib/qos.js';
import { Rng } from '../../../helpers/rng.js';

const HASH = hashName(HashAlgo.SHA3_256, 'oping');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('FLOW_REQ: 61-byte big-endian header, name hash, OAP request (WIRE §11.2)', () => {
  const b = encodeFlowReq(0x0a0b0c0d, 0x1122334455667788n, qos.voice, HASH, Buffer.from([0xaa, 0xbb]));
  assert.equal(b.length, FA_HDR_LEN + 32 + 2);
  assert.equal(
    hex(b.subarray(0, FA_HDR_LEN)),
    '000000000a0b0c0d' + // s_addr
      '0000000000000000' + // r_eid
      '1122334455667788' + // s_eid
      '00000000000186a0' + // bandwidth 100000
      '00000000' + // response
      '00000032' + // delay 50
      '00000001' + // loss 1
      '00000000' + // ber 0
      '00000032' + // max_gap 50
      '0001d4c0' + // timeout 120000
      '0000' + // ece
      '00' + // code FLOW_REQ
      '05' + // availability 5
      '01', // in_order 1
  );
  assert.equal(hex(b.subarray(FA_HDR_LEN, FA_HDR_LEN + 32)), hex(HASH));
  assert.equal(hex(b.subarray(FA_HDR_LEN + 32)), 'aabb');
  const m = decodeFa(b, 32);
  assert.ok(typeof m !== 'string');
  assert.equal(m.code, FaCode.FLOW_REQ);
  assert.equal(m.sAddr, 0x0a0b0c0d);
  assert.equal(m.sEid, 0x1122334455667788n);
  assert.equal(m.rEid, 0n);
  assert.deepEqual(m.qos, { ...qos.voice });
  assert.equal(hex(m.hash!), hex(HASH));
  assert.equal(hex(m.pk!), 'aabb');
});

test('FLOW_REQ with all-ones QoS (np1) and a 64-bit bandwidth', () => {
  const b = encodeFlowReq(1, 64n, qos.video, HASH, new Uint8Array(0));
  assert.equal(hex(b.subarray(24, 32)), 'ffffffffffffffff');
  const n = encodeFlowReq(1, 64n, qos.np1, HASH, new Uint8Array(0));
  assert.equal(hex(n.subarray(36, 56)), 'ffffffff' + 'ffffffff' + 'ffffffff' + 'ffffffff' + '00000000');
  assert.deepEqual((decodeFa(n, 32) as FaMsg).qos, { ...qos.np1 });
});

test('FLOW_REPLY: eids, signed response, zero QoS and address, OAP response', () => {
  const b = encodeFlowReply(0x1122334455667788n, 0x99aabbccddeeff00n, -1007, Buffer.from([1, 2, 3]));
  assert.equal(
    hex(b),
    '0000000000000000' + // s_addr
      '1122334455667788' + // r_eid
      '99aabbccddeeff00' + // s_eid
      '0000000000000000' + // bandwidth
      'fffffc11' + // response -1007
      '00'.repeat(20) + // delay..timeout
      '0000' + // ece
      '01' + // FLOW_REPLY
      '0000' + // availability, in_order
      '010203',
  );
  const m = decodeFa(b, 32) as FaMsg;
  assert.deepEqual(
    { ...m, pk: hex(m.pk!) },
    { code: 1, sAddr: 0, rEid: 0x1122334455667788n, sEid: 0x99aabbccddeeff00n, qos: undefined, response: -1007, ece: 0, hash: undefined, pk: '010203' },
  );
  // no hash in a reply, whatever the layer's hash length
  assert.equal((decodeFa(encodeFlowReply(1n, 2n, 0, new Uint8Array(0)), 64) as FaMsg).pk!.length, 0);
});

test('FLOW_UPDATE: header only, r_eid and ece', () => {
  const b = encodeFlowUpdate(0x0102030405060708n, 0x1234);
  assert.equal(b.length, 61);
  assert.equal(hex(b), '00'.repeat(8) + '0102030405060708' + '00'.repeat(8) + '00'.repeat(8) + '00'.repeat(24) + '1234' + '02' + '0000');
  const m = decodeFa(b, 32) as FaMsg;
  assert.deepEqual(m, { code: 2, sAddr: 0, rEid: 0x0102030405060708n, sEid: 0n, qos: undefined, response: 0, ece: 0x1234, hash: undefined, pk: undefined });
  // trailing bytes after an update are ignored
  assert.equal((decodeFa(Buffer.concat([b, Buffer.from([9, 9])]), 32) as FaMsg).ece, 0x1234);
});

test('sizes: 61..2048 bytes, FLOW_REQ needs the whole hash', () => {
  const reply = encodeFlowReply(1n, 2n, 0, new Uint8Array(0));
  assert.match(decodeFa(reply.subarray(0, 60), 32) as string, /60 bytes is shorter than 61/);
  assert.match(decodeFa(new Uint8Array(0), 32) as string, /shorter/);
  const big = encodeFlowReply(1n, 2n, 0, new Uint8Array(FA_MAX_LEN - FA_HDR_LEN));
  assert.equal(big.length, 2048);
  assert.equal(typeof decodeFa(big, 32), 'object');
  assert.match(decodeFa(Buffer.concat([big, Buffer.alloc(1)]), 32) as string, /2049 bytes exceeds 2048/);
  const req = encodeFlowReq(1, 64n, qos.raw, HASH, new Uint8Array(0));
  assert.equal(typeof decodeFa(req, 32), 'object');
  assert.match(decodeFa(req.subarray(0, 61 + 31), 32) as string, /lacks a 32-byte name hash/);
  assert.equal((decodeFa(req, 16) as FaMsg).pk!.length, 16, 'hash length is the layer\'s');
  assert.throws(() => decodeFa(req, -1), RangeError);
});

test('codes and addresses are checked', () => {
  const b = Buffer.from(encodeFlowUpdate(1n, 0));
  b[58] = 3;
  assert.match(decodeFa(b, 32) as string, /unknown flow allocator message code 3/);
  const r = Buffer.from(encodeFlowReq(1, 64n, qos.raw, HASH, new Uint8Array(0)));
  r.writeBigUInt64BE(1n << 53n, 0);
  assert.match(decodeFa(r, 32) as string, /exceeds 2\^53/);
  r.writeBigUInt64BE((1n << 53n) - 1n, 0);
  assert.equal((decodeFa(r, 32) as FaMsg).sAddr, Number.MAX_SAFE_INTEGER);
});

test('encoder refuses what cannot be sent', () => {
  const base: FaMsg = { code: FaCode.FLOW_REPLY, sAddr: 0, rEid: 1n, sEid: 2n, qos: undefined, response: 0, ece: 0, hash: undefined, pk: undefined };
  assert.throws(() => encodeFa({ ...base, rEid: -1n }), RangeError);
  assert.throws(() => encodeFa({ ...base, sEid: 1n << 64n }), RangeError);
  assert.throws(() => encodeFa({ ...base, response: 2 ** 31 }), RangeError);
  assert.throws(() => encodeFa({ ...base, ece: 0x10000 }), RangeError);
  assert.throws(() => encodeFa({ ...base, sAddr: 2 ** 53 }), RangeError);
  assert.throws(() => encodeFa({ ...base, hash: HASH }), RangeError);
  assert.throws(() => encodeFa({ ...base, code: FaCode.FLOW_REQ }), RangeError);
  assert.throws(() => encodeFa({ ...base, code: FaCode.FLOW_UPDATE, pk: new Uint8Array(1) }), RangeError);
  assert.throws(() => encodeFa({ ...base, code: 7 as FaCode }), RangeError);
  assert.throws(
    () => encodeFlowReq(1, 64n, qos.raw, HASH, new Uint8Array(FA_MAX_LEN - FA_HDR_LEN - 31)),
    (e: unknown) => e instanceof OuroborosError && e.code === 'EMSGSIZE',
  );
});

test('round trip of random messages', () => {
  const r = new Rng(0xfa);
  const u64 = (): bigint => (BigInt(r.u32()) << 32n) | BigInt(r.u32());
  for (let i = 0; i < 500; i++) {
    const code = r.pick([0, 1, 2] as const);
    const m: FaMsg = {
      code,
      sAddr: code === 0 ? r.u32() : 0,
      rEid: code === 0 ? 0n : u64(),
      sEid: code === 2 ? 0n : u64(),
      qos:
        code === 0
          ? { delay: r.u32(), bandwidth: u64(), availability: r.int(256), loss: r.u32(), ber: r.u32(), inOrder: r.int(256), maxGap: r.u32(), timeout: r.u32() }
          : undefined,
      response: code === 1 ? r.u32() | 0 : 0,
      ece: code === 2 ? r.int(0x10000) : 0,
      hash: code === 0 ? r.bytes(32) : undefined,
      pk: code === 2 ? undefined : r.bytes(r.int(100)),
    };
    const d = decodeFa(encodeFa(m), 32) as FaMsg;
    assert.deepEqual(
      { ...d, hash: d.hash && hex(d.hash), pk: d.pk && hex(d.pk) },
      { ...m, hash: m.hash && hex(m.hash), pk: m.pk && hex(m.pk) },
    );
  }
});

test('fuzz: random bytes give a message or a reason, never a throw', () => {
  const r = new Rng(0xfa2);
  const codes = [0, 0, 0, 0];
  for (let i = 0; i < 20000; i++) {
    const b = r.bytes(r.bool(0.1) ? r.range(2040, 2060) : r.int(140));
    if (b.length > 58 && r.bool(0.7)) {
      b[58] = r.int(3);
      b[0] = b[1] = 0; // s_addr below 2^53
    }
    let m: FaMsg | string = '';
    assert.doesNotThrow(() => {
      m = decodeFa(b, r.pick([16, 32, 64]));
    });
    codes[typeof m === 'string' ? 3 : (m as FaMsg).code]!++;
  }
  assert.ok(codes.every((c) => c > 100), `${codes}`);
});
