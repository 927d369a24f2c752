import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnicastNetwork } from '../helpers/unicast.js';
import { until } from '../helpers/system.js';

test('broadcast: three systems, obc messages reach every member', async () => {
  const net = await UnicastNetwork.build(['b1', 'b2', 'b3'], [['b2', 'b1'], ['b3', 'b1']], { type: 'broadcast', layer: 'bc' });
  try {
    const readers = ['b2', 'b3', 'b1'].map((n) => net.sys(n).spawn('obc', ['-l', '-n', 'bc']));
    for (const r of readers) await r.waitFor(/New flow\./);
    const w = await net.sys('b2').run('obc', ['-n', 'bc', '-m', 'hello from b2']);
    assert.equal(w.code, 0, w.stdout + w.stderr);
    const d = await net.sys('b3').run('obc', ['-n', 'bc']);
    assert.equal(d.code, 0);
    // Every joined flow but the writer's own gets each message once, across the tree b2 - b1 - b3.
    for (const r of readers) {
      await r.waitFor(/Message is hello from b2\./);
      await r.waitFor(/Message is Ouroboros multicast rocks!\./);
    }
    for (const r of readers) assert.equal(r.out.match(/Message is/g)?.length, 2, r.out);
    const s = await net.inspect('b1');
    assert.equal(s.neighbours.length, 3, JSON.stringify(s.neighbours));
  } finally {
    await net.stop();
  }
});

test('obc without a broadcast layer says so', async () => {
  const net = await UnicastNetwork.build(['x'], [], { type: 'broadcast', layer: 'bcx' });
  try {
    const r = await net.sys('x').run('obc', ['-n', 'nolayer']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /Failed to join broadcast\./);
    const u = await net.sys('x').run('obc', []);
    assert.equal(u.code, 1);
    assert.match(u.stdout, /Please specify a name\./);
  } finally {
    await net.stop();
  }
});
