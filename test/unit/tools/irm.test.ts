import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, symlink, rm, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runIrm } from '../../../src/tools/irm/cli.js';
import { matches, pick, wildcardMatch, selects } from '../../../src/tools/irm/match.js';
import { usage } from '../../../src/tools/irm/usage.js';
import type { IpcpListEntry, IrmApi, NameInfo } from '../../../src/lib/irm-api.js';
import type { IpcpConfig, IpcpType } from '../../../src/common/ipcp-types.js';
import { OuroborosError, type ErrorCode } from '../../../src/common/errors.js';
import type { QosSpec } from '../../../src/lib/qos.js';
import { qos } from '../../../src/lib/qos.js';

type Call = [string, ...unknown[]];

/** An IrmApi that records every call and keeps a tiny registry. */
class FakeApi implements IrmApi {
  calls: Call[] = [];
  ipcps: IpcpListEntry[] = [];
  names: NameInfo[] = [];
  fail = new Map<string, ErrorCode>();
  /** Layer an IPCP ends up in after enroll. */
  enrollLayer = 'L';
  nextPid = 5000;
  closed = false;

  private rec(method: string, ...args: unknown[]): void {
    this.calls.push([method, ...args]);
    const code = this.fail.get(method);
    if (code) throw new OuroborosError(code);
  }

  /** Calls other than listing. */
  get actions(): Call[] {
    return this.calls.filter((c) => c[0] !== 'listIpcps' && c[0] !== 'listNames');
  }

  async createIpcp(name: string, type: IpcpType): Promise<number> {
    this.rec('createIpcp', name, type);
    const pid = this.nextPid++;
    this.ipcps.push({ pid, type, name, layer: 'Not enrolled.', hashAlgo: 1 });
    return pid;
  }
  async destroyIpcp(pid: number): Promise<void> {
    this.rec('destroyIpcp', pid);
  }
  async listIpcps(): Promise<IpcpListEntry[]> {
    this.rec('listIpcps');
    return this.ipcps.map((i) => ({ ...i }));
  }
  async bootstrapIpcp(pid: number, conf: IpcpConfig): Promise<void> {
    this.rec('bootstrapIpcp', pid, conf);
  }
  async enrollIpcp(pid: number, dst: string): Promise<void> {
    this.rec('enrollIpcp', pid, dst);
    const i = this.ipcps.find((p) => p.pid === pid);
    if (i) i.layer = this.enrollLayer;
  }
  async connectIpcp(pid: number, dst: string, component: string, q: QosSpec): Promise<void> {
    this.rec('connectIpcp', pid, dst, component, q);
  }
  async disconnectIpcp(pid: number, dst: string, component: string): Promise<void> {
    this.rec('disconnectIpcp', pid, dst, component);
  }
  async bindProgram(path: string, name: string, opts?: { auto?: boolean; args?: string[] }): Promise<void> {
    this.rec('bindProgram', path, name, opts);
  }
  async unbindProgram(prog: string, name?: string): Promise<void> {
    this.rec('unbindProgram', prog, name);
  }
  async bindProcess(pid: number, name: string): Promise<void> {
    this.rec('bindProcess', pid, name);
  }
  async unbindProcess(pid: number, name?: string): Promise<void> {
    this.rec('unbindProcess', pid, name);
  }
  async createName(info: NameInfo): Promise<void> {
    this.rec('createName', info);
  }
  async destroyName(name: string): Promise<void> {
    this.rec('destroyName', name);
  }
  async listNames(): Promise<NameInfo[]> {
    this.rec('listNames');
    return this.names.map((n) => ({ ...n }));
  }
  async regName(name: string, ipcpPid: number): Promise<void> {
    this.rec('regName', name, ipcpPid);
  }
  async unregName(name: string, ipcpPid: number): Promise<void> {
    this.rec('unregName', name, ipcpPid);
  }
  close(): void {
    this.closed = true;
  }
}

interface Result {
  code: number;
  out: string;
  err: string;
  api: FakeApi;
  connects: number;
}

async function irm(
  line: string | string[],
  setup?: (api: FakeApi) => void,
  opts: { connectError?: unknown; pidExists?: (pid: number) => boolean } = {},
): Promise<Result> {
  const api = new FakeApi();
  setup?.(api);
  let out = '';
  let err = '';
  let connects = 0;
  const argv = Array.isArray(line) ? line : line.split(' ').filter((w) => w !== '');
  const code = await runIrm(argv, {
    api: async () => {
      connects++;
      if (opts.connectError !== undefined) throw opts.connectError;
      return api;
    },
    out: (s) => (out += s),
    err: (s) => (err += s),
    ...(opts.pidExists ? { pidExists: opts.pidExists } : {}),
  });
  return { code, out, err, api, connects };
}

const LOCAL = 0, UNICAST = 1, BROADCAST = 2, ETH_LLC = 3, ETH_DIX = 4, UDP4 = 5, UDP6 = 6;
const SHA3_224 = 0, SHA3_256 = 1, SHA3_384 = 2, SHA3_512 = 3, MD5 = 5;

const ipcp = (pid: number, name: string, type: number, layer = 'Not enrolled.'): IpcpListEntry => ({
  pid, name, type: type as IpcpType, layer, hashAlgo: 1,
});

const UNICAST_DEFAULT = {
  addrSize: 4, eidSize: 8, maxTtl: 60, routing: 0, lsTRecalc: 4, lsTUpdate: 15, lsTTimeo: 60,
  addrAuth: 0, congestion: 1, dhtAlpha: 3, dhtK: 8, dhtTExpire: 86400, dhtTRefresh: 900, dhtTReplicate: 900,
};

const DAEMON = 'Failed to communicate with the Ouroboros IPC Resource Manager daemon.\n';

describe('irm matching helpers', () => {
  test('matches: typed word is a prefix of the keyword', () => {
    assert.equal(matches('ip', 'ipcp'), true);
    assert.equal(matches('ipcp', 'ipcp'), true);
    assert.equal(matches('ipcpx', 'ipcp'), false);
    assert.equal(matches('', 'name'), true);
    assert.equal(matches('x', 'name'), false);
  });
  test('pick: first keyword in order wins', () => {
    assert.equal(pick('d', ['create', 'destroy', 'disconnect']), 'destroy');
    assert.equal(pick('di', ['create', 'destroy', 'disconnect']), 'disconnect');
    assert.equal(pick('zz', ['a', 'b']), undefined);
  });
  test('wildcardMatch', () => {
    assert.equal(wildcardMatch('*', 'anything'), true);
    assert.equal(wildcardMatch('lo*', 'lo1'), true);
    assert.equal(wildcardMatch('lo*', 'xlo1'), false);
    assert.equal(wildcardMatch('*.layer', 'a.b.layer'), true);
    assert.equal(wildcardMatch('a*b*c', 'aXXbYYc'), true);
    assert.equal(wildcardMatch('a*b*c', 'aXXbYY'), false);
    assert.equal(wildcardMatch('abc', 'abc'), true);
    assert.equal(wildcardMatch('abc', 'abcd'), false);
    assert.equal(wildcardMatch('', ''), true);
    assert.equal(selects('x', 'x*'), true);
    assert.equal(selects('y', 'x*'), false);
  });
});

