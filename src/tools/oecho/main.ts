#!/usr/bin/env node
/** oecho: `oecho -l` echoes one message per flow; `oecho` says hi to it. */
import { takeRundirArg } from '../../common/rundir.js';
import { connect } from '../../lib/index.js';
import type { Process } from '../../lib/api.js';
import { OECHO_USAGE, parseOechoArgs, runOechoClient, runOechoServer } from './oecho.js';

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let rundir: string;
  try {
    rundir = takeRundirArg(argv);
  } catch {
    out(OECHO_USAGE);
    return 1;
  }

  const parsed = parseOechoArgs(argv);
  if (!parsed.ok) {
    for (const line of parsed.lines) out(line);
    return parsed.exitCode;
  }

  let proc: Process;
  try {
    proc = await connect({ rundir, prog: 'oecho' });
  } catch {
    process.stderr.write('FATAL: Could not announce to IRMd.\n');
    return 1;
  }

  // The reference does not catch signals: leave irmd cleanly, then die by the signal.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      void proc.close().catch(() => undefined).finally(() => process.kill(process.pid, sig));
    });
  }

  try {
    return parsed.listen ? await runOechoServer(proc, out) : await runOechoClient(proc, out);
  } finally {
    await proc.close().catch(() => undefined);
  }
}

process.exit(await main());
