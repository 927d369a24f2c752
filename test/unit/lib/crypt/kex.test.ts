import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  dheDerive,
  exportKemKeyFiles,
  generateKemStaticKey,
  generateKexKeyPair,
  HYBRID_SIZES,
  kemDecapsulate,
  kemEncapsulate,
  kexAlgoOfPublicKey,
  kemKeyFileExt,
  loadKemPrivateKey,
  loadKemPublicKey,
} from '../../../../src/lib/crypt/kex.js';
import { DigestNid, KEXES, isHybrid, isKem, type KexName } from '../../../../src/lib/crypt/nid.js';

const DHE = KEXES.filter((k) => !isKem(k));
const KEMS = KEXES.filter((k) => isKem(k));

test('DHE: every algorithm agrees both ways, and the server reads the algorithm from the client key', () => {
  for (const k of DHE) {
    const cli = generateKexKeyPair(k);
    const algo = kexAlgoOfPublicKey(cli.publicKey, false);
    assert.equal(algo.name, k.name);
    const srv = generateKexKeyPair(algo);
    const a = dheDerive(cli, srv.publicKey, DigestNid.SHA384);
    const b = dheDerive(srv, cli.publicKey, DigestNid.SHA384);
    assert.equal(a.length, 32, k.name);
    assert.deepEqual(a, b, k.name);
    assert.notDeepEqual(dheDerive(cli, srv.publicKey, DigestNid.SHA256), a, `${k.name}: the KDF matters`);
  }
});

test('public keys are SubjectPublicKeyInfo DER as OpenSSL i2d_PUBKEY writes them', () => {
  const spki = (n: KexName) => generateKexKeyPair(n).publicKey;
  const p256 = spki('prime256v1');
  assert.equal(p256.length, 91);
  assert.equal(p256.subarray(0, 27).toString('hex'), '3059301306072a8648ce3d020106082a8648ce3d030107034200' + '04');
  assert.equal(spki('secp384r1').length, 120);
  assert.equal(spki('secp521r1').length, 158);
  const x25519 = spki('X25519');
  assert.equal(x25519.length, 44);
  assert.equal(x25519.subarray(0, 12).toString('hex'), '302a300506032b656e032100');
  const x448 = spki('X448');
  assert.equal(x448.length, 68);
  assert.equal(x448.subarray(0, 12).toString('hex'), '3042300506032b656f033900');
  // FFDHE: PKCS#3 dhKeyAgreement with explicit p and g = 2, no q
  const dh = spki('ffdhe2048');
  assert.ok(dh.length === 552 || dh.length === 553 || dh.length < 552, `ffdhe2048 SPKI of ${dh.length}`);
  assert.equal(dh.subarray(4, 28).toString('hex'), '3082011706092a864886f70d010301308201080282010100');
  assert.equal(dh.subarray(28, 36).toString('hex'), 'ffffffffffffffff');
  assert.equal(dh.subarray(284, 287).toString('hex'), '020102');
  // ML-KEM: id-alg-ml-kem-N, raw key in the BIT STRING
  const mk = spki('ML-KEM-768');
  assert.equal(mk.length, 1206);
  assert.equal(mk.subarray(0, 22).toString('hex'), '308204b2300b0609608648016503040402038204a100');
  assert.equal(spki('ML-KEM-512').length, 822);
  assert.equal(spki('ML-KEM-1024').length, 1590);
  // hybrids: raw ML-KEM public key ‖ X25519/X448 public key
  assert.equal(spki('X25519MLKEM768').length, HYBRID_SIZES.X25519MLKEM768.publicKey);
  assert.equal(spki('X448MLKEM1024').length, HYBRID_SIZES.X448MLKEM1024.publicKey);
});

test('KEM, server encapsulates: every ML-KEM and hybrid agrees; ciphertext sizes', () => {
  const ctLen: Record<string, number> = {
    'ML-KEM-512': 768,
    'ML-KEM-768': 1088,
    'ML-KEM-1024': 1568,
    X25519MLKEM768: 1120,
    X448MLKEM1024: 1624,
  };
  for (const k of KEMS) {
    const cli = generateKexKeyPair(k);
    const raw = isHybrid(k);
    assert.equal(kexAlgoOfPublicKey(cli.publicKey, raw).name, k.name);
    const e = kemEncapsulate(cli.publicKey, raw, DigestNid.SHA3_256);
    assert.equal(e.ciphertext.length, ctLen[k.name], k.name);
    assert.equal(e.key.length, 32);
    assert.deepEqual(kemDecapsulate(cli, e.ciphertext, DigestNid.SHA3_256), e.key, k.name);
    assert.notDeepEqual(kemDecapsulate(cli, e.ciphertext, DigestNid.SHA256), e.key, `${k.name}: the KDF matters`);
    // a tampered ciphertext yields another key (ML-KEM implicit rejection / wrong X25519 share)
    const bad = Buffer.from(e.ciphertext);
    bad[bad.length - 1]! ^= 1;
    assert.notDeepEqual(kemDecapsulate(cli, bad, DigestNid.SHA3_256), e.key, k.name);
    assert.throws(() => kemDecapsulate(cli, e.ciphertext.subarray(1), DigestNid.SHA3_256), { code: 'ECRYPT' });
  }
});

