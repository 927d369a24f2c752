/**
 * Key derivation and digests of OAP and key rotation (WIRE.md §10.6): HKDF
 * (extract then expand) with a digest chosen by NID, 32-byte outputs, and
 * the salts the reference computes from public keys.
 */
import { createHash, hkdfSync } from 'node:crypto';
import { fail } from '../../common/errors.js';
import { DigestNid, digestInfo } from './nid.js';

/** Length of every symmetric key OAP derives. */
export const SYMM_KEY_LEN = 32;

export const INFO_DHE = 'o7s-ossl-dhe';
export const INFO_ENCAP = 'o7s-ossl-encap';
export const INFO_ROTATION = 'o7s-key-rotation';

/**
 * HKDF(digest, ikm, salt, info) → `len` bytes. An unknown or zero KDF NID
 * falls back to SHA-256, as the reference does.
 */
export function hkdf(kdfNid: number, ikm: Uint8Array, salt: Uint8Array, info: string | Uint8Array, len = SYMM_KEY_LEN): Buffer {
  const name = digestInfo(kdfNid)?.name ?? 'sha256';
  return Buffer.from(hkdfSync(name, ikm, salt, info, len));
}

/** H(data) with the digest of `mdNid`; ECRYPT for none/unknown. */
export function digest(mdNid: number, data: Uint8Array): Buffer {
  const info = digestInfo(mdNid);
  if (!info) fail('ECRYPT', `unknown digest NID ${mdNid}`);
  return createHash(info.name).update(data).digest();
}

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/**
 * The DHE salt: SHA-256 over both public-key encodings, the smaller one
 * first (bytewise over the common length, then the shorter one), so both
 * sides get the same salt.
 */
export function dheSalt(localPk: Uint8Array, remotePk: Uint8Array): Buffer {
  const n = Math.min(localPk.length, remotePk.length);
  const cmp = Buffer.compare(Buffer.from(localPk.buffer, localPk.byteOffset, n), Buffer.from(remotePk.buffer, remotePk.byteOffset, n));
  const localFirst = cmp < 0 || (cmp === 0 && localPk.length < remotePk.length);
  const h = createHash('sha256');
  if (localFirst) h.update(localPk).update(remotePk);
  else h.update(remotePk).update(localPk);
  return h.digest();
}

/** The KEM salt: SHA-256 of the encapsulation public key's encoding. */
export function kemSalt(pk: Uint8Array): Buffer {
  return sha256(pk);
}

/** Key after a rotation: HKDF-SHA256(previous key, SHA-256(initial key), "o7s-key-rotation"). */
export function rotateKey(prev: Uint8Array, salt: Uint8Array): Buffer {
  return hkdf(DigestNid.SHA256, prev, salt, INFO_ROTATION, SYMM_KEY_LEN);
}
