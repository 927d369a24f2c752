/**
 * The unicast IPCP: wires its components (ARCHITECTURE: addr-auth, CA, DT
 * with routing and forwarding, directory, flow allocator, connection manager,
 * enrollment) and answers irmd's operations with them. The IPCP is a program
 * of the layers below: it allocates and accepts its N-1 flows (enrollment,
 * management, data transfer) through the library, on its own data plane.
 */
import type { Ipcp } from '../common/ipcp.js';
import type { FlowAllocReq, FlowAllocResp, IpcpOps } from '../common/ops.js';
import type { Flow } from '../../lib/api.js';
import { qos as QOS, qosCube, type QosSpec } from '../../lib/qos.js';
import { DT_COMP, MGMT_COMP } from '../../lib/irm-api.js';
import { fail } from '../../common/errors.js';
import { hashLength } from '../../common/hash.js';
import { systemClock } from '../../common/clock.js';
import { IpcpType, UNICAST_DEFAULTS, type IpcpConfig, type LayerInfo, type UnicastConfig } from '../../common/ipcp-types.js';
import type { Conn } from '../common/connmgr.js';
import { LowerLayers } from '../common/lower.js';
import { enroller, enrollWith } from '../common/enroll.js';
import { CEP_DT_UNICAST, CEP_MGMT } from '../common/cep.js';
import { Dt } from './dt.js';
import { EID_DHT, pciConfig } from './dt/pci.js';
import { FlowAllocator } from './fa.js';
import { LinkState } from './routing/link-state.js';
import { pffForRouting, type Pff } from './pff/index.js';
import { createCa, type CaPolicy } from './ca/index.js';
import { createDirectory, type Directory } from './dir/index.js';
import { createAddrAuth } from './addr-auth/index.js';

const ROUTING_NAMES = ['simple', 'lfa', 'ecmp'] as const;

interface Layer {
  conf: IpcpConfig;
  uc: UnicastConfig;
  addr: number;
  dt: Dt;
  fa: FlowAllocator;
  dir: Directory;
  routing: LinkState;
  pff: Pff;
  ca: CaPolicy;
}