describe('irm top level and help', () => {
  test('no arguments: usage, exit 1, no daemon', async () => {
    const r = await irm([]);
    assert.equal(r.code, 1);
    assert.equal(r.out, 'Usage: irm [OPERATION]\n\nwhere OPERATION in { ipcp bind unbind name flow security }\n');
    assert.equal(r.connects, 0);
  });

  test('help works without a daemon', async () => {
    const r = await irm('help', undefined, { connectError: new Error('no daemon') });
    assert.equal(r.code, 0);
    assert.equal(r.out, usage.top);
    assert.equal(r.connects, 0);
    assert.equal((await irm('h')).out, usage.top);
  });

  test('unknown command', async () => {
    const r = await irm('frobnicate');
    assert.equal(r.code, 1);
    assert.equal(r.err, '"frobnicate" is unknown, try "irm help".\n');
    assert.equal(r.out, '');
  });

  test('help at every level', async () => {
    const cases: Array<[string, string]> = [
      ['ipcp help', usage.ipcp],
      ['ipcp create help', usage.ipcpCreate],
      ['ipcp destroy help', usage.ipcpDestroy],
      ['ipcp bootstrap help', usage.ipcpBootstrap],
      ['ipcp enroll help', usage.ipcpEnroll],
      ['ipcp connect help', usage.ipcpConnect],
      ['ipcp disconnect help', usage.ipcpDisconnect],
      ['ipcp list help', usage.ipcpList],
      ['bind help', usage.bind],
      ['bind program help', usage.bindProgram],
      ['bind process help', usage.bindProcess],
      ['bind ipcp help', usage.bindIpcp],
      ['unbind help', usage.unbind],
      ['unbind program help', usage.unbindProgram],
      ['unbind process help', usage.unbindProcess],
      ['unbind ipcp help', usage.unbindIpcp],
      ['name help', usage.name],
      ['name create help', usage.nameCreate],
      ['name destroy help', usage.nameDestroy],
      ['name register help', usage.nameRegister],
      ['name unregister help', usage.nameUnregister],
      ['name list help', usage.nameList],
    ];
    for (const [line, text] of cases) {
      const r = await irm(line, undefined, { connectError: new Error('no daemon') });
      assert.equal(r.code, 0, line);
      assert.equal(r.out, text, line);
      assert.equal(r.connects, 0, line);
    }
  });

  test('usage texts match the reference wording', () => {
    assert.equal(
      usage.ipcp,
      'Usage: irm ipcp [OPERATION]\n\nwhere OPERATION in {create destroy\n                    bootstrap enroll\n' +
        '                    connect disconnect\n                    list\n                    help}\n(o7s: also inspect)\n',
    );
    assert.equal(
      usage.ipcpCreate,
      'Usage: irm ipcp create\n                name <ipcp name>\n                type [TYPE]\n\n' +
        'where TYPE in {unicast broadcast local udp4 udp6 eth-llc eth-dix}\n',
    );
    assert.equal(usage.bindProcess, 'Usage: irm bind process <pid> name <name>\n');
    assert.equal(usage.nameDestroy, 'Usage: irm name destroy <name>\n');
    const b = usage.ipcpBootstrap.split('\n');
    assert.equal(b[0], 'Usage: irm ipcp bootstrap');
    assert.ok(b.includes('        [addr <address size> (default: 4)]'));
    assert.ok(b.includes('        [eid <eid size> (default: 8)]'));
    assert.ok(b.includes('        [ttl <max time-to-live>, default: 60)]'));
    assert.ok(b.includes('        [dht_t_expire <expiration (s)> (default: 86400)]'));
    assert.ok(b.includes('        [ls_t_timeo  <link timeout (s)> (default: 60)]'));
    assert.ok(b.includes('        [port <UDP port> (default: 3435)]'));
    assert.ok(b.includes('        [ethertype <ethertype> (default: 0xA000)]'));
    assert.ok(usage.ipcpBootstrap.endsWith('if TYPE == broadcast\n        [autobind]\n\n'));
    assert.ok(usage.nameCreate.includes('                <name>. max 255 chars.\n                [lb LB_POLICY], default: round-robin\n'));
    assert.ok(usage.nameRegister.includes('           [... (maximum 128 ipcps)]\n'));
  });

  test('sub-command dispatch errors', async () => {
    let r = await irm('ipcp');
    assert.deepEqual([r.code, r.out], [1, usage.ipcp]);
    r = await irm('ipcp frob');
    assert.deepEqual([r.code, r.err], [1, '"frob" is unknown, try "irm ipcp help".\n']);
    r = await irm('bind');
    assert.deepEqual([r.code, r.out], [1, usage.bind]);
    r = await irm('bind frob');
    assert.deepEqual([r.code, r.err], [1, '"frob" is unknown, try "irm bind help".\n']);
    r = await irm('unbind');
    assert.deepEqual([r.code, r.out], [1, usage.unbind]);
    r = await irm('unbind frob');
    assert.deepEqual([r.code, r.err], [1, '"frob" is unknown, try "irm unbind help".\n']);
    r = await irm('name');
    assert.deepEqual([r.code, r.out], [1, usage.name]);
    r = await irm('name frob');
    assert.deepEqual([r.code, r.err], [1, '"frob" is unknown, try "irm name help".\n']);
  });

  test('daemon unreachable: connect failure and EIRMD from a call', async () => {
    let r = await irm('ipcp list', undefined, { connectError: new OuroborosError('EIRMD') });
    assert.deepEqual([r.code, r.out], [1, DAEMON]);
    r = await irm('ipcp list', undefined, { connectError: Object.assign(new Error('connect ENOENT'), { code: 'ENOENT' }) });
    assert.deepEqual([r.code, r.out], [1, DAEMON]);
    r = await irm('name create foo', (a) => a.fail.set('createName', 'EIRMD'));
    assert.deepEqual([r.code, r.out, r.err], [1, DAEMON, '']);
    r = await irm('ipcp create name x type local', (a) => a.fail.set('createIpcp', 'EIRMD'));
    assert.deepEqual([r.code, r.out], [1, DAEMON]);
  });
});

