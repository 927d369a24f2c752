/** `irm bind program|process|ipcp ...` */
import { type Ctx, FAIL, OK, type Status, codeOf, describe } from './context.js';
import { matches } from './match.js';
import { usage } from './usage.js';
import { dispatch, ipcpNameOp, parseInteger, type Sub } from './util.js';

const SUBCOMMANDS: ReadonlyArray<[string, Sub]> = [
  ['program', bindProgram],
  ['process', bindProcess],
  ['ipcp', bindIpcp],
  ['help', async (ctx) => (ctx.print(usage.bind), OK)],
];

/**
 * `irm bind <what> ...` (args start after `bind`). The sub-command word is
 * handed on with its arguments: it doubles as the key of the first value
 * (`program <path>`, `process <pid>`, `ipcp <name>`).
 */
export function bindCmd(ctx: Ctx, args: string[]): Promise<Status> {
  return dispatch(ctx, args, { name: 'bind', usage: usage.bind, subs: SUBCOMMANDS, keepOp: true });
}

/** `irm bind program <path> name <name> [auto] [-- args...]` */
export async function bindProgram(ctx: Ctx, words: string[]): Promise<Status> {
  if (words[1] === 'help') return ctx.print(usage.bindProgram), OK;
  let name: string | undefined;
  let prog: string | undefined;
  let auto = false;
  let progArgs: string[] = [];
  let i = 0;
  while (i < words.length) {
    const w = words[i]!;
    if (matches(w, 'name')) {
      name = words[i + 1];
      i += 2;
    } else if (matches(w, 'program')) {
      prog = words[i + 1];
      i += 2;
    } else if (w === 'auto') {
      auto = true;
      i += 1;
    } else if (w === '--') {
      progArgs = words.slice(i + 1);
      break;
    } else {
      ctx.say(`"${w}" is unknown, try "irm bind program".`);
      return FAIL;
    }
  }
  if (name === undefined || prog === undefined) {
    ctx.print(usage.bindProgram);
    return FAIL;
  }
  const [p, n] = [prog, name];
  const r = await ctx.call((api) => api.bindProgram(p, n, { auto, args: progArgs }));
  if (!r.ok) {
    const code = codeOf(r.error);
    if (code === 'ENOENT') ctx.say(`${p} does not exist.`);
    else if (code === 'EPERM') ctx.say(`Cannot execute ${p}, please check permissions.`);
    else ctx.warn(`Failed to bind program ${p} to ${n}: ${describe(r.error)}.`);
    return FAIL;
  }
  return OK;
}

/** `irm bind process <pid> name <name>` */
export async function bindProcess(ctx: Ctx, words: string[]): Promise<Status> {
  if (words[1] === 'help') return ctx.print(usage.bindProcess), OK;
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
      if (n === undefined || n <= 0 || !ctx.pidExists(n)) {
        ctx.say(`"${v}" is not a valid process id.`);
        return FAIL;
      }
      pid = n;
    } else {
      ctx.say(`"${w}" is unknown, try "irm bind process".`);
      return FAIL;
    }
    i += 2;
  }
  if (words.length - i === 1 || pid < 0 || name === undefined) {
    ctx.print(usage.bindProcess);
    return FAIL;
  }
  const n = name;
  const r = await ctx.call((api) => api.bindProcess(pid, n));
  if (!r.ok) {
    ctx.warn(`Failed to bind process ${pid} to ${n}: ${describe(r.error)}.`);
    return FAIL;
  }
  return OK;
}

/** `irm bind ipcp <ipcp> name <name>`: binds the IPCP's process to the name. */
export function bindIpcp(ctx: Ctx, words: string[]): Promise<Status> {
  return ipcpNameOp(ctx, words, {
    usage: usage.bindIpcp,
    retry: 'irm bind ipcp',
    act: (api, pid, name) => api.bindProcess(pid, name),
    failed: (ipcp, name) => `Failed to bind IPCP ${ipcp} to ${name}`,
  });
}
