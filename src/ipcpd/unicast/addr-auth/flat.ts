/**
 * The "flat" address authority: a random non-zero 32-bit address, with no
 * collision detection. It needs 4-byte DT addresses.
 */
import { randomBytes } from 'node:crypto';
import { fail } from '../../../common/errors.js';
import type { AddrAuth, AddrAuthOptions, AddrAuthPolicy, RandomU32 } from './index.js';

export const FLAT_ADDR_SIZE = 4;
/** Draws before giving up on a random source that keeps returning 0. */
const MAX_DRAWS = 64;

export const cryptoRandomU32: RandomU32 = () => randomBytes(4).readUInt32LE(0);

/** A random non-zero u32 from `random` (EINVAL if it yields only zeros). */
export function flatAddress(random: RandomU32 = cryptoRandomU32): number {
  for (let i = 0; i < MAX_DRAWS; i++) {
    const a = random() >>> 0;
    if (a !== 0) return a;
  }
  fail('EINVAL', 'flat address authority: the random source yields only 0');
}

export const flatPolicy: AddrAuthPolicy = Object.freeze({
  name: 'flat',
  type: 0,
  create(opts: AddrAuthOptions = {}): AddrAuth {
    const size = opts.addrSize ?? FLAT_ADDR_SIZE;
    if (size !== FLAT_ADDR_SIZE) fail('EINVAL', `flat address authority needs ${FLAT_ADDR_SIZE}-byte addresses, not ${size}`);
    const addr = flatAddress(opts.random);
    return Object.freeze({ name: 'flat', address: () => addr });
  },
});
