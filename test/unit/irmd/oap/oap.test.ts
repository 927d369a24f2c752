import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCredentials, TrustStore } from '../../../../src/irmd/oap/auth.js';
import { decodeOapHeader } from '../../../../src/irmd/oap/header.js';
import {
  oapClientComplete,
  oapClientPrepare,
  oapServerProcess,
  type OapClientConfig,
  type OapContext,
  type OapServerConfig,
} from '../../../../src/irmd/oap/oap.js';
import { ReplayGuard } from '../../../../src/irmd/oap/replay.js';
import { createTestCa, type Issued, type TestCa } from '../../../../src/irmd/oap/testca.js';
import { createFlowCrypt } from '../../../../src/lib/crypt/cipher.js';
import { DEFAULT_SEC_CONFIG, NO_ENCRYPTION, type SecConfig } from '../../../../src/lib/crypt/enc-conf.js';
import { generateKemStaticKey, type KexKeyPair } from '../../../../src/lib/crypt/kex.js';
import { CIPHERS, CipherNid, DIGESTS, DigestNid, KEXES, KexNid, isHybrid, isKem } from '../../../../src/lib/crypt/nid.js';
import { FakeClock } from '../../../helpers/fake-clock.js';

const NAME = 'oping.o7s';
const tmp = mkdtempSync(join(tmpdir(), 'o7s-oap-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const clock = new FakeClock(Date.now());
const ca: TestCa = createTestCa({ dir: join(tmp, 'ec'), intermediate: true });
const trust = new TrustStore();
trust.add(ca.root.certificate);
trust.add(ca.intermediate!.certificate);
const srvCert = ca.make(NAME);
const cliCert = ca.make('client.o7s');
const creds = (i: Issued) => makeCredentials(i.certificate, i.key);

function ctxs(): { cli: OapContext; srv: OapContext } {
  return { cli: { trust, clock }, srv: { trust, clock, replay: new ReplayGuard({ clock }) } };
}

interface Side {
  enc?: SecConfig;
  auth?: Issued | false;
}

function configs(s: Side, c: Side, kem?: KexKeyPair): { server: OapServerConfig; client: OapClientConfig } {
  return {
    server: {
      name: NAME,
      enc: s.enc ?? NO_ENCRYPTION,
      credentials: s.auth === false ? undefined : creds(s.auth ?? srvCert),
      staticKemKey: kem ? () => kem : undefined,
    },
    client: {
      name: NAME,
      enc: c.enc ?? NO_ENCRYPTION,
      credentials: c.auth === false ? undefined : creds(c.auth ?? cliCert),
      serverKemPublicKey: kem ? () => kem.publicKey : undefined,
    },
  };
}

/** One full exchange; returns both outcomes. */
function run(s: Side, c: Side, kem?: KexKeyPair) {
  const { cli, srv } = ctxs();
  const { server, client } = configs(s, c, kem);
  const st = oapClientPrepare(cli, client);
  const r = oapServerProcess(srv, server, st.request);
  const f = oapClientComplete(cli, st, r.response);
  return { st, r, f };
}

function assertFlowWorks(cipherNid: number, k1: Buffer, k2: Buffer) {
  const a = createFlowCrypt({ cipher: cipherNid, key: k1 });
  const b = createFlowCrypt({ cipher: cipherNid, key: k2 });
  assert.equal(b.decrypt(a.encrypt(Buffer.from('ping')))?.toString(), 'ping');
  assert.equal(a.decrypt(b.encrypt(Buffer.from('pong')))?.toString(), 'pong');
}

test('every key exchange × cipher: both sides derive the same key and cipher (authenticated both ways)', () => {
  for (const k of KEXES) {
    for (const c of CIPHERS) {
      const enc: SecConfig = { ...DEFAULT_SEC_CONFIG, kex: k.nid, cipher: c.nid };
      const { st, r, f } = run({ enc }, { enc });
      const label = `${k.name} + ${c.name}`;
      assert.equal(r.cipherNid, c.nid, label);
      assert.equal(f.cipherNid, c.nid, label);
      assert.ok(r.key && f.key && r.key.length === 32, label);
      assert.deepEqual(r.key, f.key, label);
      assert.equal(r.peerName, 'client.o7s');
      assert.equal(f.peerName, NAME);
      const req = decodeOapHeader(st.request);
      assert.ok(typeof req !== 'string');
      assert.equal(req.kexRaw, isHybrid(k), label);
      assert.equal(req.kexClientEncap, false, label);
      if (c.rank === 6) assertFlowWorks(c.nid, r.key!, f.key!);
    }
  }
});

test('KEMs in client-encapsulation mode: the client encapsulates to the server static key', () => {
  for (const k of KEXES.filter(isKem)) {
    const kem = generateKemStaticKey(k);
    const enc: SecConfig = { ...DEFAULT_SEC_CONFIG, kex: k.nid, kemMode: 'client', cipher: CipherNid.CHACHA20_POLY1305 };
    const { st, r, f } = run({ enc }, { enc }, kem);
    assert.deepEqual(r.key, f.key, k.name);
    assert.equal(f.cipherNid, CipherNid.CHACHA20_POLY1305);
    const req = decodeOapHeader(st.request);
    const rsp = decodeOapHeader(r.response, DigestNid.SHA256);
    assert.ok(typeof req !== 'string' && typeof rsp !== 'string');
    assert.equal(req.kexClientEncap, true);
    assert.equal(req.kexRaw, isHybrid(k));
    assert.equal(rsp.kex.length, 0, 'no KEX data in the response');
    assertFlowWorks(f.cipherNid, r.key!, f.key!);
  }
});

test('every KDF and digest (signatures with ECDSA, Ed25519 and ML-DSA-65 certificates)', () => {
  for (const d of DIGESTS) {
    const enc: SecConfig = { ...DEFAULT_SEC_CONFIG, kex: KexNid.X25519, kdf: d.nid, digest: d.nid };
    const { r, f } = run({ enc }, { enc });
    assert.deepEqual(r.key, f.key, d.name);
    const rsp = decodeOapHeader(r.response, d.nid);
    assert.ok(typeof rsp !== 'string' && rsp.reqHash.length === d.len && rsp.kdfNid === d.nid && rsp.mdNid === d.nid);
  }
  for (const keyType of ['ed25519', 'ml-dsa-65'] as const) {
    const other = createTestCa({ dir: join(tmp, keyType), keyType });
    trust.add(other.root.certificate);
    const enc: SecConfig = { ...DEFAULT_SEC_CONFIG, digest: DigestNid.SHA3_384 };
    const { r, f } = run({ enc, auth: other.make(NAME) }, { enc, auth: other.make('c') });
    assert.deepEqual(r.key, f.key, keyType);
    assert.equal(f.peerName, NAME);
    assert.equal(r.peerName, 'c');
  }
});

test('negotiation: the stronger cipher and KDF win; a server without enc.conf follows the client', () => {
  const weak: SecConfig = { ...DEFAULT_SEC_CONFIG, kex: KexNid.X25519, cipher: CipherNid.AES_128_CTR, kdf: DigestNid.BLAKE2S256 };
  const strong: SecConfig = { ...DEFAULT_SEC_CONFIG, kex: KexNid.X25519, cipher: CipherNid.AES_256_GCM, kdf: DigestNid.SHA512 };
  let x = run({ enc: strong }, { enc: weak });
  assert.equal(x.f.cipherNid, CipherNid.AES_256_GCM);
  assert.deepEqual(x.r.key, x.f.key);
  const rsp = decodeOapHeader(x.r.response, DigestNid.SHA256);
  assert.ok(typeof rsp !== 'string' && rsp.kdfNid === DigestNid.SHA512);
  x = run({ enc: weak }, { enc: strong });
  assert.equal(x.r.cipherNid, CipherNid.AES_256_GCM);
  assert.deepEqual(x.r.key, x.f.key);
  x = run({ enc: NO_ENCRYPTION }, { enc: weak });
  assert.equal(x.f.cipherNid, CipherNid.AES_128_CTR);
  assert.deepEqual(x.r.key, x.f.key);
  // client encapsulation: the server must accept the client's KDF, or refuse when its own is stronger
  const kem = generateKemStaticKey('ML-KEM-512');
  const cEnc: SecConfig = { ...DEFAULT_SEC_CONFIG, kex: KexNid.MLKEM512, kemMode: 'client', kdf: DigestNid.SHA384 };
  x = run({ enc: { ...cEnc, kdf: DigestNid.SHA256 } }, { enc: cEnc }, kem);
  assert.deepEqual(x.r.key, x.f.key);
  assert.throws(() => run({ enc: { ...cEnc, kdf: DigestNid.SHA512 } }, { enc: cEnc }, kem), { code: 'ECRYPT', message: /client KDF is weaker/ });
});

test('no encryption and no certificates: an unauthenticated flow', () => {
  const { st, r, f } = run({ auth: false }, { auth: false });
  assert.equal(r.cipherNid, 0);
  assert.equal(f.cipherNid, 0);
  assert.equal(r.key, undefined);
  assert.equal(f.key, undefined);
  assert.equal(f.peerName, undefined);
  assert.equal(st.request.length, 36); // bare header
  assert.equal(r.response.length, 36 + 48); // + SHA-384 of the request
  const both = run({ enc: DEFAULT_SEC_CONFIG, auth: false }, { enc: DEFAULT_SEC_CONFIG, auth: false });
  assert.deepEqual(both.r.key, both.f.key);
});

test('ECRYPT when one side requires encryption the other cannot do', () => {
  assert.throws(() => run({ enc: DEFAULT_SEC_CONFIG }, { enc: NO_ENCRYPTION }), { code: 'ECRYPT', message: /requires encryption, the client offers none/ });
  const p256 = { ...DEFAULT_SEC_CONFIG, kex: KexNid.PRIME256V1 };
  const x448 = { ...DEFAULT_SEC_CONFIG, kex: KexNid.X448 };
  assert.throws(() => run({ enc: x448 }, { enc: p256 }), { code: 'ECRYPT', message: /client key exchange prime256v1 is weaker than X448/ });
  // a client asking for client encapsulation of a server without a KEM
  const kem = generateKemStaticKey('ML-KEM-768');
  const cEnc = { ...DEFAULT_SEC_CONFIG, kex: KexNid.MLKEM768, kemMode: 'client' as const };
  assert.throws(() => run({ enc: p256 }, { enc: cEnc }, kem), { code: 'ECRYPT', message: /no KEM configured/ });
  // a client in client-encapsulation mode without the server's public key
  const { cli } = ctxs();
  assert.throws(() => oapClientPrepare(cli, { name: NAME, enc: cEnc }), { code: 'ECRYPT', message: /no static KEM public key/ });
  // a static key of another level
  assert.throws(() => run({ enc: cEnc }, { enc: cEnc }, generateKemStaticKey('ML-KEM-1024')), { code: 'ECRYPT', message: /is ML-KEM-1024, configured ML-KEM-768/ });
});

test('client refuses a downgraded, foreign or mismatching response', () => {
  const enc = { ...DEFAULT_SEC_CONFIG, kex: KexNid.X25519 };
  const { cli, srv } = ctxs();
  const { server, client } = configs({ enc, auth: false }, { enc, auth: false });
  const st = oapClientPrepare(cli, client);
  const r = oapServerProcess(srv, server, st.request);
  const down = Buffer.from(r.response);
  down.writeUInt16BE(CipherNid.AES_128_CTR, 24);
  assert.throws(() => oapClientComplete(cli, st, down), { code: 'ECRYPT', message: /weaker than ours/ });
  const noCipher = Buffer.from(r.response);
  noCipher.writeUInt16BE(0, 24);
  assert.throws(() => oapClientComplete(cli, st, noCipher), { code: 'ECRYPT', message: /did not choose a cipher/ });
  const otherId = Buffer.from(r.response);
  otherId[0]! ^= 1;
  assert.throws(() => oapClientComplete(cli, st, otherId), { code: 'ECRYPT', message: /id does not match/ });
  const st2 = oapClientPrepare(cli, client);
  const r2 = oapServerProcess(srv, server, st2.request);
  const spliced = Buffer.concat([st.request.subarray(0, 16), r2.response.subarray(16)]);
  assert.throws(() => oapClientComplete(cli, st, spliced), { code: 'ECRYPT', message: /does not hash the request/ });
  assert.throws(() => oapClientComplete(cli, st, r.response.subarray(0, 40)), { code: 'ECRYPT' });
  assert.deepEqual(oapClientComplete(cli, st, r.response).key, r.key);
});

test('bad certificates: wrong name, expired, untrusted CA, bad signatures', () => {
  const enc = DEFAULT_SEC_CONFIG;
  // the server's certificate is for another name: the client refuses
  assert.throws(() => run({ enc, auth: ca.make('other.o7s') }, { enc }), { code: 'ECRYPT', message: /certificate is for "other\.o7s", not "oping\.o7s"/ });
  // expired
  const past = { notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) };
  assert.throws(() => run({ enc, auth: ca.make(NAME, past) }, { enc }), { code: 'ECRYPT', message: /expired/ });
  assert.throws(() => run({ enc }, { enc, auth: ca.make('c', past) }), { code: 'EAUTH', message: /expired/ });
  const future = { notBefore: new Date(Date.now() + 86_400_000), notAfter: new Date(Date.now() + 10 * 86_400_000) };
  assert.throws(() => run({ enc }, { enc, auth: ca.make('c', future) }), { code: 'EAUTH', message: /not valid before/ });
  // a CA the IRMd does not trust
  const rogue = createTestCa({ dir: join(tmp, 'rogue'), caName: 'rogue.o7s' });
  assert.throws(() => run({ enc, auth: rogue.make(NAME) }, { enc }), { code: 'ECRYPT', message: /no trusted issuer/ });
  assert.throws(() => run({ enc }, { enc, auth: rogue.make('c') }), { code: 'EAUTH', message: /no trusted issuer/ });
  assert.throws(() => run({ enc }, { enc, auth: rogue.root }), { code: 'EAUTH', message: /self-signed certificate "rogue\.o7s" is not trusted/ });
  // a request whose signature, or a byte it covers, was changed (tampered copies are
  // refused before the request is remembered, so the genuine one still passes)
  const { cli, srv } = ctxs();
  const { server, client } = configs({ enc }, { enc });
  const st = oapClientPrepare(cli, client);
  const badSig = Buffer.from(st.request);
  badSig[badSig.length - 5]! ^= 1;
  assert.throws(() => oapServerProcess(srv, server, badSig), { code: 'EAUTH', message: /bad OAP signature/ });
  const badBody = Buffer.from(st.request);
  badBody[17]! ^= 1; // timestamp
  assert.throws(() => oapServerProcess(srv, server, badBody), { code: 'EAUTH' });
  // a certificate whose own signature was changed
  const crtOff = 36;
  const crtLen = st.request.readUInt16BE(30);
  const badCrt = Buffer.from(st.request);
  badCrt[crtOff + crtLen - 3]! ^= 1; // inside the certificate's signature value
  assert.throws(() => oapServerProcess(srv, server, badCrt), { code: 'EAUTH', message: /bad signature on certificate|bad certificate/ });
  // the genuine request still passes
  assert.ok(oapServerProcess(srv, server, st.request).key);
});

test('replay protection: a replayed request and a stale one are EAUTH', () => {
  const { cli, srv } = ctxs();
  const { server, client } = configs({}, {});
  const st = oapClientPrepare(cli, client);
  oapServerProcess(srv, server, st.request);
  assert.throws(() => oapServerProcess(srv, server, st.request), { code: 'EAUTH', message: /replayed/ });
  // replays are refused before the (costly) certificate and signature checks
  assert.throws(() => oapServerProcess({ ...srv, trust: new TrustStore() }, server, st.request), { code: 'EAUTH', message: /replayed/ });
  const st2 = oapClientPrepare(cli, client);
  clock.advance(20_001);
  assert.throws(() => oapServerProcess(srv, server, st2.request), { code: 'EAUTH', message: /too old/ });
  assert.throws(() => oapServerProcess(srv, server, Buffer.alloc(35)), { code: 'EAUTH', message: /shorter than 36/ });
  assert.throws(() => oapServerProcess({ trust, clock }, server, oapClientPrepare(cli, client).request), { code: 'EAUTH', message: /replay protection/ });
});

test('size limit: ML-DSA-65 certificates with ML-KEM-1024 exceed a 10240-byte control message', () => {
  const pq = createTestCa({ dir: join(tmp, 'pq'), keyType: 'ml-dsa-65' });
  const enc = { ...DEFAULT_SEC_CONFIG, kex: KexNid.MLKEM1024 };
  const { cli } = ctxs();
  const client: OapClientConfig = { name: NAME, enc, credentials: creds(pq.make('c')) };
  assert.throws(() => oapClientPrepare(cli, client), { code: 'EMSGSIZE', message: /exceeds 10240/ });
  assert.ok(oapClientPrepare({ ...cli, maxSize: 16384 }, client).request.length > 10240);
});

test('costs of the blocking steps', (t) => {
  const measure = (label: string, s: Side, c: Side, n: number) => {
    run(s, c); // warm up
    let prep = 0;
    let proc = 0;
    let comp = 0;
    for (let i = 0; i < n; i++) {
      const { cli, srv } = ctxs();
      const { server, client } = configs(s, c);
      const t0 = performance.now();
      const st = oapClientPrepare(cli, client);
      const t1 = performance.now();
      const r = oapServerProcess(srv, server, st.request);
      const t2 = performance.now();
      oapClientComplete(cli, st, r.response);
      const t3 = performance.now();
      prep += t1 - t0;
      proc += t2 - t1;
      comp += t3 - t2;
    }
    const ms = (x: number) => (x / n).toFixed(2);
    t.diagnostic(`${label}: client prepare ${ms(prep)} ms, server process ${ms(proc)} ms, client complete ${ms(comp)} ms`);
  };
  measure('prime256v1 + ECDSA P-256', { enc: DEFAULT_SEC_CONFIG }, { enc: DEFAULT_SEC_CONFIG }, 20);
  measure('X25519, no certificates', { enc: { ...DEFAULT_SEC_CONFIG, kex: KexNid.X25519 }, auth: false }, { enc: { ...DEFAULT_SEC_CONFIG, kex: KexNid.X25519 }, auth: false }, 20);
  measure('X25519MLKEM768 + ECDSA', { enc: { ...DEFAULT_SEC_CONFIG, kex: KexNid.X25519MLKEM768 } }, { enc: { ...DEFAULT_SEC_CONFIG, kex: KexNid.X25519MLKEM768 } }, 10);
  measure('ffdhe4096, no certificates', { enc: { ...DEFAULT_SEC_CONFIG, kex: KexNid.FFDHE4096 }, auth: false }, { enc: { ...DEFAULT_SEC_CONFIG, kex: KexNid.FFDHE4096 }, auth: false }, 3);
  const pq = createTestCa({ dir: join(tmp, 'pq2'), keyType: 'ml-dsa-65' });
  trust.add(pq.root.certificate);
  const pqEnc = { ...DEFAULT_SEC_CONFIG, kex: KexNid.MLKEM768 };
  measure('ML-KEM-768 + ML-DSA-65 both ways', { enc: pqEnc, auth: pq.make(NAME) }, { enc: pqEnc, auth: pq.make('c') }, 5);
});
