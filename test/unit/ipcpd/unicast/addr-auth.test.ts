import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADDR_AUTH_POLICIES,
  INVALID_ADDR,
  addrAuthByName,
  addrAuthByType,
  createAddrAuth,
  formatAddr32,
} from '../../../../src/ipcpd/unicast/addr-auth/index.js';
import { FLAT_ADDR_SIZE, flatAddress, flatPolicy } from '../../../../src/ipcpd/unicast/addr-auth/flat.js';
import { OuroborosError } from '../../../../src/common/errors.js';

const isEinval = (e: unknown): boolean => e instanceof OuroborosError && e.code === 'EINVAL';
const seq = (...v: number[]) => () => v.shift() ?? 0;

test('table: flat is type 0', () => {
  assert.deepEqual(ADDR_AUTH_POLICIES.map((p) => [p.name, p.type]), [['flat', 0]]);
  assert.equal(addrAuthByName('flat'), flatPolicy);
  assert.equal(addrAuthByType(0), flatPolicy);
  assert.equal(addrAuthByType(1), undefined);
  assert.equal(addrAuthByName('random'), undefined);
  assert.throws(() => createAddrAuth(1), isEinval);
  assert.throws(() => createAddrAuth('hierarchical'), isEinval);
  assert.equal(INVALID_ADDR, 0);
});

test('flat: a random non-zero u32, drawn again on 0, fixed for the authority', () => {
  assert.equal(flatAddress(seq(0, 0, 5)), 5);
  assert.equal(flatAddress(seq(0xffffffff)), 0xffffffff);
  assert.equal(flatAddress(seq(-1)), 0xffffffff, 'taken as u32');
  assert.equal(flatAddress(seq(2 ** 32 + 7)), 7);
  assert.throws(() => flatAddress(() => 0), isEinval);
  const a = createAddrAuth(0, { random: seq(0x0a0b0c0d, 99) });
  assert.equal(a.name, 'flat');
  assert.equal(a.address(), 0x0a0b0c0d);
  assert.equal(a.address(), 0x0a0b0c0d);
  assert.equal(createAddrAuth('flat', { addrSize: 4, random: seq(3) }).address(), 3);
});

test('flat: needs 4-byte addresses', () => {
  assert.equal(FLAT_ADDR_SIZE, 4);
  for (const size of [1, 2, 3, 5, 8]) assert.throws(() => createAddrAuth(0, { addrSize: size }), isEinval);
});

test('flat: default randomness gives non-zero u32 addresses', () => {
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const a = createAddrAuth(0).address();
    assert.ok(Number.isInteger(a) && a > 0 && a <= 0xffffffff);
    seen.add(a);
  }
  assert.ok(seen.size > 190);
});

test('addresses print as the reference logs them (memory order)', () => {
  assert.equal(formatAddr32(0x0a0b0c0d), '0d.0c.0b.0a');
  assert.equal(formatAddr32(1), '01.00.00.00');
  assert.equal(formatAddr32(0xffffffff), 'ff.ff.ff.ff');
});
