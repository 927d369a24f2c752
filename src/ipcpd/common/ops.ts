/** What each IPCP type implements; the framework answers ENOTSUP for the rest. */
import type { IpcpConfig, LayerInfo } from '../../common/ipcp-types.js';
import type { QosSpec } from '../../lib/qos.js';

export interface FlowAllocReq {
  flowId: number;
  /** The N+1 process (application) of the flow. */
  pid: number;
  uid: number;
  qos: QosSpec;
  hash: Uint8Array;
  pk: Uint8Array;
}

export interface FlowAllocResp {
  flowId: number;
  pid: number;
  uid: number;
  response: number;
  pk: Uint8Array;
}

export interface IpcpOps {
  /** Runs once the data plane and the connection to irmd are up, before the IPCP reports itself ready. */
  init?(): Promise<void>;
  bootstrap?(conf: IpcpConfig): Promise<LayerInfo>;
  enroll?(dst: string): Promise<LayerInfo>;
  connect?(dst: string, component: string, qos: QosSpec): Promise<void>;
  disconnect?(dst: string, component: string): Promise<void>;
  reg?(hash: Uint8Array): Promise<void>;
  unreg?(hash: Uint8Array): Promise<void>;
  /** True when the layer can reach the hash. */
  query?(hash: Uint8Array): Promise<boolean>;
  flowAlloc?(req: FlowAllocReq): Promise<void>;
  flowJoin?(req: FlowAllocReq): Promise<void>;
  flowAllocResp?(resp: FlowAllocResp): Promise<void>;
  flowDealloc?(flowId: number, timeoSec: number): Promise<void>;
  /** o7s: the IPCP's state for `irm ipcp inspect` (JSON-able). */
  inspect?(): unknown;
  /** Called once at shutdown. */
  stop?(): Promise<void>;
}
