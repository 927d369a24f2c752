#!/usr/bin/env node
/** irmd: the IPC Resource Manager daemon. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Irmd } from './daemon.js';
import { LockError } from './lock.js';
import { ConfigError, loadIrmdConfig, type ConfigStanza } from './config.js';
import { applyConfig } from './config-apply.js';
import { createLogger } from '../common/log.js';
import { defaultRundir } from '../common/rundir.js';
import { OuroborosError } from '../common/errors.js';
import { defaultConfigDir } from '../common/config-dir.js';

const USAGE = `Usage: irmd
         [--stdout  (Log to stdout instead of syslog)]
         [--config <path> (Path to configuration file)]
         [--rundir <dir> (Runtime directory, default OUROBOROS_RUNDIR or a per-user directory)]
         [--config-dir <dir> (Configuration directory with security/, default OUROBOROS_CONFIG_DIR or /etc/ouroboros)]
         [--debug (Also log debug messages)]
         [--json (Log JSON lines)]
         [--version (Print version information and exit)]
`;

function version(): string {
  const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'package.json');
  try {
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function main(argv: string[]): Promise<number> {
  let stdout = false;
  let config: string | undefined;
  let rundir = defaultRundir();
  let configDir = defaultConfigDir();
  let debug = process.env.OUROBOROS_DEBUG === '1';
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--stdout') stdout = true;
    else if (a === '--debug') debug = true;
    else if (a === '--json') json = true;
    else if (a === '--version') {
      process.stdout.write(`Ouroboros IPC Resource Manager daemon (o7s) ${version()}\n`);
      return 0;
    } else if ((a === '--config' || a === '--rundir' || a === '--config-dir') && argv[i + 1] !== undefined) {
      if (a === '--config') config = argv[++i];
      else if (a === '--config-dir') configDir = argv[++i]!;
      else rundir = argv[++i]!;
    } else {
      process.stdout.write(USAGE);
      return 1;
    }
  }

  // Without --stdout the reference logs to syslog; o7s logs errors to stderr then.
  const log = createLogger({ prefix: 'irmd', out: stdout ? process.stdout : undefined, debug, json, color: stdout && process.stdout.isTTY });
  const errLog = stdout ? log : createLogger({ prefix: 'irmd', out: process.stderr });

  let stanzas: ConfigStanza[] | undefined;
  if (config) {
    try {
      stanzas = await loadIrmdConfig(config, { warn: (m) => log.warn(m) });
    } catch (e) {
      errLog.err(e instanceof ConfigError ? e.message : `Failed to read ${config}: ${(e as Error).message}`);
      return 1;
    }
  }

  const irmd = new Irmd({ rundir, log, inherit: stdout, configDir });
  // Signals are caught before anything starts: one arriving early stops irmd once it is up.
  let signalled: string | undefined;
  let onSignal: ((sig: string) => void) | undefined;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) {
    process.on(sig, () => {
      if (onSignal) onSignal(sig);
      else signalled ??= sig;
    });
  }
  process.on('SIGPIPE', () => {});
  try {
    await irmd.start();
  } catch (e) {
    if (e instanceof LockError) errLog.warn(e.message);
    else errLog.err(`Failed to start: ${(e as Error).message}`);
    return 1;
  }
  log.info(`Ouroboros IPC Resource Manager daemon started (rundir ${rundir}).`);

  let exitCode = 0;
  const done = new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      log.info(`Received ${sig}, shutting down.`);
      irmd.stop().then(resolve, resolve);
    };
    onSignal = stop;
    if (signalled) {
      stop(signalled);
      return;
    }
    if (stanzas) {
      applyConfig(irmd, stanzas).then(() => log.info(`Configuration ${config} applied.`)).catch((e: unknown) => {
        errLog.err(`Failed to apply ${config}: ${e instanceof OuroborosError ? e.message : (e as Error).message}`);
        exitCode = 1;
        irmd.stop().then(resolve, resolve);
      });
    }
  });
  await done;
  log.info('Bye.');
  return exitCode;
}

// A reader of our output that goes away must not take irmd down (or make it spin).
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
process.on('uncaughtException', (e) => {
  if (!process.stderr.writable) return;
  try {
    process.stderr.write(`irmd: internal error: ${e.stack ?? e}\n`);
  } catch {
    /* nowhere to report it */
  }
});

main(process.argv.slice(2)).then((code) => process.exit(code));
