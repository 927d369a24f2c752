/**
 * Deadline timers driven by an injected clock: nothing here reads a clock or
 * starts an OS timer. The owner calls advance(now) and every timer whose
 * deadline is <= now fires, earliest deadline first, ties in the order they
 * were set. next() tells the owner when to call advance() again (so one OS
 * timer per owner is enough).
 *
 * Resolution: deadlines are rounded UP to a multiple of `resolutionMs`
 * (default 1 ms, the granularity of Node's setTimeout), so a timer never
 * fires early and set(10.2) fires at advance(11), not at advance(10.9).
 * The reference uses a 3-level wheel with 2^20 ns (about 1.05 ms) slots; an
 * indexed binary heap gives the same "never early" rule with exact
 * cancellation (no stale entries), O(log n) set/clear and no range limit.
 *
 * A timer set from inside a callback for a deadline <= now fires within the
 * same advance() call.
 */

export type TimerCallback = (now: number) => void;

export class Timer {
  /** Position in the owning heap, -1 when not pending. */
  idx = -1;
  at = 0;
  order = 0;

  constructor(
    private readonly queue: TimerQueue,
    readonly cb: TimerCallback,
  ) {}

  /** (Re)arm for absolute time `at` (ms, rounded up to the queue's resolution). */
  set(at: number): this {
    this.queue.arm(this, at);
    return this;
  }

  /** Arm only if not pending or if `at` is earlier than the current deadline. */
  setIfEarlier(at: number): this {
    if (!this.pending || this.queue.round(at) < this.at) this.queue.arm(this, at);
    return this;
  }

  clear(): void {
    this.queue.disarm(this);
  }

  get pending(): boolean {
    return this.idx >= 0;
  }

  /** The rounded deadline, or undefined when not pending. */
  get deadline(): number | undefined {
    return this.idx >= 0 ? this.at : undefined;
  }
}

export class TimerQueue {
  private heap: Timer[] = [];
  private seq = 0;

  constructor(readonly resolutionMs = 1) {
    if (!(resolutionMs > 0)) throw new RangeError('timer resolution must be > 0');
  }

  /** A reusable timer (not armed). */
  timer(cb: TimerCallback): Timer {
    return new Timer(this, cb);
  }

  /** A one-shot timer armed for `at`. */
  schedule(at: number, cb: TimerCallback): Timer {
    return new Timer(this, cb).set(at);
  }

  round(at: number): number {
    const r = this.resolutionMs;
    return Math.ceil(at / r) * r;
  }

  /** Earliest pending deadline, or undefined. */
  next(): number | undefined {
    return this.heap.length > 0 ? this.heap[0]!.at : undefined;
  }

  get size(): number {
    return this.heap.length;
  }

  /** Fire every timer due at `now`; returns how many fired. */
  advance(now: number): number {
    let fired = 0;
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const t = this.heap[0]!;
      this.removeAt(0);
      fired++;
      t.cb(now);
    }
    return fired;
  }

  /** Disarm everything. */
  clear(): void {
    for (const t of this.heap) t.idx = -1;
    this.heap = [];
  }

  /** @internal */
  arm(t: Timer, at: number): void {
    if (!Number.isFinite(at)) throw new RangeError('timer deadline must be finite');
    if (t.idx >= 0) this.removeAt(t.idx);
    t.at = this.round(at);
    t.order = this.seq++;
    t.idx = this.heap.length;
    this.heap.push(t);
    this.up(t.idx);
  }

  /** @internal */
  disarm(t: Timer): void {
    if (t.idx >= 0) this.removeAt(t.idx);
  }

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.order < b.order);
  }

  private removeAt(i: number): void {
    const h = this.heap;
    const t = h[i]!;
    const last = h.pop()!;
    t.idx = -1;
    if (i < h.length) {
      h[i] = last;
      last.idx = i;
      this.up(i);
      this.down(last.idx);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    const t = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = h[p]!;
      if (!this.less(t, pt)) break;
      h[i] = pt;
      pt.idx = i;
      i = p;
    }
    h[i] = t;
    t.idx = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const t = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[r]!, h[l]!) ? r : l;
      const ct = h[c]!;
      if (!this.less(ct, t)) break;
      h[i] = ct;
      ct.idx = i;
      i = c;
    }
    h[i] = t;
    t.idx = i;
  }
}
