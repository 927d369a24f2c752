/**
 * The UDP layer (udp4 and udp6): one datagram socket bound to ip:port; flows
 * to other members of the layer at the same port, allocated with the
 * reference's FLOW_REQ / FLOW_REPLY management messages.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { Ipcp } from '../common/ipcp.js';
import type { FlowAllocReq, FlowAllocResp, IpcpOps } from '../common/ops.js';
import { Endpoint, EndpointEvent } from '../../lib/data/endpoint.js';
import { fail, resultOf } from '../../common/errors.js';
import { HashAlgo } from '../../common/hash.js';
import { UDP_DEFAULT_PORT, type IpcpConfig, type LayerInfo } from '../../common/ipcp-types.js';
import { EID_LEN, MAX_SDU_V4, MAX_SDU_V6, MgmtCode, decodeMgmt, encodeFlowReply, encodeFlowReq, type FlowReply, type FlowReq } from './wire.js';
import { UdpDirectory } from './directory.js';
import { ddnsClient } from './ddns.js';
import { PendingTable } from '../common/pending.js';
import { IMPAIR_KEYS, Impairment, parseImpair } from './impair.js';
import { Mmsg, ip4ToU32, socketFd, u32ToIp4 } from './mmsg.js';

/** Socket buffers asked for (the kernel caps them at net.core.[rw]mem_max): room for bursts. */
const SOCK_BUF = 4 << 20;

/** How long deallocation waits for a program's last packets. */

/** How long an accepter's answer may wait for its request to be registered. */
const PENDING_WAIT_MS = 5000;

/** Maximum packet lifetime of a UDP layer (ms). */
export const UDP_MPL = 5000;

interface UdpFlow {
  /** Our eid: the flow id irmd gave the N+1 flow here. */
  eid: number;
  remoteAddr: string;
  /** remoteAddr as a u32 (udp4), for the batched path. */
  remoteIp: number;
  remotePort: number;
  /** The peer's eid, once known. */
  remoteEid: number | undefined;
  ep: Endpoint | undefined;
  /** Outgoing allocation waiting for FLOW_REPLY. */
  pendingOut: boolean;
  /** Incoming allocation waiting for the accepter's answer. */
  pendingIn: boolean;
}

export interface UdpCounters {
  rxDatagrams: number;
  txDatagrams: number;
  malformed: number;
  unknownEid: number;
  wrongSource: number;
  oversize: number;
  windowDrops: number;
}

