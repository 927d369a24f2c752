/**
 * The compliance suite over a unicast layer: two systems whose unicast IPCPs
 * are connected over a udp4 layer (UnicastNetwork), the client on one, the
 * names registered in the unicast layer on the other (found through its DHT).
 */
import { UnicastNetwork } from '../helpers/unicast.js';
import { defineComplianceSuite, typedFactory } from './cases.js';

let seq = 0;

defineComplianceSuite(
  typedFactory('unicast', async () => {
    const net = await UnicastNetwork.build(['client', 'server'], [['client', 'server']]);
    await net.converged();
    return {
      type: 'unicast',
      client: net.sys('client'),
      server: net.sys('server'),
      async newName() {
        const name = `compliance.unicast.${seq++}`;
        await net.register('server', name);
        await net.resolvable('client', name);
        return name;
      },
      stop: () => net.stop(),
    };
  }),
);
