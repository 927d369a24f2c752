/** `irm unbind program|process|ipcp ...` */
import { type Ctx, FAIL, OK, type Status, describe } from './context.js';
import { matches } from './match.js';
import { usage } from './usage.js';
import { dispatch, ipcpNameOp, parseInteger, type Sub } from './util.js';

const SUBCOMMANDS: ReadonlyArray<[string, Sub]> = [
  ['program', unbindProgram],
  ['process', unbindProcess],
  ['ipcp', unbindIpcp],
  ['help', async (ctx) => (ctx.print(usage.unbind), OK)],
];

/** `irm unbind <what> ...` (args start after `unbind`; the sub-command word keys the first value). */
export function unbindCmd(ctx: Ctx, args: string[]): Promise<Status> {
  return dispatch(ctx, args, { name: 'unbind', usage: usage.unbind, subs: SUBCOMMANDS, keepOp: true });
}

const from = (name: string | undefined): string => (name === undefined ? '' : ` from ${name}`);

/** `irm unbind program <prog> [name <name>]` */
export async function unbindProgram(ctx: Ctx, words: string[]): Promise<Status> {
  if (words[1] === 'help') return ctx.print(usage.unbindProgram), OK;
  let name: string | undefined;
  let prog: string | undefined;
  for (let i = 0; i < words.length; i += 2) {
    const w = words[i]!;
    if (matches(w, 'name')) name = words[i + 1];
    else if (matches(w, 'program')) prog = words[i + 1];
    else {
      ctx.say(`"${w}" is unknown, try "irm unbind program".`);
      return FAIL;
    }
  }
  if (prog === undefined) {
    ctx.print(usage.unbindProgram);
    return FAIL;
  }
  const p = prog;
  const r = await ctx.call((api) => api.unbindProgram(p, name));
  if (!r.ok) {
    ctx.warn(`Failed to unbind program ${p}${from(name)}: ${describe(r.error)}.`);
    return FAIL;
  }
  return OK;
}

/** `irm unbind process <pid> [name <name>]` */
export async function unbindProcess(ctx: Ctx, words: string[]): Promise<Status> {
  if (words[1] === 'help') return ctx.print(usage.unbindProcess), OK;
  let pid = -1;
  let name: string | undefined;
  let i = 0;
  while (words.length - i > 1) {
    const w = words[i]!;
    const v = words[i + 1]!;
    if (matches(w, 'name')) {
      name = v;
    } else if (matches(w, 'process')) {
      const n = parseInteger(v);
      if (n === undefined) {
        ctx.say(`"${v}" is not a valid process id.`);
        return FAIL;
      }
      pid = n;
    } else {
      ctx.say(`"${w}" is unknown, try "irm unbind process".`);
      return FAIL;
    }
    i += 2;
  }
  if (pid < 0) {
    ctx.print(usage.unbindProcess);
    return FAIL;
  }
  const r = await ctx.call((api) => api.unbindProcess(pid, name));
  if (!r.ok) {
    ctx.warn(`Failed to unbind process ${pid}${from(name)}: ${describe(r.error)}.`);
    return FAIL;
  }
  return OK;
}

/** `irm unbind ipcp <ipcp> name <name>` */
export function unbindIpcp(ctx: Ctx, words: string[]): Promise<Status> {
  return ipcpNameOp(ctx, words, {
    usage: usage.unbindIpcp,
    retry: 'irm unbind ipcp',
    act: (api, pid, name) => api.unbindProcess(pid, name),
    failed: (ipcp, name) => `Failed to unbind IPCP ${ipcp} from ${name}`,
  });
}
