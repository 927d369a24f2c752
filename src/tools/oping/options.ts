/**
 * oping's command line: the reference's options, defaults, limits and
 * messages. Parsing never prints; it returns the lines to print.
 */
import { qos, qosByName, type QosSpec } from '../../lib/qos.js';
import { OPING_BUF_SIZE, OPING_MIN_SIZE } from './msg.js';

export const OPING_USAGE = [
  'Usage: oping [OPTION]...',
  '',
  'Checks liveness between a client and a server',
  'and reports the Round Trip Time (RTT)',
  '',
  '  -l, --listen            Run in server mode',
  '      --poll              Server uses polling (lower latency)',
  '      --busy              Server uses busy-poll (single flow)',
  '',
  '  -c, --count             Number of packets',
  '  -d, --duration          Duration of the test (default 1s)',
  '  -f, --flood             Send back-to-back without waiting',
  '  -F, --flood-busy        Flood with busy-polling (lower latency)',
  '  -i, --interval          Interval (default 1000ms)',
  '  -n, --server-name       Name of the oping server',
  '  -q, --qos               QoS (raw, best, video, voice, data)',
  '  -s, --size              Payload size (B, default 64)',
  '  -Q, --quiet             Only print final statistics',
  '  -D, --timeofday         Print time of day before each line',
  '',
  '      --help              Display this help text and exit',
].join('\n');

/** Default packet count: INT_MAX, as the reference. */
export const OPING_DEFAULT_COUNT = 2147483647;
export const OPING_DEFAULT_INTERVAL = 1000;
/** Longest interval the client accepts, in ms. */
export const OPING_MAX_INTERVAL = 10000;

export interface OpingOptions {
  /** Server mode (`-l`). */
  listen: boolean;
  /** Server: poll for events without sleeping (`--poll`). */
  poll: boolean;
  /** Server: a single flow, busy-polled (`--busy`). */
  busy: boolean;
  /** Client: the name to ping (`-n`). */
  serverName: string | null;
  /** Client: ms between requests (`-i`). */
  interval: number;
  /** Client: number of requests (u32). */
  count: number;
  /** Client: SDU size in bytes. */
  size: number;
  /** Client: prefix reply lines with the time of day (`-D`). */
  timestamp: boolean;
  /** Client: next request after each reply (`-f`). */
  flood: boolean;
  /** Client: as flood, with non-blocking busy reads (`-F`). */
  floodBusy: boolean;
  /** Client: QoS of the flow (`-q`). */
  qos: Readonly<QosSpec>;
  /** Only the statistics (client) / no per-packet lines (server). */
  quiet: boolean;
}

export type OpingParse =
  | { ok: true; options: OpingOptions; lines: string[] }
  | { ok: false; lines: string[]; exitCode: number };

export function defaultOpingOptions(): OpingOptions {
  return {
    listen: false,
    poll: false,
    busy: false,
    serverName: null,
    interval: OPING_DEFAULT_INTERVAL,
    count: OPING_DEFAULT_COUNT,
    size: OPING_MIN_SIZE,
    timestamp: false,
    flood: false,
    floodBusy: false,
    qos: qos.raw,
    quiet: false,
  };
}

const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

/**
 * C strtol(s, &rest, 10) on a 64-bit platform: leading white space, an
 * optional sign, decimal digits; no digits gives 0 with the whole string
 * left over; out of range saturates.
 */
export function strtol(s: string): { value: bigint; rest: string } {
  const m = /^([ \t\n\v\f\r]*)([+-]?)([0-9]+)/.exec(s);
  if (!m) return { value: 0n, rest: s };
  let v = BigInt(m[3]!);
  if (m[2] === '-') v = -v;
  if (v > LONG_MAX) v = LONG_MAX;
  if (v < LONG_MIN) v = LONG_MIN;
  return { value: v, rest: s.slice(m[0].length) };
}

