/**
 * The alternate forwarding policy (for LFA routing): per destination a
 * primary next hop and loop-free alternates. A lookup returns the first next
 * hop whose flow is not down, so a primary going down switches its
 * destinations to their first working alternate at once, without waiting for
 * routing, and flowUp puts the primary back. The reference swaps entries in
 * place on each event and forgets the down set on every recalculation; a
 * lookup over the ordered list gives the same choice and survives updates.
 */
import type { Pff, PffEntry } from './index.js';
import { copyTable, entriesOf, hopsOf } from './simple.js';

export class AlternatePff implements Pff {
  readonly name = 'alternate';
  private table = new Map<number, number[]>();
  /** Next hops whose flow is down. */
  private readonly down = new Set<number>();
  /** dst -> next hop in use, recomputed on every change. */
  private active = new Map<number, number>();

  update(table: ReadonlyMap<number, readonly number[]>): void {
    this.table = copyTable(table);
    const used = hopsOf(this.table);
    for (const h of this.down) if (!used.has(h)) this.down.delete(h);
    this.select();
  }

  nextHop(dst: number): number | undefined {
    return this.active.get(dst);
  }

  flowDown(nextHop: number): void {
    if (this.down.has(nextHop)) return;
    this.down.add(nextHop);
    this.select();
  }

  flowUp(nextHop: number): void {
    if (!this.down.delete(nextHop)) return;
    this.select();
  }

  /** Next hops currently marked down, ascending. */
  downHops(): number[] {
    return [...this.down].sort((a, b) => a - b);
  }

  entries(): PffEntry[] {
    return entriesOf(this.table);
  }

  private select(): void {
    const a = new Map<number, number>();
    for (const [dst, hops] of this.table) {
      const h = hops.find((x) => !this.down.has(x));
      if (h !== undefined) a.set(dst, h);
    }
    this.active = a;
  }
}
