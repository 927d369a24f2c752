/** What the IRMd's operations share. */
import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../common/log.js';
import type { Registry } from './registry/index.js';
import type { CtrlConn } from '../common/ctrl/channel.js';
import type { IrmdSecurity } from './security.js';

/** Who sent a request: the kernel's view of the peer (SO_PEERCRED), when available. */
export interface Caller {
  conn: CtrlConn;
  pid: number | undefined;
  uid: number;
  gid: number;
  /** uid 0 or a member of group `ouroboros` (common/privilege.ts). */
  privileged: boolean;
}

export interface IrmdContext {
  readonly reg: Registry;
  readonly log: Logger;
  readonly rundir: string;
  /** Children spawned by irmd (IPCPs and auto-started programs), by pid. */
  readonly children: Map<number, ChildProcess>;
  /** True when children inherit irmd's stdout. */
  readonly inherit: boolean;
  /** True once shutdown began: no new work is taken. */
  stopping: boolean;
  /** Removes a process (and, for an IPCP, the IPCP) after it died or left. */
  processGone(pid: number, why: string): void;
  /** Waiters for IPCP_CREATE_R, by IPCP pid. */
  readonly ipcpBoot: Map<number, (ok: boolean) => void>;
  /** OAP: security files, trust store, replay memory. */
  readonly security: IrmdSecurity;
}
