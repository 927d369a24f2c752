/**
 * The algorithm numbers of OAP and per-packet encryption (WIRE.md §10.2):
 * OpenSSL NIDs for ciphers, digests and key exchanges (plus two numbers of
 * the reference's own for the hybrid KEMs), their configuration names, and
 * the "strength" ranks used when two sides negotiate.
 *
 * Rank conventions: NID 0 (none) ranks 0, an unknown NID ranks -1.
 */

export const NID_UNDEF = 0;

export const CipherNid = {
  AES_128_GCM: 895,
  AES_192_GCM: 898,
  AES_256_GCM: 901,
  AES_128_CTR: 904,
  AES_192_CTR: 905,
  AES_256_CTR: 906,
  CHACHA20_POLY1305: 1018,
} as const;

export const DigestNid = {
  SHA256: 672,
  SHA384: 673,
  SHA512: 674,
  SHA3_256: 1096,
  SHA3_384: 1097,
  SHA3_512: 1098,
  BLAKE2B512: 1056,
  BLAKE2S256: 1057,
} as const;

export const KexNid = {
  PRIME256V1: 415,
  SECP384R1: 715,
  SECP521R1: 716,
  X25519: 1034,
  X448: 1035,
  FFDHE2048: 1126,
  FFDHE3072: 1127,
  FFDHE4096: 1128,
  MLKEM512: 1454,
  MLKEM768: 1455,
  MLKEM1024: 1456,
  X25519MLKEM768: 2053,
  X448MLKEM1024: 2054,
} as const;

export type CipherName =
  | 'aes-128-ctr'
  | 'aes-192-ctr'
  | 'aes-256-ctr'
  | 'aes-128-gcm'
  | 'aes-192-gcm'
  | 'aes-256-gcm'
  | 'chacha20-poly1305';

export type DigestName =
  | 'blake2s256'
  | 'sha256'
  | 'sha3-256'
  | 'sha384'
  | 'sha3-384'
  | 'blake2b512'
  | 'sha512'
  | 'sha3-512';

export type KexName =
  | 'ffdhe2048'
  | 'prime256v1'
  | 'X25519'
  | 'ffdhe3072'
  | 'secp384r1'
  | 'ffdhe4096'
  | 'X448'
  | 'secp521r1'
  | 'ML-KEM-512'
  | 'ML-KEM-768'
  | 'ML-KEM-1024'
  | 'X25519MLKEM768'
  | 'X448MLKEM1024';

/** How a key exchange works: Diffie-Hellman style or a KEM (pure or hybrid). */
export type KexKind = 'ec' | 'ecx' | 'dh' | 'mlkem' | 'hybrid';

export interface CipherInfo {
  readonly name: CipherName;
  readonly nid: number;
  readonly rank: number;
  readonly keyLen: number;
  readonly ivLen: number;
  readonly tagLen: number;
}

export interface DigestInfo {
  readonly name: DigestName;
  readonly nid: number;
  readonly rank: number;
  /** Output length in bytes. */
  readonly len: number;
}

export interface KexInfo {
  readonly name: KexName;
  readonly nid: number;
  readonly rank: number;
  readonly kind: KexKind;
}

/** Ciphers, weakest first (the index + 1 is the rank). */
export const CIPHERS: readonly CipherInfo[] = [
  { name: 'aes-128-ctr', nid: 904, rank: 1, keyLen: 16, ivLen: 16, tagLen: 0 },
  { name: 'aes-192-ctr', nid: 905, rank: 2, keyLen: 24, ivLen: 16, tagLen: 0 },
  { name: 'aes-256-ctr', nid: 906, rank: 3, keyLen: 32, ivLen: 16, tagLen: 0 },
  { name: 'aes-128-gcm', nid: 895, rank: 4, keyLen: 16, ivLen: 12, tagLen: 16 },
  { name: 'aes-192-gcm', nid: 898, rank: 5, keyLen: 24, ivLen: 12, tagLen: 16 },
  { name: 'aes-256-gcm', nid: 901, rank: 6, keyLen: 32, ivLen: 12, tagLen: 16 },
  { name: 'chacha20-poly1305', nid: 1018, rank: 7, keyLen: 32, ivLen: 12, tagLen: 16 },
];

