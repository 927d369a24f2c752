/** `irm name create|destroy|register|unregister|list ...` */
import { realpath } from 'node:fs/promises';
import type { IpcpListEntry, NameInfo } from '../../lib/irm-api.js';
import { LoadBalance } from '../../common/ipcp-types.js';
import { type Ctx, FAIL, OK, type Status, describe } from './context.js';
import { matches, pick, selects } from './match.js';
import { nameTable } from './table.js';
import { MAX_IPCPS, MAX_LAYERS, NAME_PATH_SIZE, NAME_SIZE, usage } from './usage.js';
import { dispatch, type Sub } from './util.js';

const SUBCOMMANDS: ReadonlyArray<[string, Sub]> = [
  ['create', nameCreate],
  ['destroy', nameDestroy],
  ['register', nameRegister],
  ['unregister', nameUnregister],
  ['list', nameList],
  ['help', async (ctx) => (ctx.print(usage.name), OK)],
];

/** `irm name <op> args...` (args start after `name`). */
export function nameCmd(ctx: Ctx, args: string[]): Promise<Status> {
  return dispatch(ctx, args, { name: 'name', usage: usage.name, subs: SUBCOMMANDS });
}

/** `help` as the only argument (the first argument is otherwise the name). */
function onlyHelp(args: readonly string[]): boolean {
  return args.length === 1 && args[0] === 'help';
}

const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
};

function strerror(e: unknown): string {
  const code = (e as { code?: string } | null)?.code;
  if (code !== undefined && STRERROR[code] !== undefined) return STRERROR[code];
  return e instanceof Error ? e.message : String(e);
}

const PATH_KEYS = ['sencpath', 'scrtpath', 'skeypath', 'cencpath', 'ccrtpath', 'ckeypath'] as const;
type PathKey = (typeof PATH_KEYS)[number];

/**
 * `irm name create <name> [lb round-robin|spillover] [sencpath p] [scrtpath p] [skeypath p]
 * [cencpath p] [ccrtpath p] [ckeypath p]`. The reference checks the
 * encryption config paths but cannot send them (its message has no field for
 * them); o7s sends them in extension fields, so they take effect.
 */
export async function nameCreate(ctx: Ctx, args: string[]): Promise<Status> {
  if (onlyHelp(args)) return ctx.print(usage.nameCreate), OK;
  const name = args[0];
  let lb = 'round-robin';
  const paths: Partial<Record<PathKey, string>> = {};
  for (let i = 1; i < args.length; i += 2) {
    const key = pick(args[i]!, ['lb', ...PATH_KEYS] as const);
    if (key === undefined) {
      ctx.say(`"${args[i]}" is unknown, try "irm name create".`);
      return FAIL;
    }
    const value = args[i + 1];
    if (value === undefined) {
      ctx.print(usage.nameCreate);
      return FAIL;
    }
    if (key === 'lb') lb = value;
    else paths[key] = value;
  }
  if (name === undefined) {
    ctx.print(usage.nameCreate);
    return FAIL;
  }
  if (Buffer.byteLength(name) > NAME_SIZE) {
    ctx.say('Name too long.');
    ctx.print(usage.nameCreate);
    return FAIL;
  }
  const real: Partial<Record<PathKey, string>> = {};
  for (const key of PATH_KEYS) {
    const p = paths[key];
    if (p === undefined) continue;
    let rp: string;
    try {
      rp = await realpath(p);
    } catch (e) {
      ctx.say(`Failed to check path ${p}: ${strerror(e)}.`);
      ctx.print(usage.nameCreate);
      return FAIL;
    }
    if (Buffer.byteLength(rp) > NAME_PATH_SIZE) {
      ctx.say(`File path too long: ${rp}.`);
      ctx.print(usage.nameCreate);
      return FAIL;
    }
    real[key] = rp;
  }
  let pol: LoadBalance;
  if (lb === 'round-robin') pol = LoadBalance.ROUND_ROBIN;
  else if (lb === 'spillover') pol = LoadBalance.SPILL;
  else {
    ctx.print(usage.nameCreate);
    return FAIL;
  }
  const info: NameInfo = { name, lb: pol };
  if (real.skeypath !== undefined) info.skey = real.skeypath;
  if (real.scrtpath !== undefined) info.scrt = real.scrtpath;
  if (real.ckeypath !== undefined) info.ckey = real.ckeypath;
  if (real.ccrtpath !== undefined) info.ccrt = real.ccrtpath;
  if (real.sencpath !== undefined) info.senc = real.sencpath;
  if (real.cencpath !== undefined) info.cenc = real.cencpath;
  const r = await ctx.call((api) => api.createName(info));
  if (!r.ok) {
    ctx.warn(`Failed to create name ${name}: ${describe(r.error)}.`);
    return FAIL;
  }
  return OK;
}

/** `irm name destroy <name>` */
export async function nameDestroy(ctx: Ctx, args: string[]): Promise<Status> {
  if (onlyHelp(args)) return ctx.print(usage.nameDestroy), OK;
  const name = args[0];
  if (args.length > 1) {
    ctx.say(`"${args[1]}" is unknown, try "irm name destroy".`);
    return FAIL;
  }
  if (name === undefined) {
    ctx.print(usage.nameDestroy);
    return FAIL;
  }
  const r = await ctx.call((api) => api.destroyName(name));
  if (!r.ok) {
    ctx.warn(`Failed to destroy name ${name}: ${describe(r.error)}.`);
    return FAIL;
  }
  return OK;
}

