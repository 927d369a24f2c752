import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnicastNetwork } from '../helpers/unicast.js';

test('two systems: a unicast layer over udp4 carries oping', async () => {
  const net = await UnicastNetwork.build(['a', 'b'], [['a', 'b']]);
  try {
    await net.converged();
    await net.register('b', 'pong');
    const srv = net.sys('b').spawn('oping', ['-l', '-n', 'pong']);
    await srv.waitFor(/Ouroboros ping server started/);
    await net.sys('b').irm(['bind', 'process', String(srv.pid), 'name', 'pong']);
    const r = await net.sys('a').run('oping', ['-n', 'pong', '-c', '5', '-i', '10ms']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /5 packets transmitted, 5 received, 0% packet loss/);
  } finally {
    await net.stop();
  }
});