/** Digests (also the HKDF hashes), weakest first. */
export const DIGESTS: readonly DigestInfo[] = [
  { name: 'blake2s256', nid: 1057, rank: 1, len: 32 },
  { name: 'sha256', nid: 672, rank: 2, len: 32 },
  { name: 'sha3-256', nid: 1096, rank: 3, len: 32 },
  { name: 'sha384', nid: 673, rank: 4, len: 48 },
  { name: 'sha3-384', nid: 1097, rank: 5, len: 48 },
  { name: 'blake2b512', nid: 1056, rank: 6, len: 64 },
  { name: 'sha512', nid: 674, rank: 7, len: 64 },
  { name: 'sha3-512', nid: 1098, rank: 8, len: 64 },
];

/** Key exchanges, weakest first. */
export const KEXES: readonly KexInfo[] = [
  { name: 'ffdhe2048', nid: 1126, rank: 1, kind: 'dh' },
  { name: 'prime256v1', nid: 415, rank: 2, kind: 'ec' },
  { name: 'X25519', nid: 1034, rank: 3, kind: 'ecx' },
  { name: 'ffdhe3072', nid: 1127, rank: 4, kind: 'dh' },
  { name: 'secp384r1', nid: 715, rank: 5, kind: 'ec' },
  { name: 'ffdhe4096', nid: 1128, rank: 6, kind: 'dh' },
  { name: 'X448', nid: 1035, rank: 7, kind: 'ecx' },
  { name: 'secp521r1', nid: 716, rank: 8, kind: 'ec' },
  { name: 'ML-KEM-512', nid: 1454, rank: 9, kind: 'mlkem' },
  { name: 'ML-KEM-768', nid: 1455, rank: 10, kind: 'mlkem' },
  { name: 'ML-KEM-1024', nid: 1456, rank: 11, kind: 'mlkem' },
  { name: 'X25519MLKEM768', nid: 2053, rank: 12, kind: 'hybrid' },
  { name: 'X448MLKEM1024', nid: 2054, rank: 13, kind: 'hybrid' },
];

function indexBy<T extends { nid: number; name: string }>(list: readonly T[]) {
  return {
    byNid: new Map<number, T>(list.map((e) => [e.nid, e])),
    byName: new Map<string, T>(list.map((e) => [e.name, e])),
  };
}

const C = indexBy(CIPHERS);
const D = indexBy(DIGESTS);
const K = indexBy(KEXES);

function rankOf(map: Map<number, { rank: number }>, nid: number): number {
  if (nid === NID_UNDEF) return 0;
  return map.get(nid)?.rank ?? -1;
}

export const cipherInfo = (nid: number): CipherInfo | undefined => C.byNid.get(nid);
export const cipherByName = (name: string): CipherInfo | undefined => C.byName.get(name);
export const cipherRank = (nid: number): number => rankOf(C.byNid, nid);

export const digestInfo = (nid: number): DigestInfo | undefined => D.byNid.get(nid);
export const digestByName = (name: string): DigestInfo | undefined => D.byName.get(name);
/** Rank of a KDF or signature digest (one table serves both). */
export const digestRank = (nid: number): number => rankOf(D.byNid, nid);

export const kexInfo = (nid: number): KexInfo | undefined => K.byNid.get(nid);
export const kexByName = (name: string): KexInfo | undefined => K.byName.get(name);
export const kexRank = (nid: number): number => rankOf(K.byNid, nid);

export const isKem = (k: KexInfo | KexName): boolean => {
  const info = typeof k === 'string' ? K.byName.get(k) : k;
  return info !== undefined && (info.kind === 'mlkem' || info.kind === 'hybrid');
};

export const isHybrid = (k: KexInfo | KexName): boolean => {
  const info = typeof k === 'string' ? K.byName.get(k) : k;
  return info !== undefined && info.kind === 'hybrid';
};

/** Byte length of a digest, e.g. the req_hash of an OAP response; undefined for unknown NIDs. */
export const digestLen = (nid: number): number | undefined => D.byNid.get(nid)?.len;
