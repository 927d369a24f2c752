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

/** An IPv6 address in text to its 16 bytes. */
export function ipv6ToBytes(ip: string): Uint8Array {
  const out = new Uint8Array(16);
  let text = ip.replace(/%.*$/, '');
  const v4 = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const p = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = (v >> 8) & 0xff;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** 16 bytes to the canonical IPv6 text. */
export function bytesToIpv6(b: Uint8Array): string {
  if (b.length !== 16) return '::';
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
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
          peer: BigInt(u.dhtPeer ?? 0),
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
  if (c.type === IpcpType.UDP6 && c.udp6) {
    msg.udp6 = {
      $typeName: 'o7s.config.udp6_config_msg',
      ipAddr: ipv6ToBytes(c.udp6.ip),
      port: c.udp6.port,
      dnsAddr: c.udp6.dns ? ipv6ToBytes(c.udp6.dns) : new Uint8Array(16),
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
  if (m.udp6) {
    const dns = bytesToIpv6(m.udp6.dnsAddr);
    c.udp6 = { ip: bytesToIpv6(m.udp6.ipAddr), port: m.udp6.port, dns: dns === '::' ? '' : dns };
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
    const peer = u.dir?.dht?.peer ?? 0n;
    if (peer > 0n && peer <= BigInt(Number.MAX_SAFE_INTEGER)) c.unicast.dhtPeer = Number(peer);
  }
  return c;
}
