/**
 * The shared `main` of the client/server tools (oping, operf, ocbr): take
 * --rundir, parse the options, announce to irmd, run the server (`-l`) or
 * the client, and stop on SIGINT/SIGTERM/SIGHUP (a second signal leaves at once).
 */
import { takeRundirArg } from '../../common/rundir.js';
import { connect } from '../../lib/index.js';
import type { Process } from '../../lib/api.js';

export type Out = (line: string) => void;
type Parsed<O> = { ok: true; options: O; lines: string[] } | { ok: false; lines: string[]; exitCode: number };
type Run<O> = (proc: Process, opts: O, out: Out, ctl: { signal: AbortSignal }) => Promise<number>;

export interface ToolInit<O extends { listen: boolean }> {
  prog: string;
  usage: string;
  parse: (argv: string[]) => Parsed<O>;
  server: Run<O>;
  client: Run<O>;
}

/**
 * The first SIGINT, SIGTERM or SIGHUP aborts the controller returned (the
 * tool stops; clients print their statistics); a second one exits at once.
 */
export function abortOnSignals(): AbortController {
  const ac = new AbortController();
  const stop = (): void => {
    if (ac.signal.aborted) process.exit(1);
    ac.abort();
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, stop);
  return ac;
}

export async function toolMain<O extends { listen: boolean }>(t: ToolInit<O>): Promise<number> {
  const out: Out = (line) => {
    process.stdout.write(`${line}\n`);
  };
  const argv = process.argv.slice(2);
  let rundir: string;
  try {
    rundir = takeRundirArg(argv);
  } catch {
    out(t.usage);
    return 1;
  }

  const parsed = t.parse(argv);
  for (const line of parsed.lines) out(line);
  if (!parsed.ok) return parsed.exitCode;
  const opts = parsed.options;

  let proc: Process;
  try {
    proc = await connect({ rundir, prog: t.prog });
  } catch (e) {
    process.stderr.write(`FATAL: Could not announce to IRMd.\n(${(e as Error).message})\n`);
    return 1;
  }

  const ac = abortOnSignals();
  try {
    return opts.listen ? await t.server(proc, opts, out, { signal: ac.signal }) : await t.client(proc, opts, out, { signal: ac.signal });
  } finally {
    await proc.close().catch(() => undefined);
  }
}
