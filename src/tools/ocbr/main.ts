#!/usr/bin/env node
/** ocbr: sends at a constant bit rate to an ocbr server, or runs one (`-l`) that reports what arrives. */
import { takeRundirArg } from '../../common/rundir.js';
import { connect } from '../../lib/index.js';
import type { Process } from '../../lib/api.js';
import { runOcbrClient } from './client.js';
import { OCBR_USAGE, parseOcbrArgs } from './options.js';
import { runOcbrServer } from './server.js';

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let rundir: string;
  try {
    rundir = takeRundirArg(argv);
  } catch {
    out(OCBR_USAGE);
    return 1;
  }

  const parsed = parseOcbrArgs(argv);
  for (const line of parsed.lines) out(line);
  if (!parsed.ok) return parsed.exitCode;
  const opts = parsed.options;

  let proc: Process;
  try {
    proc = await connect({ rundir, prog: 'ocbr' });
  } catch {
    process.stderr.write('FATAL: Could not announce to IRMd.\n');
    return 1;
  }

  const ac = new AbortController();
  const stop = (): void => ac.abort();
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, stop);

  try {
    return opts.listen
      ? await runOcbrServer(proc, opts, out, { signal: ac.signal })
      : await runOcbrClient(proc, opts, out, { signal: ac.signal });
  } finally {
    await proc.close().catch(() => undefined);
  }
}

process.exit(await main());
