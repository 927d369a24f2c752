/**
 * RTT estimator and retransmission timeout, the "Linux variant" of the
 * reference (WIRE.md §7.7). Internally integer nanoseconds with arithmetic
 * (flooring) shifts, so the numbers are exactly the reference's; the public
 * accessors are in milliseconds to match the engine's clock.
 *
 *   first sample m:  srtt = m, mdev = m / 2
 *   later samples:   d = m - srtt; srtt += d >> 3
 *                    d' = (|d| - mdev) >> 2; if d' < 0 then d' >>= 3
 *                    mdev += d'
 *   then:            srtt = max(1 us, srtt), mdev = max(100 ns, mdev),
 *                    rto = max(250 us, srtt + 4 * mdev)
 *
 * Initial state: srtt 0, mdev 10 ms, rto 1 s. Back-off after timeouts is
 * the engine's business (frct.ts), so this stays a pure estimator.
 */

export const SRTT_MIN_NS = 1_000;
export const MDEV_MIN_NS = 100;
export const RTO_MIN_NS = 250_000;
/** rto = srtt + (mdev << MDEV_SHIFT). */
export const MDEV_SHIFT = 2;
export const INITIAL_MDEV_NS = 10_000_000;
export const INITIAL_RTO_NS = 1_000_000_000;

/** Arithmetic right shift on integers beyond 32 bits (floor division by 2^n). */
function sar(x: number, n: number): number {
  return Math.floor(x / 2 ** n);
}

export class RttEstimator {
  private srtt = 0;
  private mdev = INITIAL_MDEV_NS;
  private rto: number;
  private n = 0;

  constructor(initialRtoMs?: number) {
    this.rto = initialRtoMs === undefined ? INITIAL_RTO_NS : Math.round(initialRtoMs * 1e6);
  }

  /** Feed one RTT measurement in milliseconds (negative values count as 0). */
  sample(ms: number): void {
    const m = Math.max(0, Math.round(ms * 1e6));
    let srtt = this.srtt;
    let mdev = this.mdev;
    if (this.n === 0) {
      srtt = m;
      mdev = sar(m, 1);
    } else {
      let d = m - srtt;
      srtt += sar(d, 3);
      d = sar(Math.abs(d) - mdev, 2);
      if (d < 0) d = sar(d, 3);
      mdev += d;
    }
    this.n++;
    this.srtt = Math.max(SRTT_MIN_NS, srtt);
    this.mdev = Math.max(MDEV_MIN_NS, mdev);
    this.rto = Math.max(RTO_MIN_NS, this.srtt + this.mdev * 2 ** MDEV_SHIFT);
  }

  get samples(): number {
    return this.n;
  }
  get srttNs(): number {
    return this.srtt;
  }
  get mdevNs(): number {
    return this.mdev;
  }
  get rtoNs(): number {
    return this.rto;
  }
  get srttMs(): number {
    return this.srtt / 1e6;
  }
  get mdevMs(): number {
    return this.mdev / 1e6;
  }
  get rtoMs(): number {
    return this.rto / 1e6;
  }
}
