/**
 * The multipath forwarding policy (for ECMP routing): each lookup for a
 * destination takes the next of its next hops in turn (round-robin, as the
 * reference rotates its list per lookup), skipping next hops whose flow is
 * down; the reference ignores flow events here and keeps using dead hops.
 */
import type { Pff, PffEntry } from './index.js';
import { copyTable, entriesOf, hopsOf } from './simple.js';

export class MultipathPff implements Pff {
  readonly name = 'multipath';
  private table = new Map<number, number[]>();
  private readonly down = new Set<number>();
  /** dst -> lookups so far (the round-robin position). */
  private turn = new Map<number, number>();

  update(table: ReadonlyMap<number, readonly number[]>): void {
    this.table = copyTable(table);
    const used = hopsOf(this.table);
    for (const h of this.down) if (!used.has(h)) this.down.delete(h);
    const turn = new Map<number, number>();
    for (const dst of this.table.keys()) turn.set(dst, this.turn.get(dst) ?? 0);
    this.turn = turn;
  }

  nextHop(dst: number): number | undefined {
    const hops = this.table.get(dst);
    if (!hops) return undefined;
    const up = this.down.size === 0 ? hops : hops.filter((h) => !this.down.has(h));
    if (up.length === 0) return undefined;
    const n = this.turn.get(dst) ?? 0;
    this.turn.set(dst, (n + 1) % 0x4000_0000);
    return up[n % up.length];
  }

  flowDown(nextHop: number): void {
    this.down.add(nextHop);
  }

  flowUp(nextHop: number): void {
    this.down.delete(nextHop);
  }

  /** Next hops currently marked down, ascending. */
  downHops(): number[] {
    return [...this.down].sort((a, b) => a - b);
  }

  entries(): PffEntry[] {
    return entriesOf(this.table);
  }
}
