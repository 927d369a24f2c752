/**
 * The OAP header (WIRE.md §10.1), byte for byte as the reference: a
 * 36-byte fixed part (id, timestamp, cipher/kdf/md NIDs, lengths and the
 * KEX flags, all big-endian), then certificate, key-exchange data,
 * piggy-backed data, the request hash (responses only) and a signature
 * over everything before it (only when a certificate is present).
 */
import { fail } from '../../common/errors.js';
import { cipherInfo, digestInfo, digestLen, NID_UNDEF } from '../../lib/crypt/nid.js';

export const OAP_ID_LEN = 16;
export const OAP_HDR_MIN = 36;
export const KEX_FMT_BIT = 0x8000;
export const KEX_ROLE_BIT = 0x4000;
export const KEX_LEN_MASK = 0x3fff;
export const MAX_CRT_LEN = 0xffff;
export const MAX_KEX_LEN = KEX_LEN_MASK;
export const MAX_DATA_LEN = 0xffff;

/** The largest OAP header a control message can carry (IRMd/IPCP SOCK_BUF_SIZE). */
export const OAP_MAX_CTRL = 10240;
/** Unicast flow-allocator messages carry at most 2048 bytes: 61 + name hash + OAP. */
export const FA_MSG_MAX = 2048;
export const FA_MSG_FIXED = 61;
/** The largest OAP header a unicast layer carries with a `hashLen`-byte name hash. */
export const oapMaxUnicast = (hashLen: number): number => FA_MSG_MAX - FA_MSG_FIXED - hashLen;

export interface OapHeaderFields {
  /** 16 random bytes; a response echoes the request's. */
  id: Uint8Array;
  /** CLOCK_REALTIME in ns since the epoch. */
  timestamp: bigint;
  cipherNid: number;
  kdfNid: number;
  mdNid: number;
  /** X.509 DER certificate; empty = unauthenticated. */
  crt?: Uint8Array;
  /** Key-exchange data: a public key (DER or raw) or a KEM ciphertext. */
  kex?: Uint8Array;
  /** F bit: the KEX data is a raw hybrid encoding (only with non-empty KEX). */
  kexRaw?: boolean;
  /** R bit: the client encapsulated (only with non-empty KEX). */
  kexClientEncap?: boolean;
  /** Piggy-backed application data. */
  data?: Uint8Array;
  /** Responses: H(request) with the request's digest. */
  reqHash?: Uint8Array;
}

export interface OapHeader {
  id: Buffer;
  timestamp: bigint;
  cipherNid: number;
  kdfNid: number;
  mdNid: number;
  kexRaw: boolean;
  kexClientEncap: boolean;
  crt: Buffer;
  kex: Buffer;
  data: Buffer;
  reqHash: Buffer;
  sig: Buffer;
  /** The whole header as received. */
  bytes: Buffer;
  /** The bytes the signature covers (everything before it). */
  signed: Buffer;
}

/**
 * Encodes a header; `sign`, when given, is called with the bytes to sign
 * and its result appended. Throws EINVAL when a field does not fit.
 */
