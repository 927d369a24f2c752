/**
 * ocat's command line. Parsing never prints; it returns the lines to print
 * (on stderr: a listener's stdout carries only the data).
 */
import { qos, qosByName, type QosSpec } from '../../lib/qos.js';

export const OCAT_DEFAULT_TIMEOUT_S = 30;

export const OCAT_USAGE = [
  'Usage: ocat [OPTION]...',
  '',
  'Like netcat, over an Ouroboros flow.',
  '  ocat -l [-n NAME]     accept one flow, copy what it carries to stdout',
  '  ocat -n NAME          copy stdin to a new flow to NAME',
  '',
  '  -l, --listen            Accept one flow, write its data to stdout, exit 0',
  '                          after the end of the data (1 if the flow goes',
  '                          down before it, or bytes went missing)',
  '  -n, --name              Sender: name to allocate the flow to;',
  '                          listener: bind this process to the name',
  '                          (the name must exist), optional',
  '  -q, --qos               QoS of the flow (raw, best, video, voice, data);',
  '                          default data (reliable: a file transfer tool)',
  '                          the sender chooses; the listener only warns when',
  '                          the flow it accepts has another QoS',
  '  -t, --timeout           Sender: seconds to wait for the listener to',
  `                          acknowledge the end of the data (default ${OCAT_DEFAULT_TIMEOUT_S})`,
  '      --rundir DIR        Runtime directory of the system',
  '                          (default OUROBOROS_RUNDIR)',
  '      --help              Display this help text and exit',
  '',
  'Framing: every SDU (at most 1400 bytes) starts with a type byte:',
  '  0x00 DATA, then up to 1399 bytes of the stream;',
  '  0x01 END, then the number of bytes sent (u64, big-endian);',
  '  0x02 ACK (listener to sender, answers END), then the number of',
  '       bytes received (u64, big-endian).',
  'The sender exits 0 once the ACK came with the full count and the flow',
  'is deallocated (a reliable flow lingers until all is acknowledged).',
  'Status messages go to stderr.',
].join('\n');

export interface OcatOptions {
  listen: boolean;
  name: string | null;
  qos: Readonly<QosSpec>;
  /** Whether -q was given. */
  qosGiven: boolean;
  qosName: string;
  /** Sender: ms to wait for the ACK. */
  timeout: number;
}

export type OcatParse =
  | { ok: true; options: OcatOptions; lines: string[] }
  | { ok: false; lines: string[]; exitCode: number; help?: boolean };

export function defaultOcatOptions(): OcatOptions {
  return { listen: false, name: null, qos: qos.data, qosGiven: false, qosName: 'data', timeout: OCAT_DEFAULT_TIMEOUT_S * 1000 };
}

/** Parses ocat's arguments (without the program name and without --rundir). */
export function parseOcatArgs(argv: readonly string[]): OcatParse {
  const o = defaultOcatOptions();
  const bad = (...lines: string[]): OcatParse => ({ ok: false, lines: [...lines, OCAT_USAGE], exitCode: 1 });
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string | undefined => (i + 1 < argv.length ? argv[++i] : undefined);
    if (a === '-l' || a === '--listen') {
      o.listen = true;
    } else if (a === '-n' || a === '--name') {
      const v = value();
      if (v === undefined || v === '') return bad(`Option ${a} needs a name.`);
      o.name = v;
    } else if (a === '-q' || a === '--qos') {
      const v = value();
      if (v === undefined) return bad(`Option ${a} needs a QoS name.`);
      const spec = qosByName(v);
      if (!spec) return bad(`Unknown QoS: ${v}.`);
      o.qos = spec;
      o.qosName = v;
      o.qosGiven = true;
    } else if (a === '-t' || a === '--timeout') {
      const v = value();
      const n = v === undefined ? NaN : Number(v);
      if (v === undefined || !/^\d+(\.\d+)?$/.test(v) || !(n > 0)) return bad(`Option ${a} needs a positive number of seconds.`);
      o.timeout = Math.round(n * 1000);
    } else if (a === '--help' || a === '-h') {
      return { ok: false, lines: [OCAT_USAGE], exitCode: 0, help: true };
    } else {
      return bad(`Unknown option: ${a}.`);
    }
  }
  if (!o.listen && o.name === null) return bad('No name specified.');
  return { ok: true, options: o, lines: [] };
}
