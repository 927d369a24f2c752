/**
 * Cipher contexts reused across packets, through koffi calling the OpenSSL
 * EVP functions that the node binary itself exports (Node links OpenSSL 3
 * statically and exports its symbols; `koffi.load(null)` finds them).
 *
 * node:crypto has no way to change only the IV of a cipher object, so each
 * packet would pay a createCipheriv (key schedule, provider fetch, object
 * setup: about 5-8 µs at 1400 B). Here a context is initialised with its
 * key once, and each packet re-initialises only the IV:
 *
 *   seal: EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv), EncryptUpdate,
 *         EncryptFinal_ex, EVP_CIPHER_CTX_get_params("tag")   (4 calls)
 *   open: EVP_DecryptInit_ex2(ctx, NULL, NULL, iv, {"tag"}), DecryptUpdate,
 *         DecryptFinal_ex (fails on a bad tag)                 (3 calls)
 *
 * (CTR: no tag.) Every argument is passed as an integer (`intptr_t`):
 * koffi converts a JS number in about 20 ns, a Buffer or pointer object in
 * 100-200 ns. So the packet is copied into a process-wide scratch block of
 * native memory (IV ‖ data ‖ tag, contiguous as on the wire, after a
 * one-entry OSSL_PARAM array for the tag), processed there in place, and
 * the result copied out (or, for a caller that copies it at once, handed out
 * as a view of the scratch block). The calls are synchronous on the JS
 * thread; nothing keeps a pointer into the scratch block between calls.
 *
 * Used only where it is proven to compute what node:crypto computes: each
 * cipher is checked once, at its first use, against createCipheriv on fixed
 * vectors (several packets of several sizes through one context each way,
 * tampered ciphertext and tag). If koffi, a symbol, OpenSSL 3, a 64-bit
 * little-endian platform or the check is missing, {@link nativeCipher}
 * returns undefined and cipher.ts keeps node:crypto. `O7S_NATIVE_CRYPTO=0`
 * in the environment turns this path off.
 */
import { createRequire } from 'node:module';
import { createCipheriv } from 'node:crypto';

/** One EVP_CIPHER_CTX with its key set, for one direction. */
export interface NativeCtx {
  /**
   * Encrypts `sdu` into a packet `IV ‖ ciphertext ‖ tag`, its IV written by
   * `fillIv` (handed the packet's IV bytes, in the scratch block: fill
   * them, keep no reference). The packet is a new buffer, or with
   * `transient` a view of the scratch block, valid until the next call
   * into this module. Undefined on an OpenSSL error.
   */
  seal(sdu: Uint8Array, fillIv: (iv: Buffer) => void, transient?: boolean): Buffer | undefined;
  /**
   * Decrypts a packet `IV ‖ ciphertext ‖ tag` into a new buffer, or with
   * `inPlace` into the packet's own bytes (a view of them is returned);
   * undefined when it fails authentication (the packet is left as it was).
   */
  open(pkt: Uint8Array, inPlace?: boolean): Buffer | undefined;
  /** Frees the context (OpenSSL cleanses the key schedule). Idempotent. */
  free(): void;
}

/** Makes contexts for one cipher. */
export interface NativeCipher {
  readonly name: string;
  /** A context for `key` (exactly the cipher's key length), encrypting or decrypting. */
  context(key: Uint8Array, encrypt: boolean): NativeCtx | undefined;
}

interface Evp {
  ctxNew(): number;
  ctxFree(ctx: number): void;
  byName(name: string): number;
  encInit(ctx: number, cipher: number, engine: number, key: number, iv: number): number;
  encUpdate(ctx: number, out: number, outl: number, inp: number, inl: number): number;
  encFinal(ctx: number, out: number, outl: number): number;
  decInit(ctx: number, cipher: number, engine: number, key: number, iv: number): number;
  /** EVP_DecryptInit_ex2: the IV and, through an OSSL_PARAM array, the expected tag in one call. */
  decInit2(ctx: number, cipher: number, key: number, iv: number, params: number): number;
  decUpdate(ctx: number, out: number, outl: number, inp: number, inl: number): number;
  decFinal(ctx: number, out: number, outl: number): number;
  getParams(ctx: number, params: number): number;
  clearErrors(): void;
}

