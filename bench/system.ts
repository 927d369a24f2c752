/**
 * An o7s system for the benchmark: irmd in its own temporary rundir, a local
 * IPCP in layer `lo`, and the two names the benchmark allocates flows to.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child, adopt, alive, removeDir, run, tempDir } from './proc.js';

/** The repository root (this file runs from dist/bench). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = {
  irmd: join(ROOT, 'dist/src/irmd/main.js'),
  irm: join(ROOT, 'dist/src/tools/irm/main.js'),
  peer: join(ROOT, 'dist/bench/bench-peer.js'),
};

/** Registered in the local layer: flows to it go through ipcpd-local (when nobody accepts at allocation time). */
export const NAME_LOCAL = 'bench.local';
/** In no layer: flows to it are always direct (irmd waits for the bound process to accept). */
export const NAME_DIRECT = 'bench.direct';

export class BenchSystem {
  /** Pid of ipcpd-local. */
  ipcpPid: number | undefined;
  private constructor(readonly rundir: string, readonly irmd: Child) {}

  static async start(): Promise<BenchSystem> {
    const rundir = tempDir(mkdtempSync(join(tmpdir(), 'o7s-bench-')));
    const irmd = Child.spawn('irmd', [BIN.irmd, '--stdout', '--rundir', rundir], { ...process.env, OUROBOROS_RUNDIR: rundir });
    const sys = new BenchSystem(rundir, irmd);
    try {
      await irmd.waitFor(/daemon started/, 15000);
      await sys.irm(['ipcp', 'bootstrap', 'type', 'local', 'name', 'lo', 'layer', 'lo']);
      const list = await sys.irm(['ipcp', 'list']);
      const m = list.match(/\|\s+(\d+) \|\s+lo \|/);
      if (m) {
        sys.ipcpPid = Number(m[1]);
        adopt(sys.ipcpPid, 'ipcpd');
      }
      await sys.irm(['name', 'create', NAME_LOCAL]);
      await sys.irm(['name', 'create', NAME_DIRECT]);
      await sys.irm(['name', 'register', NAME_LOCAL, 'layer', 'lo']);
    } catch (e) {
      await sys.stop();
      throw e;
    }
    return sys;
  }

  /** irmd and its local IPCP are still running. */
  get healthy(): boolean {
    return this.irmd.running && (this.ipcpPid === undefined || alive(this.ipcpPid));
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, OUROBOROS_RUNDIR: this.rundir };
  }

  /** irmd's log so far. */
  get log(): string {
    return this.irmd.out + this.irmd.err;
  }

  async irm(args: string[]): Promise<string> {
    const r = await run('irm', [BIN.irm, ...args], this.env);
    if (r.code !== 0) throw new Error(`irm ${args.join(' ')} exited ${r.code}:\n${r.out}`);
    return r.out;
  }

  async stop(): Promise<void> {
    await this.irmd.stop(4000, 'SIGTERM', false);
    // irmd stops its IPCPs; make sure of it.
    if (this.ipcpPid !== undefined && alive(this.ipcpPid)) {
      await new Promise((r) => setTimeout(r, 500));
      if (alive(this.ipcpPid)) process.kill(this.ipcpPid, 'SIGKILL');
    }
    removeDir(this.rundir);
  }
}