export function udpOps(ipcp: Ipcp, family: 4 | 6): IpcpOps {
  const maxSdu = family === 4 ? MAX_SDU_V4 : MAX_SDU_V6;
  const flows = new Map<number, UdpFlow>();
  /** Incoming allocations by our eid, until the accepter answers. */
  const incoming = new PendingTable<UdpFlow>();
  const counters: UdpCounters = { rxDatagrams: 0, txDatagrams: 0, malformed: 0, unknownEid: 0, wrongSource: 0, oversize: 0, windowDrops: 0 };
  let sock: dgram.Socket | undefined;
  let port = UDP_DEFAULT_PORT;
  let dir: UdpDirectory | undefined;
  let impair: Impairment | undefined;
  /** Batched send and receive (udp4 on Linux with koffi), else undefined. */
  let mm: Mmsg | undefined;
  const ipNum = (addr: string): number => (family === 4 ? ip4ToU32(addr) : 0);
  const eidBuf = (eid: number): Buffer => {
    const b = Buffer.allocUnsafe(EID_LEN);
    b.writeUInt32BE(eid >>> 0);
    return b;
  };

  const sendTo = (data: Buffer | Buffer[], addr: string, p: number): void => {
    counters.txDatagrams++;
    sock?.send(data as Buffer, p, addr);
  };

  /** Moves the endpoint's queued packets onto the wire. */
  const drain = (f: UdpFlow): void => {
    const ep = f.ep;
    if (!ep || f.remoteEid === undefined) return;
    let head: Buffer | undefined;
    for (let pkt = ep.take(); pkt; pkt = ep.take()) {
      if (pkt.length > maxSdu) {
        counters.oversize++;
        continue;
      }
      if (mm && !impair) {
        // Copied into the batch; out with one sendmmsg at the end of this tick.
        counters.txDatagrams++;
        mm.send(f.remoteEid, pkt, f.remoteIp, f.remotePort);
        continue;
      }
      head ??= eidBuf(f.remoteEid);
      if (impair) impair.submit([head, pkt], f.remoteAddr, f.remotePort);
      else sendTo([head, pkt], f.remoteAddr, f.remotePort);
    }
  };

  const attach = (f: UdpFlow, appPid: number): void => {
    const ep = ipcp.plane.endpoint(f.eid, appPid);
    f.ep = ep;
    ep.onEvent = (ev) => {
      if (ev === EndpointEvent.PKT) drain(f);
      else if (ev === EndpointEvent.KEEPALIVE && f.remoteEid !== undefined) sendTo(eidBuf(f.remoteEid), f.remoteAddr, f.remotePort);
    };
  };

  const onFlowReq = async (m: FlowReq, addr: string, p: number): Promise<void> => {
    let acc;
    try {
      acc = await ipcp.flowReqArr(m.hash, m.qos, UDP_MPL, m.pk);
    } catch (e) {
      ipcp.log.dbg(`Flow request refused: ${(e as Error).message}`);
      sendTo(encodeFlowReply(m.sEid, 0, resultOf(e), new Uint8Array(0)), addr, p);
      return;
    }
    const f: UdpFlow = { eid: acc.flowId, remoteAddr: addr, remoteIp: ipNum(addr), remotePort: p, remoteEid: m.sEid, ep: undefined, pendingOut: false, pendingIn: true };
    flows.set(f.eid, f);
    attach(f, acc.pid);
    incoming.set(f.eid, f);
  };

  const onFlowReply = (m: FlowReply, addr: string, p: number): void => {
    const f = flows.get(m.sEid);
    if (!f || !f.pendingOut) {
      counters.unknownEid++;
      return;
    }
    if (f.remoteAddr !== addr || f.remotePort !== p) {
      counters.wrongSource++;
      ipcp.log.warn(`Flow reply for ${m.sEid} from ${addr}:${p}, expected ${f.remoteAddr}:${f.remotePort}; dropped.`);
      return;
    }
    f.pendingOut = false;
    if (m.response !== 0) {
      flows.delete(f.eid);
      f.ep?.discard(); // the program never had this flow
    } else {
      f.remoteEid = m.dEid;
      drain(f);
    }
    ipcp.flowAllocReply(f.eid, UDP_MPL, m.response, m.pk).catch((e) => ipcp.log.err(`Failed to answer flow ${f.eid}: ${(e as Error).message}`));
  };

  /**
   * One datagram from `from` (a dotted address from dgram, or a u32 from the
   * batched path, whose `msg` is a view to copy before keeping).
   */
  const onDatagram = (msg: Buffer, from: string | number, fromPort: number): void => {
    counters.rxDatagrams++;
    if (msg.length < EID_LEN) {
      counters.malformed++;
      return;
    }
    const eid = msg.readUInt32BE(0);
    if (eid === 0) {
      const m = decodeMgmt(typeof from === 'number' ? Buffer.from(msg) : msg);
      if (typeof m === 'string') {
        counters.malformed++;
        return;
      }
      const addr = typeof from === 'number' ? u32ToIp4(from) : from;
      if (m.code === MgmtCode.FLOW_REQ) void onFlowReq(m, addr, fromPort);
      else onFlowReply(m, addr, fromPort);
      return;
    }
    const f = flows.get(eid);
    if (!f || !f.ep) {
      if (counters.unknownEid++ % 1000 === 0) ipcp.log.dbg(`Datagram for unknown eid ${eid} (${counters.unknownEid} so far).`);
      return;
    }
    if ((typeof from === 'number' ? f.remoteIp !== from : f.remoteAddr !== from) || f.remotePort !== fromPort) {
      counters.wrongSource++;
      return;
    }
    const sdu = msg.subarray(EID_LEN);
    if (sdu.length === 0) {
      f.ep.sendKeepalive();
      return;
    }
    if (!f.ep.send(sdu)) {
      if (counters.windowDrops++ % 1000 === 0) ipcp.log.warn(`Flow ${eid}: the receiver's window is full, dropping (${counters.windowDrops} so far).`);
    }
  };

  return {
    async bootstrap(conf: IpcpConfig): Promise<LayerInfo> {
      const c = family === 4 ? conf.udp4 : conf.udp6;
      if (!c) fail('EINVAL', `a ${family === 4 ? 'udp4' : 'udp6'} configuration (ip, port, dns) is needed`);
      if (isIP(c.ip) !== family) fail('EINVAL', `${c.ip} is not an IPv${family} address`);
      if (c.ip === '0.0.0.0' || c.ip === '::') fail('EINVAL', `bind to a specific address, not ${c.ip}`);
      port = c.port || UDP_DEFAULT_PORT;
      let impairCfg;
      try {
        impairCfg = parseImpair(conf.extra);
      } catch (e) {
        fail('EINVAL', (e as Error).message);
      }
      const unknown = Object.keys(conf.extra ?? {}).filter((k) => k !== 'hosts' && !(IMPAIR_KEYS as readonly string[]).includes(k));
      if (unknown.length) fail('EINVAL', `unknown udp option ${unknown.join(', ')} (known: hosts, ${IMPAIR_KEYS.join(', ')})`);
      if (impairCfg) {
        // What survives the impairment goes out batched when the platform allows (else through dgram).
        impair = new Impairment(impairCfg, (d, a, p) => {
          if (!mm) return sendTo(d, a, p);
          const whole = d.length === 1 ? d[0]! : Buffer.concat(d);
          counters.txDatagrams++;
          mm.send(whole.readUInt32BE(0), whole.subarray(EID_LEN), ipNum(a), p);
        });
        ipcp.log.info(`Impairing data sent: ${IMPAIR_KEYS.map((k) => `${k} ${impairCfg[k]}`).join(', ')}.`);
      }
      const dns = c.dns && c.dns !== '0.0.0.0' && c.dns !== '::' ? c.dns : undefined;
      dir = new UdpDirectory({ family, ownIp: c.ip, hostsFile: conf.extra?.hosts, ddns: dns ? ddnsClient(dns, ipcp.log) : undefined, log: ipcp.log });
      const s = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6', reuseAddr: false, recvBufferSize: SOCK_BUF, sendBufferSize: SOCK_BUF });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(port, c.ip, () => {
          s.off('error', reject);
          resolve();
        });
      }).catch((e: NodeJS.ErrnoException) => fail('EIPCP', `cannot bind UDP ${c.ip} port ${port}: ${e.code ?? e.message}`));
      if (family === 4) {
        // What sendmmsg could not send at once (socket buffer full) goes through dgram, which queues it.
        mm = Mmsg.open(socketFd(s), EID_LEN + maxSdu, (d, a, p) => sock?.send(d, p, a));
      }
      // The first datagram of a wakeup comes from dgram; the batched path reads the rest.
      const batchRx = mm ? (msg: Buffer, ip: number, p: number): void => onDatagram(msg, ip, p) : undefined;
      s.on('message', (msg, rinfo) => {
        onDatagram(msg, rinfo.address, rinfo.port);
        if (batchRx) mm?.drain(batchRx);
      });
      s.on('error', (e) => ipcp.log.err(`UDP socket error: ${e.message}`));
      sock = s;
      ipcp.log.info(`Bootstrapped IPCP over UDP${family} with pid ${process.pid}.`);
      ipcp.log.info(`Bound to IP address ${c.ip} port ${port}.`);
      return { name: conf.layer.name, hashAlgo: HashAlgo.MD5 };
    },

    async reg(hash) {
      if (hash.length !== 16) fail('EINVAL', 'udp layers use 16-byte MD5 hashes');
      await dir!.reg(hash);
    },

    async unreg(hash) {
      if (hash.length !== 16) fail('EINVAL', 'udp layers use 16-byte MD5 hashes');
      await dir!.unreg(hash);
    },

    async query(hash) {
      if (hash.length !== 16) return false;
      return (await dir!.resolve(hash)) !== undefined;
    },

    async flowAlloc(req: FlowAllocReq) {
      const addr = await dir!.resolve(req.hash);
      if (!addr) fail('ENAME', 'the name could not be resolved in this UDP layer');
      if (flows.has(req.flowId)) fail('EINVAL', `flow ${req.flowId} exists already`);
      const f: UdpFlow = { eid: req.flowId, remoteAddr: addr, remoteIp: ipNum(addr), remotePort: port, remoteEid: undefined, ep: undefined, pendingOut: true, pendingIn: false };
      flows.set(f.eid, f);
      attach(f, req.pid);
      sendTo(encodeFlowReq(f.eid, req.qos, req.hash, req.pk), addr, port);
    },

    async flowAllocResp(resp: FlowAllocResp) {
      const f = await incoming.take(resp.flowId, PENDING_WAIT_MS, () => ipcp.awaitingFlowRequests);
      if (!f || !f.pendingIn) fail('EINVAL', `flow ${resp.flowId} has no pending allocation`);
      f.pendingIn = false;
      sendTo(encodeFlowReply(f.remoteEid!, f.eid, resp.response, resp.response === 0 ? resp.pk : new Uint8Array(0)), f.remoteAddr, f.remotePort);
      if (resp.response !== 0) {
        flows.delete(f.eid);
        f.ep?.discard(); // the accepter refused: it never had this flow
      } else {
        drain(f);
      }
    },

    async flowDealloc(flowId: number) {
      await ipcp.drainAndRelease(flowId, flows.get(flowId)?.ep, () => {
        const f = flows.get(flowId);
        flows.delete(flowId);
        incoming.delete(flowId);
        f?.ep?.discard(); // its program has closed its end already
      });
    },

    async stop() {
      impair?.stop();
      mm?.close();
      mm = undefined;
      sock?.close();
      for (const f of flows.values()) f.ep?.close();
    },
  };
}
