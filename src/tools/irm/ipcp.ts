/** `irm ipcp ...`: create, destroy, list, connect, disconnect, and the dispatcher. */
import { DT_COMP, MGMT_COMP } from '../../lib/irm-api.js';
import { ipcpTypeByName, isBuilt } from '../../common/ipcp-types.js';
import { qos as QOS, qosByName, type QosSpec } from '../../lib/qos.js';
import { type Ctx, FAIL, OK, type Status, describe } from './context.js';
import { matches, pick, wildcardMatch } from './match.js';
import { ipcpTable } from './table.js';
import { usage } from './usage.js';
import { ipcpBootstrap } from './bootstrap.js';
import { ipcpEnroll } from './enroll.js';
import { ipcpInspect } from './inspect.js';
import { dispatch, listIpcps, notAvailable, wantsHelp, type Sub } from './util.js';

const SUBCOMMANDS: ReadonlyArray<[string, Sub]> = [
  ['create', ipcpCreate],
  ['destroy', ipcpDestroy],
  ['bootstrap', ipcpBootstrap],
  ['enroll', ipcpEnroll],
  ['connect', ipcpConnect],
  ['disconnect', ipcpDisconnect],
  ['list', ipcpList],
  ['inspect', ipcpInspect],
  ['help', async (ctx) => (ctx.print(usage.ipcp), OK)],
];

/** `irm ipcp <op> args...` (args start after `ipcp`). */
export function ipcpCmd(ctx: Ctx, args: string[]): Promise<Status> {
  return dispatch(ctx, args, { name: 'ipcp', usage: usage.ipcp, subs: SUBCOMMANDS });
}

/** `irm ipcp create name <ipcp> type <type>` */
export async function ipcpCreate(ctx: Ctx, args: string[]): Promise<Status> {
  if (wantsHelp(args)) return ctx.print(usage.ipcpCreate), OK;
  let typeStr: string | undefined;
  let name: string | undefined;
  for (let i = 0; i < args.length; i += 2) {
    const key = pick(args[i]!, ['type', 'name'] as const);
    if (key === undefined) {
      ctx.say(`"${args[i]}" is unknown, try "irm ipcp create".`);
      return FAIL;
    }
    if (key === 'type') typeStr = args[i + 1];
    else name = args[i + 1];
  }
  if (typeStr === undefined || name === undefined) {
    ctx.print(usage.ipcpCreate);
    return FAIL;
  }
  const type = ipcpTypeByName(typeStr);
  if (type === undefined) {
    ctx.say(`IPCP type "${typeStr}" is unknown.`);
    ctx.print(usage.ipcpCreate);
    return FAIL;
  }
  if (!isBuilt(type)) {
    notAvailable(ctx, type);
    return FAIL;
  }
  const ipcp = name;
  const r = await ctx.call((api) => api.createIpcp(ipcp, type));
  if (!r.ok) {
    ctx.warn(`Failed to create IPCP "${ipcp}" of type ${typeStr}: ${describe(r.error)}.`);
    return FAIL;
  }
  return OK;
}

/** `irm ipcp destroy name <ipcp>` */
export async function ipcpDestroy(ctx: Ctx, args: string[]): Promise<Status> {
  if (wantsHelp(args)) return ctx.print(usage.ipcpDestroy), OK;
  let name: string | undefined;
  for (let i = 0; i < args.length; i += 2) {
    if (!matches(args[i]!, 'name')) {
      ctx.say(`"${args[i]}" is unknown, try "irm ipcp destroy".`);
      return FAIL;
    }
    name = args[i + 1];
  }
  if (name === undefined) {
    ctx.print(usage.ipcpDestroy);
    return FAIL;
  }
  const ipcps = await listIpcps(ctx);
  if (ipcps === undefined) return FAIL;
  if (ipcps.length === 0) {
    ctx.warn(`No IPCP named "${name}" found.`);
    return FAIL;
  }
  const target = ipcps.find((i) => i.name === name);
  if (target === undefined) return OK;
  const r = await ctx.call((api) => api.destroyIpcp(target.pid));
  if (!r.ok) {
    ctx.warn(`Failed to destroy IPCP "${name}": ${describe(r.error)}.`);
    return FAIL;
  }
  return OK;
}

/** `irm ipcp list [name <n>] [type <t>]` (the filters are checked, then ignored, as in the reference). */
export async function ipcpList(ctx: Ctx, args: string[]): Promise<Status> {
  if (wantsHelp(args)) return ctx.print(usage.ipcpList), OK;
  let typeStr: string | undefined;
  for (let i = 0; i < args.length; i += 2) {
    const key = pick(args[i]!, ['type', 'name'] as const);
    if (key === undefined) {
      ctx.say(`"${args[i]}" is unknown, try "irm ipcp list".`);
      return FAIL;
    }
    if (key === 'type') typeStr = args[i + 1];
  }
  if (typeStr !== undefined && ipcpTypeByName(typeStr) === undefined) {
    ctx.print(usage.ipcpList);
    return FAIL;
  }
  const ipcps = await listIpcps(ctx);
  if (ipcps === undefined) return FAIL;
  ctx.print(ipcpTable(ipcps));
  return OK;
}

