import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  CEP_DT_BROADCAST,
  CEP_DT_UNICAST,
  CEP_ENROLLMENT,
  CEP_MAX_LEN,
  CEP_MGMT,
  CEP_RCV_TIMEOUT_MS,
  CEP_UNKNOWN,
  ProtoSyntax,
  cepAccept,
  cepCompatible,
  cepMsg,
  cepRequest,
  decodeCep,
  encodeCep,
  type CepChannel,
  type CepMsg,
} from '../../../src/ipcpd/common/cep.js';
import { cep_msgSchema } from '../../../src/proto/gen/cep_pb.js';
import { OuroborosError } from '../../../src/common/errors.js';
import { Rng } from '../../helpers/rng.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const isCode = (code: string) => (e: unknown) => e instanceof OuroborosError && e.code === code;

test('component table (ARCHITECTURE §7.9)', () => {
  assert.deepEqual({ ...CEP_ENROLLMENT }, { compName: 'Enrollment', protocol: 'OEP', prefVersion: 1, prefSyntax: ProtoSyntax.GPB });
  assert.deepEqual({ ...CEP_DT_UNICAST }, { compName: 'Data Transfer', protocol: 'dtp', prefVersion: 1, prefSyntax: 2 });
  assert.deepEqual({ ...CEP_MGMT }, { compName: 'Management', protocol: 'LSP', prefVersion: 1, prefSyntax: 0 });
  assert.deepEqual({ ...CEP_DT_BROADCAST }, { compName: 'Data Transfer', protocol: '', prefVersion: 0, prefSyntax: 0 });
  assert.deepEqual(ProtoSyntax, { GPB: 0, ASN1: 1, FIXED: 2 });
  assert.equal(CEP_RCV_TIMEOUT_MS, 1000);
});

test('encoding: required fields in field order, repeated/optional ones absent (WIRE §11.3)', () => {
  assert.equal(
    hex(encodeCep(cepMsg(CEP_ENROLLMENT))),
    '0a0a' + '456e726f6c6c6d656e74' + // 1 comp_name "Enrollment"
      '1203' + '4f4550' + // 2 protocol "OEP"
      '1801' + // 3 pref_version 1
      '2800' + // 5 pref_syntax GPB
      '4000', // 8 address 0
  );
  assert.equal(
    hex(encodeCep(cepMsg(CEP_DT_UNICAST, 0x0a0b0c0d))),
    '0a0d' + '44617461205472616e73666572' + // "Data Transfer"
      '1203' + '647470' + // "dtp"
      '1801' +
      '2802' + // FIXED
      '40' + '8d98ac50', // address 0x0a0b0c0d
  );
  assert.equal(hex(encodeCep(cepMsg(CEP_MGMT, 1))), '0a0a' + '4d616e6167656d656e74' + '1203' + '4c5350' + '1801' + '2800' + '4001');
  assert.equal(hex(encodeCep(cepMsg(CEP_DT_BROADCAST))), '0a0d' + '44617461205472616e73666572' + '1200' + '1800' + '2800' + '4000');
  // the all-empty answer to an unknown component
  assert.equal(hex(encodeCep(CEP_UNKNOWN)), '0a00' + '1200' + '1800' + '2800' + '4000');
});

test('round trip and decoding what a peer may add', () => {
  for (const m of [cepMsg(CEP_ENROLLMENT), cepMsg(CEP_DT_UNICAST, 0xffffffff), cepMsg(CEP_MGMT, Number.MAX_SAFE_INTEGER), CEP_UNKNOWN]) {
    assert.deepEqual(decodeCep(encodeCep(m)), { ...m });
  }
  // the repeated and optional fields are accepted and ignored
  const full = toBinary(
    cep_msgSchema,
    create(cep_msgSchema, {
      compName: 'Management',
      protocol: 'LSP',
      prefVersion: 1,
      suppVersion: [1, 2],
      prefSyntax: 0,
      suppSyntax: [0],
      syntaxSpec: { fids: [1], lens: [2] },
      address: 7n,
    }),
  );
  assert.deepEqual(decodeCep(full), { compName: 'Management', protocol: 'LSP', prefVersion: 1, prefSyntax: 0, address: 7 });
  // fields in another order
  assert.deepEqual(decodeCep(Buffer.from('4001' + '2800' + '1801' + '1203' + '4c5350' + '0a0a' + '4d616e6167656d656e74', 'hex')), {
    compName: 'Management',
    protocol: 'LSP',
    prefVersion: 1,
    prefSyntax: 0,
    address: 1,
  });
});

