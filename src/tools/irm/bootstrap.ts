/** `irm ipcp bootstrap ...`: builds an IpcpConfig per IPCP type and bootstraps every matching IPCP. */
import { isIPv4, isIPv6 } from 'node:net';
import type { IpcpListEntry } from '../../lib/irm-api.js';
import {
  CongestionPolicy,
  ETH_DEFAULT_ETHERTYPE,
  IpcpType,
  RoutingPolicy,
  UDP_DEFAULT_PORT,
  UNICAST_DEFAULTS,
  isBuilt,
  type IpcpConfig,
  type UnicastConfig,
} from '../../common/ipcp-types.js';
import { HashAlgo } from '../../common/hash.js';
import { type Ctx, FAIL, OK, type Status, describe } from './context.js';
import { matches, pick, selects } from './match.js';
import { DEV_NAME_SIZE, LAYER_NAME_SIZE, usage } from './usage.js';
import { listIpcps, notAvailable, wantsHelp } from './util.js';

/** Keywords in the order the reference tries them (so `a` is `addr`, `d` is `dns`). */
const KEYS = [
  'type', 'layer', 'name', 'hash', 'ip', 'dns', 'device', 'ethertype', 'addr', 'eid', 'ttl', 'port',
  'autobind', 'addr_auth', 'directory', 'dht_alpha', 'dht_k', 'dht_t_expire', 'dht_t_refresh',
  'dht_t_replicate', 'routing', 'ls_t_timeo', 'ls_t_update', 'ls_t_recalc', 'congestion',
] as const;
type Key = (typeof KEYS)[number];

/** Type names by prefix, in the reference's order (`udp` is udp4, `eth` is eth-dix). */
const TYPE_PREFIXES: ReadonlyArray<[string, IpcpType]> = [
  ['unicast', IpcpType.UNICAST],
  ['broadcast', IpcpType.BROADCAST],
  ['udp4', IpcpType.UDP4],
  ['udp6', IpcpType.UDP6],
  ['eth-dix', IpcpType.ETH_DIX],
  ['eth-llc', IpcpType.ETH_LLC],
  ['local', IpcpType.LOCAL],
];

const HASHES: Record<string, HashAlgo> = {
  SHA3_224: HashAlgo.SHA3_224,
  SHA3_256: HashAlgo.SHA3_256,
  SHA3_384: HashAlgo.SHA3_384,
  SHA3_512: HashAlgo.SHA3_512,
};

const U32_MAX = 0xffffffff;

/** Accepted integer ranges: the C field widths, and the DHT / link-state limits of the reference. */
const RANGES: Partial<Record<Key, [number, number, keyof UnicastConfig | 'port']>> = {
  addr: [1, 255, 'addrSize'],
  eid: [1, 255, 'eidSize'],
  ttl: [1, 255, 'maxTtl'],
  port: [1, 65535, 'port'],
  dht_alpha: [1, 10, 'dhtAlpha'],
  dht_k: [1, 20, 'dhtK'],
  dht_t_expire: [10, 86400, 'dhtTExpire'],
  dht_t_refresh: [3, 3600, 'dhtTRefresh'],
  dht_t_replicate: [3, 3600, 'dhtTReplicate'],
  ls_t_recalc: [1, U32_MAX, 'lsTRecalc'],
  ls_t_update: [1, U32_MAX, 'lsTUpdate'],
  ls_t_timeo: [1, U32_MAX, 'lsTTimeo'],
};

interface BootArgs {
  ipcp?: string;
  layer?: string;
  typeStr?: string;
  hash: HashAlgo;
  ip?: string;
  dns?: string;
  dev?: string;
  ethertype: number;
  port: number;
  autobind: boolean;
  unicast: UnicastConfig;
  /** Options the reference does not know (o7s extension for udp4/udp6), in order. */
  extra: Array<[string, string | undefined]>;
}

