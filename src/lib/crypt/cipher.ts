/**
 * Per-packet encryption of a flow (WIRE.md §8): `IV ‖ ciphertext ‖ tag`
 * with a random IV whose first bit carries the key phase, no associated
 * data, and key rotation every 2^rotationBit packets driven by one packet
 * counter that both directions advance (so the phase a sender puts in its
 * IVs depends on its own mix of sent and received packets, exactly as in
 * the reference).
 *
 * Each key gets an OpenSSL cipher context per direction, made once and
 * reused for every packet with only its IV changed (native-evp.ts, through
 * koffi: about 1 µs per packet at 1400 B). Where that path is unavailable
 * (no koffi, a missing symbol, a failed self-check, O7S_NATIVE_CRYPTO=0),
 * every packet pays one createCipheriv/createDecipheriv instead (about 4-8
 * µs at 1400 B; Node cannot re-IV a cipher object). Both give the same
 * bytes (test/unit/lib/crypt/cipher.test.ts). What is shared: IV bytes come
 * from a random pool refilled 16 KiB at a time (randomFillSync costs about
 * 2 µs per call), and the key bytes are sliced once per epoch. Contexts are
 * freed on rotation, by {@link FlowCrypt.dispose}, or when the FlowCrypt is
 * garbage-collected.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { fail } from '../../common/errors.js';
import { rotateKey, sha256, SYMM_KEY_LEN } from './kdf.js';
import { nativeCipher, type NativeCtx } from './native-evp.js';
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
  /** false: always node:crypto (one cipher object per packet); default: reused native contexts when available. */
  native?: boolean;
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
  /**
   * The same bytes, in a buffer that may be reused by the next encryption
   * or decryption of any flow in this process: for a caller that copies
   * them at once (as a data link does), saving an allocation and a copy.
   */
  encryptTransient(sdu: Uint8Array): Uint8Array;
  /** Decrypts one packet; undefined when it is too short or fails authentication (drop it). */
  decrypt(pkt: Uint8Array): Buffer | undefined;
  /**
   * The same, the SDU written over the packet's own bytes where that saves
   * an allocation (the result may be a view of `pkt`); a packet that does
   * not decrypt is left as it was.
   */
  decryptInPlace(pkt: Uint8Array): Buffer | undefined;
  stats(): FlowCryptStats;
  /** Whether packets go through reused native cipher contexts (else node:crypto per packet). */
  readonly native: boolean;
  /** Frees the native contexts and zeroes the keys; afterwards encrypt throws EBADF and decrypt drops everything. */
  dispose(): void;
}

const POOL_SIZE = 16384;

/**
 * IV bytes handed out from one block of random bytes per process, refilled
 * when used up (made at the first encrypted flow; every flow draws on it).
 */
let pool: Buffer | undefined;
let poolPos = POOL_SIZE;
function pooledRandom(buf: Buffer): void {
  const n = buf.length;
  pool ??= Buffer.allocUnsafe(POOL_SIZE);
  if (poolPos + n > POOL_SIZE) {
    randomFillSync(pool);
    poolPos = 0;
  }
  // IVs are 12 or 16 bytes: a loop beats copy() and fill() (each makes a view).
  for (let i = 0; i < n; i++) {
    buf[i] = pool[poolPos + i]!;
    pool[poolPos + i] = 0;
  }
  poolPos += n;
}

export function resolveCipher(cipher: number | string): CipherInfo {
  const info = typeof cipher === 'number' ? cipherInfo(cipher) : cipherByName(cipher);
  if (!info) fail('ECRYPT', `unsupported cipher ${String(cipher)}`);
  return info;
}

/** One key of a flow: its 32 bytes (rotation derives the next key from them), the cipher's slice, and its native contexts. */
interface KeyState {
  full: Buffer;
  key: Buffer;
  enc?: NativeCtx | undefined;
  dec?: NativeCtx | undefined;
}

