/** The reference tutorial, with a local IPCP, driven through the real irm and oping binaries. */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { TestSystem } from '../helpers/system.js';

let sys: TestSystem;
before(async () => {
  sys = await TestSystem.start();
});
after(async () => {
  await sys?.stop();
});

test('tutorial: bootstrap a local layer, register a name, ping a bound server', async () => {
  await sys.irm(['ipcp', 'bootstrap', 'type', 'local', 'name', 'lo', 'layer', 'lo']);
  await sys.irmd.waitFor(/Bootstrapped IPCP \d+\./);
  const list = await sys.irm(['ipcp', 'list']);
  assert.match(list.stdout, /\|\s+\d+ \|\s+lo \|\s+local \|\s+lo \|/);

  await sys.irm(['name', 'create', 'my.oping.server']);
  await sys.irm(['name', 'register', 'my.oping.server', 'layer', 'lo']);
  await sys.irmd.waitFor(/Registered my\.oping\.server with IPCP \d+ as [0-9a-f]{8}\./);

  const server = sys.spawn('oping', ['-l']);
  await server.waitFor(/Ouroboros ping server started\./);
  await sys.irm(['bind', 'process', String(server.pid), 'name', 'my.oping.server']);
  await sys.irmd.waitFor(new RegExp(`Bound process ${server.pid} to name my\\.oping\\.server\\.`));

  const r = await sys.run('oping', ['-n', 'my.oping.server', '-c', '3', '-i', '50']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Pinging my\.oping\.server with 64 bytes of data \(3 packets\):/);
  for (let seq = 0; seq < 3; seq++) assert.match(r.stdout, new RegExp(`64 bytes from my\\.oping\\.server: seq=${seq} time=\\d+\\.\\d{3} (ms|µs)`));
  assert.match(r.stdout, /3 packets transmitted, 3 received, 0 out-of-order, 0% packet loss/);
  assert.match(r.stdout, /rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms/);
  await server.waitFor(/New flow \d+\./);
});
