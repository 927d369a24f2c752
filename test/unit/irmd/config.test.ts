import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  loadIrmdConfig,
  parseIrmdConfig,
} from '../../../src/irmd/config.js';
import type { ConfigErrorKind, ConfigStanza, IpcpStanza, NameStanza } from '../../../src/irmd/config.js';
import { HashAlgo } from '../../../src/common/hash.js';
import { IPCP_TYPE_NAMES, IpcpType, LoadBalance, UNICAST_DEFAULTS, isBuilt } from '../../../src/common/ipcp-types.js';

/** The checkout's root, whether this runs from test/ or from dist/test/. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above the test');
    dir = up;
  }
  return dir;
}

const ROOT = repoRoot();
const EXAMPLE = join(ROOT, 'test/fixtures/irmd.conf.example');
const DEFAULT = join(ROOT, 'config/irmd.conf');

/** Parses with paths unchecked and unbuilt types allowed, collecting warnings. */
function plan(text: string, opts: { checkPaths?: boolean } = {}): { stanzas: ConfigStanza[]; warnings: string[] } {
  const warnings: string[] = [];
  const stanzas = parseIrmdConfig(text, {
    checkPaths: opts.checkPaths ?? false,
    allowUnbuilt: true,
    warn: (m) => warnings.push(m),
  });
  return { stanzas, warnings };
}

function one(text: string): ConfigStanza {
  const { stanzas } = plan(text);
  assert.equal(stanzas.length, 1);
  return stanzas[0]!;
}

function ipcp(text: string): IpcpStanza {
  const s = one(text);
  assert.equal(s.kind, 'ipcp');
  return s as IpcpStanza;
}

/** Asserts the text is refused with exactly this message (and kind). */
function refused(text: string, kind: ConfigErrorKind, message: string | RegExp): ConfigError {
  let caught: unknown;
  try {
    parseIrmdConfig(text, { checkPaths: false, allowUnbuilt: true });
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  assert.equal(caught.kind, kind);
  return caught;
}

const uni = (over: Partial<typeof UNICAST_DEFAULTS> = {}) => ({ ...UNICAST_DEFAULTS, ...over });

// ---------------------------------------------------------------------------

describe('irmd.conf: the reference example', () => {
  const text = readFileSync(EXAMPLE, 'utf8');

  it('parses every stanza and key of the example, in file order, with the reference defaults', () => {
    const { stanzas, warnings } = plan(text);
    const expected: ConfigStanza[] = [
      {
        kind: 'name', name: 'oping', lb: LoadBalance.ROUND_ROBIN,
        progs: [{ prog: '/usr/local/bin/oping', args: ['--listen'], auto: true }], paths: {},
      },
      {
        kind: 'name', name: 'oecho', lb: LoadBalance.ROUND_ROBIN,
        progs: [{ prog: '/usr/local/bin/oecho', args: ['--listen'], auto: true }], paths: {},
      },
      { kind: 'name', name: 'ocbr', lb: LoadBalance.SPILL, progs: [{ prog: '/usr/local/bin/ocbr', auto: false }], paths: {} },
      { kind: 'name', name: 'ovpn', lb: LoadBalance.SPILL, progs: [{ prog: '/usr/local/bin/ovpn', auto: false }], paths: {} },
      {
        kind: 'name', name: 'oping.secure', lb: LoadBalance.ROUND_ROBIN,
        progs: [{ prog: '/usr/local/bin/oping', args: ['--listen'], auto: true }], paths: {},
      },
      {
        kind: 'ipcp', name: 'local1', type: IpcpType.LOCAL, autobind: false, reg: ['bc1', 'LAN'], conn: [],
        bootstrap: { type: IpcpType.LOCAL, layer: { name: 'local1', hashAlgo: HashAlgo.SHA3_256 } },
      },
      {
        kind: 'ipcp', name: 'ethl', type: IpcpType.ETH_LLC, autobind: false, reg: [], conn: [],
        bootstrap: {
          type: IpcpType.ETH_LLC, layer: { name: 'ethl1', hashAlgo: HashAlgo.SHA3_256 }, eth: { dev: 'lo', ethertype: 0 },
        },
      },
      {
        kind: 'ipcp', name: 'eth1', type: IpcpType.ETH_DIX, autobind: false, reg: ['lan1'], conn: [],
        bootstrap: {
          type: IpcpType.ETH_DIX, layer: { name: 'eth1', hashAlgo: HashAlgo.SHA3_256 }, eth: { dev: 'lo', ethertype: 0xa000 },
        },
      },
      {
        kind: 'ipcp', name: 'udp1', type: IpcpType.UDP4, autobind: false, reg: [], conn: [],
        bootstrap: {
          type: IpcpType.UDP4, layer: { name: 'udp', hashAlgo: HashAlgo.MD5 }, udp4: { ip: '127.0.0.1', port: 3435, dns: '0.0.0.0' },
        },
      },
      {
        kind: 'ipcp', name: 'udp2', type: IpcpType.UDP6, autobind: false, reg: [], conn: [],
        bootstrap: {
          type: IpcpType.UDP6, layer: { name: 'udp2', hashAlgo: HashAlgo.MD5 }, udp6: { ip: '::1', port: 3435, dns: '::' },
        },
      },
      {
        kind: 'ipcp', name: 'bc1', type: IpcpType.BROADCAST, autobind: false, reg: [], conn: [],
        bootstrap: { type: IpcpType.BROADCAST, layer: { name: 'broadcast', hashAlgo: HashAlgo.SHA3_256 } },
      },
      { kind: 'ipcp', name: 'bc2', type: IpcpType.BROADCAST, autobind: false, reg: [], conn: [], enrol: 'bc1' },
      {
        kind: 'ipcp', name: 'lan1', type: IpcpType.UNICAST, autobind: true, reg: ['oping'], conn: [],
        bootstrap: {
          type: IpcpType.UNICAST,
          layer: { name: 'LAN', hashAlgo: HashAlgo.SHA3_256 },
          unicast: {
            addrSize: 4, eidSize: 8, maxTtl: 60, routing: 0, lsTRecalc: 4, lsTUpdate: 15, lsTTimeo: 60,
            addrAuth: 0, congestion: 1, dhtAlpha: 3, dhtK: 8, dhtTExpire: 86400, dhtTRefresh: 900, dhtTReplicate: 900,
          },
        },
      },
      { kind: 'ipcp', name: 'lan2', type: IpcpType.UNICAST, autobind: true, reg: [], conn: ['lan1'], enrol: 'LAN' },
    ];
    assert.deepStrictEqual(stanzas, expected);
    assert.deepStrictEqual(warnings, []);
  });

  it('is refused without allowUnbuilt, naming the first IPCP type this build lacks', () => {
    const types = [IpcpType.ETH_LLC, IpcpType.ETH_DIX, IpcpType.UDP4, IpcpType.UDP6, IpcpType.BROADCAST, IpcpType.UNICAST];
    const lines: Record<number, number> = { 3: 73, 4: 79, 5: 87, 6: 94, 2: 101, 1: 109 };
    const firstMissing = types.find((t) => !isBuilt(t));
    if (firstMissing === undefined) {
      assert.equal(parseIrmdConfig(text, { source: 'example', checkPaths: false }).length, 14);
      return;
    }
    const name = IPCP_TYPE_NAMES[firstMissing];
    assert.throws(
      () => parseIrmdConfig(text, { source: 'example', checkPaths: false }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.kind, 'unavailable');
        assert.equal(err.line, lines[firstMissing]);
        assert.ok(
          err.message.startsWith(`example:${lines[firstMissing]}: [${name}.`),
          err.message,
        );
        assert.ok(err.message.includes(`IPCP type ${name} is not available in this version of o7s yet`), err.message);
        return true;
      },
    );
  });

  it('the refusal lists every unavailable stanza', () => {
    if (isBuilt(IpcpType.ETH_LLC) || isBuilt(IpcpType.UNICAST)) return;
    assert.throws(() => parseIrmdConfig(text, { checkPaths: false }), {
      message: /also not available: .*\[unicast\.lan1\], \[unicast\.lan2\]$/,
    });
  });
});

