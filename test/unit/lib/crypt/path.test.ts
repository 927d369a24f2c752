import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { cryptCodec, isEncrypted, pathQos } from '../../../../src/lib/crypt/path.js';
import { createFlowCrypt } from '../../../../src/lib/crypt/cipher.js';
import { CIPHERS } from '../../../../src/lib/crypt/nid.js';
import { qos } from '../../../../src/lib/qos.js';

const key = randomBytes(32);

test('codec: IV ‖ ciphertext ‖ tag, decryptable by an independent context with the same key, for every cipher', () => {
  for (const c of CIPHERS) {
    const a = cryptCodec({ cipherNid: c.nid, key }, false);
    const peer = createFlowCrypt({ cipher: c.nid, key });
    const sdu = Buffer.from(`hello over ${c.name}`);
    const pkt = Buffer.from(a.encode(sdu));
    assert.equal(pkt.length, sdu.length + c.ivLen + c.tagLen, c.name);
    assert.ok(!pkt.includes(sdu), `${c.name}: no plaintext`);
    assert.deepEqual(peer.decrypt(pkt), sdu, c.name);
    assert.deepEqual(a.decode(peer.encrypt(sdu)), sdu, c.name);
  }
});

test('codec with CRC (ber 0): the CRC-32 trailer covers the ciphertext, checked before decryption', () => {
  const a = cryptCodec({ cipherNid: 901, key }, true);
  const b = cryptCodec({ cipherNid: 901, key }, true);
  const sdu = randomBytes(100);
  const pkt = Buffer.from(a.encode(sdu));
  assert.equal(pkt.length, 12 + 100 + 16 + 4);
  const body = pkt.subarray(0, pkt.length - 4);
  assert.equal(pkt.readUInt32BE(pkt.length - 4), crc32(body) >>> 0);
  assert.deepEqual(b.decode(pkt), sdu);

  const corrupt = Buffer.from(pkt);
  corrupt[20]! ^= 0x40;
  assert.equal(b.decode(corrupt), undefined);
  assert.equal(b.stats.crcErrors, 1);
  assert.equal(b.stats.decryptErrors, 0);

  // A packet with a good CRC but forged content fails authentication instead.
  const forged = Buffer.from(body);
  forged[20]! ^= 0x40;
  const withCrc = Buffer.concat([forged, Buffer.alloc(4)]);
  withCrc.writeUInt32BE(crc32(forged) >>> 0, forged.length);
  assert.equal(b.decode(withCrc), undefined);
  assert.equal(b.stats.decryptErrors, 1);
});

test('a packet for another key is dropped', () => {
  const a = cryptCodec({ cipherNid: 1018, key }, false);
  const other = cryptCodec({ cipherNid: 1018, key: randomBytes(32) }, false);
  assert.equal(other.decode(Buffer.from(a.encode(Buffer.from('secret')))), undefined);
  assert.equal(other.stats.decryptErrors, 1);
  assert.equal(other.stats.cipher, 'chacha20-poly1305');
});

test('pathQos: the SDU path above an encrypted flow leaves the CRC to the codec', () => {
  assert.equal(pathQos(qos.data, true).ber, 1);
  assert.equal(pathQos(qos.data, true).inOrder, 1, 'FRCT stays above');
  assert.equal(pathQos(qos.data, false), qos.data);
  assert.equal(pathQos(qos.raw, true), qos.raw);
});

test('isEncrypted', () => {
  assert.equal(isEncrypted(undefined), false);
  assert.equal(isEncrypted({ cipherNid: 0, key: undefined }), false);
  assert.equal(isEncrypted({ cipherNid: 901, key }), true);
});

test('codec dispose: the flow key is gone, packets are dropped as decrypt errors', () => {
  const a = cryptCodec({ cipherNid: 901, key }, false);
  const b = cryptCodec({ cipherNid: 901, key }, false);
  const pkt = Buffer.from(a.encode(Buffer.from('before')));
  b.dispose();
  assert.equal(b.decode(pkt), undefined);
  assert.equal(b.stats.decryptErrors, 1);
  a.dispose();
});
