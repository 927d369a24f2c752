/**
 * Reliable flows over a link made lossy by the kernel (tc netem on a veth
 * pair between two network namespaces) instead of o7s's own udp options.
 * Needs the sch_netem kernel module: skipped, saying so, where it is missing.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsNetwork } from '../helpers/netns.js';
import type { Process } from '../../src/lib/index.js';
import { reliableTransfer } from '../helpers/transfer.js';

const skip = process.env.CI ? undefined : await NetnsNetwork.unavailable();
const netem = skip ? false : await NetnsNetwork.netemAvailable();
const why = skip ?? (netem ? undefined : 'tc netem is not available here (no sch_netem kernel module)');

describe('qos.data over a netem link (loss, duplication, reordering, corruption)', { skip: why, timeout: 180000 }, () => {
  let net: NetnsNetwork;
  before(async () => {
    net = await NetnsNetwork.create({
      systems: ['a', 'b'],
      family: 4,
      links: [['a', 'b', { netem: 'delay 1ms loss 10% duplicate 5% reorder 25% 50% corrupt 1%' }]],
    });
  });
  after(async () => {
    await net?.stop();
  });

  test('20 MB arrive complete, in order, intact (SHA-256)', async () => {
    const MB = Number(process.env.O7S_FRCT_MB ?? 20);
    await net.register('b', 'netem.sink');
    const procs: Process[] = [];
    try {
      const server = await net.sys('b').connect('netem-sink');
      procs.push(server);
      await net.sys('b').irm(['bind', 'process', String(process.pid), 'name', 'netem.sink']);
      const client = await net.sys('a').connect('netem-source');
      procs.push(client);
      const total = MB * 1024 * 1024;
      const t = await reliableTransfer(client, server, 'netem.sink', total);
      assert.equal(t.received, total);
      assert.equal(t.gotHash, t.sentHash);
      assert.ok((t.sender.stats.frct?.retransmitted ?? 0) > 0, 'netem losses were repaired');
    } finally {
      for (const p of procs) await p.close();
    }
  });
});
