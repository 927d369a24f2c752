/**
 * IPCP types, states and bootstrap configurations, numbered as the reference
 * (`enum ipcp_type`, `enum ipcp_state`, ipcp_config.proto). Shared by irmd,
 * the IPCPs, irm and the irmd.conf loader.
 */
import { HashAlgo } from './hash.js';

export const IpcpType = {
  LOCAL: 0,
  UNICAST: 1,
  BROADCAST: 2,
  ETH_LLC: 3,
  ETH_DIX: 4,
  UDP4: 5,
  UDP6: 6,
} as const;
export type IpcpType = (typeof IpcpType)[keyof typeof IpcpType];

/** Type names as typed in `irm` and irmd.conf. */
export const IPCP_TYPE_NAMES: Record<IpcpType, string> = {
  0: 'local',
  1: 'unicast',
  2: 'broadcast',
  3: 'eth-llc',
  4: 'eth-dix',
  5: 'udp4',
  6: 'udp6',
};

export function ipcpTypeByName(name: string): IpcpType | undefined {
  for (const [num, n] of Object.entries(IPCP_TYPE_NAMES)) if (n === name) return Number(num) as IpcpType;
  return undefined;
}

/** The IPCP types this build of o7s ships a daemon for. */
export const BUILT_IPCP_TYPES: readonly IpcpType[] = [IpcpType.LOCAL, IpcpType.UNICAST, IpcpType.BROADCAST, IpcpType.UDP4, IpcpType.UDP6];

export function isBuilt(type: IpcpType): boolean {
  return BUILT_IPCP_TYPES.includes(type);
}

export const IpcpState = {
  NULL: 0,
  INIT: 1,
  BOOT: 2,
  BOOTSTRAPPED: 3,
  ENROLLED: 4,
  OPERATIONAL: 5,
  SHUTDOWN: 6,
} as const;
export type IpcpState = (typeof IpcpState)[keyof typeof IpcpState];

/** Layer name the reference shows for an IPCP that is in no layer yet. */
export const NOT_ENROLLED = 'Not enrolled.';

export interface LayerInfo {
  name: string;
  hashAlgo: HashAlgo;
}

export interface Udp4Config { ip: string; port: number; dns: string }
export interface Udp6Config { ip: string; port: number; dns: string }
export interface EthConfig { dev: string; ethertype: number }

export const RoutingPolicy = { LINK_STATE: 0, LFA: 1, ECMP: 2 } as const;
export const CongestionPolicy = { NONE: 0, MB_ECN: 1 } as const;

export interface UnicastConfig {
  addrSize: number;
  eidSize: number;
  maxTtl: number;
  /** link-state policy: 0 simple, 1 lfa, 2 ecmp */
  routing: number;
  lsTRecalc: number;
  lsTUpdate: number;
  lsTTimeo: number;
  /** 0 = flat */
  addrAuth: number;
  /** 0 none, 1 mb-ecn */
  congestion: number;
  dhtAlpha: number;
  dhtK: number;
  dhtTExpire: number;
  dhtTRefresh: number;
  dhtTReplicate: number;
  /** The DHT's bootstrap peer: the enroller's address, filled in during enrollment (0 = none). */
  dhtPeer?: number;
}

export const UNICAST_DEFAULTS: Readonly<UnicastConfig> = Object.freeze({
  addrSize: 4,
  eidSize: 8,
  maxTtl: 60,
  routing: RoutingPolicy.LINK_STATE,
  lsTRecalc: 4,
  lsTUpdate: 15,
  lsTTimeo: 60,
  addrAuth: 0,
  congestion: CongestionPolicy.MB_ECN,
  dhtAlpha: 3,
  dhtK: 8,
  dhtTExpire: 86400,
  dhtTRefresh: 900,
  dhtTReplicate: 900,
});

export const UDP_DEFAULT_PORT = 3435;
export const ETH_DEFAULT_ETHERTYPE = 0xa000;

/** What `irm ipcp bootstrap` and irmd.conf hand to an IPCP. */
export interface IpcpConfig {
  type: IpcpType;
  layer: LayerInfo;
  unicast?: UnicastConfig;
  udp4?: Udp4Config;
  udp6?: Udp6Config;
  eth?: EthConfig;
  /** o7s extension options (kept for types that take them, e.g. lossy udp). */
  extra?: Record<string, string>;
}

/** Default directory hash per type (udp: MD5, forced; others SHA3-256). */
export function defaultHash(type: IpcpType): HashAlgo {
  return type === IpcpType.UDP4 || type === IpcpType.UDP6 ? HashAlgo.MD5 : HashAlgo.SHA3_256;
}

/** Name load-balancing policies (`enum pol_balance`). */
export const LoadBalance = { ROUND_ROBIN: 0, SPILL: 1 } as const;
export type LoadBalance = (typeof LoadBalance)[keyof typeof LoadBalance];
