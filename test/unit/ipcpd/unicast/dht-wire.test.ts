import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rng } from '../../../helpers/rng.js';
import { OuroborosError } from '../../../../src/common/errors.js';
import {
  addrToValue,
  decodeDhtMsg,
  DhtCode,
  encodeDhtMsg,
  valueToAddr,
  type DhtContact,
  type DhtMessage,
} from '../../../../src/ipcpd/unicast/dir/dht-wire.js';

// Hash length 8 keeps the vectors short (the codec takes it as a parameter).
const HL = 8;
const ID = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
const KEY = Uint8Array.from([0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7]);
const SRC: DhtContact = { id: ID, addr: 300 };
const PEER: DhtContact = { id: Uint8Array.from([0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17]), addr: 0x0a0b0c0d };
const VAL = addrToValue(0x0a0b0c0d);

const h = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

// src = dht_contact_msg { id = 0102..08, addr = 300 }
//   0a 08 01 02 03 04 05 06 07 08   field 1 (id), wire type 2, 8 bytes
//   10 ac 02                        field 2 (addr), varint 300 = 0b10_0101100 -> ac 02
const SRC_HEX = '0a08 0102030405060708 10ac02'; // 13 bytes
// contact { id = 1011..17, addr = 0x0a0b0c0d }: 168496141 in 7-bit groups, low first:
//   0x0d|0x80, 0x18|0x80, 0x2c|0x80, 0x50 -> 8d 98 ac 50
const PEER_HEX = '0a08 1011121314151617 108d98ac50'; // 15 bytes

function roundTrip(m: DhtMessage, expectHex: string): void {
  const b = encodeDhtMsg(m);
  assert.equal(h(b), expectHex.replace(/\s+/g, ''));
  const d = decodeDhtMsg(b, HL);
  assert.ok(!(d instanceof OuroborosError), d instanceof OuroborosError ? d.message : '');
  assert.deepEqual(d, m);
}

test('FIND_NODE_REQ, byte by byte', () => {
  const m: DhtMessage = { code: DhtCode.FIND_NODE_REQ, src: SRC, cookie: 0xffff_ffff_ffff_ffffn, key: KEY };
  const b = encodeDhtMsg(m);
  // prettier-ignore
  const expect = [
    0x08, 0x01,                         // field 1 code, varint: 1 (FIND_NODE_REQ)
    0x12, 0x0d,                         // field 2 src, length-delimited, 13 bytes
    0x0a, 0x08,                         //   id: field 1, 8 bytes
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0x10, 0xac, 0x02,                   //   addr: field 2, varint 300
    0x22, 0x15,                         // field 4 find, length-delimited, 21 bytes
    0x08,                               //   cookie: field 1, varint 2^64-1 = ten bytes
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    0x12, 0x08,                         //   key: field 2, 8 bytes
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
  ];
  assert.deepEqual([...b], expect);
  assert.deepEqual(decodeDhtMsg(b, HL), m);
});

test('STORE: code 0 is sent (required), exp u32 varint', () => {
  // exp 1800000000 = 0x6b49d200 -> 80 a4 a7 da 06
  roundTrip(
    { code: DhtCode.STORE, src: SRC, key: KEY, val: VAL, exp: 1_800_000_000 },
    `0800 120d ${SRC_HEX} 1a1a 0a08 a0a1a2a3a4a5a6a7 1208 000000000a0b0c0d 18 80a4a7da06`,
  );
});

test('FIND_NODE_RSP: cookie and key echoed, contacts repeated (field 3)', () => {
  roundTrip(
    { code: DhtCode.FIND_NODE_RSP, src: SRC, cookie: 1n, key: KEY, contacts: [PEER] },
    `0802 120d ${SRC_HEX} 2a1d 0801 1208 a0a1a2a3a4a5a6a7 1a0f ${PEER_HEX}`,
  );
  roundTrip({ code: DhtCode.FIND_NODE_RSP, src: SRC, cookie: 1n, key: KEY, contacts: [] }, `0802 120d ${SRC_HEX} 2a0c 0801 1208 a0a1a2a3a4a5a6a7`);
});

test('FIND_VALUE_REQ', () => {
  // cookie 0x1122334455667788 -> 88 ef 99 ab c5 e8 8c 91 11
  roundTrip(
    { code: DhtCode.FIND_VALUE_REQ, src: SRC, cookie: 0x1122334455667788n, key: KEY },
    `0803 120d ${SRC_HEX} 2214 08 88ef99abc5e88c9111 1208 a0a1a2a3a4a5a6a7`,
  );
});