/** Parses the arguments; prints and yields a status on error. */
function parseArgs(ctx: Ctx, args: string[]): BootArgs | Status {
  const a: BootArgs = {
    hash: HashAlgo.SHA3_256,
    ethertype: ETH_DEFAULT_ETHERTYPE,
    port: UDP_DEFAULT_PORT,
    autobind: false,
    unicast: { ...UNICAST_DEFAULTS },
    extra: [],
  };
  let i = 0;
  while (i < args.length) {
    const word = args[i]!;
    const key = pick(word, KEYS);
    if (key === 'autobind') {
      a.autobind = true;
      i += 1;
      continue;
    }
    const value = args[i + 1];
    i += 2;
    if (key === undefined) {
      a.extra.push([word, value]);
      continue;
    }
    if (value === undefined) {
      ctx.print(usage.ipcpBootstrap);
      return FAIL;
    }
    const unknownParam = (): Status => (ctx.say(`Unknown parameter for ${word}: "${value}".`), FAIL);
    const range = RANGES[key];
    if (range !== undefined) {
      const [lo, hi, field] = range;
      if (!/^[0-9]+$/.test(value) || Number(value) < lo || Number(value) > hi) {
        ctx.say(`Invalid value for ${word}: "${value}" (expected an integer from ${lo} to ${hi}).`);
        return FAIL;
      }
      if (field === 'port') a.port = Number(value);
      else a.unicast[field] = Number(value);
      continue;
    }
    switch (key) {
      case 'type': a.typeStr = value; break;
      case 'layer': a.layer = value; break;
      case 'name': a.ipcp = value; break;
      case 'ip': a.ip = value; break;
      case 'dns': a.dns = value; break;
      case 'device': a.dev = value; break;
      case 'hash': {
        const h = HASHES[value];
        if (h === undefined) return unknownParam();
        a.hash = h;
        break;
      }
      case 'ethertype': {
        const n = /^(0[xX])?[0-9a-fA-F]+$/.test(value) ? parseInt(value.replace(/^0[xX]/, ''), 16) : NaN;
        if (!(n >= 0x0600 && n < 0xffff)) {
          ctx.say(`Invalid Ethertype: "${value}".\nRecommended range: 0xA000-0xEFFF.`);
          return FAIL;
        }
        a.ethertype = n;
        break;
      }
      case 'addr_auth':
        if (value !== 'flat') return unknownParam();
        a.unicast.addrAuth = 0;
        break;
      case 'directory':
        if (value !== 'DHT') return unknownParam();
        break;
      case 'routing':
        if (value === 'link_state') a.unicast.routing = RoutingPolicy.LINK_STATE;
        else if (value === 'lfa') a.unicast.routing = RoutingPolicy.LFA;
        else if (value === 'ecmp') a.unicast.routing = RoutingPolicy.ECMP;
        else return unknownParam();
        break;
      case 'congestion':
        if (value === 'none') a.unicast.congestion = CongestionPolicy.NONE;
        else if (value === 'mb-ecn') a.unicast.congestion = CongestionPolicy.MB_ECN;
        else return unknownParam();
        break;
      default:
        break;
    }
  }
  return a;
}

function isUnspecifiedV6(ip: string): boolean {
  return new URL(`http://[${ip}]/`).hostname === '[::]';
}

function validV6(ip: string): boolean {
  return isIPv6(ip) && !ip.includes('%');
}

/**
 * The configuration for one IPCP of `type`, or undefined after printing why
 * the arguments do not fit that type.
 */
function buildConfig(ctx: Ctx, a: BootArgs, type: IpcpType): IpcpConfig | undefined {
  const layer = a.layer!;
  const fail = (msg: string | undefined): undefined => {
    if (msg !== undefined) ctx.say(msg);
    ctx.print(usage.ipcpBootstrap);
    return undefined;
  };
  const isUdp = type === IpcpType.UDP4 || type === IpcpType.UDP6;
  if (!isUdp && a.extra.length > 0) {
    ctx.say(`Unknown option: "${a.extra[0]![0]}".`);
    return undefined;
  }
  if (Buffer.byteLength(layer) > LAYER_NAME_SIZE) return fail('Layer name too long.\n');

  const conf: IpcpConfig = { type, layer: { name: layer, hashAlgo: isUdp ? HashAlgo.MD5 : a.hash } };
  switch (type) {
    case IpcpType.UNICAST:
      conf.unicast = { ...a.unicast };
      break;
    case IpcpType.UDP4:
      if (a.ip === undefined) return fail(undefined);
      if (!isIPv4(a.ip)) return fail(`Invalid IPv4 address: "${a.ip}".`);
      if (a.ip === '0.0.0.0') return fail(`Cannot use IPv4 address: "${a.ip}".`);
      if (a.dns !== undefined && !isIPv4(a.dns)) return fail(`Invalid DNS IPv4 address: "${a.dns}".`);
      conf.udp4 = { ip: a.ip, port: a.port, dns: a.dns ?? '0.0.0.0' };
      break;
    case IpcpType.UDP6:
      if (a.ip === undefined) return fail(undefined);
      if (!validV6(a.ip)) return fail(`Invalid IPv6 address: "${a.ip}".`);
      if (isUnspecifiedV6(a.ip)) return fail(`Cannot use IPv6 address: "${a.ip}".`);
      if (a.dns !== undefined && !validV6(a.dns)) return fail(`Invalid DNS IPv6 address: "${a.dns}".`);
      conf.udp6 = { ip: a.ip, port: a.port, dns: a.dns ?? '::' };
      break;
    case IpcpType.ETH_DIX:
    case IpcpType.ETH_LLC:
      if (a.dev === undefined) return fail(undefined);
      if (Buffer.byteLength(a.dev) > DEV_NAME_SIZE) return fail('Device name too long.\n');
      conf.eth = { dev: a.dev, ethertype: a.ethertype };
      break;
    default:
      break;
  }
  if (isUdp && a.extra.length > 0) {
    const extra: Record<string, string> = {};
    for (const [k, v] of a.extra) {
      if (v === undefined) return fail(undefined);
      extra[k] = v;
    }
    conf.extra = extra;
  }
  return conf;
}