describe('irm ipcp create / destroy / list', () => {
  test('create with prefixes', async () => {
    const r = await irm('i cr n lo1 t local');
    assert.equal(r.code, 0);
    assert.deepEqual(r.api.actions, [['createIpcp', 'lo1', LOCAL]]);
    assert.equal(r.out + r.err, '');
  });

  test('create: type not shipped by o7s', async () => {
    for (const t of ['eth-llc', 'eth-dix']) {
      const r = await irm(`ipcp create name x type ${t}`);
      assert.equal(r.code, 1, t);
      assert.equal(r.err, `The ${t} IPCP type is not available in this version of o7s yet.\n`);
      assert.equal(r.connects, 0);
    }
  });

  test('create: bad input', async () => {
    let r = await irm('ipcp create name x type foo');
    assert.equal(r.code, 1);
    assert.equal(r.out, 'IPCP type "foo" is unknown.\n' + usage.ipcpCreate);
    r = await irm('ipcp create name x type loc');
    assert.equal(r.code, 1, 'type is not prefix-matched by create');
    r = await irm('ipcp create name x');
    assert.deepEqual([r.code, r.out], [1, usage.ipcpCreate]);
    r = await irm('ipcp create name x type');
    assert.deepEqual([r.code, r.out], [1, usage.ipcpCreate]);
    r = await irm('ipcp create nome x type local');
    assert.deepEqual([r.code, r.out], [1, '"nome" is unknown, try "irm ipcp create".\n']);
    assert.equal(r.connects, 0);
  });

  test('create: API error is one clear line', async () => {
    const r = await irm('ipcp create name x type local', (a) => a.fail.set('createIpcp', 'EIPCP'));
    assert.equal(r.code, 1);
    assert.equal(r.err, 'Failed to create IPCP "x" of type local: failed to communicate with the IPCP (EIPCP).\n');
  });

  test('destroy by exact name', async () => {
    const setup = (a: FakeApi) => a.ipcps.push(ipcp(10, 'lo1', LOCAL), ipcp(11, 'lo2', LOCAL));
    let r = await irm('ipcp d name lo2', setup);
    assert.equal(r.code, 0);
    assert.deepEqual(r.api.actions, [['destroyIpcp', 11]]);
    r = await irm('ipcp destroy name lo', setup);
    assert.deepEqual([r.code, r.api.actions], [0, []]);
    r = await irm('ipcp destroy name lo1');
    assert.equal(r.code, 1);
    assert.equal(r.err, 'No IPCP named "lo1" found.\n');
    r = await irm('ipcp destroy');
    assert.deepEqual([r.code, r.out], [1, usage.ipcpDestroy]);
    r = await irm('ipcp destroy type x');
    assert.deepEqual([r.code, r.out], [1, '"type" is unknown, try "irm ipcp destroy".\n']);
    r = await irm('ipcp destroy name lo1', (a) => { setup(a); a.fail.set('destroyIpcp', 'EPERM'); });
    assert.equal(r.code, 1);
    assert.equal(r.err, 'Failed to destroy IPCP "lo1": operation not permitted (EPERM).\n');
  });

  test('list prints the reference table', async () => {
    const r = await irm('ipcp list', (a) =>
      a.ipcps.push(
        ipcp(1234, 'lo1', LOCAL, 'local_layer'),
        ipcp(99, 'a-very-long-ipcp-name-indeed', UNICAST),
        ipcp(7, 'bc', BROADCAST, 'bcl'),
        ipcp(8, 'e1', ETH_LLC, 'e'),
        ipcp(9, 'e2', ETH_DIX, 'e'),
        ipcp(10, 'u4', UDP4, 'u'),
        ipcp(11, 'u6', UDP6, 'u'),
        ipcp(12, 'odd', 42, 'x'),
      ),
    );
    assert.equal(r.code, 0);
    assert.equal(
      r.out,
      '+---------+----------------------+------------+----------------------+\n' +
        '|     pid |                 name |       type |                layer |\n' +
        '+---------+----------------------+------------+----------------------+\n' +
        '|    1234 |                  lo1 |      local |          local_layer |\n' +
        '|      99 | a-very-long-ipcp-name-indeed |    unicast |        Not enrolled. |\n' +
        '|       7 |                   bc |  broadcast |                  bcl |\n' +
        '|       8 |                   e1 |    eth-llc |                    e |\n' +
        '|       9 |                   e2 |    eth-dix |                    e |\n' +
        '|      10 |                   u4 |       udp4 |                    u |\n' +
        '|      11 |                   u6 |       udp6 |                    u |\n' +
        '|      12 |                  odd |    UNKNOWN |                    x |\n' +
        '+---------+----------------------+------------+----------------------+\n\n',
    );
  });

  test('list: empty, filters, bad filters', async () => {
    let r = await irm('ipcp list');
    assert.deepEqual([r.code, r.out], [0, 'No IPCPs in system.\n\n']);
    r = await irm('ipcp list type local name x', (a) => a.ipcps.push(ipcp(1, 'lo1', LOCAL), ipcp(2, 'u', UNICAST)));
    assert.equal(r.code, 0);
    assert.equal(r.out.split('\n').length, 8, 'filters are accepted but ignored: both rows shown');
    r = await irm('ipcp list type foo');
    assert.deepEqual([r.code, r.out, r.connects], [1, usage.ipcpList, 0]);
    r = await irm('ipcp list layer x');
    assert.deepEqual([r.code, r.out], [1, '"layer" is unknown, try "irm ipcp list".\n']);
    r = await irm('ipcp list', (a) => a.fail.set('listIpcps', 'EPERM'));
    assert.deepEqual([r.code, r.err], [1, 'Failed to list IPCPs: operation not permitted (EPERM).\n']);
  });
});

