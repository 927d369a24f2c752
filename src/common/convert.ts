/** Conversions between the typed records of o7s and their protobuf messages. */
import { create } from '@bufbuild/protobuf';
import { qosspec_msgSchema, type qosspec_msg, type flow_info_msg } from '../proto/gen/model_pb.js';
import { ipcp_config_msgSchema, type ipcp_config_msg } from '../proto/gen/ipcp_config_pb.js';
import type { QosSpec } from '../lib/qos.js';
import { IpcpType, type IpcpConfig } from './ipcp-types.js';
import type { HashAlgo } from './hash.js';

export function qosToMsg(q: QosSpec): qosspec_msg {
  return create(qosspec_msgSchema, {
    delay: q.delay >>> 0,
    bandwidth: BigInt.asUintN(64, q.bandwidth),
    availability: q.availability >>> 0,
    loss: q.loss >>> 0,
    ber: q.ber >>> 0,
    inOrder: q.inOrder >>> 0,
    maxGap: q.maxGap >>> 0,
    timeout: q.timeout >>> 0,
  });
}

export function qosFromMsg(m: qosspec_msg): QosSpec {
  return {
    delay: m.delay,
    bandwidth: m.bandwidth,
    availability: m.availability,
    loss: m.loss,
    ber: m.ber,
    inOrder: m.inOrder,
    maxGap: m.maxGap,
    timeout: m.timeout,
  };
}

export interface FlowInfo {
  id: number;
  nPid: number;
  n1Pid: number;
  mpl: number;
  state: number;
  qos: QosSpec;
  uid: number;
}

export function flowInfoFromMsg(m: flow_info_msg): FlowInfo {
  return { id: m.id, nPid: m.nPid, n1Pid: m.n1Pid, mpl: m.mpl, state: m.state, uid: m.uid, qos: qosFromMsg(m.qos!) };
}

/** IPv4 dotted quad to the reference's udp4_config u32 (network-order bytes read little-endian). */
export function ipv4ToHostU32(ip: string): number {
  const parts = ip.split('.').map(Number);
  return (((parts[3]! << 24) | (parts[2]! << 16) | (parts[1]! << 8) | parts[0]!) >>> 0);
}

export function hostU32ToIpv4(v: number): string {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff].join('.');
}

export function ipcpConfigToMsg(c: IpcpConfig): ipcp_config_msg {
  const msg = create(ipcp_config_msgSchema, {
    layerInfo: { name: c.layer.name, dirHashAlgo: c.layer.hashAlgo },
    ipcpType: c.type,
    o7sExtra: Object.entries(c.extra ?? {}).map(([key, value]) => ({ key, value })),
  });
  if (c.type === IpcpType.UNICAST && c.unicast) {
    const u = c.unicast;
    msg.unicast = {
      $typeName: 'o7s.config.uni_config_msg',
      dt: {
        $typeName: 'o7s.config.dt_config_msg',
        addrSize: u.addrSize,
        eidSize: u.eidSize,
        maxTtl: u.maxTtl,
        routing: {
          $typeName: 'o7s.config.routing_config_msg',
          pol: 0,
          ls: { $typeName: 'o7s.config.ls_config_msg', pol: u.routing, tRecalc: u.lsTRecalc, tUpdate: u.lsTUpdate, tTimeo: u.lsTTimeo },
        },
      },
      dir: {
        $typeName: 'o7s.config.dir_config_msg',
        pol: 0,
        dht: {
          $typeName: 'o7s.config.dir_dht_config_msg',
          alpha: u.dhtAlpha,
          k: u.dhtK,
          tExpire: u.dhtTExpire,
          tRefresh: u.dhtTRefresh,
          tReplicate: u.dhtTReplicate,
          peer: 0n,
        },
      },
      addrAuthType: u.addrAuth,
      congAvoid: u.congestion,
    };
  }
  if (c.type === IpcpType.UDP4 && c.udp4) {
    msg.udp4 = {
      $typeName: 'o7s.config.udp4_config_msg',
      ipAddr: ipv4ToHostU32(c.udp4.ip),
      port: c.udp4.port,
      dnsAddr: c.udp4.dns ? ipv4ToHostU32(c.udp4.dns) : 0,
    };
  }
  if ((c.type === IpcpType.ETH_DIX || c.type === IpcpType.ETH_LLC) && c.eth) {
    msg.eth = { $typeName: 'o7s.config.eth_config_msg', dev: c.eth.dev, ethertype: c.eth.ethertype };
  }
  return msg;
}

export function ipcpConfigFromMsg(m: ipcp_config_msg): IpcpConfig {
  const c: IpcpConfig = {
    type: m.ipcpType as IpcpType,
    layer: { name: m.layerInfo?.name ?? '', hashAlgo: (m.layerInfo?.dirHashAlgo ?? 1) as HashAlgo },
  };
  if (m.o7sExtra.length) c.extra = Object.fromEntries(m.o7sExtra.map((o) => [o.key, o.value]));
  if (m.udp4) {
    c.udp4 = {
      ip: hostU32ToIpv4(m.udp4.ipAddr),
      port: m.udp4.port,
      dns: m.udp4.dnsAddr ? hostU32ToIpv4(m.udp4.dnsAddr) : '',
    };
  }
  if (m.eth) c.eth = { dev: m.eth.dev, ethertype: m.eth.ethertype };
  if (m.unicast) {
    const u = m.unicast;
    c.unicast = {
      addrSize: u.dt?.addrSize ?? 4,
      eidSize: u.dt?.eidSize ?? 8,
      maxTtl: u.dt?.maxTtl ?? 60,
      routing: u.dt?.routing?.ls?.pol ?? 0,
      lsTRecalc: u.dt?.routing?.ls?.tRecalc ?? 4,
      lsTUpdate: u.dt?.routing?.ls?.tUpdate ?? 15,
      lsTTimeo: u.dt?.routing?.ls?.tTimeo ?? 60,
      addrAuth: u.addrAuthType,
      congestion: u.congAvoid,
      dhtAlpha: u.dir?.dht?.alpha ?? 3,
      dhtK: u.dir?.dht?.k ?? 8,
      dhtTExpire: u.dir?.dht?.tExpire ?? 86400,
      dhtTRefresh: u.dir?.dht?.tRefresh ?? 900,
      dhtTReplicate: u.dir?.dht?.tReplicate ?? 900,
    };
  }
  return c;
}
