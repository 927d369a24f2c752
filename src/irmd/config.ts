/**
 * irmd.conf: the reference's TOML configuration file, read into a typed,
 * validated plan (a list of stanzas) that irmd then carries out.
 *
 * The file has one top-level table per kind of object: `[name.<name>]` for a
 * name, and `[<ipcp type>.<ipcp name>]` for an IPCP (`local`, `eth-llc`,
 * `eth-dix`, `udp4`, `udp6`, `broadcast`, `unicast`). Stanzas come out in the
 * reference's processing order: top-level tables in the order in which they
 * first appear, and within each the stanzas in the order in which they first
 * appear. (For a file that keeps each kind together, as the reference's
 * example does, that is plain file order.)
 *
 * Everything that irmd would only find out half way through carrying out
 * the file is refused here, up front, with a {@link ConfigError} that names
 * the file, the line, the stanza and the key, says what is wrong and what is
 * accepted: unknown tables and keys, values of the wrong type, numbers out of
 * range, malformed addresses, missing required keys, IPCP types this build of
 * o7s does not ship.
 *
 * The plan is normalised: a field is only set when irmd must act on it. An
 * IPCP that is neither bootstrapped nor enrolled is only created, so its
 * `reg`, `conn` and `autobind` are cleared; `conn` is only kept after
 * `enrol`; `bootstrap` is dropped when `enrol` is given. Each such drop is
 * reported through the optional `warn` callback.
 */
import { readFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { HashAlgo } from '../common/hash.js';
import {
  BUILT_IPCP_TYPES,
  CongestionPolicy,
  ETH_DEFAULT_ETHERTYPE,
  IPCP_TYPE_NAMES,
  IpcpType,
  LoadBalance,
  RoutingPolicy,
  UDP_DEFAULT_PORT,
  UNICAST_DEFAULTS,
  defaultHash,
  ipcpTypeByName,
  isBuilt,
} from '../common/ipcp-types.js';
import type { IpcpConfig, UnicastConfig } from '../common/ipcp-types.js';

// ---------------------------------------------------------------------------
// The plan

export interface NameStanza {
  kind: 'name';
  name: string;
  lb: LoadBalance;
  /**
   * Programs to bind to the name, in file order. `args` is set (possibly
   * empty) exactly when the program is to be auto-started (`auto`).
   */
  progs: { prog: string; args?: string[]; auto: boolean }[];
  /** Security file overrides; absolute (realpath'ed when paths are checked). */
  paths: {
    serverEnc?: string;
    serverCrt?: string;
    serverKey?: string;
    clientEnc?: string;
    clientCrt?: string;
    clientKey?: string;
  };
}

export interface IpcpStanza {
  kind: 'ipcp';
  name: string;
  type: IpcpType;
  /** Bootstrap into `bootstrap.layer.name` with this configuration. */
  bootstrap?: IpcpConfig;
  /** Enrol via this destination (wins over bootstrap, as the reference). */
  enrol?: string;
  /** Bind the IPCP process to its own name and to its layer's name. */
  autobind: boolean;
  /** Names to create (spill) if needed and register with this IPCP. */
  reg: string[];
  /** After enrolment: connect management and data transfer to each. */
  conn: string[];
}

export type ConfigStanza = NameStanza | IpcpStanza;

export interface ParseIrmdConfigOptions {
  /** File name used in error messages (default `irmd.conf`). */
  source?: string;
  /** Security and hosts files must exist; realpath them (default true). */
  checkPaths?: boolean;
  /** Accept IPCP types this build does not ship (tests; default false). */
  allowUnbuilt?: boolean;
  /** Told about settings that are accepted but have no effect. */
  warn?: (message: string) => void;
}

// ---------------------------------------------------------------------------
// Errors

export type ConfigErrorKind =
  | 'syntax' //     not TOML
  | 'io' //         the file cannot be read
  | 'table' //      unknown top-level table, or a stanza that is not a table
  | 'key' //        unknown key in a stanza
  | 'type' //       value of the wrong TOML type
  | 'range' //      number out of range
  | 'value' //      value of the right type that is not accepted
  | 'missing' //    a required key is absent
  | 'path' //       a file that must exist does not, or its path is too long
  | 'duplicate' //  the same IPCP name twice
  | 'unavailable'; // IPCP type not shipped in this build

export class ConfigError extends Error {
  readonly kind: ConfigErrorKind;
  readonly source: string;
  /** e.g. `udp4.udp1`, `name.oping`, `local` */
  readonly table?: string;
  readonly key?: string;
  /** 1-based, when known. */
  readonly line?: number;

  constructor(
    kind: ConfigErrorKind,
    source: string,
    problem: string,
    where: { table?: string; key?: string; line?: number } = {},
    options?: ErrorOptions,
  ) {
    const loc = where.line !== undefined ? `${source}:${where.line}` : source;
    const table = where.table !== undefined ? ` [${where.table}]` : '';
    const key = where.key !== undefined ? ` ${where.key}:` : table ? ':' : '';
    super(`${loc}:${table}${key} ${problem}`, options);
    this.name = 'ConfigError';
    this.kind = kind;
    this.source = source;
    if (where.table !== undefined) this.table = where.table;
    if (where.key !== undefined) this.key = where.key;
    if (where.line !== undefined) this.line = where.line;
  }
}

// ---------------------------------------------------------------------------
// Limits (the reference's buffer sizes, in bytes)

const NAME_MAX = 255; //      names, IPCP names, enrol destinations
const LAYER_MAX = 255; //     layer names
const DEV_MAX = 255; //       Ethernet device names
const PROG_MAX = 255; //      program paths
const PATH_MAX = 511; //      security file paths
const U32_MAX = 0xffffffff;

const DHT_LIMITS = {
  dht_alpha: [1, 10],
  dht_k: [1, 20],
  dht_t_expire: [10, 86400],
  dht_t_refresh: [3, 3600],
  dht_t_replicate: [3, 3600],
} as const;

// ---------------------------------------------------------------------------
// Accepted keys

const IPCP_KEYS = ['bootstrap', 'enrol', 'autobind', 'reg', 'conn'] as const;
const UDP_EXT_KEYS = ['hosts', 'drop', 'dup', 'reorder', 'corrupt', 'delay'] as const;

const BOOTSTRAP_KEYS: Record<IpcpType, readonly string[]> = {
  [IpcpType.LOCAL]: ['hash'],
  [IpcpType.ETH_LLC]: ['dev', 'hash'],
  [IpcpType.ETH_DIX]: ['dev', 'ethertype', 'hash'],
  [IpcpType.UDP4]: ['ip', 'port', 'dns', ...UDP_EXT_KEYS],
  [IpcpType.UDP6]: ['ip', 'port', 'dns', ...UDP_EXT_KEYS],
  [IpcpType.BROADCAST]: [],
  [IpcpType.UNICAST]: [
    'addr_size', 'eid_size', 'max_ttl',
    'routing', 'ls_t_recalc', 'ls_t_update', 'ls_t_timeo',
    'addr-auth', 'congestion',
    'directory', 'hash',
    'dht_alpha', 'dht_k', 'dht_t_expire', 'dht_t_expiry', 'dht_t_refresh', 'dht_t_replicate',
  ],
};

const SEC_KEYS = {
  server_enc_file: 'serverEnc',
  server_crt_file: 'serverCrt',
  server_key_file: 'serverKey',
  client_enc_file: 'clientEnc',
  client_crt_file: 'clientCrt',
  client_key_file: 'clientKey',
} as const;

const NAME_KEYS = ['prog', 'args', 'lb', ...Object.keys(SEC_KEYS)] as const;

/** Types that can enrol (and therefore connect). */
const ENROLLING = new Set<IpcpType>([IpcpType.UNICAST, IpcpType.BROADCAST]);

const HASH_NAMES: Record<string, HashAlgo> = {
  SHA3_224: HashAlgo.SHA3_224,
  SHA3_256: HashAlgo.SHA3_256,
  SHA3_384: HashAlgo.SHA3_384,
  SHA3_512: HashAlgo.SHA3_512,
};

/** In the order the reference documents them. */
const TOP_LEVEL = ['name', 'local', 'eth-llc', 'eth-dix', 'udp4', 'udp6', 'broadcast', 'unicast'];

// ---------------------------------------------------------------------------
// Where things are in the text (for line numbers and key order)

type Table = Record<string, unknown>;

/**
 * Finds table headers in the text. Used only for line numbers in messages
 * and to recover file order for names that look like integers (JavaScript
 * objects put those first).
 */
class SourceIndex {
  private readonly lines: string[];
  /** header path (joined by NUL) → first line index (0-based) */
  private readonly first = new Map<string, number>();
  /** 0-based line indices of all headers, ascending */
  private readonly headerLines: number[] = [];

  constructor(text: string) {
    this.lines = text.split(/\r?\n/);
    this.lines.forEach((line, i) => {
      if (!/^\s*\[/.test(line)) return;
      const path = headerPath(line);
      if (path === undefined) return;
      this.headerLines.push(i);
      for (let n = 1; n <= path.length; n++) {
        const k = path.slice(0, n).join('\0');
        if (!this.first.has(k)) this.first.set(k, i);
      }
    });
  }

  /** 0-based line of the first header naming `path` (or a table below it). */
  headerLine(path: string[]): number | undefined {
    return this.first.get(path.join('\0'));
  }

  /** 1-based line of `key` in the stanza at `path`, else of the stanza. */
  lineOf(path: string[], key?: string): number | undefined {
    const start = path.length === 0
      ? -1
      : this.headerLine(path) ?? (path.length > 1 ? this.headerLine(path.slice(0, 1)) : undefined);
    if (start === undefined) return undefined;
    if (key !== undefined) {
      const end = this.headerLines.find((l) => l > start) ?? this.lines.length;
      const k = escapeRegExp(key);
      const re = new RegExp(`^\\s*(?:${k}|"${k}"|'${k}')\\s*=`);
      for (let i = start + 1; i < end; i++) if (re.test(this.lines[i]!)) return i + 1;
    }
    return start >= 0 ? start + 1 : undefined;
  }

  /**
   * The keys of the table at `parent` in order of first appearance. Falls
   * back to the object's own order when a key has no header of its own
   * (defined with dotted keys or an inline table).
   */
  order(parent: string[], keys: string[]): string[] {
    const pos = keys.map((k) => this.headerLine([...parent, k]));
    if (pos.some((p) => p === undefined)) return keys;
    return keys.map((k, i) => [k, pos[i]!] as const).sort((a, b) => a[1] - b[1]).map(([k]) => k);
  }
}

function headerPath(line: string): string[] | undefined {
  if (/^\s*\[\[/.test(line)) return undefined;
  let doc: unknown;
  try {
    doc = parse(line);
  } catch {
    return undefined;
  }
  const path: string[] = [];
  let node = doc as Table;
  for (;;) {
    const keys = Object.keys(node);
    if (keys.length !== 1) break;
    path.push(keys[0]!);
    const next = node[keys[0]!];
    if (!isTable(next)) break;
    node = next;
  }
  return path.length > 0 ? path : undefined;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !isTomlDate(v);
}

function isTomlDate(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as { constructor?: { name?: string } }).constructor?.name === 'TomlDate';
}

/** How a TOML value reads in a message. */
function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'an array';
  if (isTomlDate(v) || v instanceof Date) return 'a date';
  if (isTable(v)) return 'a table';
  return String(v);
}

function typeOf(v: unknown): string {
  if (typeof v === 'string') return `a string (${show(v)})`;
  if (typeof v === 'bigint') return `an integer (${show(v)})`;
  if (typeof v === 'number') return `a float (${show(v)})`;
  if (typeof v === 'boolean') return `a boolean (${show(v)})`;
  if (Array.isArray(v)) return 'an array';
  if (isTomlDate(v) || v instanceof Date) return 'a date';
  if (isTable(v)) return 'a table';
  return typeof v;
}

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Closest accepted key within edit distance 2, for "did you mean". */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function hex(n: bigint | number): string {
  return `0x${n.toString(16).toUpperCase().padStart(4, '0')}`;
}

// ---------------------------------------------------------------------------
// Reading one stanza

interface Ctx {
  source: string;
  index: SourceIndex;
  checkPaths: boolean;
  warn: (message: string) => void;
}

/** Typed access to the keys of one stanza, with errors that say where. */
class Stanza {
  constructor(
    readonly ctx: Ctx,
    readonly path: string[],
    readonly table: Table,
  ) {}

  get label(): string {
    return this.path.map((p) => (/^[A-Za-z0-9_-]+$/.test(p) ? p : JSON.stringify(p))).join('.');
  }

  fail(kind: ConfigErrorKind, key: string | undefined, problem: string): never {
    const where: { table: string; key?: string; line?: number } = { table: this.label };
    if (key !== undefined) where.key = key;
    const line = this.ctx.index.lineOf(this.path, key);
    if (line !== undefined) where.line = line;
    throw new ConfigError(kind, this.ctx.source, problem, where);
  }

  has(key: string): boolean {
    return Object.hasOwn(this.table, key);
  }

  /** Refuse any key not in `accepted`. */
  onlyKeys(accepted: readonly string[], what: string, hint?: (key: string) => string | undefined): void {
    for (const key of Object.keys(this.table)) {
      if (accepted.includes(key)) continue;
      const extra = hint?.(key);
      const near = closest(key, accepted);
      const mean = extra ?? (near !== undefined ? `did you mean ${near}? ` : '');
      this.fail('key', key, `unknown key for ${what}; ${mean}accepted keys: ${accepted.join(', ')}`);
    }
  }

  string(key: string, what: string, max = NAME_MAX): string | undefined {
    if (!this.has(key)) return undefined;
    const v = this.table[key];
    if (typeof v !== 'string') this.fail('type', key, `expected a string (${what}), got ${typeOf(v)}`);
    if (v.length === 0) this.fail('value', key, `must not be empty; expected ${what}`);
    if (bytes(v) > max) this.fail('range', key, `${show(v)} is too long (${bytes(v)} bytes); at most ${max} bytes`);
    return v;
  }

  choice<T>(key: string, choices: Record<string, T>, accepted: string): T | undefined {
    if (!this.has(key)) return undefined;
    const v = this.table[key];
    if (typeof v !== 'string') this.fail('type', key, `expected a string, got ${typeOf(v)}; accepted: ${accepted}`);
    if (!Object.hasOwn(choices, v)) this.fail('value', key, `${show(v)} is not accepted; accepted: ${accepted}`);
    return choices[v];
  }

  integer(key: string, min: number, max: number, accepted?: string): number | undefined {
    if (!this.has(key)) return undefined;
    const v = this.table[key];
    if (typeof v !== 'bigint') {
      this.fail('type', key, `expected an integer, got ${typeOf(v)}`);
    }
    if (v < BigInt(min) || v > BigInt(max)) {
      this.fail('range', key, `${v} is out of range; accepted: ${accepted ?? `${min}..${max}`}`);
    }
    return Number(v);
  }

  /** Integer or float. */
  number(key: string, min: number, max: number, accepted: string): number | undefined {
    if (!this.has(key)) return undefined;
    const v = this.table[key];
    if (typeof v !== 'bigint' && typeof v !== 'number') {
      this.fail('type', key, `expected a number, got ${typeOf(v)}; accepted: ${accepted}`);
    }
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) {
      this.fail('range', key, `${show(v)} is out of range; accepted: ${accepted}`);
    }
    return n;
  }

  boolean(key: string): boolean | undefined {
    if (!this.has(key)) return undefined;
    const v = this.table[key];
    if (typeof v !== 'boolean') this.fail('type', key, `expected true or false, got ${typeOf(v)}`);
    return v;
  }

  strings(key: string, what: string, max = NAME_MAX): string[] | undefined {
    if (!this.has(key)) return undefined;
    const v = this.table[key];
    if (!Array.isArray(v)) {
      this.fail('type', key, `expected an array of strings (${what}), got ${typeOf(v)}`);
    }
    return v.map((e, i) => {
      if (typeof e !== 'string') {
        this.fail('type', key, `element ${i + 1} must be a string (${what}), got ${typeOf(e)}`);
      }
      if (bytes(e) > max) {
        this.fail('range', key, `element ${i + 1} ${show(e)} is too long (${bytes(e)} bytes); at most ${max} bytes`);
      }
      return e;
    });
  }

  /** A file path; must exist and is realpath'ed when paths are checked. */
  file(key: string, what: string): string | undefined {
    if (!this.has(key)) return undefined;
    const v = this.table[key];
    if (typeof v !== 'string') this.fail('type', key, `expected a string (${what}), got ${typeOf(v)}`);
    if (v.length === 0) this.fail('value', key, `must not be empty; expected ${what}`);
    let p: string;
    if (this.ctx.checkPaths) {
      try {
        p = realpathSync(v);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'error';
        this.fail('path', key, `cannot use ${show(v)}: ${code === 'ENOENT' ? 'no such file' : code}; expected ${what} that exists`);
      }
    } else {
      p = resolvePath(v);
    }
    if (bytes(p) > PATH_MAX) this.fail('path', key, `path ${show(p)} is too long (${bytes(p)} bytes); at most ${PATH_MAX} bytes`);
    return p;
  }

  nonEmptyStrings(key: string, what: string, max = NAME_MAX): string[] {
    const list = this.strings(key, what, max) ?? [];
    list.forEach((e, i) => {
      if (e.length === 0) this.fail('value', key, `element ${i + 1} is empty; expected ${what}`);
    });
    return list;
  }
}

// ---------------------------------------------------------------------------
// Names

function readName(ctx: Ctx, name: string, table: Table): NameStanza {
  const s = new Stanza(ctx, ['name', name], table);
  checkName(s, name, 'name');
  s.onlyKeys(NAME_KEYS, 'a name');

  const lb = s.choice('lb', { spill: LoadBalance.SPILL, 'round-robin': LoadBalance.ROUND_ROBIN }, '"spill" (default), "round-robin"')
    ?? LoadBalance.SPILL;

  const paths: NameStanza['paths'] = {};
  for (const [key, field] of Object.entries(SEC_KEYS)) {
    const what = key.includes('enc') ? 'an enc.conf file' : key.includes('crt') ? 'a PEM certificate' : 'a PEM private key';
    const p = s.file(key, what);
    if (p !== undefined) paths[field] = p;
  }

  const progs = s.nonEmptyStrings('prog', 'a program name or path', PROG_MAX);
  const args = s.strings('args', 'space-separated arguments for the program at the same position in prog', Number.MAX_SAFE_INTEGER);
  if (args !== undefined && !s.has('prog')) {
    s.fail('missing', 'args', 'given without prog; args[i] holds the arguments of prog[i]');
  }
  if (args !== undefined && args.length > progs.length) {
    s.fail('value', 'args', `has ${args.length} entries but prog has ${progs.length}; args[i] holds the arguments of prog[i]`);
  }

  return {
    kind: 'name',
    name,
    lb,
    progs: progs.map((prog, i) => {
      const a = args?.[i];
      return a === undefined ? { prog, auto: false } : { prog, args: a.split(' ').filter((t) => t !== ''), auto: true };
    }),
    paths,
  };
}

function checkName(s: Stanza, name: string, what: string): void {
  if (name.length === 0) s.fail('value', undefined, `the ${what} must not be empty`);
  if (bytes(name) > NAME_MAX) s.fail('range', undefined, `the ${what} is too long (${bytes(name)} bytes); at most ${NAME_MAX} bytes`);
}

// ---------------------------------------------------------------------------
// IPCPs

function readIpcp(ctx: Ctx, type: IpcpType, name: string, table: Table): IpcpStanza {
  const typeName = IPCP_TYPE_NAMES[type];
  const s = new Stanza(ctx, [typeName, name], table);
  checkName(s, name, 'IPCP name');
  const bootKeys = BOOTSTRAP_KEYS[type];
  const an = `${typeName.startsWith('eth') ? 'an' : 'a'} ${typeName} IPCP`;
  s.onlyKeys([...IPCP_KEYS, ...bootKeys], an, (key) => misplacedHint(type, key));

  const layer = s.string('bootstrap', 'the name of the layer to bootstrap', LAYER_MAX);
  const enrol = s.string('enrol', 'the name of an IPCP or layer to enrol with');
  const autobind = s.boolean('autobind') ?? false;
  const reg = s.nonEmptyStrings('reg', 'a name to register');
  const conn = s.nonEmptyStrings('conn', 'the name of a neighbour to connect to');

  if (enrol !== undefined && !ENROLLING.has(type)) {
    s.fail('value', 'enrol', `${an} cannot enrol; only unicast and broadcast IPCPs enrol (use bootstrap)`);
  }
  if (s.has('conn') && !ENROLLING.has(type)) {
    s.fail('value', 'conn', `${an} has no neighbours to connect to; conn is for unicast and broadcast IPCPs`);
  }

  // Bootstrap keys are validated whether or not they will be used.
  const config = readBootstrap(s, type, layer ?? '');

  const stanza: IpcpStanza = { kind: 'ipcp', name, type, autobind, reg, conn };
  const ignored = (what: string): void => {
    const line = ctx.index.lineOf(s.path);
    ctx.warn(`${ctx.source}${line !== undefined ? `:${line}` : ''}: [${s.label}] ${what}`);
  };

  if (enrol !== undefined) {
    stanza.enrol = enrol;
    if (layer !== undefined) ignored('bootstrap is ignored: enrol is given, and enrol wins');
    const unused = bootKeys.filter((k) => s.has(k));
    if (unused.length > 0) {
      ignored(`${unused.join(', ')} ${unused.length > 1 ? 'only apply' : 'only applies'} when bootstrapping; ignored with enrol`);
    }
  } else if (layer !== undefined) {
    requireBootstrapKeys(s, type);
    stanza.bootstrap = config;
    if (conn.length > 0) {
      ignored('conn is only carried out after enrol; ignored with bootstrap');
      stanza.conn = [];
    }
  } else {
    const unused = [...bootKeys, 'autobind', 'reg', 'conn'].filter((k) => s.has(k));
    if (unused.length > 0) {
      ignored(`${unused.join(', ')} ignored: without bootstrap or enrol the IPCP is only created`);
    }
    stanza.autobind = false;
    stanza.reg = [];
    stanza.conn = [];
  }
  return stanza;
}

/** A hint when a key belongs to another IPCP type. */
function misplacedHint(type: IpcpType, key: string): string | undefined {
  if (key === 'hash' && (type === IpcpType.UDP4 || type === IpcpType.UDP6)) {
    return 'udp layers always hash names with MD5, so hash cannot be set; ';
  }
  if (key === 'hash' && type === IpcpType.BROADCAST) {
    return 'broadcast layers always use SHA3_256, so hash cannot be set; ';
  }
  const owners = (Object.keys(BOOTSTRAP_KEYS) as unknown as string[])
    .map((t) => Number(t) as IpcpType)
    .filter((t) => t !== type && BOOTSTRAP_KEYS[t].includes(key))
    .map((t) => IPCP_TYPE_NAMES[t]);
  return owners.length > 0 ? `${key} is a key for ${owners.join(', ')} IPCPs; ` : undefined;
}

function requireBootstrapKeys(s: Stanza, type: IpcpType): void {
  const name = IPCP_TYPE_NAMES[type];
  if ((type === IpcpType.ETH_LLC || type === IpcpType.ETH_DIX) && !s.has('dev')) {
    s.fail('missing', 'dev', `missing; an ${name} IPCP needs dev (the Ethernet interface, e.g. "eth0") to bootstrap`);
  }
  if (type === IpcpType.UDP4 && !s.has('ip')) {
    s.fail('missing', 'ip', 'missing; a udp4 IPCP needs ip (its IPv4 address, e.g. "127.0.0.1") to bootstrap');
  }
  if (type === IpcpType.UDP6 && !s.has('ip')) {
    s.fail('missing', 'ip', 'missing; a udp6 IPCP needs ip (its IPv6 address, e.g. "::1") to bootstrap');
  }
}

function readBootstrap(s: Stanza, type: IpcpType, layerName: string): IpcpConfig {
  const config: IpcpConfig = { type, layer: { name: layerName, hashAlgo: defaultHash(type) } };
  switch (type) {
    case IpcpType.LOCAL:
      config.layer.hashAlgo = readHash(s) ?? config.layer.hashAlgo;
      break;
    case IpcpType.ETH_LLC:
    case IpcpType.ETH_DIX: {
      config.layer.hashAlgo = readHash(s) ?? config.layer.hashAlgo;
      const dev = s.string('dev', 'an Ethernet interface name', DEV_MAX) ?? '';
      let ethertype = 0;
      if (type === IpcpType.ETH_DIX) ethertype = readEthertype(s) ?? ETH_DEFAULT_ETHERTYPE;
      config.eth = { dev, ethertype };
      break;
    }
    case IpcpType.UDP4:
    case IpcpType.UDP6: {
      const v4 = type === IpcpType.UDP4;
      const ip = readIp(s, 'ip', v4) ?? (v4 ? '0.0.0.0' : '::');
      const port = s.integer('port', 1, 65535) ?? UDP_DEFAULT_PORT;
      const dns = readIp(s, 'dns', v4) ?? (v4 ? '0.0.0.0' : '::');
      if (v4) config.udp4 = { ip, port, dns };
      else config.udp6 = { ip, port, dns };
      const extra = readUdpExtra(s);
      if (extra !== undefined) config.extra = extra;
      break;
    }
    case IpcpType.BROADCAST:
      break;
    case IpcpType.UNICAST:
      config.layer.hashAlgo = readHash(s) ?? config.layer.hashAlgo;
      config.unicast = readUnicast(s);
      break;
  }
  return config;
}

function readEthertype(s: Stanza): number | undefined {
  if (!s.has('ethertype')) return undefined;
  const v = s.table.ethertype;
  const accepted = 'accepted: 0x0600..0xFFFE (0xFFFF is reserved; default 0xA000)';
  if (typeof v !== 'bigint') s.fail('type', 'ethertype', `expected an integer such as 0xA000, got ${typeOf(v)}`);
  if (v < 0x0600n || v >= 0xffffn) {
    const shown = v >= 0n ? `${v} (${hex(v)})` : `${v}`;
    s.fail('range', 'ethertype', `${shown} is not a usable Ethertype; ${accepted}`);
  }
  return Number(v);
}

function readHash(s: Stanza): HashAlgo | undefined {
  return s.choice('hash', HASH_NAMES, '"SHA3_224", "SHA3_256" (default), "SHA3_384", "SHA3_512"');
}

function readIp(s: Stanza, key: string, v4: boolean): string | undefined {
  if (!s.has(key)) return undefined;
  const v = s.table[key];
  const example = v4 ? 'a dotted quad such as "127.0.0.1"' : 'an IPv6 address such as "::1"';
  if (typeof v !== 'string') s.fail('type', key, `expected a string with ${example}, got ${typeOf(v)}`);
  const ok = v4 ? isIPv4(v) : isIPv6(v) && !v.includes('%');
  if (!ok) s.fail('value', key, `${show(v)} is not a valid ${v4 ? 'IPv4' : 'IPv6'} address; expected ${example}`);
  return v;
}

function readUdpExtra(s: Stanza): Record<string, string> | undefined {
  const extra: Record<string, string> = {};
  const hosts = s.file('hosts', 'a hosts file (lines "<address> <name hash>")');
  if (hosts !== undefined) extra.hosts = hosts;
  for (const key of ['drop', 'dup', 'reorder', 'corrupt'] as const) {
    const p = s.number(key, 0, 1, 'a probability from 0 to 1');
    if (p !== undefined) extra[key] = String(p);
  }
  const delay = s.number('delay', 0, Number.MAX_SAFE_INTEGER, 'a delay in milliseconds, 0 or more');
  if (delay !== undefined) extra.delay = String(delay);
  return Object.keys(extra).length > 0 ? extra : undefined;
}

function readUnicast(s: Stanza): UnicastConfig {
  const u: UnicastConfig = { ...UNICAST_DEFAULTS };

  u.addrSize = s.integer('addr_size', 4, 4, '4 (the flat address authority uses 32-bit addresses)') ?? u.addrSize;
  u.eidSize = s.integer('eid_size', 8, 8, '8 (64-bit endpoint identifiers, the only size supported)') ?? u.eidSize;
  u.maxTtl = s.integer('max_ttl', 1, 255) ?? u.maxTtl;

  u.routing = s.choice(
    'routing',
    { 'link-state': RoutingPolicy.LINK_STATE, lfa: RoutingPolicy.LFA, ecmp: RoutingPolicy.ECMP },
    '"link-state" (default), "lfa", "ecmp"',
  ) ?? u.routing;
  u.lsTRecalc = s.integer('ls_t_recalc', 1, U32_MAX, '1 or more (seconds)') ?? u.lsTRecalc;
  u.lsTUpdate = s.integer('ls_t_update', 1, U32_MAX, '1 or more (seconds)') ?? u.lsTUpdate;
  u.lsTTimeo = s.integer('ls_t_timeo', 1, U32_MAX, '1 or more (seconds)') ?? u.lsTTimeo;

  u.addrAuth = s.choice('addr-auth', { flat: 0 }, '"flat" (default)') ?? u.addrAuth;
  u.congestion = s.choice(
    'congestion',
    { none: CongestionPolicy.NONE, lfa: CongestionPolicy.MB_ECN, 'mb-ecn': CongestionPolicy.MB_ECN },
    '"none", "lfa" (selects mb-ecn, as the reference reads it), "mb-ecn" (default)',
  ) ?? u.congestion;

  s.choice('directory', { DHT: 0, dht: 0 }, '"DHT" (default), "dht"');

  if (s.has('dht_t_expire') && s.has('dht_t_expiry')) {
    s.fail('value', 'dht_t_expiry', 'given together with dht_t_expire; dht_t_expiry is an alias, give one of them');
  }
  const range = (key: keyof typeof DHT_LIMITS, as: string = key): number | undefined =>
    s.integer(as, DHT_LIMITS[key][0], DHT_LIMITS[key][1]);
  u.dhtAlpha = range('dht_alpha') ?? u.dhtAlpha;
  u.dhtK = range('dht_k') ?? u.dhtK;
  u.dhtTExpire = range('dht_t_expire') ?? range('dht_t_expire', 'dht_t_expiry') ?? u.dhtTExpire;
  u.dhtTRefresh = range('dht_t_refresh') ?? u.dhtTRefresh;
  u.dhtTReplicate = range('dht_t_replicate') ?? u.dhtTReplicate;
  return u;
}

// ---------------------------------------------------------------------------
// The file

/**
 * Parses irmd.conf text into the plan. Throws {@link ConfigError}.
 */
export function parseIrmdConfig(text: string, opts: ParseIrmdConfigOptions = {}): ConfigStanza[] {
  const source = opts.source ?? 'irmd.conf';
  let doc: Table;
  try {
    doc = parse(text, { integersAsBigInt: true }) as Table;
  } catch (err) {
    if (err instanceof TomlError) {
      const [first = '', ...rest] = err.message.split('\n');
      const what = first.replace(/^Invalid TOML document:\s*/, '');
      const excerpt = rest.join('\n').trimEnd();
      throw new ConfigError(
        'syntax',
        source,
        `not valid TOML (column ${err.column}): ${what}${excerpt ? `\n${excerpt}` : ''}`,
        { line: err.line },
        { cause: err },
      );
    }
    throw new ConfigError('syntax', source, `not valid TOML: ${(err as Error).message}`, {}, { cause: err });
  }

  const ctx: Ctx = {
    source,
    index: new SourceIndex(text),
    checkPaths: opts.checkPaths ?? true,
    warn: opts.warn ?? (() => {}),
  };

  const stanzas: ConfigStanza[] = [];
  const ipcpNames = new Map<string, string>();

  for (const top of Object.keys(doc)) {
    const where = (): { table: string; line?: number } => {
      const line = ctx.index.lineOf([top]) ?? ctx.index.lineOf([], top);
      return line !== undefined ? { table: top, line } : { table: top };
    };
    const type = top === 'name' ? undefined : ipcpTypeByName(top);
    if (top !== 'name' && type === undefined) {
      const near = closest(top, TOP_LEVEL);
      throw new ConfigError(
        'table',
        source,
        `unknown top-level ${isTable(doc[top]) ? 'table' : 'key'}; ${near !== undefined ? `did you mean [${near}.…]? ` : ''}accepted: ${TOP_LEVEL.map((t) => `[${t}.<${t === 'name' ? 'name' : 'ipcp name'}>]`).join(', ')}`,
        where(),
      );
    }
    const group = doc[top];
    const member = top === 'name' ? 'name' : 'ipcp name';
    if (!isTable(group)) {
      throw new ConfigError('table', source, `expected a table of stanzas such as [${top}.<${member}>], got ${typeOf(group)}`, where());
    }

    for (const key of ctx.index.order([top], Object.keys(group))) {
      const table = group[key];
      if (!isTable(table)) {
        const s: Stanza = new Stanza(ctx, [top, key], {});
        s.fail('table', undefined, `expected a table ([${s.label}] followed by its keys), got ${typeOf(table)}`);
      }
      if (type === undefined) {
        stanzas.push(readName(ctx, key, table));
        continue;
      }
      const stanza = readIpcp(ctx, type, key, table);
      const other = ipcpNames.get(key);
      if (other !== undefined) {
        new Stanza(ctx, [top, key], table).fail('duplicate', undefined, `IPCP name ${JSON.stringify(key)} is already used by [${other}]; IPCP names must be unique`);
      }
      ipcpNames.set(key, new Stanza(ctx, [top, key], table).label);
      stanzas.push(stanza);
    }
  }

  if (!opts.allowUnbuilt) refuseUnbuilt(ctx, stanzas);
  return stanzas;
}

/** After the whole file validated: refuse IPCP types this build lacks. */
function refuseUnbuilt(ctx: Ctx, stanzas: ConfigStanza[]): void {
  const missing = stanzas.filter((s): s is IpcpStanza => s.kind === 'ipcp' && !isBuilt(s.type));
  if (missing.length === 0) return;
  const first = missing[0]!;
  const typeName = IPCP_TYPE_NAMES[first.type];
  const s = new Stanza(ctx, [typeName, first.name], {});
  const others = missing.slice(1).map((m) => `[${new Stanza(ctx, [IPCP_TYPE_NAMES[m.type], m.name], {}).label}]`);
  const available = BUILT_IPCP_TYPES.map((t) => IPCP_TYPE_NAMES[t]).join(', ');
  s.fail(
    'unavailable',
    undefined,
    `IPCP type ${typeName} is not available in this version of o7s yet (available: ${available})` +
      (others.length > 0 ? `; also not available: ${others.join(', ')}` : ''),
  );
}

/** Reads and parses an irmd.conf file. Throws {@link ConfigError}. */
export async function loadIrmdConfig(
  file: string,
  opts: Omit<ParseIrmdConfigOptions, 'source'> = {},
): Promise<ConfigStanza[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError('io', file, `cannot read the configuration file (${code})`, {}, { cause: err });
  }
  return parseIrmdConfig(text, { ...opts, source: file });
}
