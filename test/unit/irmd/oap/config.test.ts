import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadClientConfig,
  loadSecurityTrustStore,
  loadServerConfig,
  nameSecurity,
  SecurityCache,
  securityDirs,
} from '../../../../src/irmd/oap/config.js';
import { oapClientComplete, oapClientPrepare, oapServerProcess } from '../../../../src/irmd/oap/oap.js';
import { ReplayGuard } from '../../../../src/irmd/oap/replay.js';
import { createTestCa, writeEncConf, writeServerKemKey } from '../../../../src/irmd/oap/testca.js';
import { DEFAULT_SEC_CONFIG, NO_ENCRYPTION } from '../../../../src/lib/crypt/enc-conf.js';
import { CipherNid, KexNid } from '../../../../src/lib/crypt/nid.js';

const tmp = mkdtempSync(join(tmpdir(), 'o7s-seccfg-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('default paths under <config>/security and per-name overrides', () => {
  const dirs = securityDirs('/etc/ouroboros');
  assert.deepEqual(dirs, {
    root: '/etc/ouroboros/security',
    caDir: '/etc/ouroboros/security/cacert',
    untrustedDir: '/etc/ouroboros/security/untrusted',
    serverDir: '/etc/ouroboros/security/server',
    clientDir: '/etc/ouroboros/security/client',
  });
  const s = nameSecurity(dirs, 'oping');
  assert.deepEqual(s.server, {
    enc: '/etc/ouroboros/security/server/oping/enc.conf',
    crt: '/etc/ouroboros/security/server/oping/crt.pem',
    key: '/etc/ouroboros/security/server/oping/key.pem',
  });
  assert.deepEqual(s.client, {
    enc: '/etc/ouroboros/security/client/oping/enc.conf',
    crt: '/etc/ouroboros/security/client/oping/crt.pem',
    key: '/etc/ouroboros/security/client/oping/key.pem',
  });
  assert.equal(s.serverKemKey('raw'), '/etc/ouroboros/security/server/oping/kex.key.raw');
  assert.equal(s.clientKemServerPub('pem'), '/etc/ouroboros/security/client/oping/kex.srv.pub.pem');
  const o = nameSecurity(dirs, 'oping', { sencpath: '/a/enc', scrtpath: '/a/crt', skeypath: '/a/key', cencpath: '/b/enc', ccrtpath: '', ckeypath: '/b/key' });
  assert.deepEqual(o.server, { enc: '/a/enc', crt: '/a/crt', key: '/a/key' });
  assert.deepEqual(o.client, { enc: '/b/enc', crt: '/etc/ouroboros/security/client/oping/crt.pem', key: '/b/key' });
  assert.throws(() => nameSecurity(dirs, '../etc'), { code: 'EINVAL' });
});

test('a full exchange from files: CA store, credentials, enc.conf, static KEM keys', () => {
  const dirs = securityDirs(join(tmp, 'a'));
  const ca = createTestCa({ dir: dirs.root, intermediate: true });
  ca.issue('oping', { role: 'server' });
  ca.issue('oping', { role: 'client' });
  writeEncConf(dirs.root, 'server', 'oping', 'kex = X25519MLKEM768\nkem_mode = client\ncipher = aes-128-gcm\n');
  writeEncConf(dirs.root, 'client', 'oping', { ...DEFAULT_SEC_CONFIG, kex: KexNid.X25519MLKEM768, kemMode: 'client' });
  assert.deepEqual(writeServerKemKey(dirs.root, 'oping', 'X25519MLKEM768'), { ext: 'raw' });
  const trust = loadSecurityTrustStore(dirs);
  const sec = nameSecurity(dirs, 'oping');
  const cli = { trust };
  const srv = { trust, replay: new ReplayGuard() };
  const st = oapClientPrepare(cli, loadClientConfig(sec));
  const r = oapServerProcess(srv, loadServerConfig(sec), st.request);
  const f = oapClientComplete(cli, st, r.response);
  assert.equal(f.cipherNid, CipherNid.AES_256_GCM);
  assert.deepEqual(f.key, r.key);
  assert.equal(r.peerName, 'oping');
});

test('files are re-read on every allocation: enc.conf and credential changes apply without restart', () => {
  const dirs = securityDirs(join(tmp, 'b'));
  const ca = createTestCa({ dir: dirs.root });
  const sec = nameSecurity(dirs, 'svc');
  const cache = new SecurityCache();
  let cfg = loadServerConfig(sec, cache);
  assert.deepEqual(cfg.enc, NO_ENCRYPTION);
  assert.equal(cfg.credentials, undefined);
  writeEncConf(dirs.root, 'server', 'svc', '');
  ca.issue('svc', { role: 'server' });
  cfg = loadServerConfig(sec, cache);
  assert.deepEqual(cfg.enc, DEFAULT_SEC_CONFIG);
  const first = cfg.credentials!;
  assert.equal(first.certificate.subjectCN, 'svc');
  assert.equal(loadServerConfig(sec, cache).credentials, first, 'unchanged files come from the cache');
  writeEncConf(dirs.root, 'server', 'svc', 'none\n');
  ca.issue('svc', { role: 'server' }); // a new certificate and key
  const later = new Date(Date.now() + 5000);
  utimesSync(sec.server.crt, later, later);
  cfg = loadServerConfig(sec, cache);
  assert.deepEqual(cfg.enc, NO_ENCRYPTION);
  assert.notEqual(cfg.credentials, first);
  assert.notDeepEqual(cfg.credentials!.certificate.der, first.certificate.der);
});

test('errors: bad enc.conf is ECRYPT; bad credentials are EAUTH on the server and ECRYPT on the client', () => {
  const dirs = securityDirs(join(tmp, 'c'));
  const ca = createTestCa({ dir: dirs.root });
  const sec = nameSecurity(dirs, 'x');
  writeEncConf(dirs.root, 'server', 'x', 'cipher = des\n');
  assert.throws(() => loadServerConfig(sec), { code: 'ECRYPT', message: /enc\.conf:1: unknown cipher "des"/ });
  ca.issue('x', { role: 'server' });
  ca.issue('x', { role: 'client' });
  writeFileSync(sec.server.key, 'not a key');
  writeFileSync(sec.client.key, 'not a key');
  writeEncConf(dirs.root, 'server', 'x', '');
  assert.throws(() => loadServerConfig(sec), { code: 'EAUTH', message: /key\.pem/ });
  assert.throws(() => loadClientConfig(sec), { code: 'ECRYPT', message: /key\.pem/ });
  // a client in client-encapsulation mode without the server's public key file
  rmSync(sec.client.key);
  writeEncConf(dirs.root, 'client', 'x', 'kex = ML-KEM-768\nkem_mode = client\n');
  const cfg = loadClientConfig(sec);
  assert.throws(() => oapClientPrepare({ trust: loadSecurityTrustStore(dirs) }, cfg), { code: 'ECRYPT', message: /kex\.srv\.pub\.pem: missing/ });
});
