/** `irm flow list`: the flows of this system (an o7s extension; the reference has no such command). */
import type { FlowListEntry } from '../../lib/irm-api.js';
import { type Ctx, FAIL, OK, type Status } from './context.js';
import { matches } from './match.js';
import { rpad } from './table.js';
import { usage } from './usage.js';

const STATES = ['init', 'alloc-pending', 'accept-pending', 'allocated', 'dealloc-pending', 'deallocated', 'destroy', 'null'];

const BORDER = '+-------+-----------------+---------+---------+--------+----------------------+\n';

function row(id: string, state: string, nPid: string, n1Pid: string, via: string, name: string): string {
  return `| ${rpad(id, 5)} | ${rpad(state, 15)} | ${rpad(nPid, 7)} | ${rpad(n1Pid, 7)} | ${rpad(via, 6)} | ${rpad(name, 20)} |\n`;
}

/** The table: one row per flow; `via` is `direct` or `ipcp` (n_1_pid is then the peer process or the IPCP). */
export function flowTable(flows: readonly FlowListEntry[]): string {
  if (flows.length === 0) return 'No flows in system.\n\n';
  let s = BORDER + row('id', 'state', 'n_pid', 'n_1_pid', 'via', 'name') + BORDER;
  for (const f of flows) {
    s += row(String(f.id), STATES[f.state] ?? String(f.state), String(f.nPid), f.n1Pid ? String(f.n1Pid) : '-', f.direct ? 'direct' : 'ipcp', f.name || '-');
  }
  return s + BORDER + '\n';
}

export async function flowCmd(ctx: Ctx, args: string[]): Promise<Status> {
  const op = args[0];
  if (op === undefined || matches(op, 'help')) {
    ctx.print(usage.flow);
    return op === undefined ? FAIL : OK;
  }
  if (!matches(op, 'list') || args.length > 1) {
    ctx.print(usage.flow);
    return FAIL;
  }
  const api = await ctx.api();
  if (!api.listFlows) {
    ctx.warn('This IRMd cannot list flows.');
    return FAIL;
  }
  ctx.print(flowTable(await api.listFlows()));
  return OK;
}
