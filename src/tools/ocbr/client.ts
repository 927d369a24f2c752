/**
 * ocbr client: allocates a flow to the server and sends `size`-byte
 * packets at a constant bit rate (or flooding) for the duration. Every
 * packet starts with its sequence number (from 0) as an 8-byte
 * little-endian integer (the reference's host-order `long`), the rest is
 * zero. Prints the sent statistics at the end, or when stopped.
 */
import type { Flow, Process } from '../../lib/api.js';
import { systemClock, tsDiffMs, type Clock } from '../oping/clock.js';
import { drainTx, writeSdu } from '../common/flowio.js';
import { gapNs, pace } from '../common/pacer.js';
import { sprintf } from '../common/printf.js';
import type { OcbrOptions } from './options.js';

export type Out = (line: string) => void;

export interface RunContext {
  /** Time source; the system clock by default. */
  clock?: Clock;
  /** Aborting it stops the run (SIGINT, SIGTERM, SIGHUP in the bin). */
  signal?: AbortSignal;
}

/** Bytes of sequence number at the start of each packet. */
export const OCBR_SEQ_SIZE = 8;

/** A `size`-byte packet carrying `seq` (truncated when shorter than 8 bytes). */
export function encodePacket(seq: number, size: number): Buffer {
  const buf = Buffer.alloc(Math.max(size, OCBR_SEQ_SIZE));
  buf.writeBigInt64LE(BigInt(seq), 0);
  return buf.subarray(0, size);
}

/** The sequence number of a packet, or undefined when it is shorter than 8 bytes. */
export function decodeSeq(data: Uint8Array): number | undefined {
  if (data.length < OCBR_SEQ_SIZE) return undefined;
  return Number(Buffer.from(data.buffer, data.byteOffset, data.byteLength).readBigInt64LE(0));
}

/** `sent statistics: ...` as the reference prints it. */
export function sentStatsLine(packets: number, size: number, ms: number): string {
  return sprintf(
    'sent statistics: %9ld packets, %12ld bytes in %9d ms, %4.4f Mb/s',
    packets,
    packets * size,
    ms,
    (packets / (ms * 1000.0)) * size * 8.0,
  );
}

/** Runs the client with already-parsed options; returns the exit code. */
export async function runOcbrClient(proc: Process, opts: OcbrOptions, out: Out, ctx: RunContext = {}): Promise<number> {
  const clock = ctx.clock ?? systemClock;
  out(sprintf('Client started, duration %d, rate %lu b/s, size %d B.', opts.duration, opts.rate, opts.size));

  let flow: Flow;
  try {
    flow = await proc.flowAlloc(opts.serverName ?? '');
  } catch {
    out('Failed to allocate flow.');
    return 1;
  }

  // One buffer, rewritten for every packet: flows copy what they are given.
  const buf = Buffer.alloc(Math.max(opts.size, OCBR_SEQ_SIZE));
  const pkt = buf.subarray(0, opts.size);
  const result = await pace(
    {
      clock,
      durationNs: BigInt(Math.max(0, opts.duration)) * 1_000_000_000n,
      gapNs: opts.flood ? null : gapNs(opts.size, opts.rate),
      spin: !opts.sleep,
      signal: ctx.signal,
    },
    (seq) => {
      buf.writeBigInt64LE(BigInt(seq), 0);
      let pending: Promise<void> | undefined;
      try {
        pending = writeSdu(flow, pkt);
      } catch {
        return false;
      }
      return pending ? pending.then(() => true, () => false) : true;
    },
  );

  const ms = Number(BigInt.asIntN(32, tsDiffMs(result.endNs, result.startNs)));
  out(sentStatsLine(result.sent, opts.size, ms));
  await drainTx(flow, clock, { signal: ctx.signal });

  await flow.dealloc().catch(() => undefined);
  return 0;
}
