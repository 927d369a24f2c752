#!/usr/bin/env node
/** oping: measures round-trip times to an oping server, or runs one (`-l`). */
import { takeRundirArg } from '../../common/rundir.js';
import { connect } from '../../lib/index.js';
import type { Process } from '../../lib/api.js';
import { runOpingClient } from './client.js';
import { OPING_USAGE, parseOpingArgs } from './options.js';
import { runOpingServer } from './server.js';

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let rundir: string;
  try {
    rundir = takeRundirArg(argv);
  } catch {
    out(OPING_USAGE);
    return 1;
  }

  const parsed = parseOpingArgs(argv);
  for (const line of parsed.lines) out(line);
  if (!parsed.ok) return parsed.exitCode;
  const opts = parsed.options;

  let proc: Process;
  try {
    proc = await connect({ rundir, prog: 'oping' });
  } catch {
    process.stderr.write('FATAL: Could not announce to IRMd.\n');
    return 1;
  }

  // First signal: stop and print the statistics. A second one: leave now.
  const ac = new AbortController();
  const stop = (): void => {
    if (ac.signal.aborted) process.exit(1);
    ac.abort();
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, stop);

  try {
    return opts.listen
      ? await runOpingServer(proc, opts, out, { signal: ac.signal })
      : await runOpingClient(proc, opts, out, { signal: ac.signal });
  } finally {
    await proc.close().catch(() => undefined);
  }
}

process.exit(await main());