interface Koffi {
  load(path: string | null): { func(decl: string): unknown };
  alloc(type: string, n: number): unknown;
  free(p: unknown): void;
  address(p: unknown): bigint;
  view(p: unknown, len: number): ArrayBuffer;
}

/*
 * Scratch layout (64-bit): the out-length int of the EVP calls; the string
 * "tag" (OSSL_CIPHER_PARAM_AEAD_TAG); an OSSL_PARAM array of one octet
 * string (key, data_type + padding, data, data_size, return_size: 40 bytes)
 * and its terminator; then the packet.
 */
const OUTL = 0;
const TAG_KEY = 8;
const PARAM = 16;
const PARAM_DATA = PARAM + 16;
const PARAM_SIZE = PARAM + 24;
const OSSL_PARAM_OCTET_STRING = 5;
const PKT = 128;

let koffi: Koffi | undefined;
let evp: Evp | null | undefined;

/** The process-wide native scratch block: its memory, address and a Buffer over it. */
let scratchMem: unknown;
let scratchAddr = 0;
let scratch: Buffer = Buffer.alloc(0);
/** The scratch block as 32-bit words (for the OSSL_PARAM fields). */
let words = new Uint32Array(0);
/** Views of the packet's IV in the scratch block, by IV length. */
let ivViews: (Buffer | undefined)[] = [];
/** The last view of a whole packet handed out (packets of a flow mostly have one size). */
let pktView: Buffer = Buffer.alloc(0);

function ensureScratch(pktLen: number): void {
  const need = PKT + pktLen + 64;
  if (need <= scratch.length) return;
  const k = koffi!;
  const size = Math.max(need, 2 * scratch.length, 16384);
  const mem = k.alloc('uint8_t', size);
  const old = scratchMem;
  scratchMem = mem;
  scratchAddr = Number(k.address(mem));
  const ab = k.view(mem, size);
  scratch = Buffer.from(ab);
  words = new Uint32Array(ab, 0, PKT / 4);
  scratch.fill(0, 0, PKT);
  scratch.write('tag\0', TAG_KEY, 'latin1');
  setPtr(PARAM, scratchAddr + TAG_KEY);
  words[(PARAM + 8) >> 2] = OSSL_PARAM_OCTET_STRING;
  ivViews = [];
  pktView = Buffer.alloc(0);
  if (old !== undefined) k.free(old);
}

/** Writes a native address (below 2^53) at an 8-aligned offset of the scratch block's header. */
function setPtr(off: number, addr: number): void {
  words[off >> 2] = addr % 0x100000000;
  words[(off >> 2) + 1] = Math.floor(addr / 0x100000000);
}

/** Points the OSSL_PARAM "tag" at `len` bytes at `addr`. */
function tagParam(addr: number, len: number): number {
  setPtr(PARAM_DATA, addr);
  words[PARAM_SIZE >> 2] = len;
  return scratchAddr + PARAM;
}

