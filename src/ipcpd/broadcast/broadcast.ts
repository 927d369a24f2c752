/**
 * The broadcast IPCP: members enroll as in a unicast layer and connect with
 * DT connections; programs join the layer (flow_join). Every SDU from a
 * neighbour (a DT connection or a joined program) is written, unchanged and
 * without a header, to every other neighbour. As in the reference there is
 * no loop detection: the members' connections must form a tree.
 *
 * Differences from the reference: SDUs are not cut at 1400 bytes; a join is
 * refused unless the hash is exactly that of the layer name; `connect` with
 * the Management component is accepted and does nothing (a broadcast layer
 * has no management connections), so `irm ipcp connect` without a component
 * works.
 */
import type { Ipcp } from '../common/ipcp.js';
import type { FlowAllocReq, IpcpOps } from '../common/ops.js';
import type { Flow } from '../../lib/api.js';
import { qosCube, type QosSpec } from '../../lib/qos.js';
import { DT_COMP, MGMT_COMP } from '../../lib/irm-api.js';
import { Endpoint, EndpointEvent } from '../../lib/data/endpoint.js';
import { fail } from '../../common/errors.js';
import { HashAlgo, hashName } from '../../common/hash.js';
import { IpcpType, type IpcpConfig, type LayerInfo } from '../../common/ipcp-types.js';
import { LowerLayers } from '../common/lower.js';
import { enroller, enrollWith } from '../common/enroll.js';
import { CEP_DT_BROADCAST } from '../common/cep.js';
import { PacketScheduler } from '../unicast/psched.js';

/** Maximum packet lifetime reported for joined flows (ms). */
export const BROADCAST_MPL = 10000;

type Writable = Flow & { tryWrite(b: Uint8Array): boolean };

interface Neighbour {
  id: number;
  /** An N-1 DT connection... */
  flow: Writable | undefined;
  /** ...or a joined program's endpoint. */
  ep: Endpoint | undefined;
}

export function broadcastOps(ipcp: Ipcp): IpcpOps {
  const log = ipcp.log;
  let conf: IpcpConfig | undefined;
  const neighbours = new Map<number, Neighbour>();
  const joined = new Map<number, Neighbour>();
  const sched = new PacketScheduler();
  let ids = 0;
  const counters = { rx: 0, tx: 0, dropped: 0 };

  const flood = (from: Neighbour, sdu: Uint8Array): void => {
    counters.rx++;
    for (const n of neighbours.values()) {
      if (n === from) continue;
      let ok = false;
      try {
        ok = n.flow ? n.flow.tryWrite(sdu) : n.ep!.send(sdu);
      } catch {
        ok = false;
      }
      if (ok) counters.tx++;
      else counters.dropped++;
    }
  };

  const remove = (n: Neighbour): void => {
    neighbours.delete(n.id);
    if (n.flow) {
      sched.remove(n.flow);
      if (!n.flow.closed) void n.flow.dealloc();
    }
  };

  const lower = new LowerLayers(ipcp, 'ipcpd-broadcast', () => 0, (cm) => {
    cm.register(enroller(log, () => conf));
    cm.register({
      cep: CEP_DT_BROADCAST,
      onConn({ flow }) {
        if (!conf) return void flow.dealloc();
        const n: Neighbour = { id: ++ids, flow: flow as Writable, ep: undefined };
        neighbours.set(n.id, n);
        sched.add(flow, qosCube(flow.qos), (sdu) => flood(n, sdu), () => remove(n));
        log.info('New DT connection.');
      },
    });
  });

  const need = (): IpcpConfig => {
    if (!conf) fail('EIPCPSTATE', 'the IPCP is not in a layer');
    return conf;
  };

  return {
    init: () => lower.init(),

    async bootstrap(c: IpcpConfig): Promise<LayerInfo> {
      const cm = await lower.connmgr();
      if (c.type !== IpcpType.BROADCAST) fail('EINVAL', 'not a broadcast configuration');
      conf = { ...c, layer: { name: c.layer.name, hashAlgo: HashAlgo.SHA3_256 } };
      cm.start();
      log.info(`Bootstrapped IPCP over broadcast layer ${c.layer.name} with pid ${process.pid}.`);
      return conf.layer;
    },

    async enroll(dst: string): Promise<LayerInfo> {
      const cm = await lower.connmgr();
      const c = await enrollWith(cm, dst, IpcpType.BROADCAST, log, async (got) => {
        conf = { ...got, layer: { name: got.layer.name, hashAlgo: HashAlgo.SHA3_256 } };
      });
      cm.start();
      return { name: c.layer.name, hashAlgo: HashAlgo.SHA3_256 };
    },

    async connect(dst: string, comp: string, qos: QosSpec) {
      const cm = await lower.connmgr();
      need();
      if (comp === MGMT_COMP) return; // nothing to manage in a broadcast layer
      if (comp !== DT_COMP) fail('EINVAL', `unknown component ${comp} (use ${DT_COMP})`);
      await cm.connect(dst, DT_COMP, qos);
    },

    async disconnect(dst: string, comp: string) {
      const cm = await lower.connmgr();
      need();
      if (comp === MGMT_COMP) return;
      await cm.disconnect(dst, comp);
    },

    async flowJoin(req: FlowAllocReq) {
      const c = need();
      if (!Buffer.from(req.hash).equals(hashName(HashAlgo.SHA3_256, c.layer.name))) fail('EINVAL', 'that is not the hash of this layer');
      if (joined.has(req.flowId)) fail('EINVAL', `flow ${req.flowId} exists already`);
      const ep = ipcp.plane.endpoint(req.flowId, req.pid);
      const n: Neighbour = { id: ++ids, flow: undefined, ep };
      ep.onEvent = (ev) => {
        if (ev !== EndpointEvent.PKT) return;
        for (let sdu = ep.take(); sdu; sdu = ep.take()) flood(n, sdu);
      };
      neighbours.set(n.id, n);
      joined.set(req.flowId, n);
      try {
        await ipcp.flowAllocReply(req.flowId, BROADCAST_MPL, 0);
      } catch (e) {
        neighbours.delete(n.id);
        joined.delete(req.flowId);
        ep.discard();
        throw e;
      }
    },

    async flowDealloc(flowId: number) {
      const n = joined.get(flowId);
      await ipcp.drainAndRelease(flowId, n?.ep, () => {
        joined.delete(flowId);
        if (n) {
          neighbours.delete(n.id);
          n.ep?.discard();
        }
      });
    },

    inspect() {
      return {
        layer: conf?.layer.name ?? null,
        neighbours: [...neighbours.values()].map((n) => ({ id: n.id, kind: n.flow ? 'dt' : 'joined', flowId: n.flow ? n.flow.id : n.ep!.id })),
        counters: { ...counters, connmgr: lower.counters },
      };
    },

    async stop() {
      for (const n of [...neighbours.values()]) {
        remove(n);
        n.ep?.close();
      }
      await lower.close();
    },
  };
}
