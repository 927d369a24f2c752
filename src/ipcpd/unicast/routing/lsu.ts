/**
 * Link-state updates (WIRE.md §11.5): one LSU is one SDU of exactly 24 bytes
 * on a management flow, three big-endian u64 fields:
 *
 *   0 d_addr (the neighbour end of the adjacency) · 8 s_addr (the announcing
 *   node) · 16 seqno
 *
 * Addresses and seqnos are JavaScript numbers here, so decode refuses any
 * field that is not a safe integer (>= 2^53); encode refuses the same.
 *
 * o7s seqno convention (wire-compatible, a C peer sees plain seqnos): o7s
 * numbers its own announcements from {@link O7S_SEQNO_BASE} up, live
 * announcements even, and a withdrawal of an adjacency is the next odd
 * seqno. The reference starts at 0 and counts up by one per update period,
 * so it never reaches 2^52 and never produces what {@link isWithdrawal}
 * matches. See link-state.ts for why and what a C peer makes of it.
 */

export const LSU_LEN = 24;

/** Seqnos from here up (below 2^53) are o7s-originated. */
export const O7S_SEQNO_BASE = 2 ** 52;

export interface Lsu {
  /** Neighbour end of the adjacency. */
  dst: number;
  /** The node announcing the adjacency. */
  src: number;
  seqno: number;
}

function check(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`LSU ${what} ${v} is not an integer in 0..2^53-1`);
}

export function encodeLsu(l: Lsu): Buffer {
  check(l.dst, 'd_addr');
  check(l.src, 's_addr');
  check(l.seqno, 'seqno');
  const b = Buffer.alloc(LSU_LEN);
  b.writeBigUInt64BE(BigInt(l.dst), 0);
  b.writeBigUInt64BE(BigInt(l.src), 8);
  b.writeBigUInt64BE(BigInt(l.seqno), 16);
  return b;
}

const MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** Decodes an LSU, or returns why it is dropped. */
export function decodeLsu(bytes: Uint8Array): Lsu | string {
  if (bytes.length !== LSU_LEN) return `LSU of ${bytes.length} bytes, expected ${LSU_LEN}`;
  const v = new DataView(bytes.buffer, bytes.byteOffset, LSU_LEN);
  const dst = v.getBigUint64(0);
  const src = v.getBigUint64(8);
  const seqno = v.getBigUint64(16);
  if (dst > MAX) return `LSU d_addr ${dst} beyond 2^53`;
  if (src > MAX) return `LSU s_addr ${src} beyond 2^53`;
  if (seqno > MAX) return `LSU seqno ${seqno} beyond 2^53`;
  return { dst: Number(dst), src: Number(src), seqno: Number(seqno) };
}

/** True for an o7s withdrawal: an odd seqno in the o7s range. */
export function isWithdrawal(seqno: number): boolean {
  return seqno >= O7S_SEQNO_BASE && seqno % 2 === 1;
}

/** `LSU [src -- dst seq: n]` for logs. */
export function lsuToString(l: Lsu): string {
  return `LSU [${l.src} -- ${l.dst} seq: ${l.seqno}${isWithdrawal(l.seqno) ? ' withdrawn' : ''}]`;
}