describe('irm ipcp bootstrap', () => {
  test('local: creates the IPCP when missing and type is given', async () => {
    const r = await irm('ipcp bootstrap type local name lo1 layer local_layer');
    assert.equal(r.code, 0, r.out + r.err);
    assert.deepEqual(r.api.actions, [
      ['createIpcp', 'lo1', LOCAL],
      ['bootstrapIpcp', 5000, { type: LOCAL, layer: { name: 'local_layer', hashAlgo: SHA3_256 } }],
    ]);
  });

  test('local: existing IPCP, hash choice, prefixes', async () => {
    const r = await irm('ip b n lo1 l ll h SHA3_512', (a) => a.ipcps.push(ipcp(10, 'lo1', LOCAL)));
    assert.equal(r.code, 0);
    assert.deepEqual(r.api.actions, [['bootstrapIpcp', 10, { type: LOCAL, layer: { name: 'll', hashAlgo: SHA3_512 } }]]);
  });

  test('no match and no type', async () => {
    const r = await irm('ipcp bootstrap name lo1 layer x');
    assert.deepEqual([r.code, r.out, r.api.actions], [1, 'No IPCPs matching lo1 found.\n\n', []]);
  });

  test('type not shipped: no create', async () => {
    const r = await irm('ipcp bootstrap type eth-dix name e1 layer L dev lo');
    assert.equal(r.code, 1);
    assert.equal(r.err, 'The eth-dix IPCP type is not available in this version of o7s yet.\n');
    assert.deepEqual(r.api.actions, []);
  });

  test('wildcard bootstraps every match', async () => {
    const r = await irm(['ipcp', 'bootstrap', 'name', 'lo*', 'layer', 'L'], (a) =>
      a.ipcps.push(ipcp(1, 'lo1', LOCAL), ipcp(2, 'x', LOCAL), ipcp(3, 'lo2', LOCAL)),
    );
    assert.equal(r.code, 0);
    assert.deepEqual(
      r.api.actions.map((c) => [c[0], c[1]]),
      [['bootstrapIpcp', 1], ['bootstrapIpcp', 3]],
    );
  });

  test('types must match', async () => {
    const r = await irm('ipcp bootstrap type udp4 ip 10.0.0.1 name lo1 layer L', (a) => a.ipcps.push(ipcp(1, 'lo1', LOCAL)));
    assert.deepEqual([r.code, r.out, r.api.actions], [1, 'Types do not match.\n\n', []]);
  });

  test('unicast defaults', async () => {
    const r = await irm('ipcp bootstrap name u1 layer L', (a) => a.ipcps.push(ipcp(20, 'u1', UNICAST)));
    assert.equal(r.code, 0);
    assert.deepEqual(r.api.actions, [
      ['bootstrapIpcp', 20, { type: UNICAST, layer: { name: 'L', hashAlgo: SHA3_256 }, unicast: UNICAST_DEFAULT }],
    ]);
  });

  test('unicast: every parameter, autobind order', async () => {
    const line =
      'ipcp bootstrap type unicast name u1 layer L autobind addr_auth flat directory DHT hash SHA3_384 ' +
      'routing lfa congestion none addr 2 eid 4 ttl 30 dht_alpha 5 dht_k 16 dht_t_expire 600 ' +
      'dht_t_refresh 60 dht_t_replicate 120 ls_t_recalc 2 ls_t_update 7 ls_t_timeo 20';
    const r = await irm(line, (a) => a.ipcps.push(ipcp(20, 'u1', UNICAST)));
    assert.equal(r.code, 0, r.out + r.err);
    assert.deepEqual(r.api.actions, [
      ['bindProcess', 20, 'u1'],
      ['bindProcess', 20, 'L'],
      ['bootstrapIpcp', 20, {
        type: UNICAST,
        layer: { name: 'L', hashAlgo: SHA3_384 },
        unicast: {
          addrSize: 2, eidSize: 4, maxTtl: 30, routing: 1, lsTRecalc: 2, lsTUpdate: 7, lsTTimeo: 20,
          addrAuth: 0, congestion: 0, dhtAlpha: 5, dhtK: 16, dhtTExpire: 600, dhtTRefresh: 60, dhtTReplicate: 120,
        },
      }],
    ]);
    const ecmp = await irm('ipcp bootstrap name u1 layer L routing ecmp hash SHA3_224', (a) => a.ipcps.push(ipcp(20, 'u1', UNICAST)));
    const conf = ecmp.api.actions[0]![2] as IpcpConfig;
    assert.equal(conf.unicast!.routing, 2);
    assert.equal(conf.layer.hashAlgo, SHA3_224);
  });

  test('autobind: failures unbind and report', async () => {
    let r = await irm('ipcp bootstrap name u1 layer L autobind', (a) => {
      a.ipcps.push(ipcp(20, 'u1', UNICAST));
      a.fail.set('bootstrapIpcp', 'EIPCPSTATE');
    });
    assert.equal(r.code, 1);
    assert.deepEqual(r.api.actions.map((c) => c.slice(0, 3)), [
      ['bindProcess', 20, 'u1'],
      ['bindProcess', 20, 'L'],
      ['bootstrapIpcp', 20, r.api.actions[2]![2]],
      ['unbindProcess', 20, 'u1'],
      ['unbindProcess', 20, 'L'],
    ]);
    assert.equal(r.err, 'Failed to bootstrap IPCP "u1" in layer "L": IPCP in the wrong state (EIPCPSTATE).\n');

    r = await irm('ipcp bootstrap name b layer B autobind', (a) => {
      a.ipcps.push(ipcp(30, 'b', BROADCAST));
      a.fail.set('bindProcess', 'ENAME');
    });
    assert.deepEqual([r.code, r.out], [1, 'Failed to bind 30 to b.\n']);
    assert.deepEqual(r.api.actions, [['bindProcess', 30, 'b']]);
  });

  test('broadcast: layer only', async () => {
    const r = await irm('ipcp bootstrap name b layer B autobind', (a) => a.ipcps.push(ipcp(30, 'b', BROADCAST)));
    assert.equal(r.code, 0);
    assert.deepEqual(r.api.actions, [
      ['bindProcess', 30, 'b'],
      ['bindProcess', 30, 'B'],
      ['bootstrapIpcp', 30, { type: BROADCAST, layer: { name: 'B', hashAlgo: SHA3_256 } }],
    ]);
  });

  test('autobind disabled for other types', async () => {
    const r = await irm('ipcp bootstrap type local name lo1 layer L autobind');
    assert.equal(r.code, 0);
    assert.equal(r.out, 'Can not bind this IPCP type, autobind disabled.\n\n');
    assert.deepEqual(r.api.actions.map((c) => c[0]), ['createIpcp', 'bootstrapIpcp']);
  });

  test('udp4: defaults, extension options', async () => {
    const r = await irm('ipcp bootstrap name u layer U ip 10.1.2.3 hosts /tmp/hosts drop 0.1 delay 20', (a) => a.ipcps.push(ipcp(40, 'u', UDP4)));
    assert.equal(r.code, 0, r.out + r.err);
    assert.deepEqual(r.api.actions, [
      ['bootstrapIpcp', 40, {
        type: UDP4,
        layer: { name: 'U', hashAlgo: MD5 },
        udp4: { ip: '10.1.2.3', port: 3435, dns: '0.0.0.0' },
        extra: { hosts: '/tmp/hosts', drop: '0.1', delay: '20' },
      }],
    ]);
    const p = await irm('ipcp bootstrap name u layer U ip 10.1.2.3 port 4000 dns 10.0.0.53', (a) => a.ipcps.push(ipcp(40, 'u', UDP4)));
    assert.deepEqual(p.api.actions[0]![2], {
      type: UDP4, layer: { name: 'U', hashAlgo: MD5 }, udp4: { ip: '10.1.2.3', port: 4000, dns: '10.0.0.53' },
    });
  });

  test('udp4: bad addresses', async () => {
    const has = (a: FakeApi) => a.ipcps.push(ipcp(40, 'u', UDP4));
    let r = await irm('ipcp bootstrap name u layer U ip 0.0.0.0', has);
    assert.deepEqual([r.code, r.out, r.api.actions], [1, 'Cannot use IPv4 address: "0.0.0.0".\n' + usage.ipcpBootstrap, []]);
    r = await irm('ipcp bootstrap type udp4 name u layer U ip 0.0.0.0');
    assert.equal(r.code, 1);
    assert.deepEqual(r.api.actions, [], 'checked before creating or listing');
    assert.equal(r.connects, 0);
    r = await irm('ipcp bootstrap name u layer U ip 10.1.2', has);
    assert.deepEqual([r.code, r.out], [1, 'Invalid IPv4 address: "10.1.2".\n' + usage.ipcpBootstrap]);
    r = await irm('ipcp bootstrap name u layer U ip ::1', has);
    assert.deepEqual([r.code, r.out], [1, 'Invalid IPv4 address: "::1".\n' + usage.ipcpBootstrap]);
    r = await irm('ipcp bootstrap name u layer U ip 10.0.0.1 dns 300.1.1.1', has);
    assert.deepEqual([r.code, r.out], [1, 'Invalid DNS IPv4 address: "300.1.1.1".\n' + usage.ipcpBootstrap]);
    r = await irm('ipcp bootstrap name u layer U', has);
    assert.deepEqual([r.code, r.out], [1, usage.ipcpBootstrap]);
    r = await irm('ipcp bootstrap name u layer U ip 10.0.0.1 port 70000', has);
    assert.deepEqual([r.code, r.out], [1, 'Invalid value for port: "70000" (expected an integer from 1 to 65535).\n']);
    r = await irm('ipcp bootstrap name u layer U ip 10.0.0.1 port 12ab', has);
    assert.equal(r.code, 1);
    r = await irm('ipcp bootstrap name u layer U ip 10.0.0.1 hosts', has);
    assert.deepEqual([r.code, r.out], [1, usage.ipcpBootstrap]);
    assert.deepEqual(r.api.actions, []);
  });

  test('udp6', async () => {
    const has = (a: FakeApi) => a.ipcps.push(ipcp(41, 'v', UDP6));
    let r = await irm('ipcp bootstrap name v layer V ip fd00::1 reorder 0.2', has);
    assert.equal(r.code, 0);
    assert.deepEqual(r.api.actions[0]![2], {
      type: UDP6, layer: { name: 'V', hashAlgo: MD5 }, udp6: { ip: 'fd00::1', port: 3435, dns: '::' }, extra: { reorder: '0.2' },
    });
    for (const bad of ['::', '0:0:0:0:0:0:0:0', '::0']) {
      r = await irm(`ipcp bootstrap name v layer V ip ${bad}`, has);
      assert.deepEqual([r.code, r.out], [1, `Cannot use IPv6 address: "${bad}".\n` + usage.ipcpBootstrap]);
    }
    r = await irm('ipcp bootstrap name v layer V ip 10.0.0.1', has);
    assert.deepEqual([r.code, r.out], [1, 'Invalid IPv6 address: "10.0.0.1".\n' + usage.ipcpBootstrap]);
    r = await irm('ipcp bootstrap name v layer V ip fe80::1%eth0', has);
    assert.equal(r.code, 1);
    r = await irm('ipcp bootstrap name v layer V ip fd00::1 dns nope', has);
    assert.deepEqual([r.code, r.out], [1, 'Invalid DNS IPv6 address: "nope".\n' + usage.ipcpBootstrap]);
  });

  test('eth-dix / eth-llc', async () => {
    let r = await irm('ipcp bootstrap name e layer E dev eth0', (a) => a.ipcps.push(ipcp(50, 'e', ETH_DIX)));
    assert.deepEqual(r.api.actions[0]![2], { type: ETH_DIX, layer: { name: 'E', hashAlgo: SHA3_256 }, eth: { dev: 'eth0', ethertype: 0xa000 } });
    for (const [v, n] of [['0xA001', 0xa001], ['8000', 0x8000], ['0600', 0x600], ['fffe', 0xfffe]] as const) {
      r = await irm(`ipcp bootstrap name e layer E device veth0 ethertype ${v}`, (a) => a.ipcps.push(ipcp(50, 'e', ETH_DIX)));
      assert.equal(r.code, 0, v);
      assert.equal((r.api.actions[0]![2] as IpcpConfig).eth!.ethertype, n, v);
      assert.equal((r.api.actions[0]![2] as IpcpConfig).eth!.dev, 'veth0');
    }
    for (const v of ['0x05FF', 'ffff', '0xFFFF', 'zz', '10600']) {
      r = await irm(`ipcp bootstrap name e layer E dev eth0 ethertype ${v}`, (a) => a.ipcps.push(ipcp(50, 'e', ETH_DIX)));
      assert.deepEqual([r.code, r.out], [1, `Invalid Ethertype: "${v}".\nRecommended range: 0xA000-0xEFFF.\n`], v);
      assert.equal(r.connects, 0);
    }
    r = await irm('ipcp bootstrap name e layer E hash SHA3_224', (a) => a.ipcps.push(ipcp(51, 'e', ETH_LLC)));
    assert.deepEqual([r.code, r.out, r.api.actions], [1, usage.ipcpBootstrap, []]);
    r = await irm('ipcp bootstrap name e layer E dev lo hash SHA3_224', (a) => a.ipcps.push(ipcp(51, 'e', ETH_LLC)));
    assert.equal(r.code, 0);
    assert.deepEqual((r.api.actions[0]![2] as IpcpConfig).layer, { name: 'E', hashAlgo: SHA3_224 });
    assert.equal((r.api.actions[0]![2] as IpcpConfig).eth!.dev, 'lo');
    r = await irm(['ipcp', 'bootstrap', 'name', 'e', 'layer', 'E', 'dev', 'x'.repeat(256)], (a) => a.ipcps.push(ipcp(51, 'e', ETH_LLC)));
    assert.deepEqual([r.code, r.out], [1, 'Device name too long.\n\n' + usage.ipcpBootstrap]);
  });

  test('bad input', async () => {
    const has = (a: FakeApi) => a.ipcps.push(ipcp(10, 'lo1', LOCAL), ipcp(20, 'u1', UNICAST));
    let r = await irm('ipcp bootstrap name lo1', has);
    assert.deepEqual([r.code, r.out], [1, usage.ipcpBootstrap]);
    r = await irm('ipcp bootstrap layer L', has);
    assert.deepEqual([r.code, r.out], [1, usage.ipcpBootstrap]);
    r = await irm('ipcp bootstrap name lo1 layer L hash MD5', has);
    assert.deepEqual([r.code, r.out], [1, 'Unknown parameter for hash: "MD5".\n']);
    r = await irm('ipcp bootstrap name u1 layer L routing ospf', has);
    assert.deepEqual([r.code, r.out], [1, 'Unknown parameter for routing: "ospf".\n']);
    r = await irm('ipcp bootstrap name u1 layer L congestion cubic', has);
    assert.deepEqual([r.code, r.out], [1, 'Unknown parameter for congestion: "cubic".\n']);
    r = await irm('ipcp bootstrap name u1 layer L addr_auth random', has);
    assert.deepEqual([r.code, r.out], [1, 'Unknown parameter for addr_auth: "random".\n']);
    r = await irm('ipcp bootstrap name u1 layer L directory chord', has);
    assert.deepEqual([r.code, r.out], [1, 'Unknown parameter for directory: "chord".\n']);
    r = await irm('ipcp bootstrap name u1 layer L addr x', has);
    assert.deepEqual([r.code, r.out], [1, 'Invalid value for addr: "x" (expected an integer from 1 to 255).\n']);
    r = await irm('ipcp bootstrap name u1 layer L ttl 256', has);
    assert.deepEqual([r.code, r.out], [1, 'Invalid value for ttl: "256" (expected an integer from 1 to 255).\n']);
    r = await irm('ipcp bootstrap name u1 layer L dht_alpha 11', has);
    assert.deepEqual([r.code, r.out], [1, 'Invalid value for dht_alpha: "11" (expected an integer from 1 to 10).\n']);
    r = await irm('ipcp bootstrap name u1 layer L dht_k 0', has);
    assert.equal(r.code, 1);
    r = await irm('ipcp bootstrap name u1 layer L dht_t_expire 9', has);
    assert.equal(r.code, 1);
    r = await irm('ipcp bootstrap name u1 layer L ls_t_recalc 0', has);
    assert.deepEqual([r.code, r.out], [1, 'Invalid value for ls_t_recalc: "0" (expected an integer from 1 to 4294967295).\n']);
    r = await irm('ipcp bootstrap name u1 layer L ls_t_update -1', has);
    assert.equal(r.code, 1);
    r = await irm('ipcp bootstrap name lo1 layer L hosts /etc/hosts', has);
    assert.deepEqual([r.code, r.out, r.api.actions], [1, 'Unknown option: "hosts".\n', []]);
    r = await irm('ipcp bootstrap type local name lo9 layer L frob 1', has);
    assert.deepEqual([r.code, r.out, r.api.actions, r.connects], [1, 'Unknown option: "frob".\n', [], 0]);
    r = await irm('ipcp bootstrap type foo name lo1 layer L', has);
    assert.deepEqual([r.code, r.out], [1, usage.ipcpBootstrap]);
    r = await irm(['ipcp', 'bootstrap', 'name', 'lo1', 'layer', 'L'.repeat(256)], has);
    assert.deepEqual([r.code, r.out], [1, 'Layer name too long.\n\n' + usage.ipcpBootstrap]);
    r = await irm('ipcp bootstrap name lo1 layer L hash', has);
    assert.deepEqual([r.code, r.out], [1, usage.ipcpBootstrap]);
    r = await irm('ipcp bootstrap name lo1 layer L', (a) => { has(a); a.fail.set('bootstrapIpcp', 'EIPCPSTATE'); });
    assert.deepEqual([r.code, r.err], [1, 'Failed to bootstrap IPCP "lo1" in layer "L": IPCP in the wrong state (EIPCPSTATE).\n']);
  });

  test('parameter prefixes follow the reference order', async () => {
    // `a` is addr (not addr_auth), `dht_` is dht_alpha, `ls_t_` is ls_t_timeo, `d` is dns.
    let r = await irm('ipcp bootstrap name u1 layer L a 2 dht_ 5 ls_t_ 9', (a) => a.ipcps.push(ipcp(20, 'u1', UNICAST)));
    assert.equal(r.code, 0, r.out);
    const u = (r.api.actions[0]![2] as IpcpConfig).unicast!;
    assert.deepEqual([u.addrSize, u.dhtAlpha, u.dhtK, u.lsTTimeo, u.lsTRecalc], [2, 5, 8, 9, 4]);
    r = await irm('ipcp bootstrap name u layer U i 10.0.0.1 d 10.0.0.2 p 99', (a) => a.ipcps.push(ipcp(40, 'u', UDP4)));
    assert.deepEqual((r.api.actions[0]![2] as IpcpConfig).udp4, { ip: '10.0.0.1', port: 99, dns: '10.0.0.2' });
  });

  test('type prefixes follow the reference order', async () => {
    // `eth` is eth-dix, `udp` is udp4.
    let r = await irm('ipcp bootstrap type eth name e layer E dev eth0', (a) => a.ipcps.push(ipcp(50, 'e', ETH_DIX)));
    assert.equal(r.code, 0);
    r = await irm('ipcp bootstrap type eth name e layer E dev eth0', (a) => a.ipcps.push(ipcp(51, 'e', ETH_LLC)));
    assert.deepEqual([r.code, r.out], [1, 'Types do not match.\n\n']);
    r = await irm('ipcp bootstrap type udp name u layer U ip 10.0.0.1', (a) => a.ipcps.push(ipcp(40, 'u', UDP4)));
    assert.equal(r.code, 0);
    r = await irm('ipcp bootstrap type lo name lo1 layer L');
    assert.deepEqual(r.api.actions[0], ['createIpcp', 'lo1', LOCAL]);
  });
});

