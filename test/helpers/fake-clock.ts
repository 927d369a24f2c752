/** A Clock driven by the test: nothing fires until advance(). */
import type { Clock, TimerHandle } from '../../src/common/clock.js';

interface Pending {
  at: number;
  order: number;
  fn: () => void;
  period: number | undefined;
  live: boolean;
}

export class FakeClock implements Clock {
  private t = 0;
  private order = 0;
  private pending: Pending[] = [];

  constructor(private readonly wallBase = 1_800_000_000_000) {}

  now(): number {
    return this.t;
  }

  wallNow(): number {
    return this.wallBase + this.t;
  }

  after(ms: number, fn: () => void): TimerHandle {
    return this.add(ms, fn, undefined);
  }

  every(ms: number, fn: () => void): TimerHandle {
    return this.add(ms, fn, Math.max(1, ms));
  }

  private add(ms: number, fn: () => void, period: number | undefined): TimerHandle {
    const p: Pending = { at: this.t + Math.max(0, ms), order: this.order++, fn, period, live: true };
    this.pending.push(p);
    return { cancel: () => (p.live = false) };
  }

  /** Moves time forward by `ms`, firing every timer due on the way, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.pending = this.pending.filter((p) => p.live);
      let next: Pending | undefined;
      for (const p of this.pending) if (p.at <= end && (!next || p.at < next.at || (p.at === next.at && p.order < next.order))) next = p;
      if (!next) break;
      this.t = next.at;
      if (next.period !== undefined) {
        next.at += next.period;
        next.order = this.order++;
      } else next.live = false;
      next.fn();
    }
    this.t = end;
  }

  /** Advances in steps of `step` ms, letting promises settle between steps. */
  async run(ms: number, step = 10): Promise<void> {
    for (let done = 0; done < ms; done += step) {
      this.advance(Math.min(step, ms - done));
      await new Promise<void>((r) => setImmediate(r));
    }
  }
}
