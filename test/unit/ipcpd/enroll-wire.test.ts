import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  ENROLL_ID_LEN,
  ENROLL_MAX_LEN,
  checkEnrollResp,
  clockOffsetTooLarge,
  decodeEnrollAck,
  decodeEnrollReq,
  decodeEnrollResp,
  encodeEnrollAck,
  encodeEnrollReq,
  encodeEnrollResp,
  newEnrollId,
  type EnrollResp,
} from '../../../src/ipcpd/common/enroll-wire.js';
import { enroll_resp_msgSchema } from '../../../src/proto/gen/enroll_pb.js';
import { IpcpType, UNICAST_DEFAULTS, type IpcpConfig } from '../../../src/common/ipcp-types.js';
import { HashAlgo } from '../../../src/common/hash.js';
import { OuroborosError } from '../../../src/common/errors.js';
import { Rng } from '../../helpers/rng.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ID = Buffer.from('0102030405060708', 'hex');
const UNI: IpcpConfig = { type: IpcpType.UNICAST, layer: { name: 'layer', hashAlgo: HashAlgo.SHA3_256 }, unicast: { ...UNICAST_DEFAULTS } };
const BCAST: IpcpConfig = { type: IpcpType.BROADCAST, layer: { name: 'bc', hashAlgo: HashAlgo.SHA3_256 } };

test('enroll_req: the 8-byte id (WIRE §11.4)', () => {
  const b = encodeEnrollReq({ id: ID });
  assert.equal(hex(b), '0a08' + '0102030405060708');
  assert.deepEqual(decodeEnrollReq(b), { id: new Uint8Array(ID) });
  assert.throws(() => encodeEnrollReq({ id: new Uint8Array(7) }), RangeError);
  assert.match(decodeEnrollReq(Buffer.from('0a0701020304050607', 'hex')) as string, /id of 7 bytes/);
  assert.match(decodeEnrollReq(new Uint8Array(0)) as string, /lacks id/);
  const id = newEnrollId();
  assert.equal(id.length, ENROLL_ID_LEN);
  assert.deepEqual(newEnrollId((n) => new Uint8Array(n).fill(3)), new Uint8Array(8).fill(3));
  assert.throws(() => newEnrollId(() => new Uint8Array(4)), RangeError);
});

test('enroll_ack: id and signed result', () => {
  assert.equal(hex(encodeEnrollAck({ id: ID, result: 0 })), '0a080102030405060708' + '1000');
  const neg = encodeEnrollAck({ id: ID, result: -1 });
  assert.equal(hex(neg), '0a080102030405060708' + '10' + 'ffffffffffffffffff01');
  assert.deepEqual(decodeEnrollAck(neg), { id: new Uint8Array(ID), result: -1 });
  assert.match(decodeEnrollAck(Buffer.from('0a080102030405060708', 'hex')) as string, /lacks result/);
  assert.match(decodeEnrollAck(Buffer.from('1000', 'hex')) as string, /lacks id/);
  assert.match(decodeEnrollAck(Buffer.from('0a09010203040506070809' + '1000', 'hex')) as string, /id of 9 bytes/);
  assert.throws(() => encodeEnrollAck({ id: ID, result: 2 ** 31 }), RangeError);
});

test('enroll_resp refusing: no configuration', () => {
  const b = encodeEnrollResp({ id: ID, tSec: 1_700_000_000n, tNsec: 123_456_789, response: -1, conf: UNI });
  assert.equal(
    hex(b),
    '0a08' + '0102030405060708' + // 1 id
      '10' + '80e2cfaa06' + // 2 t_sec 1700000000
      '18' + '959aef3a' + // 3 t_nsec 123456789
      '20' + 'ffffffffffffffffff01', // 4 response -1, no 5 conf
  );
  assert.deepEqual(decodeEnrollResp(b), { id: new Uint8Array(ID), tSec: 1_700_000_000n, tNsec: 123_456_789, response: -1 });
});

test('enroll_resp accepting: the configuration, with the DHT peer', () => {
  const conf: IpcpConfig = { ...UNI, unicast: { ...UNICAST_DEFAULTS, dhtPeer: 0x0a0b0c0d } };
  const b = encodeEnrollResp({ id: ID, tSec: 1n, tNsec: 2, response: 0, conf });
  assert.equal(hex(b.subarray(0, 17)), '0a080102030405060708' + '1001' + '1802' + '2000' + '2a');
  const raw = fromBinary(enroll_resp_msgSchema, b);
  assert.equal(raw.conf?.unicast?.dir?.dht?.peer, 0x0a0b0c0dn);
  assert.equal(raw.conf?.ipcpType, IpcpType.UNICAST);
  assert.deepEqual(decodeEnrollResp(b), { id: new Uint8Array(ID), tSec: 1n, tNsec: 2, response: 0, conf });
  assert.deepEqual((decodeEnrollResp(encodeEnrollResp({ id: ID, tSec: 1n, tNsec: 2, response: 0, conf: UNI })) as EnrollResp).conf, UNI);
  const bc = decodeEnrollResp(encodeEnrollResp({ id: ID, tSec: 1n, tNsec: 2, response: 0, conf: BCAST })) as EnrollResp;
  assert.deepEqual(bc.conf, BCAST);
  assert.throws(() => encodeEnrollResp({ id: ID, tSec: 1n, tNsec: 2, response: 0 }), RangeError);
  assert.throws(() => encodeEnrollResp({ id: ID, tSec: 1n << 63n, tNsec: 2, response: -1 }), RangeError);
});

