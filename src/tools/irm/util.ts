/** Helpers shared by the `irm` commands. */
import type { IpcpListEntry, IrmApi } from '../../lib/irm-api.js';
import { matches } from './match.js';
import { IPCP_TYPE_NAMES, type IpcpType } from '../../common/ipcp-types.js';
import { type Ctx, describe } from './context.js';

/** True when the command was asked for its usage (`... help`). */
export function wantsHelp(args: readonly string[]): boolean {
  return args[0] === 'help';
}

/** Message for an IPCP type that o7s does not ship yet. */
export function notAvailable(ctx: Ctx, type: IpcpType): void {
  ctx.warn(`The ${IPCP_TYPE_NAMES[type]} IPCP type is not available in this version of o7s yet.`);
}

/** Lists the IPCPs, or prints why it could not and yields undefined. */
export async function listIpcps(ctx: Ctx): Promise<IpcpListEntry[] | undefined> {
  const r = await ctx.call((api) => api.listIpcps());
  if (!r.ok) {
    ctx.warn(`Failed to list IPCPs: ${describe(r.error)}.`);
    return undefined;
  }
  return r.value;
}

/** Strict decimal integer (what a pid argument must be), or undefined. */
export function parseInteger(s: string | undefined): number | undefined {
  if (s === undefined || !/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * `irm bind|unbind ipcp <ipcp> name <name>`: parses the words, finds the IPCP
 * by name (none: nothing to do, as the reference) and applies `act` to its pid.
 */
export async function ipcpNameOp(
  ctx: Ctx,
  words: string[],
  op: { usage: string; retry: string; act: (api: IrmApi, pid: number, name: string) => Promise<void>; failed: (ipcp: string, name: string) => string },
): Promise<0 | 1> {
  if (words[1] === 'help') return ctx.print(op.usage), 0;
  let ipcp: string | undefined;
  let name: string | undefined;
  for (let i = 0; i < words.length; i += 2) {
    const w = words[i]!;
    if (matches(w, 'name')) name = words[i + 1];
    else if (matches(w, 'ipcp')) ipcp = words[i + 1];
    else {
      ctx.say(`"${w}" is unknown, try "${op.retry}".`);
      return 1;
    }
  }
  if (ipcp === undefined || name === undefined) {
    ctx.print(op.usage);
    return 1;
  }
  const ipcps = await listIpcps(ctx);
  if (ipcps === undefined) return 1;
  const target = ipcps.find((p) => p.name === ipcp);
  if (target === undefined) return 0;
  const n = name;
  const r = await ctx.call((api) => op.act(api, target.pid, n));
  if (!r.ok) {
    ctx.warn(`${op.failed(ipcp, n)}: ${describe(r.error)}.`);
    return 1;
  }
  return 0;
}

export type Sub = (ctx: Ctx, words: string[]) => Promise<0 | 1>;

/**
 * Runs the sub-command of `irm <family> <op> ...` whose keyword `op` is a
 * prefix of. `keepOp`: hand `op` on with the arguments (bind/unbind, where it
 * keys the first value). No op: usage, failure; unknown op: a hint, failure.
 */
export async function dispatch(
  ctx: Ctx,
  args: string[],
  family: { name: string; usage: string; subs: ReadonlyArray<[string, Sub]>; keepOp?: boolean },
): Promise<0 | 1> {
  const op = args[0];
  if (op === undefined) {
    ctx.print(family.usage);
    return 1;
  }
  for (const [kw, fn] of family.subs) if (matches(op, kw)) return fn(ctx, family.keepOp ? args : args.slice(1));
  ctx.warn(`"${op}" is unknown, try "irm ${family.name} help".`);
  return 1;
}

