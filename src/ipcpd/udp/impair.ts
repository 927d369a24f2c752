/**
 * o7s test option of the UDP layers: make the link lossy. Bootstrap options
 * `drop P`, `dup P`, `reorder P`, `corrupt P` (probabilities 0..1) and
 * `delay MS` apply to the data datagrams this IPCP sends. Management messages
 * (flow allocation) are left alone: the reference's allocation has no
 * retransmission, so losing them would only make allocation fail.
 */

export interface ImpairConfig {
  drop: number;
  dup: number;
  reorder: number;
  corrupt: number;
  delay: number;
}

export const IMPAIR_KEYS = ['drop', 'dup', 'reorder', 'corrupt', 'delay'] as const;

/** Reads the impairment options from bootstrap extras; throws a message for bad values. */
export function parseImpair(extra: Record<string, string> | undefined): ImpairConfig | undefined {
  if (!extra) return undefined;
  const c: ImpairConfig = { drop: 0, dup: 0, reorder: 0, corrupt: 0, delay: 0 };
  let any = false;
  for (const k of IMPAIR_KEYS) {
    const v = extra[k];
    if (v === undefined) continue;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || (k !== 'delay' && n > 1)) {
      throw new Error(k === 'delay' ? `delay must be a number of milliseconds >= 0, not "${v}"` : `${k} must be a probability from 0 to 1, not "${v}"`);
    }
    c[k] = n;
    any ||= n > 0;
  }
  return any ? c : undefined;
}

export type Send = (datagram: Buffer[], addr: string, port: number) => void;

/** Applies the impairments to each datagram before handing it to `send`. */
export class Impairment {
  private held: { d: Buffer[]; addr: string; port: number } | undefined;
  private heldTimer: NodeJS.Timeout | undefined;
  readonly stats = { dropped: 0, duplicated: 0, reordered: 0, corrupted: 0 };

  constructor(
    private readonly c: ImpairConfig,
    private readonly send: Send,
    private readonly random: () => number = Math.random,
  ) {}

  submit(parts: Buffer[], addr: string, port: number): void {
    if (this.random() < this.c.drop) {
      this.stats.dropped++;
      return;
    }
    let dgram = parts;
    if (this.random() < this.c.corrupt) {
      const whole = Buffer.concat(parts);
      if (whole.length > 4) {
        // Leave the eid alone so the damage reaches the flow's own checks.
        const i = 4 + Math.floor(this.random() * (whole.length - 4));
        whole[i] = whole[i]! ^ (1 + Math.floor(this.random() * 255));
        this.stats.corrupted++;
      }
      dgram = [whole];
    } else {
      dgram = [Buffer.concat(parts)]; // the caller may reuse its buffers
    }
    const copies = this.random() < this.c.dup ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    if (this.random() < this.c.reorder && !this.held) {
      // Hold this one back until the next datagram has gone (or a short while).
      this.stats.reordered++;
      this.held = { d: dgram, addr, port };
      this.heldTimer = setTimeout(() => this.release(), Math.max(1, this.c.delay) + 5);
      if (copies === 2) this.out(dgram, addr, port);
      return;
    }
    for (let i = 0; i < copies; i++) this.out(dgram, addr, port);
    this.release();
  }

  private release(): void {
    if (!this.held) return;
    const h = this.held;
    this.held = undefined;
    if (this.heldTimer) clearTimeout(this.heldTimer);
    this.out(h.d, h.addr, h.port);
  }

  private out(d: Buffer[], addr: string, port: number): void {
    if (this.c.delay > 0) setTimeout(() => this.send(d, addr, port), this.c.delay);
    else this.send(d, addr, port);
  }

  stop(): void {
    if (this.heldTimer) clearTimeout(this.heldTimer);
    this.held = undefined;
  }
}
