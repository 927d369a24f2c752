/** What every `irm` command gets: the API (connected on first use) and the two output streams. */
import type { IrmApi } from '../../lib/irm-api.js';
import { ERRORS, OuroborosError } from '../../common/errors.js';

export interface IrmDeps {
  /** Connects to the IRMd; only called when a command needs it. */
  api: () => Promise<IrmApi>;
  /** Writes to standard output (text includes its newlines). */
  out: (s: string) => void;
  /** Writes to standard error (text includes its newlines). */
  err: (s: string) => void;
  /** Does a process with this pid exist? (default: signal 0) */
  pidExists?: (pid: number) => boolean;
}

/** Exit status of a command: 0 success, 1 failure (as the reference's EXIT_FAILURE). */
export type Status = 0 | 1;
export const OK: Status = 0;
export const FAIL: Status = 1;

export const DAEMON_UNREACHABLE = 'Failed to communicate with the Ouroboros IPC Resource Manager daemon.';

export class Ctx {
  private conn: Promise<IrmApi> | undefined;

  constructor(private readonly deps: IrmDeps) {}

  /** Prints a line on stdout. */
  say(line: string): void {
    this.deps.out(`${line}\n`);
  }

  /** Prints raw text on stdout. */
  print(text: string): void {
    this.deps.out(text);
  }

  /** Prints a line on stderr. */
  warn(line: string): void {
    this.deps.err(`${line}\n`);
  }

  pidExists(pid: number): boolean {
    if (this.deps.pidExists) return this.deps.pidExists(pid);
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      // Another user's process exists too: the IRMd decides whether it may be bound.
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  /** The API; a failure to connect is reported as EIRMD. */
  api(): Promise<IrmApi> {
    if (!this.conn) {
      this.conn = this.deps.api().catch((e: unknown) => {
        if (e instanceof OuroborosError && e.code === 'EIRMD') throw e;
        throw new OuroborosError('EIRMD', `connect: ${e instanceof Error ? e.message : String(e)}`);
      });
    }
    return this.conn;
  }

  /**
   * Runs an API call. Daemon communication failures propagate (the top level
   * reports them); any other error is handed back so the command can print
   * its own message.
   */
  async call<T>(fn: (api: IrmApi) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
    const api = await this.api();
    try {
      return { ok: true, value: await fn(api) };
    } catch (e) {
      if (isDaemonError(e)) throw e;
      return { ok: false, error: e };
    }
  }
}

/** Errors meaning the IRMd could not be reached or stopped answering. */
export function isDaemonError(e: unknown): boolean {
  if (e instanceof OuroborosError) return e.code === 'EIRMD';
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE';
}

/** One-phrase description of an API error, e.g. `IPCP in the wrong state (EIPCPSTATE)`. */
export function describe(e: unknown): string {
  if (e instanceof OuroborosError) return `${ERRORS[e.code].text} (${e.code})`;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** The error code of an API error, if it is an Ouroboros one. */
export function codeOf(e: unknown): string | undefined {
  return e instanceof OuroborosError ? e.code : undefined;
}
