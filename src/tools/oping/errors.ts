/** Small helpers to look at errors thrown by the library. */
import { ERRORS, type ErrorCode } from '../../common/errors.js';

/** The Ouroboros code of a thrown value, if it has one. */
export function errorCode(e: unknown): string | undefined {
  if (e && typeof e === 'object' && 'code' in e) {
    const c = (e as { code: unknown }).code;
    if (typeof c === 'string') return c;
  }
  return undefined;
}

/** The negative errno the reference would print for a failed call (EIRMD when unknown). */
export function negErrno(e: unknown): number {
  if (e && typeof e === 'object' && 'errno' in e) {
    const n = (e as { errno: unknown }).errno;
    if (typeof n === 'number' && n !== 0) return -Math.abs(n);
  }
  const c = errorCode(e);
  if (c && c in ERRORS) return -ERRORS[c as ErrorCode].errno;
  return -ERRORS.EIRMD.errno;
}

/** True for errors after which no more packets will come on the flow. */
export function isFlowGone(e: unknown): boolean {
  const c = errorCode(e);
  return c === 'EFLOWDOWN' || c === 'EFLOWPEER' || c === 'ENOTALLOC' || c === 'EBADF';
}

export const isAbort = (e: unknown): boolean => e instanceof Error && e.name === 'AbortError';