describe('irm ipcp enroll', () => {
  const uni = (a: FakeApi) => a.ipcps.push(ipcp(20, 'u2', UNICAST));

  test('enroll with layer (dst defaults to layer), autobind', async () => {
    const r = await irm('ipcp enroll name u2 layer L autobind', uni);
    assert.equal(r.code, 0, r.out + r.err);
    assert.deepEqual(r.api.actions, [
      ['enrollIpcp', 20, 'L'],
      ['bindProcess', 20, 'u2'],
      ['bindProcess', 20, 'L'],
    ]);
  });

  test('enroll with dst only', async () => {
    const r = await irm('ipcp enroll name u2 dst u1', uni);
    assert.equal(r.code, 0);
    assert.deepEqual(r.api.actions, [['enrollIpcp', 20, 'u1']]);
  });

  test('enrolled layer must be the requested one', async () => {
    const r = await irm('ipcp enroll name u2 layer M dst u1', uni);
    assert.deepEqual([r.code, r.out], [1, 'Enrollment destination does not match requested layer.\n']);
  });

  test('enroll failure', async () => {
    const r = await irm('ipcp enroll name u2 layer L', (a) => { uni(a); a.fail.set('enrollIpcp', 'EIPCP'); });
    assert.deepEqual([r.code, r.out], [1, 'Failed to enroll IPCP.\n']);
  });

  test('broadcast type; unicast IPCPs are not touched', async () => {
    const r = await irm('ipcp enroll name * layer L type broadcast', (a) => a.ipcps.push(ipcp(20, 'u2', UNICAST), ipcp(30, 'b2', BROADCAST)));
    assert.equal(r.code, 0);
    assert.deepEqual(r.api.actions, [['enrollIpcp', 30, 'L']]);
  });

  test('creates the IPCP when none matches, then enrolls it', async () => {
    const r = await irm('ipcp enroll name u9 layer L');
    assert.deepEqual(r.api.actions.slice(0, 1), [['createIpcp', 'u9', 1]]);
  });

  test('bad input', async () => {
    let r = await irm('ipcp enroll name u2', uni);
    assert.deepEqual([r.code, r.out, r.connects], [1, usage.ipcpEnroll, 0]);
    r = await irm('ipcp enroll layer L', uni);
    assert.deepEqual([r.code, r.out], [1, usage.ipcpEnroll]);
    r = await irm('ipcp enroll name u2 layer L type local', uni);
    assert.deepEqual([r.code, r.out], [1, 'IPCP type "local" is unknown.\n' + usage.ipcpEnroll]);
    r = await irm('ipcp enroll name u2 layer L frob x', uni);
    assert.deepEqual([r.code, r.out], [1, '"frob" is unknown, try "irm ipcp enroll".\n']);
  });
});

