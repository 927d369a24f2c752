/**
 * The compliance suite over a udp6 layer: two systems in their own network
 * namespaces joined by a veth pair (NetnsNetwork, IPv6 fd00:R:1::1 and ::2),
 * the client on one, the names registered on the other and published in the
 * layer's shared hosts file. Skipped where network namespaces cannot be made
 * (not root, no `ip netns`).
 */
import { test } from 'node:test';
import { NetnsNetwork } from '../helpers/netns.js';
import { defineComplianceSuite } from './suite.js';
import { typedFactory } from './cases.js';

// In CI (root, iproute2 installed by .ci/run) namespaces must work: no skipping there.
const skip = process.env.CI ? undefined : await NetnsNetwork.unavailable();
let seq = 0;

if (skip) {
  test('compliance: udp6', { skip: `udp6 compliance needs network namespaces: ${skip}` }, () => {});
} else {
  defineComplianceSuite(
    typedFactory('udp6', async () => {
      const net = await NetnsNetwork.create({ systems: ['client', 'server'], family: 6, links: [['client', 'server']] });
      return {
        type: 'udp6',
        client: net.sys('client'),
        server: net.sys('server'),
        async newName() {
          const name = `compliance.udp6.${seq++}`;
          await net.register('server', name);
          return name;
        },
        stop: () => net.stop(),
      };
    }),
  );
}
