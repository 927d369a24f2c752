#!/usr/bin/env node
/** The `irm` binary: `irm [--rundir DIR] <command> ...`. */
import { takeRundirArg } from '../../common/rundir.js';
import type { IrmApi } from '../../lib/irm-api.js';
import { runIrm } from './cli.js';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  // `--rundir` is ours only before a `--` (what follows belongs to a bound program).
  const dash = argv.indexOf('--');
  const head = dash < 0 ? argv : argv.slice(0, dash);
  const tail = dash < 0 ? [] : argv.slice(dash);
  let rundir: string;
  try {
    rundir = takeRundirArg(head);
  } catch (e) {
    process.stderr.write(`irm: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }

  let client: IrmApi | undefined;
  const code = await runIrm([...head, ...tail], {
    api: async () => {
      const { IrmClient } = await import('../../lib/irm-client.js');
      client = await IrmClient.connect(rundir);
      return client;
    },
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
  });
  client?.close();
  return code;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`irm: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
