/** `irm ipcp enroll ...`: enrolls every matching IPCP (creating one first when none exists). */
import { IpcpType, isBuilt } from '../../common/ipcp-types.js';
import { type Ctx, FAIL, OK, type Status, describe } from './context.js';
import { pick, selects } from './match.js';
import { usage } from './usage.js';
import { listIpcps, notAvailable, wantsHelp } from './util.js';

const KEYS = ['name', 'type', 'layer', 'dst', 'autobind'] as const;

/** `irm ipcp enroll name <ipcp> [layer <layer>] [dst <dst>] [type unicast|broadcast] [autobind]` */
export async function ipcpEnroll(ctx: Ctx, args: string[]): Promise<Status> {
  if (wantsHelp(args)) return ctx.print(usage.ipcpEnroll), OK;
  let name: string | undefined;
  let layer: string | undefined;
  let dst: string | undefined;
  let typeStr = 'unicast';
  let autobind = false;
  let i = 0;
  while (i < args.length) {
    const key = pick(args[i]!, KEYS);
    if (key === undefined) {
      ctx.say(`"${args[i]}" is unknown, try "irm ipcp enroll".`);
      return FAIL;
    }
    if (key === 'autobind') {
      autobind = true;
      i += 1;
      continue;
    }
    const value = args[i + 1];
    i += 2;
    if (value === undefined) {
      ctx.print(usage.ipcpEnroll);
      return FAIL;
    }
    if (key === 'name') name = value;
    else if (key === 'type') typeStr = value;
    else if (key === 'layer') layer = value;
    else dst = value;
  }
  if ((layer === undefined && dst === undefined) || name === undefined) {
    ctx.print(usage.ipcpEnroll);
    return FAIL;
  }
  const pattern = name;
  const target = dst ?? layer!;
  let type: IpcpType;
  if (typeStr === 'unicast') type = IpcpType.UNICAST;
  else if (typeStr === 'broadcast') type = IpcpType.BROADCAST;
  else {
    ctx.say(`IPCP type "${typeStr}" is unknown.`);
    ctx.print(usage.ipcpEnroll);
    return FAIL;
  }

  let ipcps = await listIpcps(ctx);
  if (ipcps === undefined) return FAIL;
  const selected = () => ipcps!.filter((p) => p.type === type && selects(pattern, p.name));

  if (selected().length === 0) {
    if (!isBuilt(type)) {
      notAvailable(ctx, type);
      return FAIL;
    }
    const r = await ctx.call((api) => api.createIpcp(pattern, type));
    if (!r.ok) {
      ctx.warn(`Failed to create IPCP "${pattern}": ${describe(r.error)}.`);
      return FAIL;
    }
    ipcps = await listIpcps(ctx);
    if (ipcps === undefined) return FAIL;
  }

  for (const ipcp of selected()) {
    const { pid } = ipcp;
    const r = await ctx.call((api) => api.enrollIpcp(pid, target));
    if (!r.ok) {
      ctx.say('Failed to enroll IPCP.');
      return FAIL;
    }
    const now = await listIpcps(ctx);
    const entry = now?.find((p) => p.name === ipcp.name);
    if (entry === undefined) {
      ctx.say('Could not get layer name.');
      return FAIL;
    }
    const enrolled = entry.layer;
    if (layer !== undefined && enrolled !== layer) {
      ctx.say('Enrollment destination does not match requested layer.');
      return FAIL;
    }
    if (autobind) {
      for (const n of [ipcp.name, enrolled]) {
        const b = await ctx.call((api) => api.bindProcess(pid, n));
        if (!b.ok) {
          ctx.say(`Failed to bind ${pid} to ${n}.`);
          return FAIL;
        }
      }
    }
  }
  return OK;
}
