/**
 * The routing graph of a unicast layer and the routing tables computed on it
 * (ARCHITECTURE.md §7.7). Pure functions, no state: the link-state component
 * rebuilds the graph from its database for every computation.
 *
 * - An edge exists only when both ends announce the adjacency (a->b and
 *   b->a); its weight is 1 (hop count).
 * - Dijkstra from a source gives distances and, per destination, every
 *   neighbour of the source that starts a shortest path (its first hops),
 *   sorted by address.
 * - Policies, chosen by name from {@link ROUTING_POLICIES}:
 *     simple  one next hop: the lowest-address first hop
 *     lfa     that primary, then the loop-free alternates: neighbours N != D
 *             with dist(N,D) < dist(N,self) + dist(self,D), best first
 *     ecmp    every first hop (all neighbours on a shortest path)
 *   A table maps destination -> next-hop neighbour addresses, primary first,
 *   destinations in ascending order; unreachable nodes have no entry.
 *
 * Where this differs from the reference (routing/graph.c):
 * - The reference keeps an "announced" counter per edge, updated
 *   incrementally; here the graph is rebuilt from the adjacency set, so a
 *   missed update can not leave a counter off.
 * - Ties: the reference's first hop depends on edge list insertion order
 *   (newest first); here ties go to the lower address, always.
 * - LFA: the reference takes the source's neighbours from every edge,
 *   including ones only one side announced, relies on INT_MAX overflow for
 *   unreachable nodes, lists the primary again as its own alternate, and
 *   orders alternates by edge list order. Here only confirmed neighbours
 *   count, distances are Infinity when unreachable, the primary is not
 *   repeated, and alternates are ordered by dist(N,D), then address.
 * - ECMP: the reference runs Dijkstra again from every neighbour (again
 *   including one-sided ones) and tests dist(N,D) + 1 == dist(self,D); here
 *   the first-hop sets fall out of one Dijkstra from self, which is the same
 *   set for confirmed neighbours.
 */

import { fail } from '../../../common/errors.js';

export type RoutingPolicy = 'simple' | 'lfa' | 'ecmp';

/** One announced adjacency: `src` says it is connected to `dst`. */
export interface Link {
  src: number;
  dst: number;
}

/** Vertex -> (neighbour -> weight). Only confirmed (two-sided) edges. */
export type Graph = ReadonlyMap<number, ReadonlyMap<number, number>>;

/** Destination -> next-hop neighbours, primary first. */
export type RoutingTable = Map<number, number[]>;

export interface ShortestPaths {
  /** Distance from the source to every reachable vertex (source: 0). */
  dist: Map<number, number>;
  /** Per reachable destination (not the source): the source's neighbours that start a shortest path, ascending. */
  firstHops: Map<number, number[]>;
}

/** Builds the graph: an edge counts only if both ends announced it; weight 1. */
export function buildGraph(links: Iterable<Link>): Graph {
  const announced = new Map<number, Set<number>>();
  for (const { src, dst } of links) {
    if (src === dst) continue;
    let s = announced.get(src);
    if (!s) announced.set(src, (s = new Set()));
    s.add(dst);
  }
  const g = new Map<number, Map<number, number>>();
  const vertex = (a: number): Map<number, number> => {
    let v = g.get(a);
    if (!v) g.set(a, (v = new Map()));
    return v;
  };
  for (const [src, dsts] of announced) {
    for (const dst of dsts) {
      if (src < dst && announced.get(dst)?.has(src)) {
        vertex(src).set(dst, 1);
        vertex(dst).set(src, 1);
      }
    }
  }
  return g;
}

/** A binary min-heap of [dist, addr], ordered by dist then addr. */
class Heap {
  private readonly a: [number, number][] = [];
  get size(): number {
    return this.a.length;
  }
  private less(i: number, j: number): boolean {
    const x = this.a[i]!;
    const y = this.a[j]!;
    return x[0] < y[0] || (x[0] === y[0] && x[1] < y[1]);
  }
  private swap(i: number, j: number): void {
    const t = this.a[i]!;
    this.a[i] = this.a[j]!;
    this.a[j] = t;
  }
  push(d: number, v: number): void {
    this.a.push([d, v]);
    let i = this.a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number] | undefined {
    const top = this.a[0];
    const last = this.a.pop();
    if (this.a.length > 0 && last) {
      this.a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.a.length && this.less(l, m)) m = l;
        if (r < this.a.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

function union(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x < y)) {
      out.push(x!);
      i++;
    } else if (x === undefined || y < x) {
      out.push(y);
      j++;
    } else {
      out.push(x);
      i++;
      j++;
    }
  }
  return out;
}

