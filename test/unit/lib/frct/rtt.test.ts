import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RttEstimator } from '../../../../src/lib/frct/rtt.js';

test('initial state: srtt 0, mdev 10 ms, rto 1 s', () => {
  const e = new RttEstimator();
  assert.equal(e.srttNs, 0);
  assert.equal(e.mdevNs, 10_000_000);
  assert.equal(e.rtoNs, 1_000_000_000);
  assert.equal(e.rtoMs, 1000);
  assert.equal(new RttEstimator(250).rtoMs, 250);
});

test('Linux-variant estimator, hand-computed sequence (ns)', () => {
  const e = new RttEstimator();
  // 1st: srtt = m, mdev = m/2, rto = srtt + 4 mdev
  e.sample(100);
  assert.deepEqual([e.srttNs, e.mdevNs, e.rtoNs], [100_000_000, 50_000_000, 300_000_000]);
  // 120: d = 20 ms; srtt += 2.5 ms; d' = (20 - 50)/4 = -7.5 ms < 0 -> /8 = -937 500
  e.sample(120);
  assert.deepEqual([e.srttNs, e.mdevNs, e.rtoNs], [102_500_000, 49_062_500, 298_750_000]);
  // 80: d = -22.5 ms; srtt += -2 812 500; d' = (22.5 - 49.0625)/4 = -6 640 625 -> >>3 = floor(-830 078.125) = -830 079
  e.sample(80);
  assert.deepEqual([e.srttNs, e.mdevNs, e.rtoNs], [99_687_500, 48_232_421, 292_617_184]);
  // 300: d = 200 312 500; srtt += floor(25 039 062.5); d' = floor((200 312 500 - 48 232 421)/4) = 38 020 019
  e.sample(300);
  assert.deepEqual([e.srttNs, e.mdevNs, e.rtoNs], [124_726_562, 86_252_440, 469_736_322]);
  // 0.1 ms: d = -124 626 562; srtt += floor(-15 578 320.25) = -15 578 321; d' = floor(38 374 122 / 4) = 9 593 530
  e.sample(0.1);
  assert.deepEqual([e.srttNs, e.mdevNs, e.rtoNs], [109_148_241, 95_845_970, 492_532_121]);
  assert.equal(e.samples, 5);
  assert.equal(e.rtoMs, 492.532121);
});

test('floors: srtt >= 1 us, mdev >= 100 ns, rto >= 250 us', () => {
  const e = new RttEstimator();
  e.sample(0.0005); // 500 ns
  assert.deepEqual([e.srttNs, e.mdevNs, e.rtoNs], [1_000, 250, 250_000]);
  // steady 1 us samples: d = 0, so mdev decays by 1/32 per sample down to its floor
  for (let i = 0; i < 200; i++) e.sample(0.001);
  assert.equal(e.srttNs, 1_000);
  assert.equal(e.mdevNs, 100);
  assert.equal(e.rtoNs, 250_000);
  e.sample(-5); // clock oddities count as 0: srtt stays at its floor
  assert.equal(e.srttNs, 1_000);
});
