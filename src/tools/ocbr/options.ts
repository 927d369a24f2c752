/**
 * ocbr's command line: the reference's options, defaults, limits and
 * messages. Parsing never prints; it returns the lines to print.
 */
import { strtol } from '../oping/options.js';

/** Largest packet the client sends and the server reads (B). */
export const OCBR_BUF_SIZE = 524288;

/** The reference's usage text (it calls itself `cbr`). */
export const OCBR_USAGE = [
  'Usage: cbr [OPTION]...',
  'Sends packets from client to server at a constant bit rate.',
  '',
  '  -l, --listen              Run in server mode',
  '',
  'Server options:',
  '  -i, --interval            Server report interval (s)',
  '  -t, --timeout             Server timeout interval (s)',
  '',
  'Client options:',
  '  -n, --server_apn          Specify the name of the server.',
  '  -d, --duration            Duration for sending (s)',
  '  -f, --flood               Send packets as fast as possible',
  `  -s, --size                packet size (B, max ${OCBR_BUF_SIZE} B)`,
  '  -r, --rate                Rate (b/s)',
  '      --sleep               Sleep in between sending packets',
  '      --spin                Spin CPU between sending packets',
  '',
  '',
  '      --help                Display this help text and exit',
].join('\n');

export interface OcbrOptions {
  /** Server mode (`-l`). */
  listen: boolean;
  /** Server: report interval in s (`-i`). */
  interval: number;
  /** Server: a flow silent for longer than this (s) ends its test (`-t`). */
  timeout: number;
  /** Client: the name of the server (`-n`). */
  serverName: string | null;
  /** Client: seconds to send (`-d`). */
  duration: number;
  /** Client: packet size in bytes (`-s`). */
  size: number;
  /** Client: bit rate in b/s (`-r`). */
  rate: number;
  /** Client: send as fast as the flow takes packets (`-f`). */
  flood: boolean;
  /** Client: sleep between packets (default); false spins (`--spin`). */
  sleep: boolean;
}

export type OcbrParse =
  | { ok: true; options: OcbrOptions; lines: string[] }
  | { ok: false; lines: string[]; exitCode: number };

export function defaultOcbrOptions(): OcbrOptions {
  return {
    listen: false,
    interval: 1,
    timeout: 1,
    serverName: null,
    duration: 60,
    size: 1000,
    rate: 1_000_000,
    flood: false,
    sleep: true,
  };
}

const int32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
const long = (v: bigint): number => Number(BigInt.asIntN(64, v));

/** A rate argument: a number with an optional k, M or G right after it; anything else after it is ignored. */
export function parseRate(arg: string): number {
  const { value, rest } = strtol(arg);
  const mul = rest.startsWith('k') ? 1000n : rest.startsWith('M') ? 1_000_000n : rest.startsWith('G') ? 1_000_000_000n : 1n;
  return long(value * mul);
}

/** Parses ocbr's arguments (without the program name and without --rundir). */
export function parseOcbrArgs(argv: readonly string[]): OcbrParse {
  const o = defaultOcbrOptions();
  const usage = (exitCode: number): OcbrParse => ({ ok: false, lines: [OCBR_USAGE], exitCode });

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const hasValue = i + 1 < argv.length;
    const is = (short: string | null, long: string): boolean => a === short || a === long;
    if (is('-i', '--interval') && hasValue) {
      o.interval = long(strtol(argv[++i]!).value);
    } else if (is('-t', '--timeout') && hasValue) {
      o.timeout = long(strtol(argv[++i]!).value);
    } else if (is('-n', '--server_apn') && hasValue) {
      o.serverName = argv[++i]!;
    } else if (is('-d', '--duration') && hasValue) {
      o.duration = int32(strtol(argv[++i]!).value);
    } else if (is('-s', '--size') && hasValue) {
      o.size = int32(strtol(argv[++i]!).value);
    } else if (is('-r', '--rate') && hasValue) {
      o.rate = parseRate(argv[++i]!);
    } else if (is('-l', '--listen')) {
      o.listen = true;
    } else if (is('-f', '--flood')) {
      o.flood = true;
    } else if (is(null, '--sleep')) {
      o.sleep = true;
    } else if (is(null, '--spin')) {
      o.sleep = false;
    } else if (a === '--help') {
      return usage(0);
    } else {
      return usage(1);
    }
  }

  if (o.listen) return { ok: true, options: o, lines: [] };

  if (o.serverName === null) return { ok: false, lines: ['No server specified.', OCBR_USAGE], exitCode: 1 };
  if (o.size > OCBR_BUF_SIZE) return { ok: false, lines: [`Maximum size: ${OCBR_BUF_SIZE}.`], exitCode: 1 };
  if (o.size < 0) return { ok: false, lines: ['Size overflow.'], exitCode: 1 };
  if (o.rate <= 0) return { ok: false, lines: ['Invalid rate.'], exitCode: 1 };
  return { ok: true, options: o, lines: [] };
}