describe('irmd.conf: o7s default configuration', () => {
  it('has the local layer with oping and oecho auto-started with -l', async () => {
    const warnings: string[] = [];
    const stanzas = await loadIrmdConfig(DEFAULT, { warn: (m) => warnings.push(m) });
    assert.deepStrictEqual(stanzas, [
      { kind: 'name', name: 'oping', lb: LoadBalance.SPILL, progs: [{ prog: 'oping', args: ['-l'], auto: true }], paths: {} },
      { kind: 'name', name: 'oecho', lb: LoadBalance.SPILL, progs: [{ prog: 'oecho', args: ['-l'], auto: true }], paths: {} },
      {
        kind: 'ipcp', name: 'local', type: IpcpType.LOCAL, autobind: false, reg: ['oping', 'oecho'], conn: [],
        bootstrap: { type: IpcpType.LOCAL, layer: { name: 'local', hashAlgo: HashAlgo.SHA3_256 } },
      },
    ]);
    assert.deepStrictEqual(warnings, []);
  });

  it('uses only IPCP types this build ships', async () => {
    const stanzas = await loadIrmdConfig(DEFAULT);
    for (const s of stanzas) if (s.kind === 'ipcp') assert.ok(isBuilt(s.type));
  });
});

describe('irmd.conf: bootstrap keys per type', () => {
  it('unicast: every key, non-default', () => {
    const s = ipcp(`
[unicast.u]
bootstrap = "net"
addr_size = 4
eid_size = 8
max_ttl = 255
addr-auth = "flat"
routing = "ecmp"
ls_t_recalc = 1
ls_t_update = 30
ls_t_timeo = 120
congestion = "none"
directory = "DHT"
hash = "SHA3_512"
dht_alpha = 10
dht_k = 20
dht_t_expire = 10
dht_t_refresh = 3600
dht_t_replicate = 3
`);
    assert.deepStrictEqual(s.bootstrap, {
      type: IpcpType.UNICAST,
      layer: { name: 'net', hashAlgo: HashAlgo.SHA3_512 },
      unicast: {
        addrSize: 4, eidSize: 8, maxTtl: 255, routing: 2, lsTRecalc: 1, lsTUpdate: 30, lsTTimeo: 120,
        addrAuth: 0, congestion: 0, dhtAlpha: 10, dhtK: 20, dhtTExpire: 10, dhtTRefresh: 3600, dhtTReplicate: 3,
      },
    });
  });

  it('unicast: routing, congestion (lfa = mb-ecn as the reference; mb-ecn alias), directory spellings', () => {
    const routing = (r: string) => ipcp(`[unicast.u]\nbootstrap="l"\nrouting="${r}"`).bootstrap?.unicast?.routing;
    assert.equal(routing('link-state'), 0);
    assert.equal(routing('lfa'), 1);
    assert.equal(routing('ecmp'), 2);
    const ca = (c: string) => ipcp(`[unicast.u]\nbootstrap="l"\ncongestion="${c}"`).bootstrap?.unicast?.congestion;
    assert.equal(ca('none'), 0);
    assert.equal(ca('lfa'), 1);
    assert.equal(ca('mb-ecn'), 1);
    assert.deepStrictEqual(ipcp('[unicast.u]\nbootstrap="l"\ndirectory="dht"').bootstrap?.unicast, uni());
  });

  it('unicast: dht_t_expiry (the example\'s spelling) is read as dht_t_expire', () => {
    assert.equal(ipcp('[unicast.u]\nbootstrap="l"\ndht_t_expiry=3600').bootstrap?.unicast?.dhtTExpire, 3600);
    refused(
      '[unicast.u]\nbootstrap="l"\ndht_t_expire=3600\ndht_t_expiry=3600',
      'value',
      'irmd.conf:4: [unicast.u] dht_t_expiry: given together with dht_t_expire; dht_t_expiry is an alias, give one of them',
    );
  });

  it('unicast: range limits at both ends', () => {
    const ok: [string, number, keyof typeof UNICAST_DEFAULTS][] = [
      ['dht_alpha', 1, 'dhtAlpha'], ['dht_alpha', 10, 'dhtAlpha'],
      ['dht_k', 1, 'dhtK'], ['dht_k', 20, 'dhtK'],
      ['dht_t_expire', 10, 'dhtTExpire'], ['dht_t_expire', 86400, 'dhtTExpire'],
      ['dht_t_refresh', 3, 'dhtTRefresh'], ['dht_t_refresh', 3600, 'dhtTRefresh'],
      ['dht_t_replicate', 3, 'dhtTReplicate'], ['dht_t_replicate', 3600, 'dhtTReplicate'],
      ['max_ttl', 1, 'maxTtl'],
    ];
    for (const [key, v, field] of ok) {
      assert.equal(ipcp(`[unicast.u]\nbootstrap="l"\n${key}=${v}`).bootstrap?.unicast?.[field], v, key);
    }
    const bad: [string, number, string][] = [
      ['dht_alpha', 0, '1..10'], ['dht_alpha', 11, '1..10'],
      ['dht_k', 0, '1..20'], ['dht_k', 21, '1..20'],
      ['dht_t_expire', 9, '10..86400'], ['dht_t_expire', 86401, '10..86400'],
      ['dht_t_refresh', 2, '3..3600'], ['dht_t_refresh', 3601, '3..3600'],
      ['dht_t_replicate', 2, '3..3600'], ['dht_t_replicate', 3601, '3..3600'],
      ['ls_t_recalc', 0, '1 or more (seconds)'], ['ls_t_update', 0, '1 or more (seconds)'],
      ['ls_t_timeo', -5, '1 or more (seconds)'],
      ['max_ttl', 0, '1..255'], ['max_ttl', 256, '1..255'],
    ];
    for (const [key, v, accepted] of bad) {
      refused(`[unicast.u]\nbootstrap="l"\n${key}=${v}`, 'range', `irmd.conf:3: [unicast.u] ${key}: ${v} is out of range; accepted: ${accepted}`);
    }
    refused('[unicast.u]\nbootstrap="l"\naddr_size=8', 'range',
      'irmd.conf:3: [unicast.u] addr_size: 8 is out of range; accepted: 4 (the flat address authority uses 32-bit addresses)');
    refused('[unicast.u]\nbootstrap="l"\neid_size=4', 'range',
      'irmd.conf:3: [unicast.u] eid_size: 4 is out of range; accepted: 8 (64-bit endpoint identifiers, the only size supported)');
  });

  it('unicast: bad policy names', () => {
    refused('[unicast.u]\nbootstrap="l"\nrouting="ospf"', 'value',
      'irmd.conf:3: [unicast.u] routing: "ospf" is not accepted; accepted: "link-state" (default), "lfa", "ecmp"');
    refused('[unicast.u]\nbootstrap="l"\ncongestion="cubic"', 'value',
      'irmd.conf:3: [unicast.u] congestion: "cubic" is not accepted; accepted: "none", "lfa" (selects mb-ecn, as the reference reads it), "mb-ecn" (default)');
    refused('[unicast.u]\nbootstrap="l"\naddr-auth="random"', 'value',
      'irmd.conf:3: [unicast.u] addr-auth: "random" is not accepted; accepted: "flat" (default)');
    refused('[unicast.u]\nbootstrap="l"\ndirectory="Dht"', 'value',
      'irmd.conf:3: [unicast.u] directory: "Dht" is not accepted; accepted: "DHT" (default), "dht"');
    refused('[unicast.u]\nbootstrap="l"\nhash="sha3_256"', 'value',
      'irmd.conf:3: [unicast.u] hash: "sha3_256" is not accepted; accepted: "SHA3_224", "SHA3_256" (default), "SHA3_384", "SHA3_512"');
  });

  it('local: hash', () => {
    for (const [h, algo] of [['SHA3_224', 0], ['SHA3_256', 1], ['SHA3_384', 2], ['SHA3_512', 3]] as const) {
      assert.deepStrictEqual(ipcp(`[local.l]\nbootstrap="x"\nhash="${h}"`).bootstrap, {
        type: IpcpType.LOCAL, layer: { name: 'x', hashAlgo: algo },
      });
    }
    refused('[local.l]\nbootstrap="x"\nhash="MD5"', 'value', /\[local\.l\] hash: "MD5" is not accepted/);
    refused('[local.l]\nbootstrap="x"\nhash=256', 'type', /\[local\.l\] hash: expected a string, got an integer \(256\)/);
  });

  it('eth-llc / eth-dix: dev, ethertype, hash', () => {
    assert.deepStrictEqual(ipcp('[eth-dix.e]\nbootstrap="x"\ndev="eth0"\nethertype=0xA007\nhash="SHA3_224"').bootstrap, {
      type: IpcpType.ETH_DIX, layer: { name: 'x', hashAlgo: HashAlgo.SHA3_224 }, eth: { dev: 'eth0', ethertype: 0xa007 },
    });
    assert.equal(ipcp('[eth-dix.e]\nbootstrap="x"\ndev="eth0"\nethertype=0x0600').bootstrap?.eth?.ethertype, 0x0600);
    assert.equal(ipcp('[eth-dix.e]\nbootstrap="x"\ndev="eth0"\nethertype=0xFFFE').bootstrap?.eth?.ethertype, 0xfffe);
    assert.deepStrictEqual(ipcp('[eth-llc.e]\nbootstrap="x"\ndev="eth0"\nhash="SHA3_384"').bootstrap, {
      type: IpcpType.ETH_LLC, layer: { name: 'x', hashAlgo: HashAlgo.SHA3_384 }, eth: { dev: 'eth0', ethertype: 0 },
    });
  });

  it('eth-dix: bad Ethertypes', () => {
    const accepted = 'accepted: 0x0600..0xFFFE (0xFFFF is reserved; default 0xA000)';
    refused('[eth-dix.e]\nbootstrap="x"\ndev="lo"\nethertype=0x05FF', 'range',
      `irmd.conf:4: [eth-dix.e] ethertype: 1535 (0x05FF) is not a usable Ethertype; ${accepted}`);
    refused('[eth-dix.e]\nbootstrap="x"\ndev="lo"\nethertype=0xFFFF', 'range',
      `irmd.conf:4: [eth-dix.e] ethertype: 65535 (0xFFFF) is not a usable Ethertype; ${accepted}`);
    refused('[eth-dix.e]\nbootstrap="x"\ndev="lo"\nethertype=0x10000', 'range',
      `irmd.conf:4: [eth-dix.e] ethertype: 65536 (0x10000) is not a usable Ethertype; ${accepted}`);
    refused('[eth-dix.e]\nbootstrap="x"\ndev="lo"\nethertype=-1', 'range',
      `irmd.conf:4: [eth-dix.e] ethertype: -1 is not a usable Ethertype; ${accepted}`);
    refused('[eth-dix.e]\nbootstrap="x"\ndev="lo"\nethertype="0xA000"', 'type',
      'irmd.conf:4: [eth-dix.e] ethertype: expected an integer such as 0xA000, got a string ("0xA000")');
    refused('[eth-llc.e]\nbootstrap="x"\ndev="lo"\nethertype=0xA000', 'key',
      'irmd.conf:4: [eth-llc.e] ethertype: unknown key for an eth-llc IPCP; ethertype is a key for eth-dix IPCPs; accepted keys: bootstrap, enrol, autobind, reg, conn, dev, hash');
  });

  it('eth: dev is required to bootstrap', () => {
    refused('[eth-llc.e]\nbootstrap="x"', 'missing',
      'irmd.conf:1: [eth-llc.e] dev: missing; an eth-llc IPCP needs dev (the Ethernet interface, e.g. "eth0") to bootstrap');
    refused('[eth-dix.e]\nbootstrap="x"\nethertype=0xA001', 'missing',
      'irmd.conf:1: [eth-dix.e] dev: missing; an eth-dix IPCP needs dev (the Ethernet interface, e.g. "eth0") to bootstrap');
    refused('[eth-dix.e]\nbootstrap="x"\ndev=""', 'value', 'irmd.conf:3: [eth-dix.e] dev: must not be empty; expected an Ethernet interface name');
    // Without bootstrap the IPCP is only created: dev is not needed.
    assert.deepStrictEqual(ipcp('[eth-llc.e]'), { kind: 'ipcp', name: 'e', type: IpcpType.ETH_LLC, autobind: false, reg: [], conn: [] });
  });

  it('udp4: ip, port, dns', () => {
    assert.deepStrictEqual(ipcp('[udp4.u]\nbootstrap="x"\nip="10.0.0.1"\nport=9000\ndns="10.0.0.53"').bootstrap, {
      type: IpcpType.UDP4, layer: { name: 'x', hashAlgo: HashAlgo.MD5 }, udp4: { ip: '10.0.0.1', port: 9000, dns: '10.0.0.53' },
    });
    refused('[udp4.u]\nbootstrap="x"', 'missing',
      'irmd.conf:1: [udp4.u] ip: missing; a udp4 IPCP needs ip (its IPv4 address, e.g. "127.0.0.1") to bootstrap');
    for (const bad of ['1.2.3.400', '1.2.3', '01.2.3.4', '::1', 'localhost', '']) {
      refused(`[udp4.u]\nbootstrap="x"\nip="${bad}"`, 'value',
        `irmd.conf:3: [udp4.u] ip: "${bad}" is not a valid IPv4 address; expected a dotted quad such as "127.0.0.1"`);
    }
    refused('[udp4.u]\nbootstrap="x"\nip="1.2.3.4"\ndns="1.2.3"', 'value',
      'irmd.conf:4: [udp4.u] dns: "1.2.3" is not a valid IPv4 address; expected a dotted quad such as "127.0.0.1"');
    refused('[udp4.u]\nbootstrap="x"\nip=127001', 'type',
      'irmd.conf:3: [udp4.u] ip: expected a string with a dotted quad such as "127.0.0.1", got an integer (127001)');
    refused('[udp4.u]\nbootstrap="x"\nip="1.2.3.4"\nport="9000"', 'type', 'irmd.conf:4: [udp4.u] port: expected an integer, got a string ("9000")');
    refused('[udp4.u]\nbootstrap="x"\nip="1.2.3.4"\nport=3435.0', 'type', 'irmd.conf:4: [udp4.u] port: expected an integer, got a float (3435)');
    refused('[udp4.u]\nbootstrap="x"\nip="1.2.3.4"\nport=0', 'range', 'irmd.conf:4: [udp4.u] port: 0 is out of range; accepted: 1..65535');
    refused('[udp4.u]\nbootstrap="x"\nip="1.2.3.4"\nport=65536', 'range', 'irmd.conf:4: [udp4.u] port: 65536 is out of range; accepted: 1..65535');
    refused('[udp4.u]\nbootstrap="x"\nip="1.2.3.4"\nhash="SHA3_256"', 'key',
      /^irmd\.conf:4: \[udp4\.u\] hash: unknown key for a udp4 IPCP; udp layers always hash names with MD5, so hash cannot be set; accepted keys: /);
  });

  it('udp6: ip, port and dns are really parsed (not the reference\'s :: quirk)', () => {
    assert.deepStrictEqual(ipcp('[udp6.u]\nbootstrap="x"\nip="fd00::2"\nport=4000\ndns="fd00::53"').bootstrap, {
      type: IpcpType.UDP6, layer: { name: 'x', hashAlgo: HashAlgo.MD5 }, udp6: { ip: 'fd00::2', port: 4000, dns: 'fd00::53' },
    });
    refused('[udp6.u]\nbootstrap="x"', 'missing',
      'irmd.conf:1: [udp6.u] ip: missing; a udp6 IPCP needs ip (its IPv6 address, e.g. "::1") to bootstrap');
    for (const bad of ['127.0.0.1', 'fe80::1%eth0', '[::1]', ':::1']) {
      refused(`[udp6.u]\nbootstrap="x"\nip="${bad}"`, 'value',
        `irmd.conf:3: [udp6.u] ip: "${bad}" is not a valid IPv6 address; expected an IPv6 address such as "::1"`);
    }
    refused('[udp6.u]\nbootstrap="x"\nip="::1"\ndns="10.0.0.1"', 'value', /\[udp6\.u\] dns: "10\.0\.0\.1" is not a valid IPv6 address/);
  });

  it('udp: o7s extension keys go to bootstrap.extra as strings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'o7s-conf-'));
    try {
      const hosts = join(dir, 'hosts');
      writeFileSync(hosts, '');
      const s = parseIrmdConfig(
        `[udp4.u]\nbootstrap="x"\nip="127.0.0.1"\nhosts="${hosts}"\ndrop=0.1\ndup=0\nreorder=1\ncorrupt=0.25\ndelay=20`,
        { allowUnbuilt: true },
      )[0] as IpcpStanza;
      assert.deepStrictEqual(s.bootstrap?.extra, { hosts: realpathSync(hosts), drop: '0.1', dup: '0', reorder: '1', corrupt: '0.25', delay: '20' });
      refused(`[udp6.u]\nbootstrap="x"\nip="::1"\ndrop=1.5`, 'range', 'irmd.conf:4: [udp6.u] drop: 1.5 is out of range; accepted: a probability from 0 to 1');
      refused(`[udp6.u]\nbootstrap="x"\nip="::1"\ncorrupt=-0.1`, 'range', 'irmd.conf:4: [udp6.u] corrupt: -0.1 is out of range; accepted: a probability from 0 to 1');
      refused(`[udp6.u]\nbootstrap="x"\nip="::1"\ndelay=-1`, 'range', 'irmd.conf:4: [udp6.u] delay: -1 is out of range; accepted: a delay in milliseconds, 0 or more');
      refused(`[udp6.u]\nbootstrap="x"\nip="::1"\ndup="often"`, 'type',
        'irmd.conf:4: [udp6.u] dup: expected a number, got a string ("often"); accepted: a probability from 0 to 1');
      assert.throws(
        () => parseIrmdConfig(`[udp4.u]\nbootstrap="x"\nip="127.0.0.1"\nhosts="${join(dir, 'nope')}"`, { allowUnbuilt: true }),
        (err: unknown) => err instanceof ConfigError && err.kind === 'path' && err.key === 'hosts',
      );
      // Without extension keys there is no extra.
      assert.equal(ipcp('[udp4.u]\nbootstrap="x"\nip="127.0.0.1"').bootstrap?.extra, undefined);
      // They are not keys of other types.
      refused('[local.l]\nbootstrap="x"\ndrop=0.1', 'key', /\[local\.l\] drop: unknown key for a local IPCP; drop is a key for udp4, udp6 IPCPs/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('broadcast: no bootstrap keys; hash is fixed', () => {
    assert.deepStrictEqual(ipcp('[broadcast.b]\nbootstrap="bc"').bootstrap, {
      type: IpcpType.BROADCAST, layer: { name: 'bc', hashAlgo: HashAlgo.SHA3_256 },
    });
    refused('[broadcast.b]\nbootstrap="bc"\nhash="SHA3_224"', 'key',
      'irmd.conf:3: [broadcast.b] hash: unknown key for a broadcast IPCP; broadcast layers always use SHA3_256, so hash cannot be set; accepted keys: bootstrap, enrol, autobind, reg, conn');
  });
});

describe('irmd.conf: IPCP stanzas', () => {
  it('enrol wins over bootstrap, with a warning', () => {
    const { stanzas, warnings } = plan('[unicast.u]\nbootstrap="l"\nenrol="peer"\nautobind=true\nreg=["a"]\nconn=["n1","n2"]\ndht_k=4');
    assert.deepStrictEqual(stanzas, [
      { kind: 'ipcp', name: 'u', type: IpcpType.UNICAST, autobind: true, reg: ['a'], conn: ['n1', 'n2'], enrol: 'peer' },
    ]);
    assert.deepStrictEqual(warnings, [
      'irmd.conf:1: [unicast.u] bootstrap is ignored: enrol is given, and enrol wins',
      'irmd.conf:1: [unicast.u] dht_k only applies when bootstrapping; ignored with enrol',
    ]);
  });

  it('bootstrap keys are still validated when enrol is given', () => {
    refused('[unicast.u]\nenrol="peer"\ndht_k=40', 'range', /dht_k: 40 is out of range/);
  });

  it('without bootstrap or enrol the IPCP is only created', () => {
    const { stanzas, warnings } = plan('[local.l]\nautobind=true\nreg=["a"]');
    assert.deepStrictEqual(stanzas, [{ kind: 'ipcp', name: 'l', type: IpcpType.LOCAL, autobind: false, reg: [], conn: [] }]);
    assert.deepStrictEqual(warnings, ['irmd.conf:1: [local.l] autobind, reg ignored: without bootstrap or enrol the IPCP is only created']);
  });

  it('conn only after enrol', () => {
    const { stanzas, warnings } = plan('[unicast.u]\nbootstrap="l"\nconn=["x"]');
    assert.deepStrictEqual((stanzas[0] as IpcpStanza).conn, []);
    assert.deepStrictEqual(warnings, ['irmd.conf:1: [unicast.u] conn is only carried out after enrol; ignored with bootstrap']);
  });

  it('only unicast and broadcast IPCPs enrol and connect', () => {
    refused('[local.l]\nenrol="x"', 'value',
      'irmd.conf:2: [local.l] enrol: a local IPCP cannot enrol; only unicast and broadcast IPCPs enrol (use bootstrap)');
    refused('[udp4.u]\nbootstrap="x"\nip="1.2.3.4"\nconn=["y"]', 'value',
      'irmd.conf:4: [udp4.u] conn: a udp4 IPCP has no neighbours to connect to; conn is for unicast and broadcast IPCPs');
  });

  it('autobind is a boolean; false means no autobind', () => {
    assert.equal(ipcp('[local.l]\nbootstrap="x"\nautobind=true').autobind, true);
    assert.equal(ipcp('[local.l]\nbootstrap="x"\nautobind=false').autobind, false);
    assert.equal(ipcp('[local.l]\nbootstrap="x"').autobind, false);
    refused('[local.l]\nbootstrap="x"\nautobind="yes"', 'type', 'irmd.conf:3: [local.l] autobind: expected true or false, got a string ("yes")');
  });

  it('reg, conn, bootstrap, enrol: types and sizes', () => {
    refused('[local.l]\nbootstrap="x"\nreg="a"', 'type', 'irmd.conf:3: [local.l] reg: expected an array of strings (a name to register), got a string ("a")');
    refused('[local.l]\nbootstrap="x"\nreg=["a", 1]', 'type', 'irmd.conf:3: [local.l] reg: element 2 must be a string (a name to register), got an integer (1)');
    refused('[local.l]\nbootstrap="x"\nreg=["a", ""]', 'value', 'irmd.conf:3: [local.l] reg: element 2 is empty; expected a name to register');
    refused(`[local.l]\nbootstrap="x"\nreg=["${'n'.repeat(256)}"]`, 'range',
      /\[local\.l\] reg: element 1 "n+" is too long \(256 bytes\); at most 255 bytes$/);
    assert.deepStrictEqual(ipcp(`[local.l]\nbootstrap="x"\nreg=["${'n'.repeat(255)}"]`).reg, ['n'.repeat(255)]);
    refused('[local.l]\nbootstrap=1', 'type', 'irmd.conf:2: [local.l] bootstrap: expected a string (the name of the layer to bootstrap), got an integer (1)');
    refused('[local.l]\nbootstrap=""', 'value', 'irmd.conf:2: [local.l] bootstrap: must not be empty; expected the name of the layer to bootstrap');
    refused(`[local.l]\nbootstrap="${'é'.repeat(128)}"`, 'range', /bootstrap: ".*" is too long \(256 bytes\); at most 255 bytes$/);
    refused('[unicast.u]\nenrol=["a"]', 'type', 'irmd.conf:2: [unicast.u] enrol: expected a string (the name of an IPCP or layer to enrol with), got an array');
  });

  it('IPCP names are unique across types, and non-empty', () => {
    refused('[local.a]\n[unicast.a]\n', 'duplicate', 'irmd.conf:2: [unicast.a]: IPCP name "a" is already used by [local.a]; IPCP names must be unique');
    refused('[local.""]\n', 'value', 'irmd.conf:1: [local.""]: the IPCP name must not be empty');
    refused(`[local.${'x'.repeat(256)}]\n`, 'range', /the IPCP name is too long \(256 bytes\); at most 255 bytes$/);
  });
});

describe('irmd.conf: name stanzas', () => {
  it('prog and args: the i-th args entry auto-starts the i-th prog', () => {
    const s = one('[name.n]\nprog=["/bin/a", "b", "c"]\nargs=["  -l   -c 5 ", ""]') as NameStanza;
    assert.deepStrictEqual(s, {
      kind: 'name', name: 'n', lb: LoadBalance.SPILL,
      progs: [
        { prog: '/bin/a', args: ['-l', '-c', '5'], auto: true },
        { prog: 'b', args: [], auto: true },
        { prog: 'c', auto: false },
      ],
      paths: {},
    });
    assert.deepStrictEqual(one('[name.n]'), { kind: 'name', name: 'n', lb: LoadBalance.SPILL, progs: [], paths: {} });
    assert.deepStrictEqual((one('[name.n]\nprog=["a"]\nargs=[]') as NameStanza).progs, [{ prog: 'a', auto: false }]);
  });

  it('lb', () => {
    assert.equal((one('[name.n]\nlb="spill"') as NameStanza).lb, LoadBalance.SPILL);
    assert.equal((one('[name.n]\nlb="round-robin"') as NameStanza).lb, LoadBalance.ROUND_ROBIN);
    refused('[name.n]\nlb="rr"', 'value', 'irmd.conf:2: [name.n] lb: "rr" is not accepted; accepted: "spill" (default), "round-robin"');
  });

  it('bad prog / args', () => {
    refused('[name.n]\nargs=["-l"]', 'missing', 'irmd.conf:2: [name.n] args: given without prog; args[i] holds the arguments of prog[i]');
    refused('[name.n]\nprog=["a"]\nargs=["-l", "-x"]', 'value',
      'irmd.conf:3: [name.n] args: has 2 entries but prog has 1; args[i] holds the arguments of prog[i]');
    refused('[name.n]\nprog="oping"', 'type', 'irmd.conf:2: [name.n] prog: expected an array of strings (a program name or path), got a string ("oping")');
    refused('[name.n]\nprog=[""]', 'value', 'irmd.conf:2: [name.n] prog: element 1 is empty; expected a program name or path');
    refused('[name.n]\nprog=["a"]\nargs="-l"', 'type', /\[name\.n\] args: expected an array of strings/);
  });

  it('security files: must exist, realpath\'ed, at most 511 characters', () => {
    const dir = mkdtempSync(join(tmpdir(), 'o7s-conf-'));
    try {
      const real = join(dir, 'crt.pem');
      writeFileSync(real, '');
      const link = join(dir, 'link.pem');
      symlinkSync(real, link);
      const keys = ['server_enc_file', 'server_crt_file', 'server_key_file', 'client_enc_file', 'client_crt_file', 'client_key_file'];
      const text = `[name."a.b"]\n${keys.map((k) => `${k}="${link}"`).join('\n')}`;
      const s = parseIrmdConfig(text)[0] as NameStanza;
      const rp = realpathSync(real);
      assert.deepStrictEqual(s.paths, { serverEnc: rp, serverCrt: rp, serverKey: rp, clientEnc: rp, clientCrt: rp, clientKey: rp });

      const missing = join(dir, 'missing.pem');
      assert.throws(() => parseIrmdConfig(`[name.n]\nserver_key_file="${missing}"`, { source: 'c.toml' }), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.kind, 'path');
        assert.equal(err.message, `c.toml:2: [name.n] server_key_file: cannot use "${missing}": no such file; expected a PEM private key that exists`);
        return true;
      });
      // Unchecked: taken as given (made absolute), the file need not exist.
      assert.deepStrictEqual((one(`[name.n]\nclient_enc_file="${missing}"`) as NameStanza).paths, { clientEnc: missing });
      const long = `/${'d'.repeat(600)}`;
      refused(`[name.n]\nclient_crt_file="${long}"`, 'path', /client_crt_file: path "\/d+" is too long \(601 bytes\); at most 511 bytes$/);
      refused('[name.n]\nserver_crt_file=5', 'type', 'irmd.conf:2: [name.n] server_crt_file: expected a string (a PEM certificate), got an integer (5)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names: non-empty, at most 255 bytes', () => {
    refused('[name.""]', 'value', 'irmd.conf:1: [name.""]: the name must not be empty');
    refused(`[name.${'x'.repeat(256)}]`, 'range', /the name is too long \(256 bytes\); at most 255 bytes$/);
    assert.equal((one(`[name.${'x'.repeat(255)}]`) as NameStanza).name, 'x'.repeat(255));
  });
});

describe('irmd.conf: errors', () => {
  it('unknown top-level table', () => {
    const err = refused('[name.a]\n\n[loopback.l]\nbootstrap="x"', 'table',
      'irmd.conf:3: [loopback]: unknown top-level table; accepted: [name.<name>], [local.<ipcp name>], [eth-llc.<ipcp name>], [eth-dix.<ipcp name>], [udp4.<ipcp name>], [udp6.<ipcp name>], [broadcast.<ipcp name>], [unicast.<ipcp name>]');
    assert.equal(err.table, 'loopback');
    assert.equal(err.line, 3);
    refused('[udp.u]\n', 'table', /^irmd\.conf:1: \[udp\]: unknown top-level table; did you mean \[udp4\.…\]\? accepted: /);
    refused('version = 1\n', 'table', /^irmd\.conf:1: \[version\]: unknown top-level key; accepted: /);
  });

  it('top-level tables and stanzas must be tables', () => {
    refused('name = "x"\n', 'table', 'irmd.conf:1: [name]: expected a table of stanzas such as [name.<name>], got a string ("x")');
    refused('[local]\nl = 1\n', 'table', 'irmd.conf:1: [local.l]: expected a table ([local.l] followed by its keys), got an integer (1)');
    refused('[[local.l]]\nbootstrap="x"\n', 'table', /\[local\.l\]: expected a table .*got an array$/);
  });

  it('unknown key in a stanza, with a suggestion', () => {
    const err = refused('[local.l]\nbootstrp="x"', 'key',
      'irmd.conf:2: [local.l] bootstrp: unknown key for a local IPCP; did you mean bootstrap? accepted keys: bootstrap, enrol, autobind, reg, conn, hash');
    assert.equal(err.table, 'local.l');
    assert.equal(err.key, 'bootstrp');
    assert.equal(err.line, 2);
    refused('[name.n]\nprogram=["x"]', 'key',
      'irmd.conf:2: [name.n] program: unknown key for a name; accepted keys: prog, args, lb, server_enc_file, server_crt_file, server_key_file, client_enc_file, client_crt_file, client_key_file');
    refused('[unicast.u]\nbootstrap="l"\ndht_t_expires=10', 'key', /dht_t_expires: unknown key for a unicast IPCP; did you mean dht_t_expire\?/);
  });

  it('TOML syntax errors carry the line number', () => {
    const err = refused('[name.a]\nprog=["x"]\nlb = spill\n', 'syntax', /^irmd\.conf:3: not valid TOML \(column \d+\): /);
    assert.equal(err.line, 3);
    assert.ok(err.cause !== undefined);
    refused('[local.a]\n[local.a]\n', 'syntax', /^irmd\.conf:2: not valid TOML/);
  });

  it('the error names the file given as source', () => {
    assert.throws(() => parseIrmdConfig('[x.y]', { source: '/etc/ouroboros/irmd.conf' }), {
      name: 'ConfigError',
      message: /^\/etc\/ouroboros\/irmd\.conf:1: \[x\]: unknown top-level table/,
    });
  });

  it('loadIrmdConfig reports an unreadable file', async () => {
    const file = join(tmpdir(), `o7s-no-such-${process.pid}.conf`);
    await assert.rejects(loadIrmdConfig(file), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.kind, 'io');
      assert.equal(err.message, `${file}: cannot read the configuration file (ENOENT)`);
      return true;
    });
  });

  it('loadIrmdConfig names the file in errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'o7s-conf-'));
    try {
      const file = join(dir, 'irmd.conf');
      writeFileSync(file, '[local.l]\nbootstrap = "x"\nhash = "SHA1"\n');
      await assert.rejects(loadIrmdConfig(file), (err: unknown) =>
        err instanceof ConfigError && err.message.startsWith(`${file}:3: [local.l] hash: "SHA1" is not accepted`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('irmd.conf: order and unavailable types', () => {
  it('stanzas come in file order, also for names that look like integers', () => {
    const { stanzas } = plan('[local.b]\n[local.2]\n[local."10"]\n[local.a]\n');
    assert.deepStrictEqual(stanzas.map((s) => s.name), ['b', '2', '10', 'a']);
  });

  it('top-level tables are taken in order of first appearance, as the reference does', () => {
    const { stanzas } = plan('[local.l1]\n[name.x]\n[local.l2]\n[name.y]\n');
    assert.deepStrictEqual(stanzas.map((s) => `${s.kind}:${s.name}`), ['ipcp:l1', 'ipcp:l2', 'name:x', 'name:y']);
  });

  it('a stanza of an unavailable type is fully validated before it is refused', () => {
    assert.equal(isBuilt(IpcpType.ETH_DIX), false, 'pick another unavailable type for this test');
    // A bad value in an unavailable type is reported as such, ...
    assert.throws(() => parseIrmdConfig('[eth-dix.e]\nbootstrap="x"\ndev="lo"\nethertype=1'), (err: unknown) =>
      err instanceof ConfigError && err.key === 'ethertype' && err.kind !== 'unavailable');
    // ... as is an error in a later stanza ...
    assert.throws(() => parseIrmdConfig('[eth-dix.e]\nbootstrap="x"\ndev="lo"\n[local.l]\nhash=5'), (err: unknown) =>
      err instanceof ConfigError && err.kind === 'type' && err.key === 'hash');
    // ... and a valid one is refused with the not-available message.
    assert.throws(() => parseIrmdConfig('[local.l]\nbootstrap="x"\n[eth-dix.e]\nbootstrap="x"\ndev="lo"'), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.kind, 'unavailable');
      assert.match(err.message, /^irmd\.conf:3: \[eth-dix\.e\]: IPCP type eth-dix is not available in this version of o7s yet \(available: .*local.*unicast.*udp4.*\)$/);
      return true;
    });
  });
});
