/**
 * OAP replay protection (WIRE.md §10.4 step 2): a request is fresh when its
 * timestamp is at most `slackMs` in the future and at most `windowMs` old,
 * and each (id, timestamp) is accepted once while it is inside the window.
 * The reference's window is OAP_REPLAY_TIMER (20 s); the IRMd may pass a
 * window derived from the layer's maximum packet lifetime instead.
 */
import { type Clock, systemClock } from '../../common/clock.js';
import { fail } from '../../common/errors.js';

export const OAP_REPLAY_WINDOW_MS = 20_000;
export const OAP_TIMESYNC_SLACK_MS = 100;

/** Wall-clock time of `clock` in ns since the epoch, as OAP timestamps are. */
export function wallNs(clock: Clock = systemClock): bigint {
  const ms = clock.wallNow();
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.floor((ms - whole) * 1e6));
}

const keyOf = (id: Uint8Array, ts: bigint): string => `${Buffer.from(id.buffer, id.byteOffset, id.length).toString('hex')}/${ts}`;

export interface ReplayGuardOptions {
  clock?: Clock;
  windowMs?: number;
  slackMs?: number;
}

export class ReplayGuard {
  private readonly clock: Clock;
  private readonly windowMs: number;
  private readonly slackMs: number;
  /** key → when it may be forgotten (ns): timestamp + the window it was accepted in. */
  private readonly seen = new Map<string, bigint>();
  private lastPurgeMs = -Infinity;

  constructor(opts: ReplayGuardOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.windowMs = opts.windowMs ?? OAP_REPLAY_WINDOW_MS;
    this.slackMs = opts.slackMs ?? OAP_TIMESYNC_SLACK_MS;
  }

  /** Accepts a fresh (id, timestamp) and remembers it; throws EAUTH otherwise (the reference's check). */
  check(id: Uint8Array, timestampNs: bigint, windowMs?: number): void {
    this.checkFresh(id, timestampNs, windowMs);
    this.remember(id, timestampNs, windowMs);
  }

  /**
   * Throws EAUTH when the header is stale, from the future or already
   * remembered, without remembering it: a server calls this before
   * authenticating and {@link remember} after, so a forged copy of a request
   * that arrives first cannot block the genuine one. `windowMs` (default the
   * guard's) may be longer for a request that came through a layer whose
   * packets live longer (its MPL): it is then remembered that much longer.
   */
  checkFresh(id: Uint8Array, timestampNs: bigint, windowMs: number = this.windowMs): void {
    const now = wallNs(this.clock);
    const deltaMs = Number((now - timestampNs) / 1_000_000n);
    if (deltaMs < -this.slackMs) fail('EAUTH', `OAP header from ${-deltaMs} ms in the future`);
    if (deltaMs > windowMs) fail('EAUTH', `OAP header too old (${deltaMs} ms)`);
    this.purge(now);
    if (this.seen.has(keyOf(id, timestampNs))) fail('EAUTH', 'OAP header replayed');
  }

  /** Remembers (id, timestamp); EAUTH if it already was. */
  remember(id: Uint8Array, timestampNs: bigint, windowMs: number = this.windowMs): void {
    const key = keyOf(id, timestampNs);
    if (this.seen.has(key)) fail('EAUTH', 'OAP header replayed');
    this.seen.set(key, timestampNs + BigInt(Math.round(Math.max(windowMs, this.windowMs) * 1e6)));
  }

  /** Entries remembered (including expired ones not yet purged). */
  get size(): number {
    return this.seen.size;
  }

  /** Forgets entries older than the window; runs at most once a second of wall time. */
  private purge(now: bigint): void {
    const ms = Number(now / 1_000_000n);
    if (ms - this.lastPurgeMs < 1000) return;
    this.lastPurgeMs = ms;
    for (const [k, until] of this.seen) if (now > until) this.seen.delete(k);
  }
}
