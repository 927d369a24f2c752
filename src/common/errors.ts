/**
 * The one table of Ouroboros error codes. Numbers are the reference's: the
 * Ouroboros-specific codes from 1000 up, and the Linux errno values for the
 * standard ones. Every error o7s raises is an {@link OuroborosError} with a
 * stable string `code` and the numeric `errno`; on the wire (control
 * messages) the negated errno travels, as in the reference.
 */

export const ERRORS = {
  EPERM: { errno: 1, text: 'operation not permitted' },
  ENOENT: { errno: 2, text: 'no such file or entry' },
  EBADF: { errno: 9, text: 'bad flow descriptor' },
  EAGAIN: { errno: 11, text: 'operation would block' },
  ENOMEM: { errno: 12, text: 'out of memory' },
  EEXIST: { errno: 17, text: 'already exists' },
  EINVAL: { errno: 22, text: 'invalid argument' },
  EPIPE: { errno: 32, text: 'broken pipe' },
  EPROTO: { errno: 71, text: 'protocol error' },
  EMSGSIZE: { errno: 90, text: 'message too long' },
  ENOTSUP: { errno: 95, text: 'operation not supported' },
  ECONNRESET: { errno: 104, text: 'connection reset' },
  ETIMEDOUT: { errno: 110, text: 'timed out' },
  ENOTALLOC: { errno: 1000, text: 'flow is not allocated' },
  EIPCPTYPE: { errno: 1001, text: 'unknown IPCP type' },
  EIRMD: { errno: 1002, text: 'failed to communicate with the IRMd' },
  EIPCP: { errno: 1003, text: 'failed to communicate with the IPCP' },
  EIPCPSTATE: { errno: 1004, text: 'IPCP in the wrong state' },
  EFLOWDOWN: { errno: 1005, text: 'flow is down' },
  EFLOWPEER: { errno: 1006, text: 'flow is down (peer timed out)' },
  ENAME: { errno: 1007, text: 'naming error' },
  ECRYPT: { errno: 1008, text: 'encryption error' },
  EAUTH: { errno: 1009, text: 'authentication error' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

const BY_ERRNO = new Map<number, ErrorCode>(
  (Object.keys(ERRORS) as ErrorCode[]).map((c) => [ERRORS[c].errno, c]),
);

/** An error with a stable Ouroboros code, e.g. `err.code === 'ENAME'`. */
export class OuroborosError extends Error {
  readonly code: ErrorCode;
  readonly errno: number;

  constructor(code: ErrorCode, message?: string) {
    super(message ?? ERRORS[code].text);
    this.name = 'OuroborosError';
    this.code = code;
    this.errno = ERRORS[code].errno;
  }

  /** The negative result value carried in control replies. */
  get result(): number {
    return -this.errno;
  }
}

/** Name of a (positive or negative) errno value, or undefined when unknown. */
export function codeOf(errno: number): ErrorCode | undefined {
  return BY_ERRNO.get(Math.abs(errno));
}

/** Builds the error for a negative result from a control reply. */
export function errorFromResult(result: number, what: string, detail?: string): OuroborosError {
  const code = codeOf(result) ?? 'EIRMD';
  return new OuroborosError(code, `${what}: ${detail || ERRORS[code].text} (${code})`);
}

/** Shorthand: throw an OuroborosError. */
export function fail(code: ErrorCode, message?: string): never {
  throw new OuroborosError(code, message);
}

/** Maps any thrown value to a negative result for a control reply. */
export function resultOf(err: unknown): number {
  if (err instanceof OuroborosError) return err.result;
  return -ERRORS.EIRMD.errno;
}

/** The reason text to send along with a negative result. */
export function reasonOf(err: unknown): string {
  if (err instanceof OuroborosError) return err.message;
  return 'internal error';
}
