/**
 * The compliance suite over a local layer: one system, client and server on
 * it, the names registered in the layer `lo`. The suite makes the server
 * accept only after the allocation reached irmd through the local IPCP, and
 * checks that irmd never handed out a direct flow for these names.
 */
import { TestSystem } from '../helpers/system.js';
import { defineComplianceSuite, typedFactory } from './cases.js';

let seq = 0;

defineComplianceSuite(
  typedFactory('local', async () => {
    const sys = await TestSystem.start();
    try {
      await sys.localLayer('lo', 'lo');
    } catch (e) {
      await sys.stop();
      throw e;
    }
    return {
      type: 'local',
      client: sys,
      server: sys,
      async newName() {
        const name = `compliance.local.${seq++}`;
        await sys.irm(['name', 'create', name]);
        await sys.irm(['name', 'register', name, 'layer', 'lo']);
        return name;
      },
      stop: () => sys.stop(),
    };
  }),
);
