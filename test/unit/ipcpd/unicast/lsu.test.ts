import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeLsu, encodeLsu, isWithdrawal, LSU_LEN, O7S_SEQNO_BASE } from '../../../../src/ipcpd/unicast/routing/lsu.js';
import { Rng } from '../../../helpers/rng.js';

test('LSU: 24 bytes, d_addr, s_addr, seqno as big-endian u64', () => {
  const b = encodeLsu({ dst: 0x0a0b0c0d, src: 0x01020304, seqno: 5 });
  assert.equal(b.length, LSU_LEN);
  assert.equal(
    b.toString('hex'),
    '000000000a0b0c0d' + // d_addr
      '0000000001020304' + // s_addr
      '0000000000000005', // seqno
  );
  assert.deepEqual(decodeLsu(b), { dst: 0x0a0b0c0d, src: 0x01020304, seqno: 5 });
});

test('LSU: the largest safe values round-trip, bytes as the reference writes them', () => {
  const max = Number.MAX_SAFE_INTEGER; // 2^53 - 1
  const b = encodeLsu({ dst: max, src: 0, seqno: O7S_SEQNO_BASE + 1 });
  assert.equal(b.toString('hex'), '001fffffffffffff' + '0000000000000000' + '0010000000000001');
  assert.deepEqual(decodeLsu(b), { dst: max, src: 0, seqno: O7S_SEQNO_BASE + 1 });
  // A reference LSU (hton64 fields): dst 0x1234, src 0xabcdef01, seqno 0.
  const c = Buffer.from('0000000000001234' + '00000000abcdef01' + '0000000000000000', 'hex');
  assert.deepEqual(decodeLsu(c), { dst: 0x1234, src: 0xabcdef01, seqno: 0 });
});

test('LSU: only exactly 24 bytes, no field at or beyond 2^53', () => {
  const ok = encodeLsu({ dst: 1, src: 2, seqno: 3 });
  assert.match(decodeLsu(ok.subarray(0, 23)) as string, /23 bytes/);
  assert.match(decodeLsu(Buffer.concat([ok, Buffer.from([0])])) as string, /25 bytes/);
  assert.equal(typeof decodeLsu(new Uint8Array(0)), 'string');
  for (const off of [0, 8, 16]) {
    const b = Buffer.from(ok);
    b.writeBigUInt64BE(2n ** 53n, off);
    assert.match(decodeLsu(b) as string, /beyond 2\^53/);
    b.writeBigUInt64BE(2n ** 64n - 1n, off);
    assert.match(decodeLsu(b) as string, /beyond 2\^53/);
  }
  // A view into a larger buffer at an odd offset decodes.
  const big = new Uint8Array(31);
  big.set(ok, 7);
  assert.deepEqual(decodeLsu(big.subarray(7)), { dst: 1, src: 2, seqno: 3 });
});

test('LSU: encode refuses values a u64 as a number can not carry', () => {
  assert.throws(() => encodeLsu({ dst: -1, src: 1, seqno: 0 }), RangeError);
  assert.throws(() => encodeLsu({ dst: 1, src: 1.5, seqno: 0 }), RangeError);
  assert.throws(() => encodeLsu({ dst: 1, src: 1, seqno: 2 ** 53 }), RangeError);
  assert.throws(() => encodeLsu({ dst: NaN, src: 1, seqno: 0 }), RangeError);
});

test('LSU: o7s withdrawals are odd seqnos from 2^52 up only', () => {
  assert.equal(isWithdrawal(O7S_SEQNO_BASE + 1), true);
  assert.equal(isWithdrawal(O7S_SEQNO_BASE + 2), false);
  assert.equal(isWithdrawal(O7S_SEQNO_BASE), false);
  assert.equal(isWithdrawal(1), false, 'reference seqnos count up from 0 and are never withdrawals');
  assert.equal(isWithdrawal(12345), false);
});

test('LSU fuzz: random values round-trip, random bytes decode or are refused, never throw', () => {
  const r = new Rng(0x15a);
  const val = (): number => (r.bool(0.3) ? r.u32() : r.int(0x20_0000) * 2 ** 32 + r.u32());
  for (let i = 0; i < 2000; i++) {
    const l = { dst: val(), src: val(), seqno: val() };
    const b = encodeLsu(l);
    assert.equal(b.length, 24);
    assert.deepEqual(decodeLsu(b), l);
  }
  for (let i = 0; i < 2000; i++) {
    const len = r.bool(0.7) ? 24 : r.int(40);
    const b = Buffer.alloc(len);
    for (let j = 0; j < len; j++) b[j] = r.bool(0.5) ? 0 : r.int(256);
    const m = decodeLsu(b);
    if (len !== 24) {
      assert.equal(typeof m, 'string');
      continue;
    }
    const fits = [0, 8, 16].every((o) => b.readBigUInt64BE(o) < 2n ** 53n);
    if (!fits) {
      assert.equal(typeof m, 'string');
      continue;
    }
    assert.ok(typeof m !== 'string');
    assert.deepEqual(encodeLsu(m), b);
  }
});