test('decoding refuses: too long, not protobuf, a required field missing, huge address', () => {
  const ok = encodeCep(cepMsg(CEP_MGMT, 1));
  const long = Buffer.concat([ok, Buffer.alloc(CEP_MAX_LEN + 1 - ok.length)]);
  assert.equal(long.length, 129);
  assert.match(decodeCep(long) as string, /129 bytes exceeds 128/);
  assert.match(decodeCep(Buffer.from('0aff', 'hex')) as string, /does not unpack/);
  assert.match(decodeCep(new Uint8Array(0)) as string, /lacks compName/);
  for (const [field, drop] of [
    ['compName', '0a0a4d616e6167656d656e74'],
    ['protocol', '12034c5350'],
    ['prefVersion', '1801'],
    ['prefSyntax', '2800'],
    ['address', '4001'],
  ]) {
    const b = Buffer.from(hex(ok).replace(drop, ''), 'hex');
    assert.match(decodeCep(b) as string, new RegExp(`lacks ${field}`));
  }
  assert.match(decodeCep(Buffer.from(hex(ok).replace(/4001$/, '408080808080808010'), 'hex')) as string, /exceeds 2\^53/);
});

test('encoder refuses what the reference cannot send', () => {
  assert.throws(() => encodeCep({ ...cepMsg(CEP_MGMT), prefSyntax: -1 }), RangeError);
  assert.throws(() => encodeCep({ ...cepMsg(CEP_MGMT), prefVersion: 2 ** 31 }), RangeError);
  assert.throws(() => encodeCep({ ...cepMsg(CEP_MGMT), address: -1 }), RangeError);
  assert.throws(() => encodeCep({ ...cepMsg(CEP_MGMT), compName: 'x'.repeat(129) }), RangeError);
  assert.throws(() => encodeCep({ ...cepMsg(CEP_MGMT), protocol: 'x'.repeat(120) }), isCode('EMSGSIZE'));
});

test('compatibility: same protocol, version and syntax; name and address do not matter', () => {
  assert.equal(cepCompatible(CEP_DT_UNICAST, cepMsg(CEP_DT_UNICAST, 5)), true);
  assert.equal(cepCompatible(CEP_DT_UNICAST, { ...CEP_DT_UNICAST, compName: 'Other' }), true);
  assert.equal(cepCompatible(CEP_DT_UNICAST, CEP_DT_BROADCAST), false);
  assert.equal(cepCompatible(CEP_DT_UNICAST, { ...CEP_DT_UNICAST, prefVersion: 2 }), false);
  assert.equal(cepCompatible(CEP_DT_UNICAST, { ...CEP_DT_UNICAST, prefSyntax: ProtoSyntax.GPB }), false);
  assert.equal(cepCompatible(CEP_ENROLLMENT, CEP_UNKNOWN), false);
  assert.equal(cepCompatible(CEP_DT_BROADCAST, CEP_UNKNOWN), true, 'broadcast DT looks like the empty answer');
});

