/**
 * Address authorities of the unicast layer (ARCHITECTURE §7.1), chosen by the
 * configuration's `addr_auth_type` (0 = flat) or by name. An authority gives
 * the IPCP its address once, at bootstrap or enrollment; 0 is never valid.
 */
import { fail } from '../../../common/errors.js';
import { flatPolicy } from './flat.js';

/** A source of uniformly random u32 values. */
export type RandomU32 = () => number;

export interface AddrAuthOptions {
  /** The layer's DT address size in bytes (default 4). */
  addrSize?: number;
  /** Injectable randomness (default: node:crypto). */
  random?: RandomU32;
}

export interface AddrAuth {
  readonly name: string;
  /** This IPCP's address, fixed when the authority was created. */
  address(): number;
}

export interface AddrAuthPolicy {
  readonly name: string;
  /** `addr_auth_type` number of the configuration. */
  readonly type: number;
  /** Picks the address; EINVAL when the layer's settings do not suit the policy. */
  create(opts?: AddrAuthOptions): AddrAuth;
}

export const INVALID_ADDR = 0;

export const ADDR_AUTH_POLICIES: readonly AddrAuthPolicy[] = Object.freeze([flatPolicy]);

export function addrAuthByName(name: string): AddrAuthPolicy | undefined {
  return ADDR_AUTH_POLICIES.find((p) => p.name === name);
}

export function addrAuthByType(type: number): AddrAuthPolicy | undefined {
  return ADDR_AUTH_POLICIES.find((p) => p.type === type);
}

/** The authority for a configuration's number or name; EINVAL when unknown. */
export function createAddrAuth(policy: number | string, opts?: AddrAuthOptions): AddrAuth {
  const p = typeof policy === 'number' ? addrAuthByType(policy) : addrAuthByName(policy);
  if (!p) fail('EINVAL', `unknown address authority ${JSON.stringify(policy)}`);
  return p.create(opts);
}

/** An address as the reference logs it: the 4 bytes in memory (LE) order, hex, dotted. */
export function formatAddr32(addr: number): string {
  const a = addr >>> 0;
  return [a & 0xff, (a >>> 8) & 0xff, (a >>> 16) & 0xff, a >>> 24].map((x) => x.toString(16).padStart(2, '0')).join('.');
}
