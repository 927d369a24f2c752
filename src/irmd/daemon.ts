/**
 * The IRM daemon: wires the registry, the control socket, the IPCP manager
 * and the flow broker; watches processes; shuts down cleanly.
 */
import type { ChildProcess } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import type { IrmdContext } from './context.js';
import { Registry } from './registry/index.js';
import { startServer, type ControlServer, type ServerCounters } from './server.js';
import { flowsOfGoneProcess } from './ops/flows.js';
import { releaseLock, takeLock } from './lock.js';
import type { Logger } from '../common/log.js';
import { paths } from '../common/rundir.js';
import { IrmdSecurity } from './security.js';
import { defaultConfigDir } from '../common/config-dir.js';

/** How often processes are checked for life (the reference's sanitizer period). */
const SANITIZE_MS = 1000;
/** How long children get to stop after SIGTERM before SIGKILL. */
const KILL_TIMEOUT_MS = 5000;

export interface IrmdInit {
  rundir: string;
  log: Logger;
  /** Children inherit stdout/stderr. */
  inherit: boolean;
  /** Configuration directory (its security/ holds certificates, keys, enc.conf); default defaultConfigDir(). */
  configDir?: string;
}

export class Irmd implements IrmdContext {
  readonly reg = new Registry();
  readonly children = new Map<number, ChildProcess>();
  readonly ipcpBoot = new Map<number, (ok: boolean) => void>();
  readonly counters: ServerCounters = { badMessages: 0 };
  stopping = false;
  readonly rundir: string;
  readonly log: Logger;
  readonly inherit: boolean;
  readonly security: IrmdSecurity;
  private server: ControlServer | undefined;
  private sanitizer: NodeJS.Timeout | undefined;

  constructor(init: IrmdInit) {
    this.rundir = init.rundir;
    this.log = init.log;
    this.inherit = init.inherit;
    this.security = new IrmdSecurity({ configDir: init.configDir ?? defaultConfigDir(), log: init.log });
  }

  /** Takes the rundir lock and opens irm.sock. Throws LockError when another irmd runs there. */
  async start(): Promise<void> {
    if (takeLock(this.rundir)) this.log.warn('IRMd didn\'t properly shut down last time.');
    this.security.trustStore();
    try {
      this.server = await startServer(this, this.counters);
    } catch (e) {
      releaseLock(this.rundir);
      throw e;
    }
    this.sanitizer = setInterval(() => this.sanitize(), SANITIZE_MS);
  }

  processGone(pid: number, why: string): void {
    const ipcp = this.reg.ipcps.remove(pid);
    if (ipcp) {
      this.ipcpBoot.get(pid)?.(false);
      ipcp.ctrl?.close();
      if (!this.stopping) this.log.info(`IPCP ${pid} ${why}.`);
    }
    const proc = this.reg.procs.get(pid);
    flowsOfGoneProcess(this, pid);
    if (proc) {
      this.reg.names.dropPid(pid);
      this.reg.procs.remove(pid);
      this.log.info(`Process removed: ${pid}.`);
    }
  }

  private sanitize(): void {
    for (const p of this.reg.procs.list()) {
      try {
        process.kill(p.pid, 0);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ESRCH') {
          this.log.info(`Process ${p.pid} died.`);
          this.processGone(p.pid, 'died');
        }
      }
    }
  }

  /** Stops every IPCP and registered process, then removes the sockets and the lock. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.sanitizer) clearInterval(this.sanitizer);
    const waits: Promise<void>[] = [];
    for (const child of this.children.values()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      waits.push(new Promise((resolve) => child.once('exit', () => resolve())));
      child.kill('SIGTERM');
    }
    for (const p of this.reg.procs.list()) {
      if (this.children.has(p.pid) || p.pid === process.pid) continue;
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    const killer = setTimeout(() => {
      for (const child of this.children.values()) child.kill('SIGKILL');
    }, KILL_TIMEOUT_MS);
    await Promise.all(waits);
    clearTimeout(killer);
    await this.server?.close();
    try {
      unlinkSync(paths.irm(this.rundir));
    } catch {
      /* gone already */
    }
    releaseLock(this.rundir);
  }
}
