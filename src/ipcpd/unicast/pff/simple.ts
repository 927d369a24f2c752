/**
 * The simple forwarding policy: one next hop per destination, the first the
 * routing table gives. Flow events change nothing (as in the reference): a
 * PDU for a dead next hop is lost until routing computes another table.
 * Also home to the table helpers the other policies share.
 */
import type { Pff, PffEntry } from './index.js';

/** Copies a table: destinations ascending, next hops de-duplicated in order, empty entries dropped. */
export function copyTable(table: ReadonlyMap<number, readonly number[]>): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const dst of [...table.keys()].sort((a, b) => a - b)) {
    const hops = [...new Set(table.get(dst)!)];
    if (hops.length > 0) out.set(dst, hops);
  }
  return out;
}

/** Every next hop a table uses. */
export function hopsOf(table: ReadonlyMap<number, readonly number[]>): Set<number> {
  const s = new Set<number>();
  for (const hops of table.values()) for (const h of hops) s.add(h);
  return s;
}

export function entriesOf(table: ReadonlyMap<number, readonly number[]>): PffEntry[] {
  return [...table].map(([dst, hops]) => ({ dst, nextHops: hops.slice() }));
}

export class SimplePff implements Pff {
  readonly name = 'simple';
  private table = new Map<number, number>();

  update(table: ReadonlyMap<number, readonly number[]>): void {
    const t = new Map<number, number>();
    for (const [dst, hops] of copyTable(table)) t.set(dst, hops[0]!);
    this.table = t;
  }

  nextHop(dst: number): number | undefined {
    return this.table.get(dst);
  }

  flowDown(_nextHop: number): void {}

  flowUp(_nextHop: number): void {}

  entries(): PffEntry[] {
    return [...this.table].map(([dst, nh]) => ({ dst, nextHops: [nh] }));
  }
}
