import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CA_NAMES, CA_POLICIES, caByName, caByType, createCa } from '../../../../src/ipcpd/unicast/ca/index.js';
import { MbEcnFlow, mbEcnMark, mbEcnPolicy } from '../../../../src/ipcpd/unicast/ca/mb-ecn.js';
import { nonePolicy } from '../../../../src/ipcpd/unicast/ca/none.js';
import { CongestionPolicy } from '../../../../src/common/ipcp-types.js';
import { OuroborosError } from '../../../../src/common/errors.js';

/** The initial slot: 2^24 ns. */
const S = 2 ** 24;

test('policy table: by name and by configuration number', () => {
  assert.deepEqual(Object.keys(CA_POLICIES).sort(), ['mb-ecn', 'none']);
  assert.deepEqual(CA_NAMES, { 0: 'none', 1: 'mb-ecn' });
  assert.equal(createCa(CongestionPolicy.NONE), nonePolicy);
  assert.equal(createCa(CongestionPolicy.MB_ECN), mbEcnPolicy);
  assert.equal(createCa('mb-ecn'), mbEcnPolicy);
  assert.equal(caByName('none')?.type, 0);
  assert.equal(caByType(1)?.name, 'mb-ecn');
  assert.equal(caByName('toString'), undefined);
  assert.equal(caByType(2), undefined);
  assert.throws(() => createCa(2), (e: unknown) => e instanceof OuroborosError && e.code === 'EINVAL');
  assert.throws(() => createCa('cubic'), (e: unknown) => e instanceof OuroborosError && e.code === 'EINVAL');
});

test('none: never waits, never marks, never answers', () => {
  const f = nonePolicy.newFlow(0);
  for (let i = 0; i < 100; i++) assert.equal(f.beforeSend(1e6, i), 0);
  assert.equal(f.onReceive(100, 255), undefined);
  f.onUpdate(8000);
  assert.equal(f.beforeSend(1e9, 0n), 0);
  assert.deepEqual(f.stats(), {});
  assert.equal(nonePolicy.mark(1e6), 0);
});

test('mb-ecn marking: queued >> 4, cut to a byte like the reference', () => {
  assert.equal(mbEcnPolicy.mark(0), 0);
  assert.equal(mbEcnPolicy.mark(15), 0);
  assert.equal(mbEcnPolicy.mark(16), 1);
  assert.equal(mbEcnPolicy.mark(100), 6);
  assert.equal(mbEcnPolicy.mark(4095), 255);
  assert.equal(mbEcnMark(4096), 0, '(uint8_t) (4096 >> 4)');
  assert.equal(mbEcnMark(4096 + 48), 3);
  assert.equal(mbEcnMark(-5), 0);
});

test('mb-ecn receiver: start, updates when (rx_ctr++ & 7) == 1, end', () => {
  const f = mbEcnPolicy.newFlow();
  assert.equal(f.onReceive(100, 0), undefined, 'no congestion: nothing');
  const seen = Array.from({ length: 20 }, () => f.onReceive(100, 10));
  // start: update with the mark; then the 3rd, 11th, 19th packet (old counter 1, 9, 17)
  assert.deepEqual(seen, [10, undefined, 30, undefined, undefined, undefined, undefined, undefined, undefined, undefined, 99, undefined, undefined, undefined, undefined, undefined, undefined, undefined, 152, undefined]);
  assert.equal(f.stats().rxEce, 158);
  assert.equal(f.stats().rxCtr, 19);
  // unmarked packets divide the level by 4; the update comes when it reaches 0
  assert.deepEqual(
    Array.from({ length: 6 }, () => f.onReceive(100, 0)),
    [undefined, undefined, undefined, 0, undefined, undefined],
  );
  // a new episode starts over, counter reset
  assert.equal(f.onReceive(100, 5), 5);
  assert.equal(f.stats().rxCtr, 0);
  assert.equal(f.onReceive(100, 5), undefined);
  assert.equal(f.onReceive(100, 5), 15);
});

test('mb-ecn receiver: the level stays below 2^13 at full marking', () => {
  const f = new MbEcnFlow();
  let max = 0;
  for (let i = 0; i < 5000; i++) {
    const e = f.onReceive(1, 255);
    if (e !== undefined) max = Math.max(max, e);
  }
  assert.equal(f.rxEce, 8160);
  assert.ok(max < 8192);
});

test('mb-ecn sender: slow start waits out the slot, then doubles the budget', () => {
  const f = new MbEcnFlow(0);
  assert.equal(f.stats().txWbl, 65536);
  assert.equal(f.stats().slotNs, S);
  // slot 0: 40 packets of 2000 bytes; from the 33rd (66000 > 65536 bytes) the sender waits
  const waits = Array.from({ length: 40 }, (_, i) => f.beforeSendNs(2000, i * 1000));
  assert.deepEqual(waits.slice(0, 32), new Array(32).fill(0));
  assert.equal(waits[32], S - 32_000);
  assert.equal(waits[39], S - 39_000);
  const g = new MbEcnFlow(0);
  for (let i = 0; i < 32; i++) assert.equal(g.beforeSend(2000, 0), 0);
  assert.equal(g.beforeSend(2000, 0), 17, 'ms, rounded up');
  assert.equal(g.beforeSend(2000, 10_000_000), 7);
  assert.equal(g.beforeSend(2000, S - 1), 1);
  // slot 1: the previous slot went over budget: doubled; the first packet is not counted
  assert.equal(f.beforeSend(2000, S), 0);
  assert.deepEqual([f.stats().txWbl, f.stats().txWpc, f.stats().txWbc, f.stats().slotNs], [131072, 0, 0, S]);
  for (let i = 1; i < 40; i++) assert.equal(f.beforeSend(2000, S + i), 0);
  // slot 2: 80000 bytes stayed under 131072: unchanged
  f.beforeSend(4000, 2 * S);
  assert.equal(f.stats().txWbl, 131072);
  for (let i = 1; i <= 40; i++) f.beforeSend(4000, 2 * S + i);
  // slot 3: 164000 > 131072: doubled again
  f.beforeSend(4000, 3 * S);
  assert.equal(f.stats().txWbl, 262144);
  assert.equal(f.stats().txCav, 0);
});