test('FIND_VALUE_RSP: node and val; val present even without values', () => {
  roundTrip(
    { code: DhtCode.FIND_VALUE_RSP, src: SRC, cookie: 7n, key: KEY, contacts: [PEER], values: [VAL] },
    `0804 120d ${SRC_HEX} 2a1d 0807 1208 a0a1a2a3a4a5a6a7 1a0f ${PEER_HEX} 320a 0a08 000000000a0b0c0d`,
  );
  roundTrip(
    { code: DhtCode.FIND_VALUE_RSP, src: SRC, cookie: 7n, key: KEY, contacts: [], values: [] },
    `0804 120d ${SRC_HEX} 2a0c 0807 1208 a0a1a2a3a4a5a6a7 3200`,
  );
});

test('32-byte hash length (SHA3-256 layers)', () => {
  const id = Uint8Array.from({ length: 32 }, (_, i) => i);
  const key = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
  const m: DhtMessage = { code: DhtCode.FIND_VALUE_REQ, src: { id, addr: 0xffff_ffff }, cookie: 42n, key };
  const b = encodeDhtMsg(m);
  // src: 0a 20 + 32-byte id (34) + 10 ffffffff0f (addr 2^32-1, 6) = 40 = 0x28
  assert.equal(h(b.subarray(0, 4)), '08031228');
  assert.equal(h(b.subarray(38, 44)), '10ffffffff0f');
  assert.deepEqual(decodeDhtMsg(b, 32), m);
  assert.ok(decodeDhtMsg(b, 8) instanceof OuroborosError);
});

test('values are 8-byte big-endian addresses', () => {
  assert.equal(h(addrToValue(0x01020304)), '0000000001020304');
  assert.equal(valueToAddr(bytes('0000000001020304')), 0x01020304);
  assert.equal(valueToAddr(bytes('00000001')), undefined);
  assert.equal(valueToAddr(bytes('0000000100000000')), undefined);
});

/** A message as bytes, built field by field, for the validation cases. */
function pb(...parts: string[]): Uint8Array {
  return bytes(parts.join(''));
}
function len(hexs: string): string {
  const n = hexs.replace(/\s+/g, '').length / 2;
  assert.ok(n < 128);
  return n.toString(16).padStart(2, '0');
}
const field = (tag: string, body: string): string => `${tag}${len(body)}${body}`;
const SRCF = field('12', SRC_HEX);
const FIND = field('22', `0801 1208 a0a1a2a3a4a5a6a7`);

