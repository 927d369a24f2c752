import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IrmdSecurity } from '../../../src/irmd/security.js';
import { createTestCa, writeCredentials, writeEncConf } from '../../../src/irmd/oap/testca.js';
import { OuroborosError } from '../../../src/common/errors.js';
import { silentLogger } from '../../../src/common/log.js';

const root = mkdtempSync(join(tmpdir(), 'o7s-irmdsec-'));
after(() => rmSync(root, { recursive: true, force: true }));

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof OuroborosError, String(e));
    return e.code;
  }
  return undefined;
}

test('the three steps with files read per call; the trust store follows cacert/ without a restart', () => {
  const cfg = join(root, 'a');
  const sec = new IrmdSecurity({ configDir: cfg, log: silentLogger });
  const dir = join(cfg, 'security');
  assert.equal(sec.trustStore().size, 0);

  // No files: unauthenticated, unencrypted.
  let st = sec.clientPrepare('n');
  let r = sec.serverProcess('n', undefined, st.request, 100);
  assert.equal(r.cipherNid, 0);
  assert.equal(sec.clientComplete(st, r.response).cipherNid, 0);

  // A server certificate from a CA the client system does not trust yet: the client refuses.
  const ca = createTestCa({ dir: join(root, 'ca') });
  writeCredentials(dir, 'server', 'n', ca.make('n'));
  st = sec.clientPrepare('n');
  r = sec.serverProcess('n', undefined, st.request, 100);
  assert.equal(code(() => sec.clientComplete(st, r.response)), 'ECRYPT');

  // Trust it: taken at the next allocation.
  mkdirSync(join(dir, 'cacert'), { recursive: true });
  writeFileSync(join(dir, 'cacert', 'ca.pem'), ca.root.certPem);
  assert.equal(sec.trustStore().size, 1);
  writeEncConf(dir, 'server', 'n', 'kex = X25519\n');
  writeEncConf(dir, 'client', 'n', 'kex = X25519\n');
  st = sec.clientPrepare('n');
  r = sec.serverProcess('n', undefined, st.request, 100);
  const c = sec.clientComplete(st, r.response);
  assert.equal(c.cipherNid, 901);
  assert.deepEqual(c.key, r.key);
  assert.equal(c.peerName, 'n');

  // The same request again is a replay.
  assert.equal(code(() => sec.serverProcess('n', undefined, st.request, 100)), 'EAUTH');
});

test('errors as the reference IRMd reports them', () => {
  const cfg = join(root, 'b');
  const dir = join(cfg, 'security');
  const sec = new IrmdSecurity({ configDir: cfg, log: silentLogger });
  writeEncConf(dir, 'client', 'bad', 'cipher = rot13\n');
  assert.equal(code(() => sec.clientPrepare('bad')), 'EBADF');

  // The server requires encryption, the client offers none: ECRYPT.
  writeEncConf(dir, 'server', 'enc', 'kex = prime256v1\n');
  assert.equal(code(() => sec.serverProcess('enc', undefined, sec.clientPrepare('enc').request, 100)), 'ECRYPT');

  // A server key file that does not load: EAUTH.
  writeFileSync(join(root, 'junk.pem'), 'not a key');
  const ca = createTestCa({ dir: join(root, 'ca2') });
  writeCredentials(dir, 'server', 'keyless', ca.make('keyless'));
  const req = sec.clientPrepare('keyless').request;
  assert.equal(code(() => sec.serverProcess('keyless', { skeypath: join(root, 'junk.pem') }, req, 100)), 'EAUTH');

  // Garbage instead of a request: EAUTH.
  assert.equal(code(() => sec.serverProcess('x', undefined, Buffer.from('hello'), 100)), 'EAUTH');
});

test('a request older than the window is refused, unless the layer lives longer (its MPL)', () => {
  let now = Date.now();
  const clock = { now: () => now, wallNow: () => now, after: () => ({ cancel() {} }), every: () => ({ cancel() {} }) };
  const sec = new IrmdSecurity({ configDir: join(root, 'c'), log: silentLogger, clock });
  const old = sec.clientPrepare('n');
  now += 25_000;
  assert.equal(code(() => sec.serverProcess('n', undefined, old.request, 100)), 'EAUTH');
  const r = sec.serverProcess('n', undefined, old.request, 60_000);
  assert.equal(r.cipherNid, 0);
});
