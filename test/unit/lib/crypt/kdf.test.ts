import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { digest, dheSalt, hkdf, INFO_DHE, kemSalt, rotateKey } from '../../../../src/lib/crypt/kdf.js';
import { DIGESTS, DigestNid, NID_UNDEF } from '../../../../src/lib/crypt/nid.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('HKDF-SHA256: RFC 5869 test cases 1-3', () => {
  // A.1
  assert.equal(
    hkdf(DigestNid.SHA256, hex('0b'.repeat(22)), hex('000102030405060708090a0b0c'), hex('f0f1f2f3f4f5f6f7f8f9'), 42).toString('hex'),
    '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
  );
  // A.2
  const ikm = Buffer.from(Array.from({ length: 80 }, (_, i) => i));
  const salt = Buffer.from(Array.from({ length: 80 }, (_, i) => 0x60 + i));
  const info = Buffer.from(Array.from({ length: 80 }, (_, i) => 0xb0 + i));
  assert.equal(
    hkdf(DigestNid.SHA256, ikm, salt, info, 82).toString('hex'),
    'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09' +
      'da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87',
  );
  // A.3: empty salt and info
  assert.equal(
    hkdf(DigestNid.SHA256, hex('0b'.repeat(22)), Buffer.alloc(0), '', 42).toString('hex'),
    '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
  );
});

/** HKDF written out with HMAC (RFC 5869 §2), to check every digest the KDF table allows. */
function hkdfByHand(alg: string, ikm: Buffer, salt: Buffer, info: Buffer, len: number): Buffer {
  const prk = createHmac(alg, salt).update(ikm).digest();
  const out: Buffer[] = [];
  let t = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(out).length < len; i++) {
    t = createHmac(alg, prk).update(Buffer.concat([t, info, Buffer.from([i])])).digest();
    out.push(t);
  }
  return Buffer.concat(out).subarray(0, len);
}

test('HKDF with every KDF digest (sha2, sha3, blake2) matches HMAC-based HKDF; 32-byte output', () => {
  const ikm = Buffer.alloc(48, 0x11);
  const salt = Buffer.alloc(32, 0x22);
  for (const d of DIGESTS) {
    const k = hkdf(d.nid, ikm, salt, INFO_DHE);
    assert.equal(k.length, 32, d.name);
    assert.deepEqual(k, hkdfByHand(d.name, ikm, salt, Buffer.from(INFO_DHE), 32), d.name);
  }
});

test('HKDF: NID 0 and unknown NIDs fall back to SHA-256', () => {
  const a = hkdf(DigestNid.SHA256, Buffer.alloc(32, 1), Buffer.alloc(32, 2), 'x');
  assert.deepEqual(hkdf(NID_UNDEF, Buffer.alloc(32, 1), Buffer.alloc(32, 2), 'x'), a);
  assert.deepEqual(hkdf(4242, Buffer.alloc(32, 1), Buffer.alloc(32, 2), 'x'), a);
});

test('digests by NID and their lengths; unknown NID is ECRYPT', () => {
  for (const d of DIGESTS) assert.equal(digest(d.nid, Buffer.from('abc')).length, d.len, d.name);
  assert.equal(digest(DigestNid.SHA256, Buffer.from('abc')).toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.throws(() => digest(0, Buffer.from('x')), { code: 'ECRYPT' });
});

test('DHE salt: SHA-256 of both keys, smaller (memcmp, then shorter) first, symmetric', () => {
  const a = hex('0102'), b = hex('0103'), c = hex('010203');
  const h = (...p: Buffer[]) => createHash('sha256').update(Buffer.concat(p)).digest();
  assert.deepEqual(dheSalt(a, b), h(a, b));
  assert.deepEqual(dheSalt(b, a), h(a, b));
  assert.deepEqual(dheSalt(c, a), h(a, c)); // equal prefix: shorter first
  assert.deepEqual(dheSalt(a, c), h(a, c));
  assert.deepEqual(kemSalt(c), h(c));
});

test('key rotation: HKDF-SHA256(previous key, SHA-256(initial key), "o7s-key-rotation")', () => {
  const k0 = Buffer.alloc(32, 7);
  const salt = createHash('sha256').update(k0).digest();
  const k1 = rotateKey(k0, salt);
  assert.deepEqual(k1, hkdfByHand('sha256', k0, salt, Buffer.from('o7s-key-rotation'), 32));
  assert.notDeepEqual(rotateKey(k1, salt), k1);
});