interface RegArgs {
  name: string;
  layers: string[];
  ipcps: string[];
}

function parseRegArgs(ctx: Ctx, args: string[], cmd: 'register' | 'unregister'): RegArgs | undefined {
  const text = cmd === 'register' ? usage.nameRegister : usage.nameUnregister;
  const name = args[0];
  const layers: string[] = [];
  const ipcps: string[] = [];
  for (let i = 1; i < args.length; i += 2) {
    const key = pick(args[i]!, ['layer', 'ipcp'] as const);
    if (key === undefined) {
      ctx.say(`"${args[i]}" is unknown, try "irm name ${cmd}".`);
      return undefined;
    }
    const value = args[i + 1];
    if (value === undefined) {
      ctx.print(text);
      return undefined;
    }
    if (key === 'layer') {
      layers.push(value);
      if (layers.length > MAX_LAYERS) {
        ctx.say('Too many layers specified.');
        return undefined;
      }
    } else {
      ipcps.push(value);
      if (ipcps.length > MAX_IPCPS) {
        ctx.say('Too many IPCPs specified.');
        return undefined;
      }
    }
  }
  if ((layers.length < 1 && ipcps.length < 1) || name === undefined) {
    ctx.print(text);
    return undefined;
  }
  return { name, layers, ipcps };
}

/** Which IPCPs a register/unregister applies to, each once, with what selected it. */
function selectIpcps(all: readonly IpcpListEntry[], a: RegArgs): Array<[IpcpListEntry, string]> {
  const out: Array<[IpcpListEntry, string]> = [];
  for (const ipcp of all) {
    if (a.layers.some((l) => selects(l, ipcp.layer))) out.push([ipcp, ipcp.layer]);
    else if (a.ipcps.some((p) => selects(p, ipcp.name))) out.push([ipcp, ipcp.name]);
  }
  return out;
}

/**
 * `irm name register <name> (ipcp <ipcp>)* (layer <layer>)*`: creates the
 * name (spillover) if needed, then registers it with every IPCP whose name or
 * layer matches a pattern.
 */
export async function nameRegister(ctx: Ctx, args: string[]): Promise<Status> {
  if (onlyHelp(args)) return ctx.print(usage.nameRegister), OK;
  const a = parseRegArgs(ctx, args, 'register');
  if (a === undefined) return FAIL;
  if (Buffer.byteLength(a.name) > NAME_SIZE) {
    ctx.say('Name too long.');
    ctx.print(usage.nameRegister);
    return FAIL;
  }
  const ipcps = await ctx.call((api) => api.listIpcps());
  if (!ipcps.ok || ipcps.value.length === 0) {
    ctx.say('Failed to list IPCPs.');
    return FAIL;
  }
  const names = await ctx.call((api) => api.listNames());
  if (!names.ok) {
    ctx.say('Failed to list names.');
    return FAIL;
  }
  if (!names.value.some((n) => n.name === a.name)) {
    const r = await ctx.call((api) => api.createName({ name: a.name, lb: LoadBalance.SPILL }));
    if (!r.ok) {
      ctx.say('Error creating name.');
      return FAIL;
    }
  }
  for (const [ipcp, via] of selectIpcps(ipcps.value, a)) {
    const r = await ctx.call((api) => api.regName(a.name, ipcp.pid));
    if (!r.ok) {
      ctx.say(`Failed to register with ${via}.`);
      return FAIL;
    }
  }
  return OK;
}

/** `irm name unregister <name> (ipcp <ipcp>)* (layer <layer>)*` */
export async function nameUnregister(ctx: Ctx, args: string[]): Promise<Status> {
  if (onlyHelp(args)) return ctx.print(usage.nameUnregister), OK;
  const a = parseRegArgs(ctx, args, 'unregister');
  if (a === undefined) return FAIL;
  const ipcps = await ctx.call((api) => api.listIpcps());
  if (!ipcps.ok) {
    ctx.warn(`Failed to list IPCPs: ${describe(ipcps.error)}.`);
    return FAIL;
  }
  for (const [ipcp, via] of selectIpcps(ipcps.value, a)) {
    const r = await ctx.call((api) => api.unregName(a.name, ipcp.pid));
    if (!r.ok) {
      ctx.warn(`Failed to unregister ${a.name} from ${via}: ${describe(r.error)}.`);
      return FAIL;
    }
  }
  return OK;
}

/**
 * `irm name list [list <filter>]`: the first `list` is the sub-command, so a
 * filter needs a second one; a name is shown when it is a prefix of the
 * filter (both as the reference).
 */
export async function nameList(ctx: Ctx, args: string[]): Promise<Status> {
  if (args[0] === 'help') return ctx.print(usage.nameList), OK;
  let filter: string | undefined;
  for (let i = 0; i < args.length; i += 2) {
    if (!matches(args[i]!, 'list')) {
      ctx.say(`"${args[i]}" is unknown, try "irm name list".`);
      return FAIL;
    }
    filter = args[i + 1];
  }
  const r = await ctx.call((api) => api.listNames());
  if (!r.ok) {
    ctx.warn(`Failed to list names: ${describe(r.error)}.`);
    return FAIL;
  }
  ctx.print(nameTable(r.value, filter));
  return OK;
}