describe('irm ipcp connect / disconnect', () => {
  const uni = (a: FakeApi) => a.ipcps.push(ipcp(20, 'u2', UNICAST, 'L'));

  test('connect both components', async () => {
    const r = await irm('ipcp connect name u2 dst u1', uni);
    assert.equal(r.code, 0);
    assert.deepEqual(r.api.actions, [
      ['connectIpcp', 20, 'u1', 'Management', qos.raw],
      ['connectIpcp', 20, 'u1', 'Data Transfer', qos.raw],
    ]);
  });

  test('connect dt with qos; mgmt always raw', async () => {
    let r = await irm('ipcp co n u2 d u1 c dt q voice', uni);
    assert.equal(r.code, 0);
    assert.deepEqual(r.api.actions, [['connectIpcp', 20, 'u1', 'Data Transfer', qos.voice]]);
    r = await irm('ipcp connect name u2 dst u1 qos data', uni);
    assert.deepEqual(r.api.actions, [
      ['connectIpcp', 20, 'u1', 'Management', qos.raw],
      ['connectIpcp', 20, 'u1', 'Data Transfer', qos.data],
    ]);
    r = await irm('ipcp connect name u2 dst u1 component mgmt qos best', uni);
    assert.deepEqual(r.api.actions, [['connectIpcp', 20, 'u1', 'Management', qos.raw]]);
  });

  test('unknown qos defaults to raw', async () => {
    const r = await irm('ipcp connect name u2 dst u1 component dt qos gold', uni);
    assert.equal(r.code, 0);
    assert.equal(r.out, 'Unknown QoS cube, defaulting to raw.\n');
    assert.deepEqual(r.api.actions, [['connectIpcp', 20, 'u1', 'Data Transfer', qos.raw]]);
  });

  test('connect errors', async () => {
    let r = await irm('ipcp connect name u2', uni);
    assert.deepEqual([r.code, r.out], [1, usage.ipcpConnect]);
    r = await irm('ipcp connect name u2 dst u1 component foo', uni);
    assert.deepEqual([r.code, r.out, r.api.actions], [1, usage.ipcpConnect, []]);
    r = await irm('ipcp connect name u2 dst u1 colour red', uni);
    assert.deepEqual([r.code, r.out], [1, '"colour" is unknown, try "irm ipcp connect".\n']);
    r = await irm('ipcp connect name nope dst u1', uni);
    assert.deepEqual([r.code, r.err], [1, 'No IPCP named "nope" found.\n']);
    r = await irm('ipcp connect name u2 dst u1', (a) => { uni(a); a.fail.set('connectIpcp', 'EPERM'); });
    assert.deepEqual([r.code, r.err], [1, 'Failed to connect IPCP "u2" to "u1" (Management): operation not permitted (EPERM).\n']);
    assert.equal(r.api.actions.length, 1);
  });

  test('disconnect: dt first, then mgmt', async () => {
    let r = await irm('ipcp di name u2 dst u1', uni);
    assert.equal(r.code, 0);
    assert.deepEqual(r.api.actions, [
      ['disconnectIpcp', 20, 'u1', 'Data Transfer'],
      ['disconnectIpcp', 20, 'u1', 'Management'],
    ]);
    r = await irm('ipcp disconnect name u2 dst u1 component mgmt', uni);
    assert.deepEqual(r.api.actions, [['disconnectIpcp', 20, 'u1', 'Management']]);
    r = await irm('ipcp disconnect name u2 dst u1 qos raw', uni);
    assert.deepEqual([r.code, r.out], [1, '"qos" is unknown, try "irm ipcp disconnect".\n']);
    r = await irm('ipcp disconnect dst u1', uni);
    assert.deepEqual([r.code, r.out], [1, usage.ipcpDisconnect]);
  });
});

