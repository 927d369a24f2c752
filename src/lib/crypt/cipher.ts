/**
 * Per-packet encryption of a flow (WIRE.md §8): `IV ‖ ciphertext ‖ tag`
 * with a random IV whose first bit carries the key phase, no associated
 * data, and key rotation every 2^rotationBit packets driven by one packet
 * counter that both directions advance (so the phase a sender puts in its
 * IVs depends on its own mix of sent and received packets, exactly as in
 * the reference).
 *
 * Node has no way to re-key or re-IV an existing cipher object, so every
 * packet pays one createCipheriv/createDecipheriv (about 4-8 µs at 1400 B,
 * measured in test/unit/lib/crypt/cipher.test.ts); what is shared: IV bytes
 * come from a random pool refilled 16 KiB at a time (randomFillSync costs
 * about 2 µs per call), and the key bytes are sliced once per epoch.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { fail } from '../../common/errors.js';
import { rotateKey, sha256, SYMM_KEY_LEN } from './kdf.js';
import { cipherByName, cipherInfo, type CipherInfo, type CipherName } from './nid.js';

/** The reference's KEY_ROTATION_BIT. */
export const DEFAULT_ROTATION_BIT = 20;

export interface FlowCryptOptions {
  /** Cipher NID (e.g. 901) or name (e.g. 'aes-256-gcm'). */
  cipher: number | CipherName;
  /** The 32-byte symmetric key from OAP (shorter ciphers use its first bytes). */
  key: Uint8Array;
  /** Rotate keys every 2^rotationBit packets (1..31); default 20. */
  rotationBit?: number;
  /** Fills IV bytes; default a pooled crypto.randomFillSync. For tests. */
  random?: (buf: Buffer) => void;
  /**
   * For tests: start as if this many packets had already passed in the
   * first epoch (must be below 2^rotationBit), so a test can cross the real
   * 2^20 boundary without sending a million packets first.
   */
  presetCounter?: number;
}

export interface FlowCryptStats {
  /** Packets counted (sent + received). */
  counter: number;
  /** Packets since the last rotation. */
  age: number;
  /** Current key phase (toggles on every rotation). */
  phase: 0 | 1;
  /** Number of rotations so far. */
  rotations: number;
  /** Whether the previous key is still kept for late packets. */
  hasPrevious: boolean;
}

export interface FlowCrypt {
  readonly cipher: CipherInfo;
  readonly ivLen: number;
  readonly tagLen: number;
  /** Bytes added to every packet (IV + tag). */
  readonly overhead: number;
  /** Encrypts one SDU into a new buffer `IV ‖ ciphertext ‖ tag`. */
  encrypt(sdu: Uint8Array): Buffer;
  /** Decrypts one packet; undefined when it is too short or fails authentication (drop it). */
  decrypt(pkt: Uint8Array): Buffer | undefined;
  stats(): FlowCryptStats;
}

const POOL_SIZE = 16384;

/** IV bytes handed out from a block of random bytes refilled when used up. */
function pooledRandom(): (buf: Buffer) => void {
  const pool = Buffer.allocUnsafe(POOL_SIZE);
  let pos = POOL_SIZE;
  return (buf) => {
    if (pos + buf.length > POOL_SIZE) {
      randomFillSync(pool);
      pos = 0;
    }
    pool.copy(buf, 0, pos, pos + buf.length);
    pool.fill(0, pos, pos + buf.length);
    pos += buf.length;
  };
}

export function resolveCipher(cipher: number | string): CipherInfo {
  const info = typeof cipher === 'number' ? cipherInfo(cipher) : cipherByName(cipher);
  if (!info) fail('ECRYPT', `unsupported cipher ${String(cipher)}`);
  return info;
}

