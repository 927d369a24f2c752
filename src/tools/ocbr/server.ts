/**
 * ocbr server: accepts up to 10 flows at a time; for each it counts the
 * packets and bytes that arrive, prints them every interval, and ends the
 * test once the flow has been silent for the timeout. At the end of a
 * test (o7s addition) it prints the totals over the whole test and the
 * loss and reordering seen in the packets' sequence numbers.
 */
import type { Flow, Process } from '../../lib/api.js';
import { FlowFlags } from '../../lib/api.js';
import { raceAbort, systemClock, tsDiffMs, tsDiffUs, type Clock } from '../oping/clock.js';
import { errorCode, isAbort } from '../oping/errors.js';
import { pollSdu, serverSignal } from '../common/flowio.js';
import { sprintf } from '../common/printf.js';
import { RecvStats } from '../common/recvstats.js';
import { decodeSeq, type Out, type RunContext } from './client.js';
import { OCBR_BUF_SIZE, type OcbrOptions } from './options.js';

/** Flows served at the same time (the reference's worker threads). */
export const OCBR_MAX_FLOWS = 10;
/** Each read waits at most this long, so reports and timeouts come on time (ms). */
export const OCBR_READ_TICK_MS = 100;

/** The reference's line for one interval of a flow. */
export function intervalLine(fd: number, packets: number, bytes: number, us: number): string {
  return sprintf(
    'Flow %4d: %9ld packets (%12ld bytes) in %9ld ms => %9.4f pps, %9.4f Mbps',
    fd,
    packets,
    bytes,
    Math.trunc(us / 1000),
    (packets / us) * 1e6,
    8 * (bytes / us),
  );
}

/**
 * The o7s lines at the end of a flow's test: totals from the first packet
 * to the last (rates counted after the first packet), then the loss and
 * reordering seen in the sequence numbers.
 */
export function totalLines(fd: number, s: RecvStats): string[] {
  const seq = s.seq;
  return [
    sprintf(
      'Flow %4d total: %9ld packets (%12ld bytes) in %9ld ms => %9.4f pps, %9.4f Mbps',
      fd,
      s.packets,
      s.bytes,
      Math.trunc(s.spanUs / 1000),
      s.pps,
      s.goodputMbps,
    ),
    sprintf(
      'Flow %4d loss: %9ld of %9ld packets lost => %9.4f %%, %9ld out of order',
      fd,
      seq.lost,
      seq.expected,
      seq.expected > 0 ? (100 * seq.lost) / seq.expected : 0,
      seq.reordered,
    ),
  ];
}

/** Runs the server until `ctx.signal` aborts; returns the exit code. */
export async function runOcbrServer(proc: Process, opts: OcbrOptions, out: Out, ctx: RunContext = {}): Promise<number> {
  const clock = ctx.clock ?? systemClock;
  const signal = serverSignal(ctx.signal);
  const active = new Set<Promise<void>>();

  out(sprintf('Server started, interval is %ld s, timeout is %ld s.', opts.interval, opts.timeout));

  while (!signal?.aborted) {
    while (active.size >= OCBR_MAX_FLOWS && !signal?.aborted) {
      out("Can't accept any more flows, waiting.");
      await raceAbort(Promise.race(active), signal).catch(() => undefined);
    }
    if (signal?.aborted) break;

    let flow: Flow;
    try {
      flow = await raceAbort(proc.flowAccept(), signal);
    } catch (e) {
      if (signal?.aborted || isAbort(e)) break;
      out('Failed to accept flow.');
      break;
    }
    out('New flow.');
    const h = handleFlow(flow, opts, out, clock, signal);
    active.add(h);
    void h.finally(() => active.delete(h));
  }

  await Promise.allSettled([...active]);
  return 0;
}

/** Reads one packet, waiting at most the read tick; null when none came. */
async function readTick(flow: Flow, clock: Clock, signal?: AbortSignal): Promise<Buffer | null> {
  let pkt: Buffer | undefined;
  try {
    pkt = pollSdu(flow);
  } catch {
    // down: handled by read() below
  }
  if (pkt) return pkt;
  try {
    return await raceAbort(flow.read(), signal);
  } catch (e) {
    if (signal?.aborted || isAbort(e)) return null;
    const code = errorCode(e);
    if (code !== 'ETIMEDOUT' && code !== 'EMSGSIZE' && code !== 'EAGAIN') {
      // Gone: nothing will come, wait out the tick instead of spinning.
      await clock.sleep(OCBR_READ_TICK_MS, signal);
    }
    return null;
  }
}

async function handleFlow(flow: Flow, opts: OcbrOptions, out: Out, clock: Clock, signal?: AbortSignal): Promise<void> {
  const intervalNs = BigInt(opts.interval) * 1_000_000_000n;
  const timeoutUs = BigInt(opts.timeout) * 1_000_000n;
  const stats = new RecvStats();

  let ivStart = clock.now();
  let alive = ivStart;
  let ivEnd = ivStart + intervalNs;
  let packetsBefore = 0;
  let bytesBefore = 0;

  flow.flags = FlowFlags.RDWR | FlowFlags.RNOPART;
  flow.readTimeout = OCBR_READ_TICK_MS;

  let stop = false;
  while (!stop) {
    const now = clock.now();
    const pkt = await readTick(flow, clock, signal);
    if (pkt && pkt.length > 0 && pkt.length <= OCBR_BUF_SIZE) {
      alive = clock.now();
      stats.add(pkt.length, alive, decodeSeq(pkt));
    }

    if (tsDiffUs(now, alive) > timeoutUs) {
      out(`Test on flow ${flow.fd} timed out`);
      stop = true;
    }
    if (signal?.aborted) stop = true;

    if (stop || tsDiffMs(now, ivEnd) > 0n) {
      const us = Number(tsDiffUs(now, ivStart));
      out(intervalLine(flow.fd, stats.packets - packetsBefore, stats.bytes - bytesBefore, us));
      ivStart = ivEnd;
      packetsBefore = stats.packets;
      bytesBefore = stats.bytes;
      ivEnd = ivStart + intervalNs;
    }
  }

  for (const line of totalLines(flow.fd, stats)) out(line);
  await flow.dealloc().catch(() => undefined);
}
