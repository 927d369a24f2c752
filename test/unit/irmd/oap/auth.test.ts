import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadCredentials,
  loadTrustStore,
  makeCredentials,
  oapSign,
  oapVerify,
  parseCertificate,
  parseCertificates,
  parsePrivateKey,
  privateKeyPem,
  type SigningKey,
  TrustStore,
} from '../../../../src/irmd/oap/auth.js';
import { createTestCa, generateSigningKey, makeCertificate, TEST_KEY_TYPES } from '../../../../src/irmd/oap/testca.js';
import { DIGESTS, DigestNid } from '../../../../src/lib/crypt/nid.js';

const tmp = mkdtempSync(join(tmpdir(), 'o7s-auth-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const MSG = Buffer.from('the signed region of an OAP header');

test('test CA layout: cacert/, untrusted/, <role>/<name>/{crt,key}.pem (key mode 0600)', () => {
  const dir = join(tmp, 'layout');
  const ca = createTestCa({ dir, intermediate: true, caName: 'ca.test' });
  ca.issue('oping', { role: 'server' });
  ca.issue('oping', { role: 'client' });
  for (const f of ['cacert/ca.crt.pem', 'untrusted/im.crt.pem', 'server/oping/crt.pem', 'server/oping/key.pem', 'client/oping/crt.pem']) {
    assert.ok(existsSync(join(dir, f)), f);
  }
  assert.equal(statSync(join(dir, 'server/oping/key.pem')).mode & 0o777, 0o600);
  const store = loadTrustStore(join(dir, 'cacert'), join(dir, 'untrusted'));
  assert.equal(store.size, 2);
  const creds = loadCredentials(join(dir, 'server/oping/crt.pem'), join(dir, 'server/oping/key.pem'))!;
  assert.equal(creds.certificate.subjectCN, 'oping');
  store.verify(creds.certificate);
  // node:crypto reads what we write, and agrees on the chain
  const leaf = new X509Certificate(creds.certificate.der);
  const im = new X509Certificate(ca.intermediate!.certificate.der);
  const root = new X509Certificate(ca.root.certificate.der);
  assert.equal(leaf.subject, 'O=o7s\nCN=oping');
  assert.ok(leaf.checkIssued(im) && leaf.verify(im.publicKey));
  assert.ok(im.checkIssued(root) && im.verify(root.publicKey) && im.ca && root.ca && !leaf.ca);
});

test('every test key type: certificate chain verifies, OAP signatures verify and fail when tampered', () => {
  for (const kt of TEST_KEY_TYPES) {
    const ca = createTestCa({ dir: join(tmp, kt), keyType: kt, intermediate: true });
    const store = new TrustStore();
    store.add(ca.root.certificate);
    store.add(ca.intermediate!.certificate);
    const it = ca.make('name.o7s');
    store.verify(it.certificate);
    // PEM round trip of key and certificate
    const key = parsePrivateKey(it.keyPem);
    const cert = parseCertificates(it.certPem)[0]!;
    const creds = makeCredentials(cert, key);
    for (const md of [0, DigestNid.SHA256, DigestNid.SHA3_512, DigestNid.BLAKE2B512]) {
      const sig = oapSign(creds.key, md, MSG);
      assert.ok(oapVerify(cert.publicKey, md, MSG, sig), `${kt} md ${md}`);
      const bad = Buffer.from(sig);
      bad[bad.length >> 1]! ^= 1;
      assert.ok(!oapVerify(cert.publicKey, md, MSG, bad), `${kt} md ${md} tampered signature`);
      assert.ok(!oapVerify(cert.publicKey, md, Buffer.concat([MSG, Buffer.from('!')]), sig), `${kt} md ${md} other message`);
    }
  }
});

test('OAP signature digests: ECDSA uses the md NID (0 = SHA-256), EdDSA and ML-DSA ignore it', () => {
  const ec = generateSigningKey('ecdsa-p256');
  const ca = createTestCa({ dir: join(tmp, 'md') });
  const cert = parseCertificate(makeCertificate({ subjectCN: 'x', subjectKey: ec, issuer: ca.root.certificate, issuerKey: ca.root.key }));
  for (const d of DIGESTS) {
    const sig = oapSign(ec, d.nid, MSG);
    assert.ok(oapVerify(cert.publicKey, d.nid, MSG, sig), d.name);
    const other = d.nid === DigestNid.SHA512 ? DigestNid.SHA384 : DigestNid.SHA512;
    assert.ok(!oapVerify(cert.publicKey, other, MSG, sig), `${d.name} verified with another digest`);
  }
  assert.ok(oapVerify(cert.publicKey, DigestNid.SHA256, MSG, oapSign(ec, 0, MSG)));
  for (const kt of ['ed25519', 'ml-dsa-65'] as const) {
    const k = generateSigningKey(kt);
    const c = parseCertificate(makeCertificate({ subjectCN: kt, subjectKey: k, issuerKey: k, ca: true }));
    assert.ok(oapVerify(c.publicKey, 0, MSG, oapSign(k, DigestNid.SHA256, MSG)), kt);
  }
});

test('chain rules: issuer must be a CA within its path length; validity of every link', () => {
  const root = generateSigningKey('ecdsa-p256');
  const rootCert = parseCertificate(makeCertificate({ subjectCN: 'root', subjectKey: root, issuerKey: root, ca: true, pathLen: 0 }));
  const imKey = generateSigningKey('ecdsa-p256');
  const im = parseCertificate(makeCertificate({ subjectCN: 'im', subjectKey: imKey, issuer: rootCert, issuerKey: root, ca: true }));
  const leafKey = generateSigningKey('ed25519');
  const leaf = parseCertificate(makeCertificate({ subjectCN: 'leaf', subjectKey: leafKey, issuer: im, issuerKey: imKey }));
  const store = new TrustStore();
  store.add(rootCert);
  store.add(im);
  store.verify(im);
  assert.throws(() => store.verify(leaf), { code: 'EAUTH', message: /path length constraint of certificate "root" exceeded/ });
  // an end-entity certificate cannot issue
  const ee = parseCertificate(makeCertificate({ subjectCN: 'ee', subjectKey: imKey, issuer: rootCert, issuerKey: root }));
  const s2 = new TrustStore();
  s2.add(rootCert);
  s2.add(ee);
  const below = parseCertificate(makeCertificate({ subjectCN: 'below', subjectKey: leafKey, issuer: ee, issuerKey: imKey }));
  assert.throws(() => s2.verify(below), { code: 'EAUTH', message: /issuer certificate "ee" is not a CA/ });
  // an expired intermediate breaks the chain
  const old = { notBefore: new Date(Date.now() - 2 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) };
  const rootKey2 = generateSigningKey('ecdsa-p256');
  const root2 = parseCertificate(makeCertificate({ subjectCN: 'root2', subjectKey: rootKey2, issuerKey: rootKey2, ca: true }));
  const im2 = parseCertificate(makeCertificate({ subjectCN: 'im2', subjectKey: imKey, issuer: root2, issuerKey: rootKey2, ca: true, ...old }));
  const leaf2 = parseCertificate(makeCertificate({ subjectCN: 'leaf2', subjectKey: leafKey, issuer: im2, issuerKey: imKey }));
  const s3 = new TrustStore();
  s3.add(root2);
  s3.add(im2);
  assert.throws(() => s3.verify(leaf2), { code: 'EAUTH', message: /certificate "im2" expired/ });
  // verification is cached per certificate but re-checks validity times
  const leaf3 = parseCertificate(makeCertificate({ subjectCN: 'leaf3', subjectKey: leafKey, issuer: root2, issuerKey: rootKey2 }));
  s3.verify(leaf3);
  s3.verify(leaf3);
  assert.throws(() => s3.verify(leaf3, new Date(Date.now() + 400 * 86_400_000)), { code: 'EAUTH', message: /expired/ });
  // only an intermediate is not enough: the chain must end at a self-signed certificate of the store
  const s4 = new TrustStore();
  s4.add(im2);
  assert.throws(() => s4.verify(leaf3), { code: 'EAUTH', message: /no trusted issuer/ });
});

test('keys: PKCS#8, SEC1 EC and ML-DSA (seed, expanded, both) load; mismatching key and bad files are EAUTH', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const sec1 = ec.privateKey.export({ type: 'sec1', format: 'pem' }).toString();
  assert.match(sec1, /BEGIN EC PRIVATE KEY/);
  const k1 = parsePrivateKey(sec1);
  assert.equal(k1.type, 'node');
  const ml = generateSigningKey('ml-dsa-65') as Extract<SigningKey, { type: 'mldsa' }>;
  const pem = privateKeyPem(ml);
  const back = parsePrivateKey(pem) as Extract<SigningKey, { type: 'mldsa' }>;
  assert.deepEqual(Buffer.from(back.pk), Buffer.from(ml.pk));
  const expandedOnly = privateKeyPem({ ...ml, seed: undefined });
  const back2 = parsePrivateKey(expandedOnly) as Extract<SigningKey, { type: 'mldsa' }>;
  assert.deepEqual(Buffer.from(back2.pk), Buffer.from(ml.pk));
  assert.throws(() => parsePrivateKey('nothing here'), { code: 'EAUTH' });
  assert.throws(() => parsePrivateKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), { code: 'EAUTH' });

  const ca = createTestCa({ dir: join(tmp, 'keys') });
  const a = ca.make('a');
  const b = ca.make('b');
  assert.throws(() => makeCredentials(a.certificate, b.key), { code: 'EAUTH', message: /does not match the certificate of a/ });
  const dir = join(tmp, 'creds');
  const crt = join(dir, 'crt.pem');
  const key = join(dir, 'key.pem');
  assert.equal(loadCredentials(crt, key), undefined); // neither exists
  ca.issue('x', { role: 'server' });
  writeFileSync(join(tmp, 'only-crt.pem'), a.certPem);
  assert.equal(loadCredentials(join(tmp, 'only-crt.pem'), key), undefined); // key missing
  const sdir = join(tmp, 'keys', 'server', 'x');
  writeFileSync(join(sdir, 'key.pem'), 'garbage');
  assert.throws(() => loadCredentials(join(sdir, 'crt.pem'), join(sdir, 'key.pem')), { code: 'EAUTH', message: /key\.pem: bad private key/ });
  assert.throws(() => parseCertificate(Buffer.from('3003020101', 'hex')), { code: 'EAUTH' });
  assert.throws(() => parseCertificates(readFileSync(join(sdir, 'key.pem'))), { code: 'EAUTH' });
});