test('mb-ecn sender: multiplicative decrease on ece, additive increase once it is forgotten', () => {
  const f = new MbEcnFlow(0);
  for (let i = 0; i < 20; i++) f.beforeSend(1000, i);
  f.onUpdate(4096); // half of 2^13
  assert.deepEqual([f.stats().txCav, f.stats().txEce, f.stats().txCtr], [1, 4096, 0]);
  f.beforeSend(1000, S);
  assert.equal(f.stats().txWbl, 32768, '65536 - 65536·4096/8192');
  for (let i = 1; i < 20; i++) assert.equal(f.beforeSend(1000, S + i), 0);
  f.beforeSend(1000, 2 * S); // 21st packet since the update
  assert.equal(f.stats().txWbl, 16384);
  const waits = Array.from({ length: 20 }, (_, i) => f.beforeSend(1000, 2 * S + 1 + i));
  assert.deepEqual(waits.slice(0, 16), new Array(16).fill(0));
  assert.ok(waits.slice(16).every((w) => w === 17), '17000 > 16384 bytes: wait for the next slot');
  // more than 32 packets since the update: the echo is forgotten
  assert.equal(f.stats().txEce, 0);
  f.beforeSend(1000, 3 * S);
  assert.equal(f.stats().txWbl, 21000 + 65536, 'last slot bytes (entry packet included) + increase');
  assert.equal(f.stats().txCav, 1, 'no slow start again');
});

test('mb-ecn sender: a slot with few packets is lengthened (with the carry quirk)', () => {
  const f = new MbEcnFlow(0);
  f.beforeSend(100, 0);
  f.beforeSend(100, 4 * S); // 2 packets in the slot: scale by 4
  assert.deepEqual(
    [f.stats().slotNs, f.stats().txWbl, f.stats().txInc, f.stats().txWpc, f.txSlot],
    [4 * S, 4 * 65536, 4 * 65536, 0, 1],
  );
  const g = new MbEcnFlow(0);
  g.beforeSend(100, 0);
  g.beforeSend(100, 16 * S); // slot 16 → 4 after scaling: low bits 0, so slot 5 and the counts carry over
  assert.deepEqual([g.stats().slotNs, g.txSlot, g.stats().txWpc, g.stats().txWbc], [4 * S, 5, 2, 200]);
  g.beforeSend(100, 20 * S); // still slot 5: no new slot
  assert.deepEqual([g.stats().slotNs, g.stats().txWpc], [4 * S, 3]);
  g.beforeSend(100, 24 * S); // slot 6: 4 packets → doubled once more
  assert.deepEqual([g.stats().slotNs, g.txSlot, g.stats().txWpc], [8 * S, 3, 0]);
});

test('mb-ecn sender: a slot with many packets is shortened', () => {
  const f = new MbEcnFlow(0);
  for (let i = 0; i < 200; i++) f.beforeSend(100, i);
  f.beforeSend(100, S); // 201 packets: 201 → 100 → 50, scale down by 4
  assert.deepEqual([f.stats().slotNs, f.txSlot, f.stats().txWbl, f.stats().txInc], [S / 4, 4, 16384, 16384]);
  for (let i = 1; i <= 20; i++) f.beforeSend(1000, S + i);
  assert.equal(f.beforeSendNs(1000, S + 21), S / 4 - 21, 'over budget: until the end of the short slot');
});

test('mb-ecn sender: waits are capped at 1 s; no creation time starts at the first send', () => {
  const f = new MbEcnFlow(0);
  f.txMul = 31;
  f.txSlot = 0;
  assert.equal(f.beforeSendNs(70000, 0), 2 ** 31);
  assert.equal(f.beforeSend(1, 0), 1000);
  const lazy = mbEcnPolicy.newFlow();
  lazy.beforeSend(100, 10 * S);
  assert.deepEqual([lazy.stats().slotNs, lazy.stats().txWpc], [S, 1]);
  const eager = mbEcnPolicy.newFlow(0);
  eager.beforeSend(100, 10 * S);
  assert.equal(eager.stats().slotNs, 8 * S, 'one packet in a new slot: scaled by 8');
});

test('mb-ecn sender: bigint and number clocks agree, far beyond 2^53 ns', () => {
  const run = (clock: (t: number) => bigint | number): unknown[] => {
    const f = new MbEcnFlow(clock(0));
    const out: unknown[] = [];
    let t = 0;
    for (let i = 0; i < 3000; i++) {
      t += (i * 7919) % 1_000_000;
      if (i === 700) f.onUpdate(3000);
      if (i === 1900) f.onUpdate(6000);
      out.push(f.beforeSendNs(500 + ((i * 31) % 1500), clock(t)));
    }
    out.push(f.stats());
    return out;
  };
  const plain = run((t) => t);
  assert.deepEqual(run((t) => BigInt(t)), plain);
  assert.deepEqual(run((t) => (1n << 60n) + BigInt(t)), plain);
  assert.ok(plain.some((w) => typeof w === 'number' && w > 0));
});
