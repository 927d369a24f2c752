/**
 * Reliable flows across a unicast layer of three systems (two hops) whose
 * udp4 layer beneath loses, duplicates, reorders and corrupts packets: FRCT
 * end to end still delivers every byte, once, in order, intact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnicastNetwork } from '../helpers/unicast.js';
import { reliableTransfer } from '../helpers/transfer.js';

test('20 MB of qos.data across a 3-system unicast layer over udp4 with 10% loss, 5% duplication, reordering and 1% corruption per hop: all bytes, in order, intact', async () => {
  const MB = Number(process.env.O7S_FRCT_MB ?? 20);
  const net = await UnicastNetwork.build(['x', 'y', 'z'], [['y', 'x'], ['z', 'y']], {
    bootstrap: ['ls_t_recalc', '1', 'ls_t_update', '1', 'ls_t_timeo', '5'],
    udp: { extra: ['drop', '0.1', 'dup', '0.05', 'reorder', '0.05', 'corrupt', '0.01'] },
  });
  const server = await net.sys('z').connect('frct-sink');
  const client = await net.sys('x').connect('frct-source');
  try {
    await net.converged();
    await net.register('z', 'sink');
    await net.sys('z').irm(['bind', 'process', String(process.pid), 'name', 'sink']);
    await net.resolvable('x', 'sink', 60000); // DHT messages are lost too (19% over two hops)
    const total = MB * 1024 * 1024;
    const t = await reliableTransfer(client, server, 'sink', total);
    assert.equal(t.received, total, 'every byte arrived');
    assert.equal(t.gotHash, t.sentHash, 'in order and intact (SHA-256)');
    assert.ok((t.sender.stats.frct?.retransmitted ?? 0) > 0, 'losses were repaired by retransmission');
    // The data crossed y inside the unicast layer.
    assert.ok((await net.inspect('y')).counters.dt!.forwarded! > total / 1400);
  } finally {
    await client.close();
    await server.close();
    await net.stop();
  }
});