describe('irm bind / unbind', () => {
  test('bind program with auto and arguments', async () => {
    const r = await irm('bind program /usr/bin/oping name n auto -- -l -i 10');
    assert.equal(r.code, 0);
    assert.deepEqual(r.api.actions, [['bindProgram', '/usr/bin/oping', 'n', { auto: true, args: ['-l', '-i', '10'] }]]);
  });

  test('bind program: path passed as given, no auto', async () => {
    const r = await irm('b prog oping n srv');
    assert.equal(r.code, 0);
    assert.deepEqual(r.api.actions, [['bindProgram', 'oping', 'srv', { auto: false, args: [] }]]);
  });

  test('bind program errors', async () => {
    let r = await irm('bind program /x name n', (a) => a.fail.set('bindProgram', 'ENOENT'));
    assert.deepEqual([r.code, r.out], [1, '/x does not exist.\n']);
    r = await irm('bind program /x name n', (a) => a.fail.set('bindProgram', 'EPERM'));
    assert.deepEqual([r.code, r.out], [1, 'Cannot execute /x, please check permissions.\n']);
    r = await irm('bind program /x name n', (a) => a.fail.set('bindProgram', 'ENAME'));
    assert.deepEqual([r.code, r.err], [1, 'Failed to bind program /x to n: naming error (ENAME).\n']);
    r = await irm('bind program /x');
    assert.deepEqual([r.code, r.out, r.connects], [1, usage.bindProgram, 0]);
    r = await irm('bind program /x name n autostart');
    assert.deepEqual([r.code, r.out], [1, '"autostart" is unknown, try "irm bind program".\n']);
  });

  test('bind process', async () => {
    let r = await irm(`bind process ${process.pid} name n`);
    assert.equal(r.code, 0);
    assert.deepEqual(r.api.actions, [['bindProcess', process.pid, 'n']]);
    r = await irm('bind process abc name n');
    assert.deepEqual([r.code, r.out], [1, '"abc" is not a valid process id.\n']);
    r = await irm('bind process 12x name n');
    assert.deepEqual([r.code, r.out], [1, '"12x" is not a valid process id.\n']);
    r = await irm('bind process 4242 name n', undefined, { pidExists: () => false });
    assert.deepEqual([r.code, r.out, r.connects], [1, '"4242" is not a valid process id.\n', 0]);
    r = await irm('bind process 4242 name n', undefined, { pidExists: (p) => p === 4242 });
    assert.deepEqual(r.api.actions, [['bindProcess', 4242, 'n']]);
    r = await irm(`bind process ${process.pid} name`);
    assert.deepEqual([r.code, r.out], [1, usage.bindProcess]);
    r = await irm('bind process');
    assert.deepEqual([r.code, r.out], [1, usage.bindProcess]);
    r = await irm(`bind process ${process.pid} nom n`);
    assert.deepEqual([r.code, r.out], [1, '"nom" is unknown, try "irm bind process".\n']);
    r = await irm(`bind process ${process.pid} name n`, (a) => a.fail.set('bindProcess', 'EIPCP'));
    assert.deepEqual([r.code, r.err], [1, `Failed to bind process ${process.pid} to n: failed to communicate with the IPCP (EIPCP).\n`]);
  });

  test('bind / unbind ipcp', async () => {
    const has = (a: FakeApi) => a.ipcps.push(ipcp(10, 'lo1', LOCAL), ipcp(11, 'lo2', LOCAL));
    let r = await irm('bind ipcp lo2 name n', has);
    assert.deepEqual([r.code, r.api.actions], [0, [['bindProcess', 11, 'n']]]);
    r = await irm('bind ipcp lo2', has);
    assert.deepEqual([r.code, r.out], [1, usage.bindIpcp]);
    r = await irm('unbind ipcp lo1 name n', has);
    assert.deepEqual([r.code, r.api.actions], [0, [['unbindProcess', 10, 'n']]]);
    r = await irm('unbind ipcp lo1', has);
    assert.deepEqual([r.code, r.out], [1, usage.unbindIpcp]);
    r = await irm('unbind ipcp lo1 layer n', has);
    assert.deepEqual([r.code, r.out], [1, '"layer" is unknown, try "irm unbind ipcp".\n']);
  });

  test('unbind program / process', async () => {
    let r = await irm('unbind program oping name n');
    assert.deepEqual([r.code, r.api.actions], [0, [['unbindProgram', 'oping', 'n']]]);
    r = await irm('unbind program oping');
    assert.deepEqual([r.code, r.api.actions], [0, [['unbindProgram', 'oping', undefined]]]);
    r = await irm('unbind program oping', (a) => a.fail.set('unbindProgram', 'EINVAL'));
    assert.deepEqual([r.code, r.err], [1, 'Failed to unbind program oping: invalid argument (EINVAL).\n']);
    r = await irm('unbind program');
    assert.deepEqual([r.code, r.out], [1, usage.unbindProgram]);
    r = await irm('unbind process 77 name n');
    assert.deepEqual([r.code, r.api.actions], [0, [['unbindProcess', 77, 'n']]]);
    r = await irm('unbind proc 77');
    assert.deepEqual([r.code, r.api.actions], [0, [['unbindProcess', 77, undefined]]]);
    r = await irm('unbind process x7');
    assert.deepEqual([r.code, r.out], [1, '"x7" is not a valid process id.\n']);
    r = await irm('unbind process');
    assert.deepEqual([r.code, r.out], [1, usage.unbindProcess]);
    r = await irm('unbind process 77 name n', (a) => a.fail.set('unbindProcess', 'ENAME'));
    assert.deepEqual([r.code, r.err], [1, 'Failed to unbind process 77 from n: naming error (ENAME).\n']);
  });
});