test('enroll_resp presence rules', () => {
  const head = '0a08' + '0102030405060708' + '1001' + '1802';
  // accepting without conf
  assert.match(decodeEnrollResp(Buffer.from(head + '2000', 'hex')) as string, /no configuration/);
  // a conf lacking its required layer_info (ipcp_type only)
  assert.match(decodeEnrollResp(Buffer.from(head + '2000' + '2a021001', 'hex')) as string, /lacks conf\.layer_info/);
  // refusing with a conf: the conf is ignored, as the reference ignores it...
  const raw = fromBinary(enroll_resp_msgSchema, encodeEnrollResp({ id: ID, tSec: 1n, tNsec: 2, response: 0, conf: UNI }));
  raw.response = -1;
  assert.deepEqual(decodeEnrollResp(toBinary(enroll_resp_msgSchema, raw)), { id: new Uint8Array(ID), tSec: 1n, tNsec: 2, response: -1 });
  // ...but it must still unpack, as protobuf-c checks nested required fields
  assert.match(decodeEnrollResp(Buffer.from(head + '20ffffffffffffffffff01' + '2a021001', 'hex')) as string, /lacks conf\.layer_info/);
  // every required field
  assert.match(decodeEnrollResp(Buffer.from('1001' + '1802' + '2000', 'hex')) as string, /lacks id/);
  assert.match(decodeEnrollResp(Buffer.from('0a080102030405060708' + '1802' + '2000', 'hex')) as string, /lacks t_sec/);
  assert.match(decodeEnrollResp(Buffer.from('0a080102030405060708' + '1001' + '2000', 'hex')) as string, /lacks t_nsec/);
  assert.match(decodeEnrollResp(Buffer.from(head, 'hex')) as string, /lacks response/);
  assert.match(decodeEnrollResp(Buffer.from('0a0401020304' + '1001' + '1802' + '20ffffffffffffffffff01', 'hex')) as string, /id of 4 bytes/);
  assert.match(decodeEnrollResp(Buffer.from('0aff', 'hex')) as string, /does not unpack/);
});

test('1024-byte limit both ways', () => {
  const big: IpcpConfig = { ...UNI, layer: { name: 'x'.repeat(1100), hashAlgo: HashAlgo.SHA3_256 } };
  assert.throws(
    () => encodeEnrollResp({ id: ID, tSec: 1n, tNsec: 2, response: 0, conf: big }),
    (e: unknown) => e instanceof OuroborosError && e.code === 'EMSGSIZE',
  );
  const pad = (n: number): Buffer => Buffer.concat([encodeEnrollReq({ id: ID }), Buffer.from([0x7a]), varint(n), Buffer.alloc(n)]);
  const at = (total: number): Buffer => {
    let n = total - 13;
    while (pad(n).length > total) n--;
    return pad(n);
  };
  assert.equal(at(ENROLL_MAX_LEN).length, 1024);
  assert.equal(typeof decodeEnrollReq(at(1024)), 'object', 'unknown fields are skipped');
  assert.match(decodeEnrollReq(at(1025)) as string, /1025 bytes exceeds 1024/);
  assert.match(decodeEnrollAck(new Uint8Array(1025)) as string, /exceeds 1024/);
  assert.match(decodeEnrollResp(new Uint8Array(1025)) as string, /exceeds 1024/);
});

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

test("the enrollee's checks", () => {
  const ok: EnrollResp = { id: ID, tSec: 1n, tNsec: 0, response: 0, conf: UNI };
  assert.equal(checkEnrollResp(ok, ID, IpcpType.UNICAST), undefined);
  assert.match(checkEnrollResp(ok, Buffer.from('0102030405060709', 'hex'), IpcpType.UNICAST)!, /id mismatch/);
  assert.match(checkEnrollResp({ ...ok, response: -13 }, ID, IpcpType.UNICAST)!, /denied.*-13/);
  assert.match(checkEnrollResp(ok, ID, IpcpType.BROADCAST)!, /type 1, not 2/);
  // clock: sent at 1000 ms, answered at 1010 ms (10 ms round trip)
  const at = (ms: number): EnrollResp => ({ ...ok, tSec: BigInt(Math.floor(ms / 1000)), tNsec: (ms % 1000) * 1e6 });
  assert.equal(clockOffsetTooLarge(1000, 1010, at(1005)), false);
  assert.equal(clockOffsetTooLarge(1000, 1010, at(1030)), false);
  assert.equal(clockOffsetTooLarge(1000, 1010, at(1031)), true);
  assert.equal(clockOffsetTooLarge(1000, 1010, at(969)), true);
});

test('fuzz: random bytes give a message or a reason, never a throw', () => {
  const r = new Rng(0xe4011);
  const seeds = [
    encodeEnrollReq({ id: ID }),
    encodeEnrollAck({ id: ID, result: 0 }),
    encodeEnrollResp({ id: ID, tSec: 5n, tNsec: 6, response: 0, conf: { ...UNI, unicast: { ...UNICAST_DEFAULTS, dhtPeer: 9 } } }),
    encodeEnrollResp({ id: ID, tSec: 5n, tNsec: 6, response: 0, conf: BCAST }),
  ];
  const decoders = [decodeEnrollReq, decodeEnrollAck, decodeEnrollResp] as ((b: Uint8Array) => unknown)[];
  let ok = 0;
  for (let i = 0; i < 20000; i++) {
    let b: Uint8Array;
    if (r.bool(0.3)) b = r.bytes(r.int(64));
    else {
      b = Buffer.from(r.pick(seeds));
      for (let k = r.range(1, 3); k > 0; k--) b[r.int(b.length)] = r.int(256);
      if (r.bool()) b = b.subarray(0, r.int(b.length + 1));
    }
    for (const d of decoders) {
      let m: unknown;
      assert.doesNotThrow(() => {
        m = d(b);
      });
      if (typeof m !== 'string') ok++;
    }
  }
  assert.ok(ok > 1000, `${ok}`);
});