/** Frees the native contexts of flows that were dropped without dispose(). */
const finalizer = new FinalizationRegistry<Set<NativeCtx>>((live) => {
  for (const c of live) c.free();
  live.clear();
});

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
  const random = opts.random ?? pooledRandom;
  const salt = sha256(opts.key);
  const nat = opts.native === false ? undefined : nativeCipher(name, info);
  /** Native contexts not yet freed. */
  const live = new Set<NativeCtx>();

  const keyState = (full: Buffer): KeyState => ({ full, key: full.subarray(0, keyLen) });
  const ctxOf = (k: KeyState, encrypt: boolean): NativeCtx | undefined => {
    if (!nat) return undefined;
    let c = encrypt ? k.enc : k.dec;
    if (c === undefined) {
      c = nat.context(k.key, encrypt);
      if (c) live.add(c);
      if (encrypt) k.enc = c;
      else k.dec = c;
    }
    return c;
  };
  const release = (c: NativeCtx | undefined): void => {
    if (!c) return;
    c.free();
    live.delete(c);
  };
  const drop = (k: KeyState): void => {
    release(k.enc);
    release(k.dec);
    k.enc = k.dec = undefined;
    k.full.fill(0);
  };

  let cur: KeyState = keyState(Buffer.from(opts.key));
  let prv: KeyState | undefined;
  const preset = opts.presetCounter ?? 0;
  if (!Number.isInteger(preset) || preset < 0 || preset >= mask) fail('EINVAL', `preset counter ${preset} outside the first epoch`);
  let cntr = preset; // uint32, wraps as the reference's
  let age = preset;
  let phase: 0 | 1 = 0;
  let rotations = 0;
  let disposed = false;

  const rotate = () => {
    if (prv) drop(prv);
    prv = cur;
    // The previous key only decrypts late packets.
    release(prv.enc);
    prv.enc = undefined;
    cur = keyState(rotateKey(prv.full, salt));
    age = 0;
    phase = phase ? 0 : 1;
    rotations++;
  };

  const tryDecrypt = (k: KeyState, pkt: Uint8Array, inPlace: boolean): Buffer | undefined => {
    const c = ctxOf(k, false);
    if (c) return c.open(pkt, inPlace);
    const iv = pkt.subarray(0, ivLen);
    const body = pkt.subarray(ivLen, pkt.length - tagLen);
    try {
      let d;
      if (aead) {
        d = createDecipheriv(name as 'aes-256-gcm', k.key, iv, { authTagLength: tagLen });
        d.setAuthTag(pkt.subarray(pkt.length - tagLen));
      } else {
        d = createDecipheriv(name, k.key, iv);
      }
      const out = d.update(body);
      const fin = d.final();
      return fin.length ? Buffer.concat([out, fin]) : out;
    } catch {
      return undefined;
    }
  };

  /** A packet's IV: random, its first bit the key phase (bit rotationBit of the counter). */
  const fillIv = (iv: Buffer): void => {
    random(iv);
    if (cntr & mask) iv[0]! |= 0x80;
    else iv[0]! &= 0x7f;
  };

  const sealNode = (key: Buffer, out: Buffer, sdu: Uint8Array): void => {
    const iv = out.subarray(0, ivLen);
    if (aead) {
      const c = createCipheriv(name as 'aes-256-gcm', key, iv, { authTagLength: tagLen });
      c.update(sdu).copy(out, ivLen);
      c.final();
      c.getAuthTag().copy(out, ivLen + sdu.length);
    } else {
      const c = createCipheriv(name, key, iv);
      c.update(sdu).copy(out, ivLen);
      c.final();
    }
  };

  const seal = (sdu: Uint8Array, transient: boolean): Buffer => {
    if (disposed) fail('EBADF', 'flow crypto state disposed');
    let out = ctxOf(cur, true)?.seal(sdu, fillIv, transient);
    if (out === undefined) {
      out = Buffer.allocUnsafe(ivLen + sdu.length + tagLen);
      fillIv(out.subarray(0, ivLen));
      sealNode(cur.key, out, sdu);
    }

    const before = cntr;
    cntr = (cntr + 1) >>> 0;
    age++;
    if ((cntr & mask) !== (before & mask)) rotate();
    if (prv !== undefined && age >= mask / 2) {
      drop(prv);
      prv = undefined;
    }
    return out;
  };

  const open = (pkt: Uint8Array, inPlace: boolean): Buffer | undefined => {
    if (disposed || pkt.length - ivLen < tagLen) return undefined;
    const rxPhase = (pkt[0]! & 0x80) !== 0 ? 1 : 0;
    if (rxPhase !== phase && age >= mask - mask / 4) rotate();
    cntr = (cntr + 1) >>> 0;
    age++;
    const out = tryDecrypt(cur, pkt, inPlace);
    if (out !== undefined) return out;
    return prv !== undefined ? tryDecrypt(prv, pkt, inPlace) : undefined;
  };

  const fc: FlowCrypt = {
    cipher: info,
    ivLen,
    tagLen,
    overhead: ivLen + tagLen,
    native: nat !== undefined,

    encrypt: (sdu) => seal(sdu, false),
    encryptTransient: (sdu) => seal(sdu, true),

    decrypt: (pkt) => open(pkt, false),
    decryptInPlace: (pkt) => open(pkt, true),

    stats: () => ({ counter: cntr, age, phase, rotations, hasPrevious: prv !== undefined }),

    dispose() {
      disposed = true;
      if (prv) drop(prv);
      prv = undefined;
      drop(cur);
      for (const c of live) c.free();
      live.clear();
      finalizer.unregister(fc);
    },
  };
  if (nat) finalizer.register(fc, live, fc);
  return fc;
}
