/**
 * Congestion avoidance of the unicast layer (ARCHITECTURE §7.5), chosen per
 * layer by name or by the configuration's number (`CongestionPolicy`). A
 * policy marks the PDUs a hop sends or forwards and keeps per-flow state:
 * the sender's window (how long to wait before the next SDU) and the
 * receiver's congestion echo (what to send back in a FLOW_UPDATE). Time is
 * passed in, never read, so tests drive it.
 */
import { fail } from '../../../common/errors.js';
import { CongestionPolicy } from '../../../common/ipcp-types.js';
import { nonePolicy } from './none.js';
import { mbEcnPolicy } from './mb-ecn.js';

export interface CaFlow {
  /**
   * Sender side, once per SDU about to be sent: ms the sender must wait
   * before sending these `len` bytes (0 = send now; at most 1000).
   */
  beforeSend(len: number, nowNs: bigint | number): number;
  /** Receiver side: the ece value to send back in a FLOW_UPDATE, or undefined. */
  onReceive(len: number, ecn: number): number | undefined;
  /** Sender side: a FLOW_UPDATE arrived with this ece. */
  onUpdate(ece: number): void;
  stats(): Record<string, number>;
}

export interface CaPolicy {
  readonly name: string;
  /** `CongestionPolicy` number of the configuration. */
  readonly type: number;
  /**
   * State for a new flow. `nowNs` (the creation time on the clock later
   * passed to beforeSend) starts the first window as the reference does;
   * without it the first beforeSend starts it.
   */
  newFlow(nowNs?: bigint | number): CaFlow;
  /** ECN bits a hop ORs into a PDU it sends or forwards, given packets queued on the outgoing N-1 flow. */
  mark(queued: number): number;
}

export const CA_POLICIES: Readonly<Record<string, CaPolicy>> = Object.freeze({
  [nonePolicy.name]: nonePolicy,
  [mbEcnPolicy.name]: mbEcnPolicy,
});

/** Names accepted in configurations, by `CongestionPolicy` number. */
export const CA_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [CongestionPolicy.NONE]: nonePolicy.name,
  [CongestionPolicy.MB_ECN]: mbEcnPolicy.name,
});

export function caByName(name: string): CaPolicy | undefined {
  return Object.hasOwn(CA_POLICIES, name) ? CA_POLICIES[name] : undefined;
}

export function caByType(type: number): CaPolicy | undefined {
  const name = CA_NAMES[type];
  return name === undefined ? undefined : CA_POLICIES[name];
}

/** The policy for a configuration's number or name; EINVAL when unknown. */
export function createCa(policy: number | string): CaPolicy {
  const p = typeof policy === 'number' ? caByType(policy) : caByName(policy);
  if (!p) fail('EINVAL', `unknown congestion avoidance policy ${JSON.stringify(policy)}`);
  return p;
}