/**
 * Dijkstra from `src`. Weights must be positive, so every vertex on a
 * shortest path to v is settled before v, and v's first hops are the union
 * of its shortest-path predecessors' first hops.
 */
export function dijkstra(g: Graph, src: number): ShortestPaths {
  const dist = new Map<number, number>([[src, 0]]);
  const firstHops = new Map<number, number[]>();
  const done = new Set<number>();
  const heap = new Heap();
  heap.push(0, src);
  for (let e = heap.pop(); e; e = heap.pop()) {
    const [d, u] = e;
    if (done.has(u)) continue;
    done.add(u);
    const viaU = u === src ? undefined : firstHops.get(u)!;
    for (const [v, w] of g.get(u) ?? []) {
      if (v === src || done.has(v)) continue;
      const alt = d + w;
      const hops = viaU ?? [v];
      const old = dist.get(v);
      if (old === undefined || alt < old) {
        dist.set(v, alt);
        firstHops.set(v, hops.slice());
        heap.push(alt, v);
      } else if (alt === old) {
        firstHops.set(v, union(firstHops.get(v)!, hops));
      }
    }
  }
  return { dist, firstHops };
}

function sortedDsts(sp: ShortestPaths): number[] {
  return [...sp.firstHops.keys()].sort((a, b) => a - b);
}

/** One next hop per destination: the lowest-address neighbour on a shortest path. */
export function simpleTable(g: Graph, self: number): RoutingTable {
  const sp = dijkstra(g, self);
  const t: RoutingTable = new Map();
  for (const d of sortedDsts(sp)) t.set(d, [sp.firstHops.get(d)![0]!]);
  return t;
}

/** Every neighbour on a shortest path, ascending. */
export function ecmpTable(g: Graph, self: number): RoutingTable {
  const sp = dijkstra(g, self);
  const t: RoutingTable = new Map();
  for (const d of sortedDsts(sp)) t.set(d, sp.firstHops.get(d)!.slice());
  return t;
}

/**
 * The simple primary, then the loop-free alternates (RFC 5286 inequality 1):
 * neighbour N != D with dist(N,D) < dist(N,self) + dist(self,D), so N's own
 * shortest paths to D do not come back through self. Alternates are ordered
 * by dist(N,D), then address.
 */
export function lfaTable(g: Graph, self: number): RoutingTable {
  const sp = dijkstra(g, self);
  const nbs = [...(g.get(self)?.keys() ?? [])].sort((a, b) => a - b);
  const nDist = new Map(nbs.map((n) => [n, dijkstra(g, n).dist] as const));
  const t: RoutingTable = new Map();
  for (const d of sortedDsts(sp)) {
    const primary = sp.firstHops.get(d)![0]!;
    const dSelf = sp.dist.get(d)!;
    const alts: [number, number][] = [];
    for (const n of nbs) {
      if (n === d || n === primary) continue;
      const dn = nDist.get(n)!;
      const nd = dn.get(d) ?? Infinity;
      const ns = dn.get(self) ?? Infinity;
      if (nd < ns + dSelf) alts.push([nd, n]);
    }
    alts.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    t.set(d, [primary, ...alts.map((x) => x[1])]);
  }
  return t;
}

/** The routing policies by name. */
export const ROUTING_POLICIES: Readonly<Record<RoutingPolicy, (g: Graph, self: number) => RoutingTable>> = {
  simple: simpleTable,
  lfa: lfaTable,
  ecmp: ecmpTable,
};

export function isRoutingPolicy(name: string): name is RoutingPolicy {
  return Object.prototype.hasOwnProperty.call(ROUTING_POLICIES, name);
}

/** The routing table of `self` under `policy`. */
export function routingTable(g: Graph, self: number, policy: RoutingPolicy): RoutingTable {
  if (!isRoutingPolicy(policy)) fail('EINVAL', `unknown routing policy ${String(policy)}`);
  return ROUTING_POLICIES[policy](g, self);
}

/** Same destinations with the same next hops in the same order. */
export function tablesEqual(a: ReadonlyMap<number, readonly number[]>, b: ReadonlyMap<number, readonly number[]>): boolean {
  if (a.size !== b.size) return false;
  for (const [d, x] of a) {
    const y = b.get(d);
    if (!y || y.length !== x.length || x.some((v, i) => v !== y[i])) return false;
  }
  return true;
}
