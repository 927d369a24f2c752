/** The `irm` command line: dispatches to the ipcp / bind / unbind / name commands. */
import { Ctx, DAEMON_UNREACHABLE, FAIL, OK, type IrmDeps, type Status, isDaemonError } from './context.js';
import { matches } from './match.js';
import { usage } from './usage.js';
import { ipcpCmd } from './ipcp.js';
import { bindCmd } from './bind.js';
import { unbindCmd } from './unbind.js';
import { nameCmd } from './name.js';
import { flowCmd } from './flow.js';
import { securityCmd } from './security.js';

export type { IrmDeps } from './context.js';

const COMMANDS: ReadonlyArray<[string, (ctx: Ctx, args: string[]) => Promise<Status>]> = [
  ['ipcp', ipcpCmd],
  ['bind', bindCmd],
  ['unbind', unbindCmd],
  ['name', nameCmd],
  ['flow', flowCmd],
  ['security', securityCmd],
  ['help', async (ctx) => (ctx.print(usage.top), OK)],
];

/**
 * Runs one `irm` command line (`argv` without the program name) and yields
 * the exit status: 0 on success, 1 on any failure. The IRMd is only
 * contacted (through `deps.api`) when the command needs it.
 */
export async function runIrm(argv: string[], deps: IrmDeps): Promise<number> {
  const ctx = new Ctx(deps);
  if (argv.length < 1) {
    ctx.print(usage.top);
    return FAIL;
  }
  try {
    const op = argv[0]!;
    for (const [kw, fn] of COMMANDS) if (matches(op, kw)) return await fn(ctx, argv.slice(1));
    ctx.warn(`"${op}" is unknown, try "irm help".`);
    return FAIL;
  } catch (e) {
    if (isDaemonError(e)) {
      ctx.say(DAEMON_UNREACHABLE);
      return FAIL;
    }
    ctx.warn(`irm: ${e instanceof Error ? e.message : String(e)}`);
    return FAIL;
  }
}
