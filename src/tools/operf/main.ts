#!/usr/bin/env node
/** operf: measures bandwidth, packet counts and loss between a client and an operf server (`-l`). */
import { takeRundirArg } from '../../common/rundir.js';
import { connect } from '../../lib/index.js';
import type { Process } from '../../lib/api.js';
import { runOperfClient } from './client.js';
import { OPERF_USAGE, parseOperfArgs } from './options.js';
import { runOperfServer } from './server.js';

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let rundir: string;
  try {
    rundir = takeRundirArg(argv);
  } catch {
    out(OPERF_USAGE);
    return 1;
  }

  const parsed = parseOperfArgs(argv);
  for (const line of parsed.lines) out(line);
  if (!parsed.ok) return parsed.exitCode;
  const opts = parsed.options;

  let proc: Process;
  try {
    proc = await connect({ rundir, prog: 'operf' });
  } catch {
    process.stderr.write('FATAL: Could not announce to IRMd.\n');
    return 1;
  }

  const ac = new AbortController();
  const stop = (): void => ac.abort();
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, stop);

  try {
    return opts.listen
      ? await runOperfServer(proc, opts, out, { signal: ac.signal })
      : await runOperfClient(proc, opts, out, { signal: ac.signal });
  } finally {
    await proc.close().catch(() => undefined);
  }
}

process.exit(await main());