/** Creates the crypto state of one flow (shared by both directions). */
export function createFlowCrypt(opts: FlowCryptOptions): FlowCrypt {
  const info = resolveCipher(opts.cipher);
  if (opts.key.length !== SYMM_KEY_LEN) fail('ECRYPT', `flow key must be ${SYMM_KEY_LEN} bytes, got ${opts.key.length}`);
  const rotBit = opts.rotationBit ?? DEFAULT_ROTATION_BIT;
  if (!Number.isInteger(rotBit) || rotBit < 1 || rotBit > 31) fail('EINVAL', `rotation bit ${rotBit} outside 1..31`);

  const name = info.name;
  const { ivLen, tagLen, keyLen } = info;
  const aead = tagLen > 0;
  const mask = 2 ** rotBit; // ≤ 2^31, exact in a double
  const random = opts.random ?? pooledRandom();
  const salt = sha256(opts.key);

  let cur: Buffer = Buffer.from(opts.key);
  let curKey: Buffer = cur.subarray(0, keyLen);
  let prv: Buffer | undefined;
  let prvKey: Buffer | undefined;
  const preset = opts.presetCounter ?? 0;
  if (!Number.isInteger(preset) || preset < 0 || preset >= mask) fail('EINVAL', `preset counter ${preset} outside the first epoch`);
  let cntr = preset; // uint32, wraps as the reference's
  let age = preset;
  let phase: 0 | 1 = 0;
  let rotations = 0;

  const rotate = () => {
    prv = cur;
    prvKey = curKey;
    cur = rotateKey(prv, salt);
    curKey = cur.subarray(0, keyLen);
    age = 0;
    phase = phase ? 0 : 1;
    rotations++;
  };

  const tryDecrypt = (key: Buffer, iv: Uint8Array, body: Uint8Array, tag: Uint8Array): Buffer | undefined => {
    try {
      let d;
      if (aead) {
        d = createDecipheriv(name as 'aes-256-gcm', key, iv, { authTagLength: tagLen });
        d.setAuthTag(tag);
      } else {
        d = createDecipheriv(name, key, iv);
      }
      const out = d.update(body);
      const fin = d.final();
      return fin.length ? Buffer.concat([out, fin]) : out;
    } catch {
      return undefined;
    }
  };

  return {
    cipher: info,
    ivLen,
    tagLen,
    overhead: ivLen + tagLen,

    encrypt(sdu) {
      const out = Buffer.allocUnsafe(ivLen + sdu.length + tagLen);
      const iv = out.subarray(0, ivLen);
      random(iv);
      if (cntr & mask) iv[0]! |= 0x80;
      else iv[0]! &= 0x7f;
      if (aead) {
        const c = createCipheriv(name as 'aes-256-gcm', curKey, iv, { authTagLength: tagLen });
        c.update(sdu).copy(out, ivLen);
        c.final();
        c.getAuthTag().copy(out, ivLen + sdu.length);
      } else {
        const c = createCipheriv(name, curKey, iv);
        c.update(sdu).copy(out, ivLen);
        c.final();
      }

      const before = cntr;
      cntr = (cntr + 1) >>> 0;
      age++;
      if ((cntr & mask) !== (before & mask)) rotate();
      if (prv !== undefined && age >= mask / 2) {
        prv.fill(0);
        prv = prvKey = undefined;
      }
      return out;
    },

    decrypt(pkt) {
      if (pkt.length - ivLen < tagLen) return undefined;
      const iv = pkt.subarray(0, ivLen);
      const rxPhase = (iv[0]! & 0x80) !== 0 ? 1 : 0;
      if (rxPhase !== phase && age >= mask - mask / 4) rotate();
      cntr = (cntr + 1) >>> 0;
      age++;
      const body = pkt.subarray(ivLen, pkt.length - tagLen);
      const tag = pkt.subarray(pkt.length - tagLen);
      const out = tryDecrypt(curKey, iv, body, tag);
      if (out !== undefined) return out;
      return prvKey !== undefined ? tryDecrypt(prvKey, iv, body, tag) : undefined;
    },

    stats: () => ({ counter: cntr, age, phase, rotations, hasPrevious: prv !== undefined }),
  };
}
