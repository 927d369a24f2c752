import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CRC_LEN, appendCrc, crc32, crc32Table, verifyCrc } from '../../../../src/lib/frct/crc.js';

test('CRC-32 check value: "123456789" -> cb f4 39 26, big-endian trailer', () => {
  const data = Buffer.from('123456789');
  assert.equal(crc32(data), 0xcbf43926);
  assert.equal(crc32Table(data), 0xcbf43926);
  const out = appendCrc(data);
  assert.equal(out.length, 9 + CRC_LEN);
  assert.equal(out.subarray(9).toString('hex'), 'cbf43926');
  assert.ok(out.subarray(0, 9).equals(data), 'out.subarray(0, 9).equals(data)');
  assert.equal(crc32(Buffer.alloc(0)), 0);
});

test('table implementation agrees with zlib on random data', () => {
  let x = 12345;
  for (let n = 0; n < 200; n++) {
    const b = Buffer.alloc(n * 7);
    for (let i = 0; i < b.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      b[i] = x >>> 24;
    }
    assert.equal(crc32Table(b), crc32(b));
  }
});

test('verifyCrc strips a good trailer and rejects corruption and short input', () => {
  const pdu = appendCrc(Buffer.from('frct pdu payload'));
  const body = verifyCrc(pdu);
  assert.ok(body, 'body');
  assert.equal(body.toString(), 'frct pdu payload');
  for (let i = 0; i < pdu.length; i++) {
    const bad = Buffer.from(pdu);
    bad[i]! ^= 0x01;
    assert.equal(verifyCrc(bad), undefined, `flip in byte ${i}`);
  }
  assert.equal(verifyCrc(Buffer.alloc(3)), undefined);
  assert.ok(verifyCrc(appendCrc(Buffer.alloc(0)))?.length === 0, 'verifyCrc(appendCrc(Buffer.alloc(0)))?.length === 0');
  assert.ok(verifyCrc(new Uint8Array(pdu)), 'verifyCrc(new Uint8Array(pdu))');
});

test('writeCrc puts the CRC of what precedes it into the room left for it, as appendCrc would', async () => {
  const { writeCrc, appendCrc, verifyCrc } = await import('../../../../src/lib/frct/crc.js');
  const data = Buffer.from('123456789');
  const room = Buffer.alloc(data.length + 4, 0xee);
  data.copy(room);
  writeCrc(room, data.length);
  assert.ok(room.equals(appendCrc(data)));
  assert.equal(room.subarray(9).toString('hex'), 'cbf43926');
  assert.ok(verifyCrc(room)?.equals(data));
});
