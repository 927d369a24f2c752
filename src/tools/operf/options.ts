/**
 * operf's command line: the reference's options, defaults, limits and
 * messages. Parsing never prints; it returns the lines to print.
 */
import { qosByName, type QosSpec } from '../../lib/qos.js';
import { strtol, timeMultiplier } from '../oping/options.js';
import { OPERF_BUF_SIZE, OPERF_MIN_SIZE, TEST_TYPE_BI, TEST_TYPE_UNI } from './protocol.js';

/** The reference's usage text, then how o7s reports the results. */
export const OPERF_USAGE = [
  'Usage: operf [OPTION]...',
  'Measures bandwidth between a client and a server',
  '  -l, --listen              Run in server mode',
  '  -t, --test                The type of test [uni, bi] (default uni)',
  '  -n, --server-name         Name of the operf server',
  '  -d, --duration            Test duration (default 60s)',
  '  -r, --rate                Rate (b/s)',
  '  -s, --size                Payload size (B, default 1500)',
  '  -f, --flood               Send packets as fast as possible',
  '      --sleep               Sleep in between sending packets',
  '',
  '      --help                Display this help text and exit',
  '',
  'o7s:',
  '  -q, --qos                 QoS of the flow (raw, best, video, voice, data;',
  '                            default raw)',
  '',
  'Results: the client reports packets and bytes sent and its send rate;',
  'in a bi test also the echoes received, loss and goodput. The server',
  'reports, when a flow ends, packets and bytes received, loss and',
  'reordering (from the sequence numbers) and goodput. On a flow with FRCT',
  '(an in-order QoS: best, video, voice, data) both also print a line',
  '"frct: ..." with the flow\'s FRCT statistics: SDUs sent, received,',
  'retransmitted, duplicates, out of order, CRC errors, the smoothed RTT',
  'and the send window.',
].join('\n');

export const OPERF_DEFAULT_SIZE = 1500;
/** ms */
export const OPERF_DEFAULT_DURATION = 60000;
/** b/s */
export const OPERF_DEFAULT_RATE = 1_000_000;

export interface OperfOptions {
  /** Server mode (`-l`). */
  listen: boolean;
  /** Client: TEST_TYPE_UNI or TEST_TYPE_BI (`-t`). */
  testType: number;
  /** Client: the name of the server (`-n`). */
  serverName: string | null;
  /** Client: test duration in ms (`-d`). */
  duration: number;
  /** Client: sending rate in b/s (`-r`). */
  rate: number;
  /** Client: packet size in bytes (`-s`). */
  size: number;
  /** Client: send as fast as the flow takes packets (`-f`). */
  flood: boolean;
  /**
   * `--sleep` was given. o7s always paces by sleeping on a monotonic
   * schedule (the reference busy-waits without it), so this changes nothing.
   */
  sleep: boolean;
  /** Client, o7s: the QoS of the flow (`-q`); absent: the library's default (raw). */
  qos?: Readonly<QosSpec>;
}

export type OperfParse =
  | { ok: true; options: OperfOptions; lines: string[] }
  | { ok: false; lines: string[]; exitCode: number };

export function defaultOperfOptions(): OperfOptions {
  return {
    listen: false,
    testType: TEST_TYPE_UNI,
    serverName: null,
    duration: OPERF_DEFAULT_DURATION,
    rate: OPERF_DEFAULT_RATE,
    size: OPERF_DEFAULT_SIZE,
    flood: false,
    sleep: false,
  };
}

/** Multiplier (to b/s) for a rate suffix; no suffix means kb/s, as in the reference. */
export function rateMultiplier(unit: string): number | undefined {
  switch (unit) {
    case '':
    case 'k': return 1000;
    case 'M': return 1_000_000;
    case 'G': return 1_000_000_000;
    default: return undefined;
  }
}

const int32 = (v: bigint): number => Number(BigInt.asIntN(32, v));

class ParseExit {
  constructor(readonly lines: string[], readonly exitCode: number) {}
}

/** Parses operf's arguments (without the program name and without --rundir). */
export function parseOperfArgs(argv: readonly string[]): OperfParse {
  try {
    return parse(argv);
  } catch (e) {
    if (e instanceof ParseExit) return { ok: false, lines: e.lines, exitCode: e.exitCode };
    throw e;
  }
}

function parse(argv: readonly string[]): OperfParse {
  const o = defaultOperfOptions();
  const lines: string[] = [];
  let type = 'uni';
  let qosName: string | null = null;

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const hasValue = i + 1 < argv.length;
    const is = (short: string | null, long: string): boolean => a === short || a === long;
    if (is('-n', '--server-name') && hasValue) {
      o.serverName = argv[++i]!;
    } else if (is('-s', '--size') && hasValue) {
      o.size = int32(strtol(argv[++i]!).value);
    } else if (is('-d', '--duration') && hasValue) {
      const { value, rest } = strtol(argv[++i]!);
      const mul = timeMultiplier(rest);
      if (mul === undefined) throw new ParseExit([`Unknown time unit: ${rest}.`], 1);
      // The reference keeps the duration in a C int.
      o.duration = int32(BigInt(int32(value)) * BigInt(mul));
    } else if (is('-r', '--rate') && hasValue) {
      const { value, rest } = strtol(argv[++i]!);
      const mul = rateMultiplier(rest);
      if (mul === undefined) throw new ParseExit([`Unknown rate unit: ${rest}.`], 1);
      o.rate = Number(BigInt.asIntN(64, value * BigInt(mul)));
    } else if (is('-f', '--flood')) {
      o.flood = true;
    } else if (is(null, '--sleep')) {
      o.sleep = true;
    } else if (is('-l', '--listen')) {
      o.listen = true;
    } else if (is('-t', '--test') && hasValue) {
      type = argv[++i]!;
    } else if (is('-q', '--qos') && hasValue) {
      qosName = argv[++i]!;
    } else if (a === '--help') {
      throw new ParseExit([OPERF_USAGE], 0);
    } else {
      throw new ParseExit([OPERF_USAGE], 1);
    }
  }

  if (o.listen) return { ok: true, options: o, lines };

  if (qosName !== null) {
    // As oping: an unknown name falls back to raw.
    const spec = qosByName(qosName);
    if (spec) o.qos = spec;
    else lines.push('Unknown QoS cube, defaulting to raw.');
  }

  if (o.serverName === null) throw new ParseExit(['No server specified.'], 1);

  if (type === 'uni') o.testType = TEST_TYPE_UNI;
  else if (type === 'bi') o.testType = TEST_TYPE_BI;
  else throw new ParseExit(['Invalid test type.'], 1);

  if (o.size > OPERF_BUF_SIZE) {
    lines.push(`Packet size truncated to ${OPERF_BUF_SIZE} bytes.`);
    o.size = OPERF_BUF_SIZE;
  }
  if (o.size < OPERF_MIN_SIZE) {
    lines.push(`Packet size set to ${OPERF_MIN_SIZE} bytes.`);
    o.size = OPERF_MIN_SIZE;
  }
  // o7s: the reference would divide by a zero or negative rate.
  if (!o.flood && o.rate <= 0) throw new ParseExit([...lines, 'Invalid rate.'], 1);

  return { ok: true, options: o, lines };
}