function refused(b: Uint8Array, why: RegExp, hl = HL): void {
  const d = decodeDhtMsg(b, hl);
  assert.ok(d instanceof OuroborosError, `expected refusal (${why}), got ${JSON.stringify(d, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  assert.equal(d.code, 'EINVAL');
  assert.match(d.message, why);
}

test('validation: the good baseline decodes', () => {
  assert.ok(!(decodeDhtMsg(pb('0801', SRCF, FIND), HL) instanceof OuroborosError));
});

test('validation: source contact', () => {
  refused(pb('0801', FIND), /no src/);
  refused(pb('0801', field('12', '10ac02'), FIND), /src contact without id/);
  refused(pb('0801', field('12', '0a08 0102030405060708'), FIND), /src contact without id or addr/);
  refused(pb('0801', field('12', '0a07 01020304050607 10ac02'), FIND), /src id of 7 bytes/);
  refused(pb('0801', field('12', '0a08 0102030405060708 1000'), FIND), /src address 0/);
  refused(pb('0801', field('12', '0a08 0102030405060708 10 8080808010'), FIND), /beyond 32 bits/);
});

test('validation: code', () => {
  refused(pb(SRCF, FIND), /no code/);
  refused(pb('0805', SRCF, FIND), /unknown code 5/);
  refused(pb('08ff01', SRCF, FIND), /unknown code 255/);
});

test('validation: requests', () => {
  refused(pb('0801', SRCF), /FIND_NODE_REQ without find/);
  refused(pb('0803', SRCF), /FIND_VALUE_REQ without find/);
  refused(pb('0801', SRCF, field('22', '1208 a0a1a2a3a4a5a6a7')), /without cookie or key/);
  refused(pb('0801', SRCF, field('22', '0801')), /without cookie or key/);
  refused(pb('0803', SRCF, field('22', '0801 1209 a0a1a2a3a4a5a6a7a8')), /request key of 9 bytes/);
  refused(pb('0801', SRCF, field('22', '0801 1200')), /request key of 0 bytes/);
});

test('validation: STORE', () => {
  const store = (body: string): Uint8Array => pb('0800', SRCF, field('1a', body));
  assert.ok(!(decodeDhtMsg(store('0a08 a0a1a2a3a4a5a6a7 1201ff 1801'), HL) instanceof OuroborosError));
  refused(pb('0800', SRCF), /STORE without store/);
  refused(store('0a08 a0a1a2a3a4a5a6a7 1201ff'), /without key, val or exp/);
  refused(store('1201ff 1801'), /without key, val or exp/);
  refused(store('0a08 a0a1a2a3a4a5a6a7 1801'), /without key, val or exp/);
  refused(store('0a08 a0a1a2a3a4a5a6a7 1200 1801'), /empty store value/);
  refused(store('0a04 a0a1a2a3 1201ff 1801'), /store key of 4 bytes/);
});

test('validation: responses', () => {
  const node = (body: string): string => field('2a', body);
  const okNode = node('0801 1208 a0a1a2a3a4a5a6a7');
  assert.ok(!(decodeDhtMsg(pb('0802', SRCF, okNode), HL) instanceof OuroborosError));
  refused(pb('0802', SRCF), /FIND_NODE_RSP without node/);
  refused(pb('0804', SRCF, '3200'), /FIND_VALUE_RSP without node/);
  refused(pb('0804', SRCF, okNode), /FIND_VALUE_RSP without val/);
  refused(pb('0802', SRCF, node('1208 a0a1a2a3a4a5a6a7')), /without cookie or key/);
  refused(pb('0802', SRCF, node('0801 1207 a0a1a2a3a4a5a6')), /response key of 7 bytes/);
  refused(pb('0802', SRCF, node(`0801 1208 a0a1a2a3a4a5a6a7 ${field('1a', '0a03 101112 1001')}`)), /response id of 3 bytes/);
  refused(pb('0802', SRCF, node(`0801 1208 a0a1a2a3a4a5a6a7 ${field('1a', '0a08 1011121314151617 1000')}`)), /response address 0/);
  refused(pb('0802', SRCF, node(`0801 1208 a0a1a2a3a4a5a6a7 ${field('1a', '0a08 1011121314151617')}`)), /without id or addr/);
  refused(pb('0804', SRCF, okNode, field('32', '0a00')), /empty value/);
  // values that are not addresses are carried (the DHT stores any value), but an address must be 8 bytes to be used
  const d = decodeDhtMsg(pb('0804', SRCF, okNode, field('32', '0a03 010203')), HL);
  assert.ok(!(d instanceof OuroborosError) && d.code === DhtCode.FIND_VALUE_RSP && d.values.length === 1);
});

test('validation: protobuf structure as protobuf-c', () => {
  refused(pb(''), /no code/);
  refused(pb('0a0101', SRCF, FIND), /field 1 has wire type 2, expected 0/); // code sent as bytes
  refused(pb('0801', '1001', FIND), /field 2 has wire type 0, expected 2/); // src sent as a varint
  refused(pb('0801', field('12', '0d01020304 10ac02'), FIND), /field 1 has wire type 5/); // id as fixed32
  refused(pb('0801', SRCF, field('22', '0901020304050607 08 1208 a0a1a2a3a4a5a6a7')), /field 1 has wire type 1/);
  refused(pb('0801', SRCF, FIND, '7b7c'), /unsupported wire type 3/); // groups (field 15)
  refused(pb('0801', SRCF, FIND, '7f'), /unsupported wire type 7/);
  refused(pb('0001'), /bad field number 0/);
  refused(pb('0801', SRCF, '2215 0801'), /overruns/);
  refused(pb('08'), /truncated varint/);
  refused(pb('08 ffffffffffffffffffff01'), /longer than 10 bytes/);
  refused(pb('0801', SRCF, FIND, '79'), /overruns/); // field 15 fixed64 cut short
  refused(pb('0801', SRCF, FIND, '7d0102'), /overruns/); // field 15 fixed32 cut short
  // unknown fields of every supported wire type are skipped, at any level
  const d = decodeDhtMsg(pb('0801', field('12', `${SRC_HEX} 7801`), FIND, '7801 790102030405060708 7a0100 7d01020304'), HL);
  assert.ok(!(d instanceof OuroborosError));
  assert.deepEqual(d, { code: DhtCode.FIND_NODE_REQ, src: SRC, cookie: 1n, key: KEY });
  // fields out of order and repeated required scalars (last one wins) are accepted, as protobuf-c does
  const e = decodeDhtMsg(pb(FIND, SRCF, '0805 0801'), HL);
  assert.ok(!(e instanceof OuroborosError) && e.code === DhtCode.FIND_NODE_REQ);
});

test('decoded byte fields do not alias the SDU', () => {
  const b = encodeDhtMsg({ code: DhtCode.STORE, src: SRC, key: KEY, val: VAL, exp: 5 });
  const d = decodeDhtMsg(b, HL);
  assert.ok(!(d instanceof OuroborosError) && d.code === DhtCode.STORE);
  b.fill(0);
  assert.deepEqual(d.key, KEY);
  assert.deepEqual(d.val, VAL);
  assert.deepEqual(d.src.id, ID);
});

test('encode refuses values that do not fit', () => {
  assert.throws(() => encodeDhtMsg({ code: DhtCode.FIND_NODE_REQ, src: { id: ID, addr: 2 ** 32 }, cookie: 1n, key: KEY }), /bad DHT address/);
  assert.throws(() => encodeDhtMsg({ code: DhtCode.FIND_NODE_REQ, src: SRC, cookie: 1n << 64n, key: KEY }), /cookie/);
  assert.throws(() => encodeDhtMsg({ code: DhtCode.STORE, src: SRC, key: KEY, val: VAL, exp: -1 }), /expiry/);
});


test('fuzz: random and mutated input never throws; accepted input re-encodes to an equal message', () => {
  const r = rng(0xd47);
  const rb = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
  const seeds: Uint8Array[] = [
    encodeDhtMsg({ code: DhtCode.STORE, src: SRC, key: KEY, val: VAL, exp: 1_800_000_000 }),
    encodeDhtMsg({ code: DhtCode.FIND_NODE_REQ, src: SRC, cookie: 99n, key: KEY }),
    encodeDhtMsg({ code: DhtCode.FIND_NODE_RSP, src: SRC, cookie: 99n, key: KEY, contacts: [PEER, SRC] }),
    encodeDhtMsg({ code: DhtCode.FIND_VALUE_REQ, src: SRC, cookie: 1n, key: KEY }),
    encodeDhtMsg({ code: DhtCode.FIND_VALUE_RSP, src: SRC, cookie: 1n, key: KEY, contacts: [PEER], values: [VAL, VAL] }),
  ];
  let accepted = 0;
  let refusedN = 0;
  for (let i = 0; i < 20000; i++) {
    let b: Uint8Array;
    const kind = i % 4;
    if (kind === 0) b = rb(Math.floor(r() * 64));
    else {
      b = Uint8Array.from(seeds[Math.floor(r() * seeds.length)]!);
      const n = 1 + Math.floor(r() * 3);
      for (let j = 0; j < n; j++) {
        const at = Math.floor(r() * b.length);
        if (kind === 1) b[at] = Math.floor(r() * 256);
        else if (kind === 2) b[at] = b[at]! ^ (1 << Math.floor(r() * 8));
        else b = Uint8Array.from([...b.subarray(0, at), ...rb(Math.floor(r() * 4)), ...b.subarray(at + Math.floor(r() * 4))]);
      }
    }
    let d: DhtMessage | OuroborosError;
    try {
      d = decodeDhtMsg(b, HL);
    } catch (e) {
      assert.fail(`decode threw on ${h(b)}: ${(e as Error).message}`);
    }
    if (d instanceof OuroborosError) {
      refusedN++;
      assert.equal(d.code, 'EINVAL');
      continue;
    }
    accepted++;
    assert.equal(d.src.id.length, HL);
    assert.ok(d.src.addr > 0 && d.src.addr <= 0xffff_ffff);
    assert.equal(d.key.length, HL);
    assert.deepEqual(decodeDhtMsg(encodeDhtMsg(d), HL), d);
  }
  assert.ok(accepted > 1000 && refusedN > 1000, `accepted ${accepted}, refused ${refusedN}`);
});
