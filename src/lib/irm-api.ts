/** The management API (what `irm` uses), typed. Implemented by IrmClient in irm-client.ts. */
import type { IpcpConfig, IpcpType, LoadBalance } from '../common/ipcp-types.js';
import type { QosSpec } from './qos.js';

export interface IpcpListEntry {
  pid: number;
  type: IpcpType;
  name: string;
  layer: string;
  hashAlgo: number;
}

export interface NameInfo {
  name: string;
  lb: LoadBalance;
  /** Security paths (server key/cert, client key/cert); empty = default. */
  skey?: string;
  scrt?: string;
  ckey?: string;
  ccrt?: string;
  /** enc.conf paths of the server and client roles (o7s extension; the reference cannot send them). */
  senc?: string;
  cenc?: string;
}

/** A row of the flow table (o7s extension). */
export interface FlowListEntry {
  id: number;
  /** The program's process. */
  nPid: number;
  /** The IPCP carrying the flow, or the peer process of a direct flow. */
  n1Pid: number;
  /** Reference flow state (3 = allocated). */
  state: number;
  name: string;
  direct: boolean;
  mpl: number;
}

/** Components for connect/disconnect, as the reference names them. */
export const MGMT_COMP = 'Management';
export const DT_COMP = 'Data Transfer';

export interface IrmApi {
  /** Creates an IPCP process; resolves to its pid. */
  createIpcp(name: string, type: IpcpType): Promise<number>;
  destroyIpcp(pid: number): Promise<void>;
  listIpcps(): Promise<IpcpListEntry[]>;
  bootstrapIpcp(pid: number, conf: IpcpConfig): Promise<void>;
  enrollIpcp(pid: number, dst: string): Promise<void>;
  connectIpcp(pid: number, dst: string, component: string, qos: QosSpec): Promise<void>;
  disconnectIpcp(pid: number, dst: string, component: string): Promise<void>;
  /** `path` is made absolute (searching PATH) and checked before sending. */
  bindProgram(path: string, name: string, opts?: { auto?: boolean; args?: string[] }): Promise<void>;
  unbindProgram(prog: string, name?: string): Promise<void>;
  bindProcess(pid: number, name: string): Promise<void>;
  unbindProcess(pid: number, name?: string): Promise<void>;
  createName(info: NameInfo): Promise<void>;
  destroyName(name: string): Promise<void>;
  listNames(): Promise<NameInfo[]>;
  regName(name: string, ipcpPid: number): Promise<void>;
  unregName(name: string, ipcpPid: number): Promise<void>;
  /** o7s extension: the flows of the system. */
  listFlows?(): Promise<FlowListEntry[]>;
  /** o7s: an IPCP's state (address, neighbours, routes, directory, flows, counters). */
  inspectIpcp?(pid: number): Promise<unknown>;
  close(): void;
}
