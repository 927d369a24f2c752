/**
 * Test helper: a whole o7s system (irmd and whatever it starts) in its own
 * temporary runtime directory, plus ways to run the real binaries against it.
 * Everything started here is stopped by `stop()`, and killed at process exit.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type Process } from '../../src/lib/index.js';

/** The repository root (tests run from dist/test/helpers). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN = {
  irmd: join(ROOT, 'dist/src/irmd/main.js'),
  irm: join(ROOT, 'dist/src/tools/irm/main.js'),
  oping: join(ROOT, 'dist/src/tools/oping/main.js'),
  oecho: join(ROOT, 'dist/src/tools/oecho/main.js'),
  obc: join(ROOT, 'dist/src/tools/obc/main.js'),
  'ipcpd-local': join(ROOT, 'dist/src/ipcpd/local/main.js'),
} as const;

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** A running child with its output collected. */
export class Child {
  out = '';
  err = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private watchers: (() => void)[] = [];

  constructor(readonly proc: ChildProcess) {
    live.add(proc);
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.out += d;
      this.poke();
    });
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.err += d;
      this.poke();
    });
    this.exited = new Promise((res) =>
      proc.once('exit', (code, signal) => {
        live.delete(proc);
        this.poke();
        res({ code, signal });
      }),
    );
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  private poke(): void {
    for (const w of this.watchers.splice(0)) w();
  }

  /** Waits until stdout+stderr match `re` (from `from` on); rejects after `ms` with the output so far. */
  async waitFor(re: RegExp, ms = 15000, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = (this.out + this.err).slice(from).match(re);
      if (m) return m;
      if (!this.running && this.proc.stdout?.readableEnded !== false) {
        throw new Error(`process ${this.pid} ended without printing ${re}; output:\n${this.out}${this.err}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${re}; output:\n${this.out}${this.err}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.watchers.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', ms = 5000): Promise<void> {
    if (!this.running) return;
    this.proc.kill(signal);
    const t = setTimeout(() => this.proc.kill('SIGKILL'), ms);
    await this.exited;
    clearTimeout(t);
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface SystemOptions {
  /** irmd.conf to start with. */
  config?: string;
  /** Extra irmd arguments. */
  args?: string[];
  /**
   * Command prefix for irmd and every program started with `spawn`/`run`,
   * e.g. `['ip', 'netns', 'exec', NS]` to run the system inside a network
   * namespace. The prefix must exec the program (keep its pid). Default: none.
   */
  prefix?: string[];
}

/** Spawns `node ARGS...`, behind `prefix` if one is given. */
function spawnNode(prefix: readonly string[], args: string[], options: SpawnOptions): ChildProcess {
  if (prefix.length === 0) return spawn(process.execPath, args, options);
  return spawn(prefix[0]!, [...prefix.slice(1), process.execPath, ...args], options);
}

/** A user to run a program as (the test must run as root). */
export interface RunAs {
  uid: number;
  gid: number;
  home?: string;
}

export class TestSystem {
  readonly children: Child[] = [];
  private constructor(
    readonly rundir: string,
    readonly irmd: Child,
    /** Command prefix of every process of this system (SystemOptions.prefix). */
    readonly prefix: readonly string[] = [],
  ) {}

  static async start(opts: SystemOptions = {}): Promise<TestSystem> {
    const rundir = mkdtempSync(join(tmpdir(), 'o7s-test-'));
    const args = [BIN.irmd, '--stdout', '--rundir', rundir, ...(opts.config ? ['--config', opts.config] : []), ...(opts.args ?? [])];
    const prefix = opts.prefix ?? [];
    const irmd = new Child(spawnNode(prefix, args, { env: { ...process.env, OUROBOROS_RUNDIR: rundir }, stdio: ['ignore', 'pipe', 'pipe'] }));
    const sys = new TestSystem(rundir, irmd, prefix);
    await irmd.waitFor(/daemon started/);
    return sys;
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, OUROBOROS_RUNDIR: this.rundir };
  }

  /** irmd's log so far. */
  get log(): string {
    return this.irmd.out + this.irmd.err;
  }

  /** Starts one of the o7s binaries (or any node script) against this system, as another user if `as` says so. */
  spawn(bin: keyof typeof BIN | string, args: string[] = [], as?: RunAs): Child {
    const script = bin in BIN ? BIN[bin as keyof typeof BIN] : bin;
    const env = as ? { ...this.env, HOME: as.home ?? '/' } : this.env;
    const c = new Child(spawnNode(this.prefix, [script, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'], ...(as ? { uid: as.uid, gid: as.gid } : {}) }));
    this.children.push(c);
    return c;
  }

  /** Runs a binary to completion (killed after `ms`). */
  async run(bin: keyof typeof BIN | string, args: string[] = [], ms = 30000, as?: RunAs): Promise<RunResult> {
    const c = this.spawn(bin, args, as);
    c.proc.stdin?.end();
    const t = setTimeout(() => c.proc.kill('SIGKILL'), ms);
    const { code } = await c.exited;
    clearTimeout(t);
    return { code, stdout: c.out, stderr: c.err };
  }

  /** `irm ARGS...`, failing the test on a non-zero exit unless `allowFail`. */
  async irm(args: string[], allowFail = false, as?: RunAs): Promise<RunResult> {
    const r = await this.run('irm', args, 30000, as);
    if (!allowFail && r.code !== 0) throw new Error(`irm ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
    return r;
  }

  /** A library process context in the test process itself. */
  connect(prog = 'test'): Promise<Process> {
    return connect({ rundir: this.rundir, prog });
  }

  /** Creates and bootstraps a local IPCP, returning its pid. */
  async localLayer(name = 'lo', layer = 'lo'): Promise<number> {
    await this.irm(['ipcp', 'bootstrap', 'type', 'local', 'name', name, 'layer', layer]);
    const list = await this.irm(['ipcp', 'list']);
    const m = list.stdout.match(new RegExp(`\\|\\s+(\\d+) \\|\\s+${name} \\|`));
    if (!m) throw new Error(`IPCP ${name} not listed:\n${list.stdout}`);
    return Number(m[1]);
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((c) => c.stop('SIGKILL')));
    await this.irmd.stop('SIGTERM', 8000);
    rmSync(this.rundir, { recursive: true, force: true });
  }
}

/** Polls `fn` until it returns a truthy value or `ms` pass. */
export async function until<T>(fn: () => T | Promise<T>, ms = 10000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** True once `pid` no longer runs (gone, or a zombie nobody reaped yet). */
export function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}
