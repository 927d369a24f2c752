/**
 * The local layer: a loopback layer within one system. A flow allocation
 * pairs the allocator's flow with the accepter's, and the IPCP moves packets
 * between the two.
 */
import { statSync } from 'node:fs';
import { DEALLOC_DRAIN_MS, type Ipcp } from '../common/ipcp.js';
import type { FlowAllocReq, FlowAllocResp, IpcpOps } from '../common/ops.js';
import { HashSet } from '../common/shim-registry.js';
import { handOver, splice } from '../common/forward.js';
import { PendingTable } from '../common/pending.js';
import { OuroborosError, fail, resultOf } from '../../common/errors.js';
import { hashLength } from '../../common/hash.js';
import type { IpcpConfig, LayerInfo } from '../../common/ipcp-types.js';

/** How long an accepter's answer may wait for its request to be registered. */
const PENDING_WAIT_MS = 5000;

/** Maximum packet lifetime of a local layer (ms). */
export const LOCAL_MPL = 100;

/**
 * Whether two programs may be handed each other's data path: only when each
 * can reach the other's data socket (same user, or a privileged one).
 */
function handoverOk(a: number, b: number): boolean {
  if (process.env.O7S_LOCAL_HANDOVER === '0') return false;
  const uid = (pid: number): number | undefined => {
    try {
      return statSync(`/proc/${pid}`).uid;
    } catch {
      return undefined;
    }
  };
  const ua = uid(a);
  const ub = uid(b);
  return ua !== undefined && ub !== undefined && (ua === ub || ua === 0 || ub === 0);
}

export function localOps(ipcp: Ipcp): IpcpOps {
  const names = new HashSet();
  /** accepter's flow id -> allocator's flow id, until the accepter answers. */
  const pending = new PendingTable<number>();
  /** flow id -> the flow it is spliced to. */
  const peers = new Map<number, number>();

  const checkHash = (hash: Uint8Array): void => {
    if (ipcp.layer && hash.length !== hashLength(ipcp.layer.hashAlgo)) fail('EINVAL', `hash of ${hash.length} bytes does not fit this layer`);
  };

  return {
    async bootstrap(conf: IpcpConfig): Promise<LayerInfo> {
      if (!conf.layer.name) fail('EINVAL', 'a layer name is needed');
      ipcp.log.info(`Bootstrapped local IPCP with pid ${process.pid}.`);
      return { name: conf.layer.name, hashAlgo: conf.layer.hashAlgo };
    },

    async reg(hash) {
      checkHash(hash);
      names.add(hash);
      ipcp.log.dbg(`Registered ${Buffer.from(hash.subarray(0, 4)).toString('hex')}.`);
    },

    async unreg(hash) {
      checkHash(hash);
      names.delete(hash);
    },

    async query(hash) {
      checkHash(hash);
      return names.has(hash);
    },

    async flowAlloc(req: FlowAllocReq) {
      checkHash(req.hash);
      if (!names.has(req.hash)) fail('ENAME', 'that name is not registered in this local layer');
      let acc;
      try {
        acc = await ipcp.flowReqArr(req.hash, req.qos, LOCAL_MPL, req.pk);
      } catch (e) {
        ipcp.log.err('Flow allocation failed.');
        throw e instanceof OuroborosError ? e : new OuroborosError('EIPCP', String(e));
      }
      const out = ipcp.plane.endpoint(req.flowId, req.pid);
      const inn = ipcp.plane.endpoint(acc.flowId, acc.pid);
      splice(out, inn);
      peers.set(req.flowId, acc.flowId);
      peers.set(acc.flowId, req.flowId);
      pending.set(acc.flowId, req.flowId);
      ipcp.log.info(`Pending local allocation request on fd ${acc.flowId}.`);
    },

    async flowAllocResp(resp: FlowAllocResp) {
      const allocId = await pending.take(resp.flowId, PENDING_WAIT_MS, () => ipcp.awaitingFlowRequests);
      if (allocId === undefined) fail('EINVAL', `flow ${resp.flowId} has no pending allocation`);
      if (resp.response < 0) {
        // Neither program ever had these flows: nothing to tell them.
        ipcp.plane.get(resp.flowId)?.discard();
        ipcp.plane.get(allocId)?.discard();
        peers.delete(resp.flowId);
        peers.delete(allocId);
      }
      await ipcp.flowAllocReply(allocId, LOCAL_MPL, resp.response, resp.pk);
      if (resp.response !== 0) return;
      ipcp.log.info(`Flow allocation completed, fds (${allocId}, ${resp.flowId}).`);
      // Both programs have their flow: let them talk directly from now on
      // (o7s: the reference moves every packet through the local IPCP).
      const a = ipcp.plane.get(allocId);
      const b = ipcp.plane.get(resp.flowId);
      if (a && b && handoverOk(a.peerPid, b.peerPid)) handOver(a, b);
    },

    async flowDealloc(flowId: number) {
      const ep = ipcp.plane.get(flowId);
      // The program's last packets and its DOWN may still be on their way.
      await ep?.whenDown(DEALLOC_DRAIN_MS);
      const other = peers.get(flowId);
      peers.delete(flowId);
      if (other !== undefined) peers.delete(other);
      const allocId = pending.delete(flowId);
      if (allocId !== undefined) ipcp.flowAllocReply(allocId, LOCAL_MPL, -1).catch(() => {});
      if (ep) {
        // The other side learns it through the forwarder once this side is drained;
        // this side's program has closed its end already.
        ep.markDown();
        ep.discard();
      }
      try {
        await ipcp.flowDeallocDone(flowId);
      } catch (e) {
        ipcp.log.dbg(`Deallocation of ${flowId} not confirmed: ${resultOf(e)}`);
      }
      ipcp.log.info(`Flow with fd ${flowId} deallocated.`);
    },
  };
}