export function encodeOapHeader(f: OapHeaderFields, sign?: (signed: Buffer) => Uint8Array): Buffer {
  const crt = f.crt ?? new Uint8Array(0);
  const kex = f.kex ?? new Uint8Array(0);
  const data = f.data ?? new Uint8Array(0);
  const reqHash = f.reqHash ?? new Uint8Array(0);
  if (f.id.length !== OAP_ID_LEN) fail('EINVAL', `OAP id must be ${OAP_ID_LEN} bytes, got ${f.id.length}`);
  if (f.timestamp < 0n || f.timestamp >= 1n << 64n) fail('EINVAL', 'OAP timestamp out of range');
  for (const [what, n] of [['cipher', f.cipherNid], ['kdf', f.kdfNid], ['md', f.mdNid]] as const) {
    if (!Number.isInteger(n) || n < 0 || n > 0xffff) fail('EINVAL', `OAP ${what} NID ${n} does not fit 16 bits`);
  }
  if (crt.length > MAX_CRT_LEN) fail('EINVAL', `certificate of ${crt.length} bytes exceeds ${MAX_CRT_LEN}`);
  if (kex.length > MAX_KEX_LEN) fail('EINVAL', `key-exchange data of ${kex.length} bytes exceeds ${MAX_KEX_LEN}`);
  if (data.length > MAX_DATA_LEN) fail('EINVAL', `piggy-backed data of ${data.length} bytes exceeds ${MAX_DATA_LEN}`);
  if (kex.length === 0 && (f.kexRaw || f.kexClientEncap)) fail('EINVAL', 'KEX flags without key-exchange data');

  const len = OAP_HDR_MIN + crt.length + kex.length + data.length + reqHash.length;
  const b = Buffer.alloc(len);
  Buffer.from(f.id.buffer, f.id.byteOffset, f.id.length).copy(b, 0);
  b.writeBigUInt64BE(f.timestamp, 16);
  b.writeUInt16BE(f.cipherNid, 24);
  b.writeUInt16BE(f.kdfNid, 26);
  b.writeUInt16BE(f.mdNid, 28);
  b.writeUInt16BE(crt.length, 30);
  b.writeUInt16BE(kex.length | (f.kexRaw ? KEX_FMT_BIT : 0) | (f.kexClientEncap ? KEX_ROLE_BIT : 0), 32);
  b.writeUInt16BE(data.length, 34);
  let off = OAP_HDR_MIN;
  for (const part of [crt, kex, data, reqHash]) {
    b.set(part, off);
    off += part.length;
  }
  if (!sign) return b;
  const sig = sign(b);
  return sig.length ? Buffer.concat([b, sig]) : b;
}

/**
 * Decodes a header, or returns why it is malformed. `reqMdNid` is 0 for
 * a request (no request hash) and, for a response, the digest the client
 * hashed its request with (its md NID, or SHA-384 when that was 0).
 */
export function decodeOapHeader(buf: Uint8Array, reqMdNid = NID_UNDEF): OapHeader | string {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (b.length < OAP_HDR_MIN) return `OAP header of ${b.length} bytes is shorter than ${OAP_HDR_MIN}`;
  const cipherNid = b.readUInt16BE(24);
  const kdfNid = b.readUInt16BE(26);
  const mdNid = b.readUInt16BE(28);
  if (cipherNid !== NID_UNDEF && !cipherInfo(cipherNid)) return `unknown cipher NID ${cipherNid}`;
  if (kdfNid !== NID_UNDEF && !digestInfo(kdfNid)) return `unknown KDF NID ${kdfNid}`;
  if (mdNid !== NID_UNDEF && !digestInfo(mdNid)) return `unknown digest NID ${mdNid}`;
  const crtLen = b.readUInt16BE(30);
  const kexField = b.readUInt16BE(32);
  const kexLen = kexField & KEX_LEN_MASK;
  const dataLen = b.readUInt16BE(34);
  let hashLen = 0;
  if (reqMdNid !== NID_UNDEF) {
    const l = digestLen(reqMdNid);
    if (l === undefined) return `unknown request digest NID ${reqMdNid}`;
    hashLen = l;
  }
  const fixed = OAP_HDR_MIN + crtLen + kexLen + dataLen + hashLen;
  if (fixed > b.length) return `OAP header of ${b.length} bytes is shorter than its fields (${fixed})`;
  const sigLen = b.length - fixed;
  if (crtLen === 0 && sigLen !== 0) return `unsigned OAP header with ${sigLen} trailing bytes`;
  let off = OAP_HDR_MIN;
  const take = (n: number) => {
    const s = b.subarray(off, off + n);
    off += n;
    return s;
  };
  const crt = take(crtLen);
  const kex = take(kexLen);
  const data = take(dataLen);
  const reqHash = take(hashLen);
  return {
    id: b.subarray(0, OAP_ID_LEN),
    timestamp: b.readBigUInt64BE(16),
    cipherNid,
    kdfNid,
    mdNid,
    kexRaw: (kexField & KEX_FMT_BIT) !== 0,
    kexClientEncap: (kexField & KEX_ROLE_BIT) !== 0,
    crt,
    kex,
    data,
    reqHash,
    sig: b.subarray(fixed),
    bytes: b,
    signed: b.subarray(0, fixed),
  };
}