/** Two connected in-memory channels; read() rejects with ETIMEDOUT. */
class End implements CepChannel {
  peer!: End;
  readonly timeouts: number[] = [];
  readonly sent: Uint8Array[] = [];
  private readonly inbox: Uint8Array[] = [];
  private readonly waiters: ((b: Uint8Array) => void)[] = [];
  async write(b: Uint8Array): Promise<void> {
    this.sent.push(b);
    const w = this.peer.waiters.shift();
    if (w) w(b);
    else this.peer.inbox.push(b);
  }
  read(timeoutMs: number): Promise<Uint8Array> {
    this.timeouts.push(timeoutMs);
    const b = this.inbox.shift();
    if (b) return Promise.resolve(b);
    return new Promise((resolve, reject) => {
      const w = (x: Uint8Array): void => {
        clearTimeout(t);
        resolve(x);
      };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new OuroborosError('ETIMEDOUT'));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }
}

function pair(): [End, End] {
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

const COMPS = new Map<string, CepMsg>([
  [CEP_DT_UNICAST.compName, cepMsg(CEP_DT_UNICAST, 200)],
  [CEP_MGMT.compName, cepMsg(CEP_MGMT, 200)],
  [CEP_ENROLLMENT.compName, cepMsg(CEP_ENROLLMENT)],
]);

test('exchange: requester and acceptor agree, with the 1 s timeout', async () => {
  const [c, s] = pair();
  const [peer, acc] = await Promise.all([cepRequest(c, cepMsg(CEP_DT_UNICAST, 100)), cepAccept(s, COMPS)]);
  assert.deepEqual(peer, { ...cepMsg(CEP_DT_UNICAST, 200) });
  assert.deepEqual(acc.peer, { ...cepMsg(CEP_DT_UNICAST, 100) });
  assert.equal(acc.ours, COMPS.get('Data Transfer'));
  assert.deepEqual(c.timeouts, [1000]);
  assert.deepEqual(s.timeouts, [1000]);
});

test('exchange: an unknown component gets the empty answer, both sides fail', async () => {
  const [c, s] = pair();
  const [req, acc] = await Promise.allSettled([cepRequest(c, cepMsg(CEP_MGMT, 1)), cepAccept(s, new Map([[CEP_ENROLLMENT.compName, cepMsg(CEP_ENROLLMENT)]]))]);
  assert.equal(acc.status, 'rejected');
  assert.ok(isCode('ENOENT')((acc as PromiseRejectedResult).reason));
  assert.equal(hex(s.sent[0]!), hex(encodeCep(CEP_UNKNOWN)));
  assert.equal(req.status, 'rejected');
  assert.ok(isCode('EPROTO')((req as PromiseRejectedResult).reason));
});

test('exchange: incompatible answer, malformed messages, timeouts', async () => {
  {
    const [c, s] = pair();
    const p = cepRequest(c, cepMsg(CEP_DT_UNICAST, 1));
    await s.write(encodeCep(cepMsg(CEP_DT_BROADCAST)));
    await assert.rejects(p, isCode('EPROTO'));
  }
  {
    const [c, s] = pair();
    const p = cepRequest(c, cepMsg(CEP_MGMT, 1));
    await s.write(Buffer.from('ff', 'hex'));
    await assert.rejects(p, isCode('EPROTO'));
  }
  {
    const [c, s] = pair();
    const p = cepAccept(s, COMPS);
    await c.write(new Uint8Array(200));
    await assert.rejects(p, isCode('EPROTO'));
    assert.equal(s.sent.length, 0, 'no answer to garbage');
  }
  {
    const [c] = pair();
    await assert.rejects(cepRequest(c, cepMsg(CEP_MGMT, 1), 10), isCode('ETIMEDOUT'));
  }
});

test('fuzz: random bytes decode or give a reason, never throw', () => {
  const r = new Rng(0xcef);
  let ok = 0;
  const seed = encodeCep(cepMsg(CEP_DT_UNICAST, 12345));
  for (let i = 0; i < 20000; i++) {
    let b: Uint8Array;
    if (r.bool()) b = r.bytes(r.int(140));
    else {
      b = Buffer.from(seed);
      for (let k = r.range(1, 3); k > 0; k--) b[r.int(b.length)] = r.int(256);
      b = b.subarray(0, r.range(1, b.length));
    }
    let m: CepMsg | string = '';
    assert.doesNotThrow(() => {
      m = decodeCep(b);
    });
    if (typeof m !== 'string') ok++;
  }
  assert.ok(ok > 50, `${ok}`);
});
