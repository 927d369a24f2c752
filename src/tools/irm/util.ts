/** Helpers shared by the `irm` commands. */
import type { IpcpListEntry } from '../../lib/irm-api.js';
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
