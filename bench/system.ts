/**
 * The o7s systems of the benchmark, each an irmd in its own temporary
 * rundir: one with a local IPCP in layer `lo` and the two names the
 * local/direct figures allocate flows to, and a pair joined by a udp4 layer
 * on two loopback addresses for the udp4 figures. Everything runs from a
 * private copy of dist/ (`snapshot()`), so that a rebuild by someone else
 * during the run changes nothing.
 */
import { appendFileSync, copyFileSync, cpSync, existsSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child, adopt, alive, removeDir, run, tempDir } from './proc.js';

/** The repository root (this file runs from dist/bench). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The programs the bench starts; `snapshot()` points them at the private copy. */
export const BIN = binIn(ROOT);

function binIn(root: string): { irmd: string; irm: string; peer: string } {
  return {
    irmd: join(root, 'dist/src/irmd/main.js'),
    irm: join(root, 'dist/src/tools/irm/main.js'),
    peer: join(root, 'dist/bench/bench-peer.js'),
  };
}

/**
 * Copies dist/ and package.json (`"type": "module"`) into a temporary
 * directory, with node_modules as a link to the checkout's, and runs every
 * program from there (irmd starts its IPCPs next to itself). Removed at exit.
 */
export function snapshot(): string {
  const dir = tempDir(mkdtempSync(join(tmpdir(), 'o7s-bench-dist-')));
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  if (existsSync(join(ROOT, 'node_modules'))) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const bin = binIn(dir);
  for (const [k, p] of Object.entries(bin)) {
    if (!existsSync(p)) throw new Error(`${p} is missing from the copy of dist/ (a rebuild under way? run npm run build and retry)`);
    BIN[k as keyof typeof BIN] = p;
  }
  return dir;
}

/** Registered in the local layer: flows to it go through ipcpd-local (when nobody accepts at allocation time). */
export const NAME_LOCAL = 'bench.local';
/** In no layer: flows to it are always direct (irmd waits for the bound process to accept). */
export const NAME_DIRECT = 'bench.direct';
/** Registered in the udp4 layer on the server system of a UdpPair. */
export const NAME_UDP = 'bench.udp';

export class BenchSystem {
  /** Pid of its IPCP (ipcpd-local, or ipcpd-udp4 in a UdpPair). */
  ipcpPid: number | undefined;
  private constructor(readonly rundir: string, readonly irmd: Child) {}

  /** irmd alone. */
  static async bare(label = 'irmd'): Promise<BenchSystem> {
    const rundir = tempDir(mkdtempSync(join(tmpdir(), 'o7s-bench-')));
    const irmd = Child.spawn(label, [BIN.irmd, '--stdout', '--rundir', rundir], { ...process.env, OUROBOROS_RUNDIR: rundir });
    const sys = new BenchSystem(rundir, irmd);
    try {
      await irmd.waitFor(/daemon started/, 15000);
    } catch (e) {
      await sys.stop();
      throw e;
    }
    return sys;
  }

  /** irmd, ipcpd-local in layer `lo`, and the names of the local/direct figures. */
  static async start(): Promise<BenchSystem> {
    const sys = await BenchSystem.bare();
    try {
      await sys.bootstrap(['type', 'local', 'name', 'lo', 'layer', 'lo'], 'lo');
      await sys.irm(['name', 'create', NAME_LOCAL]);
      await sys.irm(['name', 'create', NAME_DIRECT]);
      await sys.irm(['name', 'register', NAME_LOCAL, 'layer', 'lo']);
    } catch (e) {
      await sys.stop();
      throw e;
    }
    return sys;
  }

  /** `irm ipcp bootstrap ARGS`, then notes the pid of the IPCP called `name`. */
  async bootstrap(args: string[], name: string): Promise<void> {
    await this.irm(['ipcp', 'bootstrap', ...args]);
    const list = await this.irm(['ipcp', 'list']);
    const m = list.match(new RegExp(`\\|\\s+(\\d+) \\|\\s+${name} \\|`));
    if (m) {
      this.ipcpPid = Number(m[1]);
      adopt(this.ipcpPid, 'ipcpd');
    }
  }

  /** irmd and its IPCP are still running. */
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

/**
 * Two systems joined by a udp4 layer `udp`: each an irmd with an ipcpd-udp4
 * on its own loopback address (127.R.S.1 for the server system, 127.R.S.2
 * for the client system, R.S random), both on port `port`; NAME_UDP is
 * registered in the layer on the server system and resolved through a
 * hosts file. 127.R.S.3 and 127.R.S.4 are left for the raw dgram baseline.
 */
export class UdpPair {
  private constructor(
    readonly dir: string,
    readonly net: string,
    readonly port: number,
    readonly server: BenchSystem,
    readonly client: BenchSystem,
  ) {}

  /** Address of the server system's IPCP. */
  get serverIp(): string {
    return `${this.net}.1`;
  }
  get clientIp(): string {
    return `${this.net}.2`;
  }
  /** Addresses of the raw baseline's server and client. */
  get rawServerIp(): string {
    return `${this.net}.3`;
  }
  get rawClientIp(): string {
    return `${this.net}.4`;
  }

  /**
   * Starts the pair; on a port or address in use, tries other ones. `extra`
   * is appended to both IPCPs' bootstrap arguments (e.g. `['drop', '0.01']`
   * for a lossy layer, see src/ipcpd/udp/impair.ts).
   */
  static async start(extra: string[] = []): Promise<UdpPair> {
    for (let attempt = 1; ; attempt++) {
      const net = `127.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
      const port = 20000 + Math.floor(Math.random() * 20000);
      try {
        return await UdpPair.startAt(net, port, extra);
      } catch (e) {
        if (attempt >= 3 || !/cannot bind|EADDRINUSE/.test(String(e))) throw e;
      }
    }
  }

  private static async startAt(net: string, port: number, extra: string[]): Promise<UdpPair> {
    const dir = tempDir(mkdtempSync(join(tmpdir(), 'o7s-bench-udp-')));
    const hosts = join(dir, 'hosts');
    writeFileSync(hosts, '# o7s bench udp4 layer\n');
    appendFileSync(hosts, `${net}.1 ${NAME_UDP}\n`);
    const started = await Promise.allSettled([BenchSystem.bare('irmd (udp server)'), BenchSystem.bare('irmd (udp client)')]);
    const systems = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(systems.map((s) => s.stop()));
      removeDir(dir);
      throw failed.reason;
    }
    const pair = new UdpPair(dir, net, port, systems[0]!, systems[1]!);
    try {
      const boot = (sys: BenchSystem, ip: string): Promise<void> =>
        sys.bootstrap(['type', 'udp4', 'name', 'udp', 'layer', 'udp', 'ip', ip, 'port', String(port), 'hosts', hosts, ...extra], 'udp');
      await Promise.all([boot(pair.server, pair.serverIp), boot(pair.client, pair.clientIp)]);
      await pair.server.irm(['name', 'create', NAME_UDP]);
      await pair.server.irm(['name', 'register', NAME_UDP, 'layer', 'udp']);
    } catch (e) {
      await pair.stop();
      throw e;
    }
    return pair;
  }

  get healthy(): boolean {
    return this.server.healthy && this.client.healthy;
  }

  async stop(): Promise<void> {
    await Promise.all([this.server.stop(), this.client.stop()]);
    removeDir(this.dir);
  }
}
