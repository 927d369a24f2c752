/** Time as oping sees it, injectable so tests run on fake time. */
import { setImmediate as immediate, setTimeout as delay } from 'node:timers/promises';

export interface Clock {
  /** Monotonic time in nanoseconds (the timestamp carried in requests). */
  now(): bigint;
  /** Time of day in nanoseconds since the epoch (for `-D`). */
  realtime(): bigint;
  /** Resolves after `ms` milliseconds, or as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => process.hrtime.bigint(),
  realtime: () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n,
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return;
    try {
      if (ms > 0) await delay(ms, undefined, { signal });
      else await immediate(undefined, { signal });
    } catch (e) {
      if (!signal?.aborted) throw e;
    }
  },
};

const NS_PER_S = 1_000_000_000n;

/**
 * Difference between two timestamps the way the reference's timespec
 * helpers compute it: whole seconds scaled, plus the nanosecond
 * difference divided by `unitNs` with truncation toward zero.
 */
export function tsDiff(later: bigint, earlier: bigint, unitNs: bigint): bigint {
  const sec = later / NS_PER_S - earlier / NS_PER_S;
  const nsec = (later % NS_PER_S) - (earlier % NS_PER_S);
  return sec * (NS_PER_S / unitNs) + nsec / unitNs;
}

export const tsDiffUs = (later: bigint, earlier: bigint): bigint => tsDiff(later, earlier, 1000n);
export const tsDiffMs = (later: bigint, earlier: bigint): bigint => tsDiff(later, earlier, 1_000_000n);

/** Lets the event loop run (I/O, timers) before a busy loop tries again. */
export function yieldToLoop(): Promise<void> {
  return immediate();
}

/** Settles like `promise`, or rejects with an AbortError once `signal` aborts. */
export function raceAbort<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  promise.catch(() => undefined);
  if (signal.aborted) return Promise.reject(abortError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function abortError(): Error {
  const e = new Error('aborted');
  e.name = 'AbortError';
  return e;
}
