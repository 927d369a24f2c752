/** Directory hashes (ARCHITECTURE.md §3.3). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { HashAlgo, hashAlgoByName, hashFmt32, hashLength, hashName } from '../../../src/common/hash.js';

const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');

describe('hashes', () => {
  it('numbers the algorithms as the reference enum hash_algo', () => {
    assert.deepEqual({ ...HashAlgo }, { SHA3_224: 0, SHA3_256: 1, SHA3_384: 2, SHA3_512: 3, CRC32: 4, MD5: 5 });
  });

  it('SHA3-256("oping") is the verified reference value', () => {
    assert.equal(hex(hashName(HashAlgo.SHA3_256, 'oping')), '42dee3b0415b4f690fd91cbd99876f1e9bd8d9745ef7fa32b142773af0349d54');
  });

  it('MD5("oping") is the verified reference value', () => {
    assert.equal(hex(hashName(HashAlgo.MD5, 'oping')), '7862c6fec5ecaef4aa2e3934725e23b3');
  });

  it('hashes the name bytes without a terminator (known digests of the empty string)', () => {
    assert.equal(hex(hashName(HashAlgo.SHA3_256, '')), 'a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a');
    assert.equal(hex(hashName(HashAlgo.MD5, '')), 'd41d8cd98f00b204e9800998ecf8427e');
    assert.equal(hex(hashName(HashAlgo.SHA3_224, '')), '6b4e03423667dbb73b6e15454f0eb1abd4597f9a1b078e3f5b5a6bc7');
  });

  it('hashes UTF-8 bytes', () => {
    assert.equal(hex(hashName(HashAlgo.MD5, 'é')), createHash('md5').update(Buffer.from([0xc3, 0xa9])).digest('hex'));
    assert.equal(hex(hashName(HashAlgo.SHA3_256, 'naïve/ω')), createHash('sha3-256').update(Buffer.from('naïve/ω', 'utf8')).digest('hex'));
  });

  it('gives digests of the documented lengths', () => {
    const want: [number, number][] = [
      [HashAlgo.SHA3_224, 28],
      [HashAlgo.SHA3_256, 32],
      [HashAlgo.SHA3_384, 48],
      [HashAlgo.SHA3_512, 64],
      [HashAlgo.MD5, 16],
    ];
    for (const [algo, len] of want) {
      assert.equal(hashLength(algo), len, `hashLength(${algo})`);
      assert.equal(hashName(algo, 'oping').length, len, `digest length of ${algo}`);
    }
    assert.equal(hashLength(HashAlgo.CRC32), 4);
  });

  it('refuses unknown algorithms and CRC32 for names', () => {
    assert.throws(() => hashLength(6), RangeError);
    assert.throws(() => hashLength(-1), RangeError);
    assert.throws(() => hashName(HashAlgo.CRC32, 'oping'), RangeError);
    assert.throws(() => hashName(42, 'oping'), RangeError);
  });

  it('names algorithms as irm and irmd.conf write them', () => {
    assert.equal(hashAlgoByName('SHA3_256'), HashAlgo.SHA3_256);
    assert.equal(hashAlgoByName('sha3_512'), HashAlgo.SHA3_512);
    assert.equal(hashAlgoByName('SHA3-224'), HashAlgo.SHA3_224);
    assert.equal(hashAlgoByName('MD5'), HashAlgo.MD5);
    assert.equal(hashAlgoByName('CRC32'), undefined);
    assert.equal(hashAlgoByName('SHA1'), undefined);
  });

  it('formats the first 4 bytes for logs', () => {
    assert.equal(hashFmt32(hashName(HashAlgo.SHA3_256, 'oping')), '42dee3b0');
    assert.equal(hashFmt32(hashName(HashAlgo.MD5, 'oping')), '7862c6fe');
  });
});