function load(): Evp | null {
  if (evp !== undefined) return evp;
  evp = null;
  if (process.env.O7S_NATIVE_CRYPTO === '0') return null;
  // The OSSL_PARAM layout above and the address arithmetic are for 64-bit little-endian.
  if ((process.arch !== 'x64' && process.arch !== 'arm64') || !Buffer.from(Uint16Array.of(1).buffer)[0]) return null;
  try {
    const require = createRequire(import.meta.url);
    const k = require('koffi') as Koffi;
    const lib = k.load(null);
    const f = <T>(decl: string): T => lib.func(decl) as T;
    const version = f<() => number>('unsigned long OpenSSL_version_num(void)')();
    if (!(Number(version) >= 0x30000000)) return null;
    koffi = k;
    const e: Evp = {
      ctxNew: f('intptr_t EVP_CIPHER_CTX_new(void)'),
      ctxFree: f('void EVP_CIPHER_CTX_free(intptr_t)'),
      byName: f('intptr_t EVP_get_cipherbyname(const char *)'),
      encInit: f('int EVP_EncryptInit_ex(intptr_t, intptr_t, intptr_t, intptr_t, intptr_t)'),
      encUpdate: f('int EVP_EncryptUpdate(intptr_t, intptr_t, intptr_t, intptr_t, int)'),
      encFinal: f('int EVP_EncryptFinal_ex(intptr_t, intptr_t, intptr_t)'),
      decInit: f('int EVP_DecryptInit_ex(intptr_t, intptr_t, intptr_t, intptr_t, intptr_t)'),
      decInit2: f('int EVP_DecryptInit_ex2(intptr_t, intptr_t, intptr_t, intptr_t, intptr_t)'),
      decUpdate: f('int EVP_DecryptUpdate(intptr_t, intptr_t, intptr_t, intptr_t, int)'),
      decFinal: f('int EVP_DecryptFinal_ex(intptr_t, intptr_t, intptr_t)'),
      getParams: f('int EVP_CIPHER_CTX_get_params(intptr_t, intptr_t)'),
      clearErrors: f('void ERR_clear_error(void)'),
    };
    ensureScratch(2048);
    evp = e;
  } catch {
    evp = null;
  }
  return evp;
}

interface Spec {
  keyLen: number;
  ivLen: number;
  tagLen: number;
}

function makeCtx(e: Evp, cipher: number, spec: Spec, key: Uint8Array, encrypt: boolean): NativeCtx | undefined {
  const { ivLen, tagLen, keyLen } = spec;
  if (key.length !== keyLen) return undefined;
  let ctx = e.ctxNew();
  if (!ctx) return undefined;
  scratch.set(key, PKT);
  const ok = (encrypt ? e.encInit : e.decInit)(ctx, cipher, 0, scratchAddr + PKT, 0);
  scratch.fill(0, PKT, PKT + keyLen);
  if (ok !== 1) {
    e.ctxFree(ctx);
    e.clearErrors();
    return undefined;
  }
  const free = (): void => {
    if (ctx) e.ctxFree(ctx);
    ctx = 0;
  };
  if (encrypt) {
    return {
      seal(sdu, fillIv, transient) {
        const len = sdu.length;
        const total = ivLen + len + tagLen;
        if (!ctx) return undefined;
        ensureScratch(total);
        const a = scratchAddr;
        const iv = a + PKT;
        const data = iv + ivLen;
        fillIv((ivViews[ivLen] ??= scratch.subarray(PKT, PKT + ivLen)));
        scratch.set(sdu, PKT + ivLen);
        if (
          e.encInit(ctx, 0, 0, 0, iv) !== 1 ||
          e.encUpdate(ctx, data, a + OUTL, data, len) !== 1 ||
          e.encFinal(ctx, data + len, a + OUTL) !== 1 ||
          (tagLen > 0 && e.getParams(ctx, tagParam(data + len, tagLen)) !== 1)
        ) {
          e.clearErrors();
          return undefined;
        }
        if (transient) {
          if (pktView.length !== total) pktView = scratch.subarray(PKT, PKT + total);
          return pktView;
        }
        const out = Buffer.allocUnsafe(total);
        scratch.copy(out, 0, PKT, PKT + total);
        return out;
      },
      open: () => undefined,
      free,
    };
  }
  return {
    seal: () => undefined,
    open(pkt, inPlace) {
      const len = pkt.length - ivLen - tagLen;
      if (!ctx || len < 0) return undefined;
      ensureScratch(pkt.length);
      const a = scratchAddr;
      const iv = a + PKT;
      const data = iv + ivLen;
      scratch.set(pkt, PKT);
      if (
        (tagLen > 0 ? e.decInit2(ctx, 0, 0, iv, tagParam(data + len, tagLen)) : e.decInit(ctx, 0, 0, 0, iv)) !== 1 ||
        e.decUpdate(ctx, data, a + OUTL, data, len) !== 1 ||
        e.decFinal(ctx, data + len, a + OUTL) !== 1
      ) {
        e.clearErrors();
        return undefined;
      }
      const out = inPlace ? Buffer.from(pkt.buffer, pkt.byteOffset + ivLen, len) : Buffer.allocUnsafe(len);
      scratch.copy(out, 0, PKT + ivLen, PKT + ivLen + len);
      return out;
    },
    free,
  };
}

