/** Carries out the stanzas of an irmd.conf, in order, through the IRMd's own operations. */
import type { IrmdContext } from './context.js';
import type { ConfigStanza } from './config.js';
import { bundledTool } from './spawn.js';
import * as ipcp from './ops/ipcp.js';
import * as names from './ops/names.js';
import * as bind from './ops/bind.js';
import { resolveProgram } from '../lib/irm-client.js';
import { LoadBalance } from '../common/ipcp-types.js';
import { DT_COMP, MGMT_COMP } from '../lib/irm-api.js';
import { qos } from '../lib/qos.js';

/** A program named without a path: the bundled o7s tool of that name, else the first on PATH. */
function programPath(prog: string): string {
  if (!prog.includes('/')) {
    const tool = bundledTool(prog);
    if (tool) return tool;
  }
  return resolveProgram(prog);
}

export async function applyConfig(ctx: IrmdContext, stanzas: ConfigStanza[]): Promise<void> {
  for (const s of stanzas) {
    if (s.kind === 'name') {
      names.createName(ctx, s.name, s.lb, {
        serverEnc: s.paths.serverEnc,
        serverCrt: s.paths.serverCrt,
        serverKey: s.paths.serverKey,
        clientEnc: s.paths.clientEnc,
        clientCrt: s.paths.clientCrt,
        clientKey: s.paths.clientKey,
      });
      for (const p of s.progs) {
        bind.bindProgram(ctx, [programPath(p.prog), ...(p.args ?? [])], s.name, p.auto ? bind.BIND_AUTO : 0);
      }
      continue;
    }
    const pid = await ipcp.createIpcp(ctx, s.name, s.type);
    if (s.enrol !== undefined) await ipcp.enrollIpcp(ctx, pid, s.enrol);
    else if (s.bootstrap) await ipcp.bootstrapIpcp(ctx, pid, s.bootstrap);
    else continue;
    if (s.autobind && ctx.reg.procs.get(pid)) {
      const layer = ctx.reg.ipcps.get(pid)?.layer?.name;
      bind.bindProcess(ctx, pid, s.name);
      if (layer) bind.bindProcess(ctx, pid, layer);
    }
    for (const n of s.reg) {
      if (!ctx.reg.names.get(n)) names.createName(ctx, n, LoadBalance.SPILL);
      await names.regName(ctx, n, pid);
    }
    for (const dst of s.conn) {
      await ipcp.connectIpcp(ctx, pid, dst, MGMT_COMP, qos.raw);
      await ipcp.connectIpcp(ctx, pid, dst, DT_COMP, qos.raw);
    }
  }
}
