/**
 * The compliance suite over a udp4 layer: two systems on loopback addresses
 * (TestNetwork), the client on one, the names registered on the other and
 * published in the layer's shared hosts file.
 */
import { TestNetwork } from '../helpers/network.js';
import { defineComplianceSuite, typedFactory } from './cases.js';

let seq = 0;

defineComplianceSuite(
  typedFactory('udp4', async () => {
    const net = await TestNetwork.udp4(['client', 'server']);
    return {
      type: 'udp4',
      client: net.sys('client'),
      server: net.sys('server'),
      async newName() {
        const name = `compliance.udp4.${seq++}`;
        await net.register('server', name);
        return name;
      },
      stop: () => net.stop(),
    };
  }),
);
