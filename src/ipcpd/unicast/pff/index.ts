/**
 * Packet forwarding functions (ARCHITECTURE.md §7.8): what DT asks for the
 * next hop of a destination address. Routing fills them with a table of
 * destination -> next-hop neighbour addresses (primary first); DT reports
 * its N-1 flows going down and up again by neighbour address.
 *
 *   simple     the first next hop; flow events are ignored
 *   alternate  the first next hop that is not down: when the primary goes
 *              down the first working alternate takes over at once, and the
 *              primary is used again when it comes back up
 *   multipath  round-robin over the next hops that are not down
 *
 * Differences from the reference (pff/*.c): it keys next hops by fd and
 * forgets which ones are down on every recalculation (pff_flush), so a
 * routing update while a primary is down puts the dead primary back; here
 * the down set survives update() for next hops still in the table (a next
 * hop that leaves the table entirely is forgotten, so a neighbour that
 * reconnects later starts out up). Multipath in the reference ignores flow
 * events and keeps sending to dead next hops; here it skips them. When
 * every next hop of a destination is down, alternate and multipath return
 * undefined (no route) rather than a dead next hop.
 */
import { fail } from '../../../common/errors.js';
import type { RoutingPolicy } from '../routing/graph.js';
import { SimplePff } from './simple.js';
import { AlternatePff } from './alternate.js';
import { MultipathPff } from './multipath.js';

export { SimplePff, AlternatePff, MultipathPff };

export interface PffEntry {
  dst: number;
  nextHops: number[];
}

export interface Pff {
  readonly name: string;
  /** Replaces the whole table (destination -> next hops, primary first). */
  update(table: ReadonlyMap<number, readonly number[]>): void;
  /** The neighbour to send a PDU for `dst` to, or undefined: no route. */
  nextHop(dst: number): number | undefined;
  /** The N-1 flow to neighbour `nextHop` went down. */
  flowDown(nextHop: number): void;
  /** The N-1 flow to neighbour `nextHop` is back up. */
  flowUp(nextHop: number): void;
  /** The table as installed, destinations ascending. */
  entries(): PffEntry[];
}

export type PffPolicy = 'simple' | 'alternate' | 'multipath';

/** The forwarding policies by name. */
export const PFF_POLICIES: Readonly<Record<PffPolicy, () => Pff>> = {
  simple: () => new SimplePff(),
  alternate: () => new AlternatePff(),
  multipath: () => new MultipathPff(),
};

/** The forwarding policy each routing policy needs. */
export const PFF_FOR_ROUTING: Readonly<Record<RoutingPolicy, PffPolicy>> = {
  simple: 'simple',
  lfa: 'alternate',
  ecmp: 'multipath',
};

export function isPffPolicy(name: string): name is PffPolicy {
  return Object.prototype.hasOwnProperty.call(PFF_POLICIES, name);
}

export function createPff(policy: PffPolicy): Pff {
  if (!isPffPolicy(policy)) fail('EINVAL', `unknown forwarding policy ${String(policy)}`);
  return PFF_POLICIES[policy]();
}

/** The forwarding function for a routing policy (simple, lfa, ecmp). */
export function pffForRouting(policy: RoutingPolicy): Pff {
  if (!Object.prototype.hasOwnProperty.call(PFF_FOR_ROUTING, policy)) fail('EINVAL', `unknown routing policy ${String(policy)}`);
  return createPff(PFF_FOR_ROUTING[policy]);
}
