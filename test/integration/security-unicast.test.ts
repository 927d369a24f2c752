/**
 * OAP through a unicast layer (over udp4): the request and the response
 * travel in the flow allocator's FLOW_REQ / FLOW_REPLY; an authenticated,
 * encrypted oping across, and the refusal of a client that offers no
 * encryption to a server that requires it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnicastNetwork } from '../helpers/unicast.js';
import type { Child } from '../helpers/system.js';
import { createTestCa, writeCredentials, writeEncConf } from '../../src/irmd/oap/testca.js';

const NAME = 'pong.sec';

describe('secure flows through a unicast layer', { timeout: 120_000 }, () => {
  let root: string;
  let net: UnicastNetwork;
  let server: Child;
  const cfg = (n: string) => join(root, n);
  const sec = (n: string) => join(root, n, 'security');

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'o7s-secu-'));
    const ca = createTestCa({ dir: sec('a') });
    cpSync(join(sec('a'), 'cacert'), join(sec('b'), 'cacert'), { recursive: true });
    writeCredentials(sec('b'), 'server', NAME, ca.make(NAME));
    writeCredentials(sec('a'), 'client', NAME, ca.make('pong.client'));
    writeEncConf(sec('b'), 'server', NAME, 'kex = X25519\n');
    writeEncConf(sec('a'), 'client', NAME, 'kex = X25519\ncipher = chacha20-poly1305\n');
    net = await UnicastNetwork.build(['a', 'b'], [['a', 'b']], { udp: { system: (n) => ({ args: ['--config-dir', cfg(n)] }) } });
    await net.converged();
    await net.register('b', NAME);
    const b = net.sys('b');
    server = b.spawn('oping', ['-l']);
    await server.waitFor(/server started/);
    await b.irm(['bind', 'process', String(server.pid), 'name', NAME]);
  });

  after(async () => {
    await net?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('an authenticated, encrypted oping across the layer', async () => {
    const r = await net.sys('a').run('oping', ['-n', NAME, '-c', '3', '-i', '10']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /3 packets transmitted, 3 received/);
    assert.match(net.sys('b').log, /OAP request processed for pong\.sec \(client pong\.client\), encrypted/);
  });

  test('the server requires encryption, the client offers none: ECRYPT on both sides', async () => {
    writeEncConf(sec('a'), 'client', NAME, 'none\n');
    const from = server.out.length;
    const r = await net.sys('a').run('oping', ['-n', NAME, '-c', '1']);
    assert.notEqual(r.code, 0, r.stdout + r.stderr);
    await server.waitFor(/Failed to accept flow: -1008/, 10_000, from);
    assert.match(net.sys('a').log, /Allocation rejected: pong\.sec \(-1008\)/);
  });
});
