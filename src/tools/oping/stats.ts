/** oping's round-trip statistics and the exact lines it prints. */

/** FLT_MAX: the reference's starting minimum. */
const FLT_MAX = 3.4028234663852886e38;

/**
 * printf("%.Nf") as glibc does it: like toFixed, but an exact tie rounds
 * to even instead of away from zero; nan/inf spelled the C way.
 */
export function cfmt(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const rounded = x.toFixed(digits);
  if (Math.abs(x) >= 1e21) return rounded;
  // A double that is an exact tie at `digits` has exactly digits + 1
  // fraction digits, the last a 5; 25 more digits tell a tie from a
  // near-tie for every magnitude where the difference shows.
  const exact = x.toFixed(digits + 25);
  const dot = exact.indexOf('.');
  const tail = exact.slice(dot + 1 + digits);
  if (!/^50*$/.test(tail)) return rounded;
  const truncated = digits === 0 ? exact.slice(0, dot) : exact.slice(0, dot + 1 + digits);
  const last = truncated.charCodeAt(truncated.length - 1) - 48;
  return last % 2 === 0 ? truncated : rounded;
}

/** RTT value as printed: µs (×1000) below 0.1 ms. */
export const rttValue = (ms: number): number => (ms < 0.1 ? ms * 1000 : ms);
export const rttUnit = (ms: number): string => (ms < 0.1 ? 'µs' : 'ms');

/** `<len> bytes from <name>: seq=<seq> time=<rtt> <unit><suffix>` */
export function replyLine(len: number, name: string, seq: number, ms: number, suffix = ''): string {
  return `${len | 0} bytes from ${name}: seq=${seq | 0} time=${cfmt(rttValue(ms), 3)} ${rttUnit(ms)}${suffix}`;
}

export const OUT_OF_ORDER = ' [out-of-order]';

/** `-D` prefix: `[<sec>.<usec, 6 digits>] ` from a time of day in ns. */
export function timeOfDayPrefix(realtimeNs: bigint): string {
  const sec = realtimeNs / 1_000_000_000n;
  const usec = (realtimeNs % 1_000_000_000n) / 1000n;
  return `[${sec}.${usec.toString().padStart(6, '0')}] `;
}

/** The header the client prints before pinging (without the blank line after it). */
export function headerLine(name: string, size: number, count: number, busy = false): string {
  const what = busy ? `${count >>> 0} packets, busy-poll` : `${count >>> 0} packets`;
  return `Pinging ${name} with ${size | 0} bytes of data (${what}):`;
}

/**
 * Packet loss in percent: ceil(100 - 100 * rcvd / sent), computed in
 * single precision as the reference does; 0 when nothing was sent.
 */
export function lossPercent(sent: number, rcvd: number): number {
  if (sent === 0) return 0;
  const f = Math.fround;
  const ratio = f(f(rcvd) / f(sent));
  return Math.ceil(f(100 - f(100 * ratio)));
}

/** Counters and running RTT moments (Welford) of one ping run. */
export class PingStats {
  sent = 0;
  rcvd = 0;
  ooo = 0;
  min = FLT_MAX;
  max = 0;
  avg = 0;
  m2 = 0;

  /** Counts one reply with round-trip `ms` (increments `rcvd`). */
  addReply(ms: number): void {
    this.rcvd++;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
    const d = ms - this.avg;
    this.avg += d / this.rcvd;
    this.m2 += d * (ms - this.avg);
  }

  /** Sample standard deviation; NaN with fewer than two replies. */
  get mdev(): number {
    return this.rcvd > 1 ? Math.sqrt(this.m2 / (this.rcvd - 1)) : NaN;
  }

  /** The statistics block, starting with its blank line. */
  lines(name: string, elapsedUs: bigint | number): string[] {
    const out = [
      '',
      `--- ${name} ping statistics ---`,
      `${this.sent | 0} packets transmitted, ${this.rcvd | 0} received, ${this.ooo} out-of-order, ` +
        `${cfmt(lossPercent(this.sent, this.rcvd), 0)}% packet loss, time: ${cfmt(Number(elapsedUs) / 1000, 3)} ms`,
    ];
    if (this.rcvd > 0) {
      const f = this.avg < 0.1 ? 1000 : 1;
      const mdev = this.rcvd > 1 ? cfmt(this.mdev * f, 3) : 'NaN';
      out.push(
        `rtt min/avg/max/mdev = ${cfmt(this.min * f, 3)}/${cfmt(this.avg * f, 3)}/${cfmt(this.max * f, 3)}/` +
          `${mdev} ${rttUnit(this.avg)}`,
      );
    }
    return out;
  }
}
