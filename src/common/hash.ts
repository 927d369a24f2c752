/** Directory hash algorithms, numbered as the reference's `enum hash_algo`. */
import { createHash } from 'node:crypto';

export const HashAlgo = {
  SHA3_224: 0,
  SHA3_256: 1,
  SHA3_384: 2,
  SHA3_512: 3,
  CRC32: 4,
  MD5: 5,
} as const;
export type HashAlgo = (typeof HashAlgo)[keyof typeof HashAlgo];

const NODE_NAME: Record<number, string> = {
  0: 'sha3-224',
  1: 'sha3-256',
  2: 'sha3-384',
  3: 'sha3-512',
  5: 'md5',
};

const LENGTH: Record<number, number> = { 0: 28, 1: 32, 2: 48, 3: 64, 4: 4, 5: 16 };

export function hashLength(algo: number): number {
  const len = LENGTH[algo];
  if (len === undefined) throw new RangeError(`unknown hash algorithm ${algo}`);
  return len;
}

/** H(name bytes), no terminator, as the IRMd hashes a name for a layer. */
export function hashName(algo: number, name: string): Uint8Array {
  const node = NODE_NAME[algo];
  if (node === undefined) throw new RangeError(`hash algorithm ${algo} cannot hash names`);
  return new Uint8Array(createHash(node).update(name, 'utf8').digest());
}

/** `SHA3_256` and friends as written in irm commands and irmd.conf. */
export function hashAlgoByName(name: string): HashAlgo | undefined {
  const key = name.toUpperCase().replace('-', '_') as keyof typeof HashAlgo;
  return key in HashAlgo && key !== 'CRC32' ? HashAlgo[key] : undefined;
}

/** The first 4 bytes in hex, as the reference logs a hash (HASH_FMT32). */
export function hashFmt32(hash: Uint8Array): string {
  return Buffer.from(hash.subarray(0, 4)).toString('hex');
}
