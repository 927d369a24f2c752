/**
 * Logging in the reference's style: `==01234== irmd(II): message`.
 * Levels II (info), WW (warning), EE (error), DB (debug, only with
 * OUROBOROS_DEBUG=1 or --debug). With `--json` (or OUROBOROS_LOG=json) each
 * line is a JSON object instead.
 */

export type Level = 'II' | 'WW' | 'EE' | 'DB';

const COLOR: Record<Level, string> = { II: '\x1b[32m', WW: '\x1b[33m', EE: '\x1b[31m', DB: '' };
const RESET = '\x1b[0m';

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  err(msg: string): void;
  dbg(msg: string): void;
}

export interface LoggerInit {
  /** Program prefix, e.g. `irmd` or `ipcpd/local`. */
  prefix: string;
  /** Where lines go; nothing is printed when undefined. */
  out?: NodeJS.WritableStream | undefined;
  debug?: boolean;
  json?: boolean;
  color?: boolean;
}

export function createLogger(init: LoggerInit): Logger {
  const pid = String(process.pid).padStart(5, '0');
  const debug = init.debug ?? process.env.OUROBOROS_DEBUG === '1';
  const json = init.json ?? process.env.OUROBOROS_LOG === 'json';
  const color = init.color ?? false;
  const write = (level: Level, msg: string): void => {
    const out = init.out;
    if (!out) return;
    if (level === 'DB' && !debug) return;
    if (json) {
      out.write(JSON.stringify({ time: Date.now(), pid: process.pid, prog: init.prefix, level, msg }) + '\n');
      return;
    }
    const line = `==${pid}== ${init.prefix}(${level}): ${msg}`;
    out.write(color && COLOR[level] ? `${COLOR[level]}${line}${RESET}\n` : `${line}\n`);
  };
  return {
    info: (m) => write('II', m),
    warn: (m) => write('WW', m),
    err: (m) => write('EE', m),
    dbg: (m) => write('DB', m),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, err() {}, dbg() {} };