/** Multiplier (to ms) for a time unit suffix, or undefined when unknown. */
export function timeMultiplier(unit: string): number | undefined {
  switch (unit) {
    case '':
    case 'ms': return 1;
    case 's': return 1000;
    case 'm': return 60 * 1000;
    case 'h': return 60 * 60 * 1000;
    case 'd': return 24 * 60 * 60 * 1000;
    default: return undefined;
  }
}

const int32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
const uint32 = (v: bigint): number => Number(BigInt.asUintN(32, v));

class ParseExit {
  constructor(readonly lines: string[], readonly exitCode: number) {}
}

function timeArg(arg: string): bigint {
  const { value, rest } = strtol(arg);
  const mul = timeMultiplier(rest);
  if (mul === undefined) throw new ParseExit([`Unknown time unit: ${rest}.`], 1);
  return value * BigInt(mul);
}

/** Parses oping's arguments (without the program name and without --rundir). */
export function parseOpingArgs(argv: readonly string[]): OpingParse {
  try {
    return parse(argv);
  } catch (e) {
    if (e instanceof ParseExit) return { ok: false, lines: e.lines, exitCode: e.exitCode };
    throw e;
  }
}

function parse(argv: readonly string[]): OpingParse {
  const o = defaultOpingOptions();
  const lines: string[] = [];
  let duration = 0n;
  let qosName: string | null = null;
  const usageExit = (): never => {
    throw new ParseExit([OPING_USAGE], 1);
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const hasValue = i + 1 < argv.length;
    const is = (short: string | null, long: string): boolean => a === short || a === long;
    if (is('-i', '--interval') && hasValue) {
      const { value, rest } = strtol(argv[++i]!);
      const mul = timeMultiplier(rest);
      if (mul === undefined) throw new ParseExit([`Unknown time unit: ${rest}.`], 1);
      // The reference keeps the interval in a C int.
      o.interval = int32(BigInt(int32(value)) * BigInt(mul));
    } else if (is('-n', '--server-name') && hasValue) {
      o.serverName = argv[++i]!;
    } else if (is('-c', '--count') && hasValue) {
      o.count = uint32(strtol(argv[++i]!).value);
    } else if (is('-d', '--duration') && hasValue) {
      duration = BigInt.asIntN(64, timeArg(argv[++i]!));
    } else if (is('-s', '--size') && hasValue) {
      o.size = int32(strtol(argv[++i]!).value);
    } else if (is('-q', '--qos') && hasValue) {
      qosName = argv[++i]!;
    } else if (is('-l', '--listen')) {
      o.listen = true;
    } else if (is('-f', '--flood')) {
      o.flood = true;
    } else if (is('-F', '--flood-busy')) {
      o.floodBusy = true;
    } else if (is('-D', '--timeofday')) {
      o.timestamp = true;
    } else if (is('-Q', '--quiet')) {
      o.quiet = true;
    } else if (is(null, '--poll')) {
      o.poll = true;
    } else if (is(null, '--busy')) {
      o.busy = true;
    } else {
      usageExit();
    }
  }

  if (duration > 0n) {
    o.count = o.interval === 0 ? uint32(duration * 10n) : uint32(duration / BigInt(o.interval));
  }

  if (qosName !== null) {
    const spec = qosByName(qosName);
    if (spec) o.qos = spec;
    else lines.push('Unknown QoS cube, defaulting to raw.');
  }

  if (o.listen) return { ok: true, options: o, lines };

  if (o.serverName === null) {
    throw new ParseExit([...lines, 'No server specified.', OPING_USAGE], 1);
  }
  if (o.interval > OPING_MAX_INTERVAL) {
    lines.push('Ping interval truncated to 10s.');
    o.interval = OPING_MAX_INTERVAL;
  }
  if (o.size > OPING_BUF_SIZE) {
    lines.push(`Packet size truncated to ${OPING_BUF_SIZE} bytes.`);
    o.size = OPING_BUF_SIZE;
  }
  if (o.size < OPING_MIN_SIZE) {
    lines.push(`Packet size set to ${OPING_MIN_SIZE} bytes.`);
    o.size = OPING_MIN_SIZE;
  }
  return { ok: true, options: o, lines };
}
