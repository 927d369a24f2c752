/**
 * Child processes of the benchmark: spawned with piped stdio, their stdout
 * read as lines (peers speak JSON lines), all of them killed when the
 * benchmark ends, normally or not.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
/** Grandchildren (an IPCP that irmd started), killed at exit if they still run with `mark` in their command line. */
const adopted = new Map<number, string>();

export function adopt(pid: number, mark: string): void {
  adopted.set(pid, mark);
}

/** Kills every child still running and removes every temp dir (synchronous: safe in 'exit'). */
export function killAll(): void {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  live.clear();
  for (const [pid, mark] of adopted) {
    try {
      // Only if the pid is still that process (pids get reused).
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(mark)) process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  adopted.clear();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

/** Registers a temp dir to remove at exit (and forgets it once removed by its owner). */
export function tempDir(dir: string): string {
  dirs.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

export class Child {
  out = '';
  err = '';
  /** Parsed JSON lines from stdout. */
  readonly events: Record<string, unknown>[] = [];
  /** Called with each JSON event as it arrives. */
  onEvent: ((e: Record<string, unknown>) => void) | undefined;
  readonly exited: Promise<number | null>;
  private partial = '';
  private watchers: (() => void)[] = [];

  constructor(readonly name: string, readonly proc: ChildProcess) {
    live.add(proc);
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.out += d;
      this.partial += d;
      let nl: number;
      while ((nl = this.partial.indexOf('\n')) >= 0) {
        const line = this.partial.slice(0, nl);
        this.partial = this.partial.slice(nl + 1);
        if (line.startsWith('{')) {
          try {
            const e = JSON.parse(line) as Record<string, unknown>;
            this.events.push(e);
            this.onEvent?.(e);
          } catch {
            /* not ours */
          }
        }
      }
      this.poke();
    });
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.err += d;
      this.poke();
    });
    proc.stdin?.on('error', () => {});
    proc.on('error', () => {});
    this.exited = new Promise((res) =>
      proc.once('exit', (code) => {
        live.delete(proc);
        this.poke();
        res(code);
      }),
    );
  }

  static spawn(name: string, args: string[], env?: NodeJS.ProcessEnv, nodeArgs: string[] = []): Child {
    const c = new Child(name, spawn(process.execPath, [...nodeArgs, ...args], { env: env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] }));
    if (process.env.BENCH_DEBUG) process.stderr.write(`spawned ${c.proc.pid} ${name} ${args.slice(1).join(' ').slice(0, 60)}\n`);
    return c;
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Re-runs the pending `until` checks. */
  poke(): void {
    for (const w of this.watchers.splice(0)) w();
  }

  private describe(): string {
    return `${this.name} (pid ${this.proc.pid})`;
  }

  /** Waits until `test` returns a value (checked on every output and at exit); rejects after `ms`. */
  async until<T>(what: string, test: () => T | undefined, ms: number): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = test();
      if (v !== undefined) return v;
      if (!this.running) throw new Error(`${this.describe()} ended before ${what}; output:\n${this.out}${this.err}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what} from ${this.describe()}; output:\n${this.out}${this.err}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.watchers.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  /** The first JSON event with `ev === ev`. */
  event(ev: string, ms: number): Promise<Record<string, unknown>> {
    return this.until(`event "${ev}"`, () => this.events.find((e) => e.ev === ev), ms);
  }

  /** Waits until stdout+stderr from `from` on match `re`. */
  waitFor(re: RegExp, ms: number, from = 0): Promise<RegExpMatchArray> {
    return this.until(`${re}`, () => (this.out + this.err).slice(from).match(re) ?? undefined, ms);
  }

  send(line: string): void {
    this.proc.stdin?.write(`${line}\n`);
  }

  /**
   * Closes stdin (a peer's cue to finish) and signals after `ms`, or at once
   * when `graceful` is false; kills after twice `ms`.
   */
  async stop(ms = 2000, signal: NodeJS.Signals = 'SIGTERM', graceful = true): Promise<void> {
    if (!this.running) return;
    this.proc.stdin?.end();
    if (!graceful) this.proc.kill(signal);
    const t1 = setTimeout(() => this.proc.kill(signal), ms);
    const t2 = setTimeout(() => this.proc.kill('SIGKILL'), ms * 2);
    await this.exited;
    clearTimeout(t1);
    clearTimeout(t2);
  }
}

/** Runs a node script to completion (killed after `ms`). */
export async function run(name: string, args: string[], env: NodeJS.ProcessEnv, ms = 20000): Promise<{ code: number | null; out: string }> {
  const c = Child.spawn(name, args, env);
  c.proc.stdin?.end();
  const t = setTimeout(() => c.proc.kill('SIGKILL'), ms);
  const code = await c.exited;
  clearTimeout(t);
  return { code, out: c.out + c.err };
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** CPU time (ns) used so far by all threads of `pid` (from /proc/PID/task/TID/schedstat), or NaN. */
export function cpuNs(pid: number): number {
  try {
    let sum = 0;
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        sum += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        /* thread gone */
      }
    }
    return sum;
  } catch {
    return NaN;
  }
}

/**
 * Datagrams the kernel dropped on the UDP socket bound to ip:port because
 * its receive buffer was full (the last column of /proc/net/udp), or NaN.
 */
export function udpDrops(ip: string, port: number): number {
  const hexIp = Buffer.from(ip.split('.').map(Number).reverse()).toString('hex').toUpperCase();
  const local = `${hexIp}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  try {
    for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f[1] === local) return Number(f[f.length - 1]);
    }
  } catch {
    /* no procfs */
  }
  return NaN;
}
