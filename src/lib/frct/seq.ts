/**
 * FRCT sequence-number arithmetic (WIRE.md §7.1): sequence numbers are u32 and
 * compare modulo 2^32, so "a before b" means the signed 32-bit distance from b
 * to a is negative. Pure functions, no state.
 */

/** Reduce any integer to a u32 (0 .. 2^32-1). */
export function u32(x: number): number {
  return x >>> 0;
}

/** a + n modulo 2^32 (n may be negative). */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** Signed distance a - b interpreted as int32: > 0 when a is after b. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** a comes strictly before b (modulo 2^32). */
export function before(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** a comes strictly after b (modulo 2^32). */
export function after(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}

/** Unsigned distance from a forward to b: (b - a) mod 2^32. */
export function seqDist(a: number, b: number): number {
  return (b - a) >>> 0;
}

/** The later of a and b (modulo 2^32). */
export function seqMax(a: number, b: number): number {
  return after(a, b) ? a : b;
}