/**
 * Checks the native path against node:crypto: a few packets of several
 * lengths through one context each way (so a context whose state leaks from
 * one packet into the next is caught), and a tampered tag.
 */
function selfTest(c: NativeCipher, name: string, spec: Spec): boolean {
  const { keyLen, ivLen, tagLen } = spec;
  const key = Buffer.alloc(keyLen);
  for (let i = 0; i < keyLen; i++) key[i] = (i * 29 + 7) & 0xff;
  const enc = c.context(key, true);
  const dec = c.context(key, false);
  try {
    if (!enc || !dec) return false;
    let n = 0;
    for (const len of [0, 1, 17, 1400, 33, 4096]) {
      const iv = Buffer.alloc(ivLen);
      const plain = Buffer.alloc(len);
      for (let i = 0; i < ivLen; i++) iv[i] = (i * 13 + len + n++) & 0xff;
      for (let i = 0; i < len; i++) plain[i] = (i * 7 + len + n++) & 0xff;
      const ref = tagLen
        ? createCipheriv(name as 'aes-256-gcm', key, iv, { authTagLength: tagLen })
        : createCipheriv(name, key, iv);
      const body = Buffer.concat([ref.update(plain), ref.final()]);
      const want = Buffer.concat([iv, body, tagLen ? (ref as unknown as { getAuthTag(): Buffer }).getAuthTag() : Buffer.alloc(0)]);
      const pkt = enc.seal(plain, (v) => iv.copy(v));
      if (!pkt || !pkt.equals(want)) return false;
      const back = dec.open(pkt);
      if (!back || !back.equals(plain)) return false;
      const copy = Buffer.from(pkt);
      const inPlace = dec.open(copy, true);
      if (!inPlace || !inPlace.equals(plain) || inPlace.buffer !== copy.buffer || inPlace.byteOffset !== copy.byteOffset + ivLen) return false;
      if (tagLen) {
        if (len > 0) {
          pkt[ivLen]! ^= 1;
          if (dec.open(pkt) !== undefined) return false;
          pkt[ivLen]! ^= 1;
        }
        pkt[pkt.length - 1]! ^= 1;
        if (dec.open(pkt) !== undefined) return false;
        pkt[pkt.length - 1]! ^= 1;
        if (!dec.open(pkt)?.equals(plain)) return false;
      }
    }
    return true;
  } catch {
    return false;
  } finally {
    enc?.free();
    dec?.free();
  }
}

const ciphers = new Map<string, NativeCipher | null>();

/**
 * Reusable contexts for the OpenSSL cipher `name` (e.g. 'aes-256-gcm'),
 * or undefined when this path is unavailable or did not pass its check.
 */
export function nativeCipher(name: string, spec: Spec): NativeCipher | undefined {
  const known = ciphers.get(name);
  if (known !== undefined) return known ?? undefined;
  ciphers.set(name, null);
  const e = load();
  if (!e) return undefined;
  let cipher = 0;
  try {
    cipher = e.byName(name);
  } catch {
    cipher = 0;
  }
  if (!cipher) return undefined;
  const c: NativeCipher = { name, context: (key, encrypt) => makeCtx(e, cipher, spec, key, encrypt) };
  if (!selfTest(c, name, spec)) return undefined;
  ciphers.set(name, c);
  return c;
}

/** True when the native path is loaded (for tests and figures). */
export function nativeAvailable(): boolean {
  return load() !== null;
}