describe('irm name', () => {
  test('create: defaults and lb', async () => {
    let r = await irm('name create n');
    assert.deepEqual([r.code, r.api.actions], [0, [['createName', { name: 'n', lb: 0 }]]]);
    r = await irm('n c n lb spillover');
    assert.deepEqual([r.code, r.api.actions], [0, [['createName', { name: 'n', lb: 1 }]]]);
    r = await irm('name create n lb round-robin');
    assert.deepEqual(r.api.actions, [['createName', { name: 'n', lb: 0 }]]);
  });

  test('create: security paths are realpath-ed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'irm-test-'));
    try {
      await writeFile(join(dir, 'key.pem'), 'k');
      await writeFile(join(dir, 'crt.pem'), 'c');
      await writeFile(join(dir, 'enc.conf'), '');
      await symlink(join(dir, 'key.pem'), join(dir, 'link.pem'));
      const real = await realpath(dir);
      const r = await irm([
        'name', 'create', 'n', 'skeypath', join(dir, 'link.pem'), 'scrtpath', `${dir}/./crt.pem`,
        'ckeypath', join(dir, 'key.pem'), 'ccrtpath', join(dir, 'crt.pem'), 'sencpath', join(dir, 'enc.conf'),
      ]);
      assert.equal(r.code, 0, r.out + r.err);
      assert.deepEqual(r.api.actions, [['createName', {
        name: 'n', lb: 0,
        skey: join(real, 'key.pem'), scrt: join(real, 'crt.pem'),
        ckey: join(real, 'key.pem'), ccrt: join(real, 'crt.pem'),
        senc: join(real, 'enc.conf'),
      }]]);
      const missing = join(dir, 'nope.pem');
      const m = await irm(['name', 'create', 'n', 'cencpath', missing]);
      assert.equal(m.code, 1);
      assert.equal(m.out, `Failed to check path ${missing}: No such file or directory.\n` + usage.nameCreate);
      assert.deepEqual(m.api.actions, []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('create: bad input', async () => {
    let r = await irm('name create');
    assert.deepEqual([r.code, r.out], [1, usage.nameCreate]);
    r = await irm('name create n lb random');
    assert.deepEqual([r.code, r.out, r.connects], [1, usage.nameCreate, 0]);
    r = await irm('name create n policy rr');
    assert.deepEqual([r.code, r.out], [1, '"policy" is unknown, try "irm name create".\n']);
    r = await irm(['name', 'create', 'x'.repeat(256)]);
    assert.deepEqual([r.code, r.out], [1, 'Name too long.\n' + usage.nameCreate]);
    r = await irm('name create n', (a) => a.fail.set('createName', 'EPERM'));
    assert.deepEqual([r.code, r.err], [1, 'Failed to create name n: operation not permitted (EPERM).\n']);
  });

  test('destroy', async () => {
    let r = await irm('name destroy n');
    assert.deepEqual([r.code, r.api.actions], [0, [['destroyName', 'n']]]);
    r = await irm('name destroy n extra');
    assert.deepEqual([r.code, r.out], [1, '"extra" is unknown, try "irm name destroy".\n']);
    r = await irm('name destroy');
    assert.deepEqual([r.code, r.out], [1, usage.nameDestroy]);
    r = await irm('name destroy n', (a) => a.fail.set('destroyName', 'ENAME'));
    assert.deepEqual([r.code, r.err], [1, 'Failed to destroy name n: naming error (ENAME).\n']);
  });

  const world = (a: FakeApi) =>
    a.ipcps.push(
      ipcp(10, 'lo1', LOCAL, 'local_layer'),
      ipcp(11, 'lo2', LOCAL, 'other'),
      ipcp(12, 'e1', ETH_LLC, 'local_eth'),
    );

  test('register: creates the name (spillover) and registers by layer and ipcp', async () => {
    let r = await irm('name register n layer local_layer', world);
    assert.equal(r.code, 0);
    assert.deepEqual(r.api.actions, [['createName', { name: 'n', lb: 1 }], ['regName', 'n', 10]]);
    r = await irm(['name', 'reg', 'n', 'layer', 'local_*', 'ipcp', 'lo2'], (a) => {
      world(a);
      a.names.push({ name: 'n', lb: 0 });
    });
    assert.equal(r.code, 0);
    assert.deepEqual(r.api.actions, [['regName', 'n', 10], ['regName', 'n', 11], ['regName', 'n', 12]]);
    r = await irm(['name', 'register', 'n', 'ipcp', '*', 'layer', 'other'], world);
    assert.deepEqual(r.api.actions.filter((c) => c[0] === 'regName').map((c) => c[2]), [10, 11, 12], 'each IPCP once');
  });

  test('register: failures', async () => {
    let r = await irm('name register n layer L');
    assert.deepEqual([r.code, r.out], [1, 'Failed to list IPCPs.\n']);
    r = await irm('name register n layer local_layer', (a) => { world(a); a.fail.set('createName', 'EPERM'); });
    assert.deepEqual([r.code, r.out], [1, 'Error creating name.\n']);
    r = await irm('name register n layer local_layer', (a) => { world(a); a.fail.set('regName', 'EIPCP'); });
    assert.deepEqual([r.code, r.out], [1, 'Failed to register with local_layer.\n']);
    r = await irm('name register n ipcp lo2', (a) => { world(a); a.fail.set('regName', 'EIPCP'); });
    assert.deepEqual([r.code, r.out], [1, 'Failed to register with lo2.\n']);
    r = await irm('name register n', world);
    assert.deepEqual([r.code, r.out, r.connects], [1, usage.nameRegister, 0]);
    r = await irm('name register n dif x', world);
    assert.deepEqual([r.code, r.out], [1, '"dif" is unknown, try "irm name register".\n']);
    r = await irm('name register n layer', world);
    assert.deepEqual([r.code, r.out], [1, usage.nameRegister]);
    const many = ['name', 'register', 'n'];
    for (let i = 0; i < 129; i++) many.push('layer', `l${i}`);
    r = await irm(many, world);
    assert.deepEqual([r.code, r.out], [1, 'Too many layers specified.\n']);
    r = await irm(['name', 'register', 'x'.repeat(256), 'layer', 'L'], world);
    assert.deepEqual([r.code, r.out], [1, 'Name too long.\n' + usage.nameRegister]);
  });

  test('unregister', async () => {
    let r = await irm('name unregister n layer local_layer ipcp e1', world);
    assert.equal(r.code, 0);
    assert.deepEqual(r.api.actions, [['unregName', 'n', 10], ['unregName', 'n', 12]]);
    r = await irm(['name', 'unreg', 'n', 'layer', 'local*'], world);
    assert.deepEqual(r.api.actions, [['unregName', 'n', 10], ['unregName', 'n', 12]]);
    r = await irm('name unregister n', world);
    assert.deepEqual([r.code, r.out], [1, usage.nameUnregister]);
    r = await irm('name unregister n foo bar', world);
    assert.deepEqual([r.code, r.out], [1, '"foo" is unknown, try "irm name unregister".\n']);
    r = await irm('name unregister n ipcp lo1', (a) => { world(a); a.fail.set('unregName', 'ENAME'); });
    assert.deepEqual([r.code, r.err], [1, 'Failed to unregister n from lo1: naming error (ENAME).\n']);
  });

  const names = (a: FakeApi) =>
    a.names.push(
      { name: 'oping', lb: 0 },
      { name: 'oping-server', lb: 1 },
      { name: 'opingX', lb: 0 },
      { name: 'weird', lb: 7 as 0 },
    );
  const BORDER = '+----------------------------------------------------+----------------------+\n';
  const HEADER = '|                                               name |  load-balance policy |\n';

  test('list prints the reference table', async () => {
    const r = await irm('name list', names);
    assert.equal(r.code, 0);
    assert.equal(
      r.out,
      BORDER + HEADER + BORDER +
        '|                                              oping |          round-robin |\n' +
        '|                                       oping-server |            spillover |\n' +
        '|                                             opingX |          round-robin |\n' +
        '|                                              weird |              UNKNOWN |\n' +
        BORDER,
    );
  });

  test('list filter: names that are a prefix of the filter', async () => {
    const r = await irm('name list list oping-server', names);
    assert.equal(r.code, 0);
    assert.equal(
      r.out,
      BORDER + HEADER + BORDER +
        '|                                              oping |          round-robin |\n' +
        '|                                       oping-server |            spillover |\n' +
        BORDER,
    );
  });

  test('list: empty, bad arguments', async () => {
    let r = await irm('name list');
    assert.deepEqual([r.code, r.out], [0, 'No names in system.\n\n']);
    r = await irm('name list oping', names);
    assert.deepEqual([r.code, r.out, r.connects], [1, '"oping" is unknown, try "irm name list".\n', 0]);
    r = await irm('name list', (a) => a.fail.set('listNames', 'EPERM'));
    assert.deepEqual([r.code, r.err], [1, 'Failed to list names: operation not permitted (EPERM).\n']);
  });
});
