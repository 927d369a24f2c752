/**
 * Directory policies of the unicast IPCP (ARCHITECTURE §7.6): the table the
 * IPCP picks its directory from by name, and the interface it uses. The
 * reference has one policy, DIR_DHT (0): the Kademlia DHT of dht.ts, which
 * receives its messages on DT eid 1.
 */
import { fail } from '../../../common/errors.js';
import { Dht, type DhtOptions } from './dht.js';

export interface Directory {
  /** Starts the periodic work; `peer` is the enrollment peer's address (bootstrap), absent when bootstrapping the layer. */
  start(peer?: number): void;
  stop(): void;
  reg(hash: Uint8Array): Promise<void>;
  unreg(hash: Uint8Array): Promise<void>;
  /** An address for the hash other than our own, or undefined. */
  query(hash: Uint8Array): Promise<number | undefined>;
  /** One SDU from DT for the directory's eid. */
  receive(sdu: Uint8Array): void;
  snapshot(): unknown;
  readonly counters: object;
}

export type DirectoryOptions = DhtOptions;

export type DirectoryFactory = (opts: DirectoryOptions) => Directory;

/** Policy name -> factory. */
export const DIRECTORY_POLICIES: Readonly<Record<string, DirectoryFactory>> = Object.freeze({
  dht: (opts: DirectoryOptions): Directory => new Dht(opts),
});

/** The reference's dir policy numbers (ipcp_config dir.pol) -> policy name. */
export const DIRECTORY_POLICY_NAMES: Readonly<Record<number, string>> = Object.freeze({ 0: 'dht' });

/** Creates the directory for a policy name or number; throws EINVAL for an unknown one. */
export function createDirectory(policy: string | number, opts: DirectoryOptions): Directory {
  const name = typeof policy === 'number' ? DIRECTORY_POLICY_NAMES[policy] : policy;
  const f = name === undefined ? undefined : DIRECTORY_POLICIES[name];
  if (!f) fail('EINVAL', `unknown directory policy ${policy}`);
  return f(opts);
}

export { Dht, type DhtOptions } from './dht.js';
