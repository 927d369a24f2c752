import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeOapHeader,
  encodeOapHeader,
  OAP_HDR_MIN,
  oapMaxUnicast,
  type OapHeader,
} from '../../../../src/irmd/oap/header.js';

const ID = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const TS = 0x1122334455667788n;

const ok = (r: OapHeader | string): OapHeader => {
  if (typeof r === 'string') assert.fail(r);
  return r;
};

test('request: 36-byte big-endian fixed part, then certificate, KEX, data, signature', () => {
  const b = encodeOapHeader(
    {
      id: ID,
      timestamp: TS,
      cipherNid: 901,
      kdfNid: 672,
      mdNid: 1096,
      crt: Buffer.from('c0c1c2', 'hex'),
      kex: Buffer.from('abcd', 'hex'),
      kexRaw: true,
      kexClientEncap: true,
      data: Buffer.from('dd', 'hex'),
    },
    (signed) => {
      assert.equal(signed.length, OAP_HDR_MIN + 3 + 2 + 1);
      return Buffer.from('5151', 'hex');
    },
  );
  assert.equal(
    b.toString('hex'),
    '000102030405060708090a0b0c0d0e0f' + // id
      '1122334455667788' + // timestamp (ns)
      '0385' + // cipher 901 (aes-256-gcm)
      '02a0' + // kdf 672 (sha256)
      '0448' + // md 1096 (sha3-256)
      '0003' + // crt_len
      'c002' + // F | R | kex_len 2
      '0001' + // data_len
      'c0c1c2' +
      'abcd' +
      'dd' +
      '5151', // signature
  );
  const h = ok(decodeOapHeader(b));
  assert.deepEqual(h.id, ID);
  assert.equal(h.timestamp, TS);
  assert.deepEqual([h.cipherNid, h.kdfNid, h.mdNid, h.kexRaw, h.kexClientEncap], [901, 672, 1096, true, true]);
  assert.deepEqual([h.crt.toString('hex'), h.kex.toString('hex'), h.data.toString('hex'), h.reqHash.length, h.sig.toString('hex')], ['c0c1c2', 'abcd', 'dd', 0, '5151']);
  assert.deepEqual(h.signed, b.subarray(0, b.length - 2));
});

test('unsigned response with a request hash (SHA-384 when the request md was 0)', () => {
  const hash = Buffer.alloc(48, 0xee);
  const b = encodeOapHeader({ id: ID, timestamp: 1n, cipherNid: 0, kdfNid: 0, mdNid: 0, reqHash: hash });
  assert.equal(b.toString('hex'), ID.toString('hex') + '0000000000000001' + '0000'.repeat(6) + 'ee'.repeat(48));
  const h = ok(decodeOapHeader(b, 673));
  assert.deepEqual(h.reqHash, hash);
  assert.equal(h.sig.length, 0);
  // read as a request, the hash is trailing bytes of an unsigned header
  assert.equal(decodeOapHeader(b), 'unsigned OAP header with 48 trailing bytes');
  // with SHA-512 expected the response is too short
  assert.match(decodeOapHeader(b, 674) as string, /shorter than its fields \(100\)/);
});

test('decoder rules: minimum size, known NIDs, lengths within the buffer', () => {
  const base = () => encodeOapHeader({ id: ID, timestamp: TS, cipherNid: 895, kdfNid: 1057, mdNid: 674, kex: Buffer.alloc(4) });
  assert.equal(typeof decodeOapHeader(base()), 'object');
  assert.equal(decodeOapHeader(base().subarray(0, 35)), 'OAP header of 35 bytes is shorter than 36');
  const set = (off: number, v: number) => {
    const b = base();
    b.writeUInt16BE(v, off);
    return decodeOapHeader(b);
  };
  assert.equal(set(24, 896), 'unknown cipher NID 896');
  assert.equal(set(26, 1), 'unknown KDF NID 1');
  assert.equal(set(28, 64), 'unknown digest NID 64');
  assert.equal(typeof set(24, 0), 'object'); // 0 = none is fine
  assert.match(set(32, 5) as string, /shorter than its fields/); // kex_len 5 > 4 present
  assert.equal(ok(set(32, 0xc004)).kex.length, 4); // flags do not count in the length
  assert.match(set(34, 1) as string, /shorter than its fields/);
  assert.match(set(30, 2) as string, /shorter than its fields/);
  const withCrt = encodeOapHeader({ id: ID, timestamp: TS, cipherNid: 0, kdfNid: 0, mdNid: 0, crt: Buffer.alloc(10) });
  assert.equal(ok(decodeOapHeader(withCrt)).sig.length, 0); // signed header with an empty signature decodes (and fails verification later)
  assert.equal(decodeOapHeader(Buffer.concat([base(), Buffer.from([0])])), 'unsigned OAP header with 1 trailing bytes');
});

test('encoder refuses fields that do not fit', () => {
  const f = { id: ID, timestamp: TS, cipherNid: 0, kdfNid: 0, mdNid: 0 };
  assert.throws(() => encodeOapHeader({ ...f, id: ID.subarray(1) }), { code: 'EINVAL', message: /16 bytes/ });
  assert.throws(() => encodeOapHeader({ ...f, kex: Buffer.alloc(16384) }), { code: 'EINVAL', message: /exceeds 16383/ });
  assert.equal(encodeOapHeader({ ...f, kex: Buffer.alloc(16383) }).readUInt16BE(32), 16383);
  assert.throws(() => encodeOapHeader({ ...f, crt: Buffer.alloc(65536) }), { code: 'EINVAL' });
  assert.throws(() => encodeOapHeader({ ...f, data: Buffer.alloc(65536) }), { code: 'EINVAL' });
  assert.throws(() => encodeOapHeader({ ...f, kexRaw: true }), { code: 'EINVAL', message: /flags without/ });
  assert.throws(() => encodeOapHeader({ ...f, cipherNid: 0x10000 }), { code: 'EINVAL' });
  assert.throws(() => encodeOapHeader({ ...f, timestamp: -1n }), { code: 'EINVAL' });
  assert.equal(oapMaxUnicast(32), 2048 - 61 - 32);
});
