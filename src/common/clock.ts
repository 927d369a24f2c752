/**
 * An injectable clock for protocol timers (link-state ageing, DHT refresh,
 * enrollment timeouts): components take a Clock instead of calling
 * Date.now()/setTimeout, so tests drive them with a fake one
 * (test/helpers/fake-clock.ts).
 */
import { timerDelay } from './time.js';

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Wall-clock time in milliseconds since the Unix epoch (DHT expiry times are absolute). */
  wallNow(): number;
  /** Calls `fn` once after `ms`. */
  after(ms: number, fn: () => void): TimerHandle;
  /** Calls `fn` every `ms` until cancelled. */
  every(ms: number, fn: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, timerDelay(ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  every(ms, fn) {
    const t = setInterval(fn, timerDelay(Math.max(1, ms)));
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
};
