/**
 * SDU reads and writes for the tools' hot loops. The library's flows have
 * synchronous fast paths (`tryWrite`, `tryRead`) next to the `Flow`
 * interface; these helpers use them when present and fall back to the
 * awaiting calls, which honour the flow's window and timeouts.
 */
import { setMaxListeners } from 'node:events';
import type { Flow } from '../../lib/api.js';

interface FastPaths {
  tryWrite?(data: Uint8Array): boolean;
  tryRead?(): Buffer | undefined;
}

/**
 * Writes one SDU. Returns undefined when it went out at once, otherwise
 * the pending write (waiting for the window). Throws (or rejects) as the
 * flow does. The flow copies `data` before this returns or the promise
 * settles, so the caller may reuse the buffer afterwards.
 */
export function writeSdu(flow: Flow, data: Uint8Array): Promise<void> | undefined {
  const fast = flow as Flow & FastPaths;
  if (typeof fast.tryWrite === 'function' && fast.tryWrite(data)) return undefined;
  return flow.write(data);
}

/** A queued SDU without waiting; undefined when none is queued or the flow has no fast path. */
export function pollSdu(flow: Flow): Buffer | undefined {
  const fast = flow as Flow & FastPaths;
  return typeof fast.tryRead === 'function' ? fast.tryRead() : undefined;
}

/** The next SDU: a queued one at once, else waits for one (`flow.read()`, with its timeout). */
export function readSdu(flow: Flow): Promise<Buffer> {
  let pkt: Buffer | undefined;
  try {
    pkt = pollSdu(flow);
  } catch {
    // Down or deallocated: let read() report it the usual way.
  }
  return pkt ? Promise.resolve(pkt) : flow.read();
}

export interface DrainOptions {
  /** Give up after this long (ms). */
  maxMs?: number;
  /** Stop once the queue has not moved for this long (ms): the rest is taken but not yet acknowledged. */
  stallMs?: number;
  /** How often to look (ms). */
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * Waits until the peer has taken the packets written on `flow` (its tx
 * queue is empty), the queue stops moving, or the time is up. A sender
 * calls it before deallocating, so that packets still on their way are
 * not thrown away with the flow.
 */
export async function drainTx(
  flow: Flow,
  clock: { now(): bigint; sleep(ms: number, signal?: AbortSignal): Promise<void> },
  o: DrainOptions = {},
): Promise<void> {
  const maxNs = BigInt(o.maxMs ?? 2000) * 1_000_000n;
  const stallNs = BigInt(o.stallMs ?? 200) * 1_000_000n;
  const pollMs = o.pollMs ?? 10;
  const start = clock.now();
  let last = -1;
  let lastChange = start;
  for (;;) {
    if (flow.closed || o.signal?.aborted) return;
    const q = flow.txQueueLength;
    if (q === 0) return;
    const now = clock.now();
    if (q !== last) {
      last = q;
      lastChange = now;
    } else if (now - lastChange >= stallNs) {
      return;
    }
    if (now - start >= maxNs) return;
    await clock.sleep(pollMs, o.signal);
  }
}

/**
 * A signal that follows `outer` and may have many listeners (one per flow
 * a server waits on), so Node does not warn about a listener leak.
 */
export function serverSignal(outer?: AbortSignal): AbortSignal {
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  if (outer?.aborted) ac.abort();
  else outer?.addEventListener('abort', () => ac.abort(), { once: true });
  return ac.signal;
}