/** Parses a `type` argument by prefix; undefined when it names no type. */
export function typeByPrefix(word: string): IpcpType | undefined {
  for (const [name, type] of TYPE_PREFIXES) if (matches(word, name)) return type;
  return undefined;
}

/** Best-effort undo of an autobind. */
async function unbindQuietly(ctx: Ctx, pid: number, names: string[]): Promise<void> {
  for (const n of names) {
    try {
      await ctx.call((api) => api.unbindProcess(pid, n));
    } catch {
      /* the daemon is gone; nothing to undo */
    }
  }
}

/** `irm ipcp bootstrap name <ipcp> layer <layer> [type <type>] [autobind] <type parameters>` */
export async function ipcpBootstrap(ctx: Ctx, args: string[]): Promise<Status> {
  if (wantsHelp(args)) return ctx.print(usage.ipcpBootstrap), OK;
  const a = parseArgs(ctx, args);
  if (typeof a === 'number') return a;
  if (a.ipcp === undefined || a.layer === undefined) {
    ctx.print(usage.ipcpBootstrap);
    return FAIL;
  }
  const pattern = a.ipcp;

  let type: IpcpType | undefined;
  if (a.typeStr !== undefined) {
    type = typeByPrefix(a.typeStr);
    if (type === undefined) {
      ctx.print(usage.ipcpBootstrap);
      return FAIL;
    }
    // Check the parameters before anything is created.
    if (buildConfig(ctx, a, type) === undefined) return FAIL;
  }

  let ipcps = await listIpcps(ctx);
  if (ipcps === undefined) return FAIL;
  let targets = ipcps.filter((i) => selects(pattern, i.name));

  if (targets.length === 0) {
    if (type === undefined) {
      ctx.say(`No IPCPs matching ${pattern} found.\n`);
      return FAIL;
    }
    if (!isBuilt(type)) {
      notAvailable(ctx, type);
      return FAIL;
    }
    const t = type;
    const r = await ctx.call((api) => api.createIpcp(pattern, t));
    if (!r.ok) {
      ctx.warn(`Failed to create IPCP "${pattern}": ${describe(r.error)}.`);
      return FAIL;
    }
    ipcps = await listIpcps(ctx);
    if (ipcps === undefined) return FAIL;
    targets = ipcps.filter((i) => selects(pattern, i.name));
    if (targets.length === 0) {
      ctx.say(`No IPCPs matching ${pattern} found.\n`);
      return FAIL;
    }
  }

  // Check every target before touching any of them.
  const plan: Array<[IpcpListEntry, IpcpConfig]> = [];
  for (const ipcp of targets) {
    if (type !== undefined && ipcp.type !== type) {
      ctx.say('Types do not match.\n');
      return FAIL;
    }
    const conf = buildConfig(ctx, a, ipcp.type);
    if (conf === undefined) return FAIL;
    plan.push([ipcp, conf]);
  }

  let autobind = a.autobind;
  for (const [ipcp, conf] of plan) {
    if (autobind && conf.type !== IpcpType.UNICAST && conf.type !== IpcpType.BROADCAST) {
      ctx.say('Can not bind this IPCP type, autobind disabled.\n');
      autobind = false;
    }
    const { pid, name } = ipcp;
    if (autobind) {
      const b1 = await ctx.call((api) => api.bindProcess(pid, name));
      if (!b1.ok) {
        ctx.say(`Failed to bind ${pid} to ${name}.`);
        return FAIL;
      }
      const b2 = await ctx.call((api) => api.bindProcess(pid, conf.layer.name));
      if (!b2.ok) {
        ctx.say(`Failed to bind ${pid} to ${conf.layer.name}.`);
        await unbindQuietly(ctx, pid, [name]);
        return FAIL;
      }
    }
    const r = await ctx.call((api) => api.bootstrapIpcp(pid, conf));
    if (!r.ok) {
      if (autobind) await unbindQuietly(ctx, pid, [name, conf.layer.name]);
      ctx.warn(`Failed to bootstrap IPCP "${name}" in layer "${conf.layer.name}": ${describe(r.error)}.`);
      return FAIL;
    }
  }
  return OK;
}