interface ConnArgs {
  name: string;
  dst: string;
  comp: string;
  qos: string | undefined;
}

/** Parses connect/disconnect arguments; 'unknown' was already reported, 'usage' is still to print. */
function parseConnArgs(ctx: Ctx, args: string[], withQos: boolean, cmd: string): ConnArgs | 'unknown' | 'usage' {
  let name: string | undefined;
  let dst: string | undefined;
  let comp: string | undefined = '*';
  let qos: string | undefined;
  const keys = withQos ? (['name', 'dst', 'component', 'qos'] as const) : (['name', 'dst', 'component'] as const);
  for (let i = 0; i < args.length; i += 2) {
    const key = pick(args[i]!, keys);
    if (key === undefined) {
      ctx.say(`"${args[i]}" is unknown, try "irm ipcp ${cmd}".`);
      return 'unknown';
    }
    const v = args[i + 1];
    if (key === 'name') name = v;
    else if (key === 'dst') dst = v;
    else if (key === 'component') comp = v;
    else qos = v;
  }
  if (name === undefined || dst === undefined || comp === undefined) return 'usage';
  return { name, dst, comp, qos };
}

async function findPid(ctx: Ctx, name: string): Promise<number | undefined> {
  const ipcps = await listIpcps(ctx);
  if (ipcps === undefined) return undefined;
  let pid: number | undefined;
  for (const i of ipcps) if (i.name === name) pid = i.pid;
  if (pid === undefined) ctx.warn(`No IPCP named "${name}" found.`);
  return pid;
}

/** `irm ipcp connect name <ipcp> dst <dst> [component dt|mgmt] [qos <cube>]` */
export async function ipcpConnect(ctx: Ctx, args: string[]): Promise<Status> {
  if (wantsHelp(args)) return ctx.print(usage.ipcpConnect), OK;
  const a = parseConnArgs(ctx, args, true, 'connect');
  if (a === 'unknown') return FAIL;
  if (a === 'usage') {
    ctx.print(usage.ipcpConnect);
    return FAIL;
  }
  let qs: QosSpec = QOS.raw;
  if (a.qos !== undefined) {
    const q = qosByName(a.qos);
    if (q === undefined) ctx.say('Unknown QoS cube, defaulting to raw.');
    else qs = q;
  }
  const mgmt = wildcardMatch(a.comp, 'mgmt');
  const dt = wildcardMatch(a.comp, 'dt');
  if (!mgmt && !dt) {
    ctx.print(usage.ipcpConnect);
    return FAIL;
  }
  const pid = await findPid(ctx, a.name);
  if (pid === undefined) return FAIL;
  const steps: Array<[string, QosSpec]> = [];
  if (mgmt) steps.push([MGMT_COMP, QOS.raw]);
  if (dt) steps.push([DT_COMP, qs]);
  for (const [component, q] of steps) {
    const r = await ctx.call((api) => api.connectIpcp(pid, a.dst, component, q));
    if (!r.ok) {
      ctx.warn(`Failed to connect IPCP "${a.name}" to "${a.dst}" (${component}): ${describe(r.error)}.`);
      return FAIL;
    }
  }
  return OK;
}

/** `irm ipcp disconnect name <ipcp> dst <dst> [component dt|mgmt]` */
export async function ipcpDisconnect(ctx: Ctx, args: string[]): Promise<Status> {
  if (wantsHelp(args)) return ctx.print(usage.ipcpDisconnect), OK;
  const a = parseConnArgs(ctx, args, false, 'disconnect');
  if (a === 'unknown') return FAIL;
  if (a === 'usage') {
    ctx.print(usage.ipcpDisconnect);
    return FAIL;
  }
  const dt = wildcardMatch(a.comp, 'dt');
  const mgmt = wildcardMatch(a.comp, 'mgmt');
  if (!mgmt && !dt) {
    ctx.print(usage.ipcpDisconnect);
    return FAIL;
  }
  const pid = await findPid(ctx, a.name);
  if (pid === undefined) return FAIL;
  const comps: string[] = [];
  if (dt) comps.push(DT_COMP);
  if (mgmt) comps.push(MGMT_COMP);
  for (const component of comps) {
    const r = await ctx.call((api) => api.disconnectIpcp(pid, a.dst, component));
    if (!r.ok) {
      ctx.warn(`Failed to disconnect IPCP "${a.name}" from "${a.dst}" (${component}): ${describe(r.error)}.`);
      return FAIL;
    }
  }
  return OK;
}