export function unicastOps(ipcp: Ipcp): IpcpOps {
  let layer: Layer | undefined;
  const log = ipcp.log;
  let mgmtIds = 0;

  const need = (): Layer => {
    if (!layer) fail('EIPCPSTATE', 'the IPCP is not in a layer');
    return layer;
  };


  const stopLayer = (l: Layer): void => {
    l.routing.stop();
    l.dir.stop();
    l.fa.stop();
    l.dt.stop();
  };

  /** Starts every component from the layer's configuration, with a new address (after a failed attempt, anew). */
  const start = (conf: IpcpConfig): Layer => {
    if (layer) {
      stopLayer(layer);
      layer = undefined;
    }
    const uc: UnicastConfig = { ...UNICAST_DEFAULTS, ...conf.unicast };
    const addr = createAddrAuth(uc.addrAuth, { addrSize: uc.addrSize }).address();
    if (uc.addrSize < 1 || uc.addrSize > 6) fail('EINVAL', `address size ${uc.addrSize} is not supported (1..6 bytes)`);
    if (uc.eidSize !== 8) {
      log.warn(`Endpoint ids are 8 bytes; ignoring eid ${uc.eidSize}.`);
      uc.eidSize = 8;
    }
    if (uc.maxTtl < 1 || uc.maxTtl > 255) fail('EINVAL', `ttl ${uc.maxTtl} is out of range (1..255)`);
    const routingName = ROUTING_NAMES[uc.routing];
    if (!routingName) fail('EINVAL', `unknown routing policy ${uc.routing}`);
    const hashLen = hashLength(conf.layer.hashAlgo);
    const ca = createCa(uc.congestion);
    const pff = pffForRouting(routingName);
    const dt = new Dt({ pci: pciConfig(uc.addrSize), maxTtl: uc.maxTtl, address: () => addr, pff, ca, log });
    const routing = new LinkState({
      self: addr,
      policy: routingName,
      tRecalcS: uc.lsTRecalc,
      tUpdateS: uc.lsTUpdate,
      tTimeoS: uc.lsTTimeo,
      clock: systemClock,
      onTable: (t) => pff.update(t),
      log,
    });
    const dir = createDirectory('dht', {
      addr,
      hashLen,
      alpha: uc.dhtAlpha,
      k: uc.dhtK,
      tExpireS: uc.dhtTExpire,
      tRefreshS: uc.dhtTRefresh,
      tReplicateS: uc.dhtTReplicate,
      clock: systemClock,
      send: (to: number, sdu: Uint8Array) => {
        // The DHT retries (with back-off) what could not be sent.
        if (!dt.send(to, 0, EID_DHT, 0, sdu)) fail('EPERM', `cannot send to ${to} now (no route, or the next hop is full)`);
      },
      log,
    });
    dt.register(EID_DHT, (pdu) => dir.receive(pdu.sdu));
    dt.onNeighbour = (a, up) => {
      if (up) {
        routing.addDtNeighbour(a);
        pff.flowUp(a);
      } else {
        pff.flowDown(a);
        routing.removeDtNeighbour(a);
      }
    };
    const fa = new FlowAllocator(ipcp, dt, dir, ca, hashLen, () => addr);
    // What enrollment hands to new members: our configuration, with us as their DHT peer.
    const stored: IpcpConfig = { ...conf, unicast: { ...uc, dhtPeer: addr } };
    const l: Layer = { conf: stored, uc, addr, dt, fa, dir, routing, pff, ca };
    routing.start();
    dir.start(uc.dhtPeer && uc.dhtPeer !== addr ? uc.dhtPeer : undefined);
    log.info(`In layer ${conf.layer.name} with address ${addr}.`);
    return l;
  };

  const onDtConn = (conn: Conn): void => {
    const l = layer;
    if (!l) return void conn.flow.dealloc();
    l.dt.addConn(Number(conn.peer.address), conn.flow, qosCube(conn.flow.qos), conn.dst !== undefined);
  };

  const onMgmtConn = (conn: Conn): void => {
    const l = layer;
    if (!l) return void conn.flow.dealloc();
    const id = ++mgmtIds;
    const flow = conn.flow as Flow & { tryWrite(b: Uint8Array): boolean };
    l.routing.addMgmtNeighbour(id, (lsu) => {
      try {
        flow.tryWrite(lsu);
      } catch {
        /* down: the reader below removes it */
      }
    });
    void (async () => {
      try {
        for await (const sdu of flow) l.routing.receive(id, sdu);
      } catch {
        /* flow down */
      }
      l.routing.removeMgmtNeighbour(id);
      if (!flow.closed) void flow.dealloc();
    })();
  };

  const lower = new LowerLayers(ipcp, 'ipcpd-unicast', () => layer?.addr ?? 0, (cm) => {
    cm.register(enroller(log, () => layer?.conf));
    cm.register({ cep: CEP_DT_UNICAST, onConn: onDtConn });
    cm.register({ cep: CEP_MGMT, onConn: onMgmtConn });
  });

  return {
    init: () => lower.init(),

    async bootstrap(conf: IpcpConfig): Promise<LayerInfo> {
      const cm = await lower.connmgr();
      if (conf.type !== IpcpType.UNICAST) fail('EINVAL', 'not a unicast configuration');
      layer = start(conf);
      cm.start();
      log.info(`Bootstrapped IPCP over layer ${conf.layer.name} with pid ${process.pid}.`);
      return conf.layer;
    },

    async enroll(dst: string): Promise<LayerInfo> {
      const cm = await lower.connmgr();
      const conf = await enrollWith(cm, dst, IpcpType.UNICAST, log, async (c) => {
        if (!c.unicast) fail('EPROTO', 'the enrollment response has no unicast configuration');
        layer = start(c);
      });
      cm.start();
      return conf.layer;
    },

    async connect(dst: string, comp: string, qos: QosSpec) {
      const cm = await lower.connmgr();
      need();
      if (comp === MGMT_COMP) await cm.connect(dst, MGMT_COMP, QOS.raw);
      else if (comp === DT_COMP) await cm.connect(dst, DT_COMP, qos);
      else fail('EINVAL', `unknown component ${comp} (use ${DT_COMP} or ${MGMT_COMP})`);
    },

    async disconnect(dst: string, comp: string) {
      const cm = await lower.connmgr();
      need();
      await cm.disconnect(dst, comp);
    },

    async reg(hash) {
      await need().dir.reg(hash);
    },

    async unreg(hash) {
      await need().dir.unreg(hash);
    },

    async query(hash) {
      return (await need().dir.query(hash)) !== undefined;
    },

    async flowAlloc(req: FlowAllocReq) {
      await need().fa.alloc(req);
    },

    async flowAllocResp(resp: FlowAllocResp) {
      await need().fa.allocResp(resp);
    },

    async flowDealloc(flowId: number) {
      await need().fa.dealloc(flowId);
    },

    inspect() {
      const l = layer;
      if (!l) return { layer: null };
      return {
        layer: l.conf.layer.name,
        address: l.addr,
        config: {
          addrSize: l.uc.addrSize,
          eidSize: l.uc.eidSize,
          maxTtl: l.uc.maxTtl,
          routing: ROUTING_NAMES[l.uc.routing],
          lsTimers: [l.uc.lsTRecalc, l.uc.lsTUpdate, l.uc.lsTTimeo],
          congestion: l.ca.name,
          dht: { alpha: l.uc.dhtAlpha, k: l.uc.dhtK, tExpire: l.uc.dhtTExpire, tRefresh: l.uc.dhtTRefresh, tReplicate: l.uc.dhtTReplicate, peer: l.uc.dhtPeer ?? 0 },
        },
        neighbours: l.dt.neighbourList(),
        lsdb: l.routing.snapshot(),
        pff: l.pff.entries(),
        dht: l.dir.snapshot(),
        flows: l.fa.list(),
        counters: { dt: { ...l.dt.counters, handlerErrors: l.dt.handlerErrors }, fa: l.fa.counters, routing: l.routing.counters, dht: l.dir.counters, connmgr: lower.counters },
      };
    },

    async stop() {
      if (layer) stopLayer(layer);
      await lower.close();
    },
  };
}
