import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FRCT_HDR_LEN,
  FrctFlag,
  ackPdu,
  buildPdu,
  dataPdu,
  decodeHeader,
  encodeHeader,
  finalAckPdu,
  rdvsPdu,
  windowUpdatePdu,
} from '../../../../src/lib/frct/header.js';

const hex = (b: Buffer) => b.toString('hex');

test('flag values are the reference bit set', () => {
  assert.deepEqual(FrctFlag, { DATA: 0x01, DRF: 0x02, ACK: 0x04, FC: 0x08, RDVS: 0x10, FFGM: 0x20, MFGM: 0x40 });
  assert.equal(FRCT_HDR_LEN, 12);
});

test('header layout: flags, 24-bit BE window, u32 BE seqno, u32 BE ackno', () => {
  const b = encodeHeader({ flags: 0x0f, window: 0xabcdef, seqno: 0x01020304, ackno: 0xfffffffe });
  assert.equal(hex(b), '0fabcdef' + '01020304' + 'fffffffe');
  assert.deepEqual(decodeHeader(b), { flags: 0x0f, window: 0xabcdef, seqno: 0x01020304, ackno: 0xfffffffe });
  // window wider than 24 bits is truncated, never spills into the flags byte
  assert.equal(hex(encodeHeader({ flags: 0x01, window: 0x12345678, seqno: 0, ackno: 0 })), '01345678' + '00000000' + '00000000');
  // at an offset inside a larger buffer
  const big = Buffer.alloc(20, 0xee);
  encodeHeader({ flags: 0x04, window: 1, seqno: 2, ackno: 3 }, big, 4);
  assert.equal(hex(big), 'eeeeeeee' + '04000001' + '00000002' + '00000003' + 'eeeeeeee');
  assert.deepEqual(decodeHeader(big, 4), { flags: 4, window: 1, seqno: 2, ackno: 3 });
});

test('every packet kind, byte for byte', () => {
  const payload = Buffer.from('hi');
  // data, first of a run, nothing piggy-backed
  assert.equal(hex(dataPdu(0x80000000, payload, { drf: true })), '03000000' + '80000000' + '00000000' + '6869');
  // data with FC (window = rwe & 0xffffff) and ACK
  assert.equal(
    hex(dataPdu(7, payload, { rwe: 0x12000100, ackno: 0xdeadbeef })),
    '0d000100' + '00000007' + 'deadbeef' + '6869',
  );
  // data with all of DRF, FC, ACK
  assert.equal(hex(dataPdu(1, payload, { drf: true, rwe: 0x100, ackno: 2 })).slice(0, 24), '0f000100' + '00000001' + '00000002');
  // delayed / solicited ACK: ACK+FC, seqno 0
  assert.equal(hex(ackPdu(0x01020304, 0xff000104)), '0c000104' + '00000000' + '01020304');
  // window update (answer to a rendez-vous): FC only
  assert.equal(hex(windowUpdatePdu(0x00abcdef)), '08abcdef' + '00000000' + '00000000');
  // rendez-vous, reference form (all zero) and the o7s form (DRF + next seqno)
  assert.equal(hex(rdvsPdu()), '10000000' + '00000000' + '00000000');
  assert.equal(hex(rdvsPdu(0xfffffff0)), '12000000' + 'fffffff0' + '00000000');
  // final ACK on deallocation: ACK only
  assert.equal(hex(finalAckPdu(0x10)), '04000000' + '00000000' + '00000010');
  // all control PDUs are exactly a header
  for (const b of [ackPdu(1, 2), windowUpdatePdu(3), rdvsPdu(), rdvsPdu(4), finalAckPdu(5)]) assert.equal(b.length, 12);
});

test('buildPdu copies the payload; decode rejects short PDUs', () => {
  const payload = Buffer.from([1, 2, 3]);
  const pdu = buildPdu({ flags: FrctFlag.DATA, window: 0, seqno: 9, ackno: 0 }, payload);
  payload[0] = 99;
  assert.equal(hex(pdu), '01000000' + '00000009' + '00000000' + '010203');
  assert.throws(() => decodeHeader(Buffer.alloc(11)), RangeError);
  assert.throws(() => decodeHeader(Buffer.alloc(12), 1), RangeError);
  assert.throws(() => encodeHeader({ flags: 0, window: 0, seqno: 0, ackno: 0 }, Buffer.alloc(11)), RangeError);
  // decode works on a plain Uint8Array view too
  const u = new Uint8Array(pdu.buffer, pdu.byteOffset, pdu.length);
  assert.deepEqual(decodeHeader(u), { flags: 1, window: 0, seqno: 9, ackno: 0 });
});

test('allocation-free helpers: writeHeader/readU32/readWindow agree with encode/decode; builders leave tail room; allocPdu gives independent buffers', async () => {
  const { writeHeader, readU32, readWindow, allocPdu } = await import('../../../../src/lib/frct/header.js');
  const b = Buffer.alloc(12);
  writeHeader(b, 0x0d, 0xabcdef, 0xfffffffe, 0x80000001);
  assert.deepEqual(decodeHeader(b), { flags: 0x0d, window: 0xabcdef, seqno: 0xfffffffe, ackno: 0x80000001 });
  assert.equal(readU32(b, 4), 0xfffffffe);
  assert.equal(readU32(b, 8), 0x80000001);
  assert.equal(readWindow(b), 0xabcdef);
  const d = dataPdu(5, Buffer.from('hi'), { drf: true }, 4);
  assert.equal(d.length, 12 + 2 + 4);
  assert.equal(hex(d.subarray(0, 14)), '03000000' + '00000005' + '00000000' + '6869');
  assert.equal(ackPdu(1, 2, 4).length, 16);
  assert.equal(hex(ackPdu(1, 2, 4).subarray(0, 12)), hex(ackPdu(1, 2)));
  const xs = Array.from({ length: 300 }, (_, i) => allocPdu(1416).fill(i & 0xff));
  xs.forEach((x, i) => assert.ok(x.every((v) => v === (i & 0xff)), `buffer ${i} was overwritten`));
  assert.equal(allocPdu(100_000).length, 100_000);
});