test('KEM, client encapsulates to a static server key loaded from its files', () => {
  for (const k of KEMS) {
    const ext = kemKeyFileExt(k);
    assert.equal(ext, isHybrid(k) ? 'raw' : 'pem');
    const files = exportKemKeyFiles(generateKemStaticKey(k));
    assert.equal(files.ext, ext);
    if (ext === 'raw') {
      assert.equal(files.privateKey.length, k.name === 'X25519MLKEM768' ? 2432 : 3224);
    } else {
      assert.match(files.privateKey.toString(), /^-----BEGIN PRIVATE KEY-----\n/);
      assert.match(files.publicKey.toString(), /^-----BEGIN PUBLIC KEY-----\n/);
    }
    const serverKey = loadKemPrivateKey(files.privateKey, ext === 'raw');
    const pub = loadKemPublicKey(files.publicKey, ext === 'raw');
    assert.deepEqual(pub, serverKey.publicKey);
    const e = kemEncapsulate(pub, ext === 'raw', DigestNid.SHA512);
    assert.equal(e.algo.name, k.name);
    assert.deepEqual(kemDecapsulate(serverKey, e.ciphertext, DigestNid.SHA512), e.key, k.name);
  }
});

test('ML-KEM private keys: seed-only, expanded-only and both forms load to the same key', () => {
  const kp = generateKemStaticKey('ML-KEM-512');
  const pem = exportKemKeyFiles(kp).privateKey.toString();
  const derOf = (p: string) => Buffer.from(p.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const both = derOf(pem);
  // PKCS#8 { 0, {OID}, OCTET STRING { SEQUENCE { OCTET STRING seed(64), OCTET STRING dk(1632) } } }
  const inner = both.subarray(both.indexOf(Buffer.from('3082', 'hex'), 20));
  const seed = inner.subarray(inner.indexOf(Buffer.from('0440', 'hex')) + 2).subarray(0, 64);
  const dk = inner.subarray(inner.indexOf(Buffer.from('04820660', 'hex')) + 4).subarray(0, 1632);
  const wrap = (body: Buffer) => {
    const oct = Buffer.concat([Buffer.from([0x04, 0x82, body.length >> 8, body.length & 0xff]), body]);
    const alg = Buffer.from('300b0609608648016503040401', 'hex');
    const content = Buffer.concat([Buffer.from('020100', 'hex'), alg, oct]);
    const der = Buffer.concat([Buffer.from([0x30, 0x82, content.length >> 8, content.length & 0xff]), content]);
    return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64')}\n-----END PRIVATE KEY-----\n`;
  };
  const seedOnly = loadKemPrivateKey(Buffer.from(wrap(Buffer.concat([Buffer.from([0x80, 0x40]), seed]))), false);
  const dkOnly = loadKemPrivateKey(Buffer.from(wrap(Buffer.concat([Buffer.from([0x04, 0x82, 0x06, 0x60]), dk]))), false);
  assert.deepEqual(seedOnly.publicKey, kp.publicKey);
  assert.deepEqual(dkOnly.publicKey, kp.publicKey);
  const e = kemEncapsulate(kp.publicKey, false, DigestNid.SHA256);
  assert.deepEqual(kemDecapsulate(dkOnly, e.ciphertext, DigestNid.SHA256), e.key);
});

test('peer keys that are not ours are ECRYPT', () => {
  const dhGroup = generateKeyPairSync as unknown as (t: 'dh', o: { group: string }) => { publicKey: KeyObject };
  const modp = dhGroup('dh', { group: 'modp14' }).publicKey.export({ type: 'spki', format: 'der' });
  assert.throws(() => kexAlgoOfPublicKey(modp, false), { code: 'ECRYPT', message: /not in an FFDHE group/ });
  const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ type: 'spki', format: 'der' });
  assert.throws(() => kexAlgoOfPublicKey(k1, false), { code: 'ECRYPT', message: /unsupported EC curve 1\.3\.132\.0\.10/ });
  const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
  assert.throws(() => kexAlgoOfPublicKey(ed, false), { code: 'ECRYPT', message: /unsupported public key algorithm 1\.3\.101\.112/ });
  assert.throws(() => kexAlgoOfPublicKey(Buffer.from('3003020101', 'hex'), false), { code: 'ECRYPT' });
  assert.throws(() => kexAlgoOfPublicKey(Buffer.alloc(1000), true), { code: 'ECRYPT', message: /1000-byte raw key/ });
  // a key of another curve than ours, and an invalid point
  const p256 = generateKexKeyPair('prime256v1');
  assert.throws(() => dheDerive(p256, generateKexKeyPair('secp384r1').publicKey, 672), { code: 'ECRYPT', message: /expected prime256v1/ });
  const badPoint = Buffer.from(generateKexKeyPair('prime256v1').publicKey);
  badPoint[badPoint.length - 1]! ^= 1;
  assert.throws(() => dheDerive(p256, badPoint, 672), { code: 'ECRYPT' });
  // a DHE key pair cannot decapsulate
  assert.throws(() => kemDecapsulate(p256, Buffer.alloc(1088), 672), { code: 'ECRYPT' });
});
