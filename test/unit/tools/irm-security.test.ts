import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runIrm } from '../../../src/tools/irm/cli.js';
import type { IrmApi } from '../../../src/lib/irm-api.js';
import { loadCredentials, loadTrustStore } from '../../../src/irmd/oap/auth.js';
import { loadEncConf } from '../../../src/lib/crypt/enc-conf.js';
import { loadKemPrivateKey } from '../../../src/lib/crypt/kex.js';

const root = mkdtempSync(join(tmpdir(), 'o7s-irmsec-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function irm(argv: string[]) {
  let out = '';
  let err = '';
  let connects = 0;
  const api = async (): Promise<IrmApi> => {
    connects++;
    throw new Error('irm security must not talk to the IRMd');
  };
  const code = await runIrm(argv, { api, out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err, connects };
}

test('ca, cert, enc, kem, show: files the IRMd loads, in its layout', async () => {
  const dir = join(root, 'security');
  let r = await irm(['security', 'cert', 'svc', 'dir', dir]);
  assert.equal(r.code, 1);
  assert.match(r.err, /No CA in/);

  r = await irm(['security', 'ca', 'dir', dir, 'cn', 'test-ca']);
  assert.equal(r.code, 0, r.err);
  assert.equal(statSync(join(dir, 'ca', 'ca.key.pem')).mode & 0o777, 0o600);
  r = await irm(['security', 'ca', 'dir', dir]);
  assert.equal(r.code, 1, 'an existing CA is kept unless forced');

  r = await irm(['s', 'cert', 'svc', 'dir', dir, 'days', '30']);
  assert.equal(r.code, 0, r.err);
  const trust = loadTrustStore(join(dir, 'cacert'));
  for (const role of ['server', 'client']) {
    const c = loadCredentials(join(dir, role, 'svc', 'crt.pem'), join(dir, role, 'svc', 'key.pem'))!;
    assert.equal(c.certificate.subjectCN, 'svc');
    trust.verify(c.certificate);
    assert.ok(c.certificate.notAfter.getTime() - Date.now() < 31 * 86_400_000);
  }
  r = await irm(['security', 'cert', 'other', 'role', 'server', 'type', 'ed25519', 'dir', dir]);
  assert.equal(r.code, 0, r.err);
  assert.ok(!existsSync(join(dir, 'client', 'other')));

  r = await irm(['security', 'enc', 'other', 'dir', dir, 'role', 'server']);
  assert.equal(r.code, 0);
  assert.equal(loadEncConf(join(dir, 'server', 'other', 'enc.conf')).kex, 415, 'no options: the defaults');
  assert.ok(!existsSync(join(dir, 'client', 'other', 'enc.conf')));
  r = await irm(['security', 'enc', 'svc', 'dir', dir, 'kex', 'X448', 'cipher', 'chacha20-poly1305']);
  assert.equal(r.code, 0, r.err);
  assert.equal(loadEncConf(join(dir, 'server', 'svc', 'enc.conf')).kex, 1035);
  r = await irm(['security', 'enc', 'svc', 'dir', dir, 'none', 'role', 'client']);
  assert.equal(readFileSync(join(dir, 'client', 'svc', 'enc.conf'), 'utf8'), 'none\n');
  r = await irm(['security', 'enc', 'svc', 'dir', dir, 'kex', 'rot13']);
  assert.equal(r.code, 1);
  assert.match(r.err, /rot13/);

  r = await irm(['security', 'kem', 'svc', 'kex', 'ML-KEM-768', 'dir', dir]);
  assert.equal(r.code, 0, r.err);
  loadKemPrivateKey(readFileSync(join(dir, 'server', 'svc', 'kex.key.pem')), false);
  assert.ok(existsSync(join(dir, 'client', 'svc', 'kex.srv.pub.pem')));
  assert.equal((await irm(['security', 'kem', 'svc', 'kex', 'X25519', 'dir', dir])).code, 1, 'not a KEM');

  r = await irm(['security', 'show', 'svc', 'dir', dir]);
  assert.equal(r.code, 0);
  assert.match(r.out, /server .*\n {2}certificate: CN svc/);
  assert.match(r.out, /enc\.conf: kex X448, cipher chacha20-poly1305/);
  assert.match(r.out, /client .*\n[^\n]*\n {2}enc\.conf: none \(encryption off\)/);
  assert.equal(r.connects, 0);
});

test('usage and bad input', async () => {
  assert.equal((await irm(['security'])).code, 1);
  assert.match((await irm(['security', 'help'])).out, /ca cert enc kem show/);
  assert.equal((await irm(['security', 'bogus'])).code, 1);
  assert.equal((await irm(['security', 'cert'])).code, 1);
  assert.equal((await irm(['security', 'cert', '../x', 'dir', root])).code, 1);
  assert.equal((await irm(['security', 'ca', 'dir', join(root, 'x'), 'type', 'rsa'])).code, 1);
  assert.equal((await irm(['security', 'ca', 'dir', join(root, 'y'), 'days', '0'])).code, 1);
  assert.equal((await irm(['security', 'cert', 'n', 'role', 'neither', 'dir', root])).code, 1);
});
