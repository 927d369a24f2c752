#!/usr/bin/env node
/**
 * ocat: netcat over a flow. `ocat -l` writes what one flow carries to
 * stdout; `ocat -n NAME` sends stdin. Status goes to stderr: a listener's
 * stdout is the data only. (Not toolMain: that one prints to stdout.)
 */
import { takeRundirArg } from '../../common/rundir.js';
import { connect } from '../../lib/index.js';
import { IrmClient } from '../../lib/irm-client.js';
import type { Process } from '../../lib/api.js';
import { OCAT_USAGE, parseOcatArgs } from './options.js';
import { runOcatListener, runOcatSender } from './ocat.js';
import { abortOnSignals } from '../common/main.js';

const err = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Writes to stdout, waiting while its buffer is full. */
function writeOut(chunk: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (process.stdout.write(chunk, (e) => (e ? reject(e) : undefined))) resolve();
    else process.stdout.once('drain', resolve);
  });
}

/** Resolves once everything written to stdout has been handed to the OS. */
function flushOut(): Promise<void> {
  return new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let rundir: string;
  try {
    rundir = takeRundirArg(argv);
  } catch {
    err(OCAT_USAGE);
    return 1;
  }
  const parsed = parseOcatArgs(argv);
  if (!parsed.ok) {
    if (parsed.help) process.stdout.write(`${OCAT_USAGE}\n`);
    else for (const line of parsed.lines) err(line);
    return parsed.exitCode;
  }
  const opts = parsed.options;
  for (const line of parsed.lines) err(line);

  let proc: Process;
  try {
    proc = await connect({ rundir, prog: 'ocat' });
  } catch (e) {
    err(`FATAL: Could not announce to IRMd.\n(${(e as Error).message})`);
    return 1;
  }

  const ac = abortOnSignals();
  let outBroken = false;
  process.stdout.on('error', () => {
    outBroken = true;
    ac.abort();
  });

  try {
    if (opts.listen) {
      if (opts.name !== null) {
        let irm: IrmClient | undefined;
        try {
          irm = await IrmClient.connect(rundir);
          await irm.bindProcess(process.pid, opts.name);
        } catch (e) {
          err(`ocat: could not bind to ${opts.name}: ${(e as Error).message}`);
          return 1;
        } finally {
          irm?.close();
        }
      }
      err(opts.name !== null ? `ocat: listening on ${opts.name}.` : 'ocat: listening.');
      const rc = await runOcatListener(proc, opts, writeOut, err, { signal: ac.signal });
      await flushOut();
      if (outBroken) {
        err('ocat: writing to stdout failed.');
        return 1;
      }
      return rc;
    }
    return await runOcatSender(proc, opts, process.stdin, err, { signal: ac.signal });
  } finally {
    await proc.close().catch(() => undefined);
  }
}

process.exit(await main());
