/**
 * Sending at a rate for a duration, on a monotonic clock.
 *
 * Packet k is due at start + k·gap (an absolute schedule, so waking late
 * never slows the average rate: packets that fell due while the sender
 * slept go out back to back). Packets are sent while their due time is
 * inside the duration; the run then lasts until the end of the last
 * packet's slot, so a run of n packets takes n·gap and its rate is exact.
 *
 * Waiting is done by sleeping on timers (the default: no CPU burnt, about
 * a millisecond of jitter) or by spinning through the event loop (`spin`:
 * tighter spacing, one core busy). A sender that falls more than
 * PACE_MAX_LAG_NS behind (a blocked window) restarts its schedule from
 * now instead of bursting the backlog out. Flooding sends back to back,
 * waiting only for the flow's window, until the duration is over.
 */
import { yieldToLoop, type Clock } from '../oping/clock.js';

/** Falling further behind the schedule than this moves the schedule up to now. */
export const PACE_MAX_LAG_NS = 1_000_000_000n;
/** Packets sent without waiting before the event loop gets a turn. */
export const PACE_BATCH = 256;

/**
 * Sends packet `seq`: true once it is written, false when the write
 * failed (the run stops). May be asynchronous.
 */
export type SendFn = (seq: number) => boolean | Promise<boolean>;

export interface PaceOptions {
  clock: Clock;
  /** How long to send, in ns. */
  durationNs: bigint;
  /** ns from one packet to the next; null (or not a positive number) floods. */
  gapNs: number | null;
  /** Spin instead of sleeping between packets. */
  spin?: boolean;
  /** Aborting it ends the run at once. */
  signal?: AbortSignal;
}

export interface PaceResult {
  /** Packets written. */
  sent: number;
  /** Clock time of the start and end of the run (ns). */
  startNs: bigint;
  endNs: bigint;
  /** A write failed. */
  failed: boolean;
}

/** ns between the starts of `size`-byte packets at `rate` b/s. */
export function gapNs(size: number, rate: number): number {
  return (size * 8 * 1e9) / rate;
}

/** Runs the sender; see the module comment for the schedule. */
export async function pace(o: PaceOptions, send: SendFn): Promise<PaceResult> {
  const { clock, signal } = o;
  const stopped = (): boolean => signal?.aborted === true;
  const startNs = clock.now();
  const endAt = startNs + (o.durationNs > 0n ? o.durationNs : 0n);
  let sent = 0;
  let failed = false;
  let burst = 0;

  const sendOne = async (): Promise<boolean> => {
    let r = send(sent);
    if (typeof r !== 'boolean') r = await r;
    if (!r) {
      failed = true;
      return false;
    }
    sent++;
    return true;
  };

  const gap = o.gapNs;
  if (gap === null || !(gap > 0) || !Number.isFinite(gap)) {
    while (!stopped() && clock.now() < endAt) {
      if (!(await sendOne())) break;
      if (++burst >= PACE_BATCH) {
        burst = 0;
        await yieldToLoop();
      }
    }
    return { sent, startNs, endNs: clock.now(), failed };
  }

  const waitUntil = async (due: bigint): Promise<void> => {
    if (o.spin) {
      while (!stopped() && clock.now() < due) await yieldToLoop();
      return;
    }
    for (;;) {
      if (stopped()) return;
      const left = due - clock.now();
      if (left <= 0n) return;
      await clock.sleep(Number(left) / 1e6, signal);
    }
  };

  // Slot k starts at base + (k - k0)·gap; base/k0 move when the schedule restarts.
  let base = startNs;
  let k0 = 0;
  const slot = (k: number): bigint => base + BigInt(Math.round((k - k0) * gap));

  for (;;) {
    if (stopped()) break;
    let due = slot(sent);
    if (due >= endAt) break;
    const now = clock.now();
    if (now < due) {
      burst = 0;
      await waitUntil(due);
      if (stopped()) break;
    } else if (now - due > PACE_MAX_LAG_NS) {
      base = now;
      k0 = sent;
      due = now;
      if (due >= endAt) break;
    } else if (++burst >= PACE_BATCH) {
      burst = 0;
      await yieldToLoop();
    }
    if (!(await sendOne())) break;
  }
  if (!stopped() && !failed) await waitUntil(slot(sent));
  return { sent, startNs, endNs: clock.now(), failed };
}
