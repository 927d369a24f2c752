import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtxStore } from '../../../../src/lib/frct/rtxstore.js';
import { rng } from './sim.js';

const fill = (b: Buffer, seq: number): Buffer => {
  for (let i = 0; i < b.length; i++) b[i] = (seq * 7 + i) & 0xff;
  return b;
};
const ok = (b: Buffer | undefined, seq: number, n: number): boolean => b !== undefined && b.length === n && b.equals(fill(Buffer.alloc(n), seq));

test('stores in order, releases in order, wraps around the ring without growing while there is room', () => {
  const st = new RtxStore(16, 1000, 4000);
  const S = 0xfffffffa; // crosses zero
  for (let i = 0; i < 4; i++) fill(st.put((S + i) >>> 0, 200), (S + i) >>> 0);
  assert.equal(st.ringSize, 1000);
  for (let i = 0; i < 4; i++) assert.ok(ok(st.get((S + i) >>> 0), (S + i) >>> 0, 200));
  st.release((S + 2) >>> 0);
  assert.equal(st.has(S), false);
  assert.equal(st.has((S + 2) >>> 0), true);
  // 800 used from 400 on: 200 more at the end, then wrap to 0 (before the live 400..800).
  fill(st.put((S + 4) >>> 0, 200), (S + 4) >>> 0);
  fill(st.put((S + 5) >>> 0, 300), (S + 5) >>> 0);
  assert.equal(st.ringSize, 1000, 'wrapped, not grown');
  for (let i = 2; i < 6; i++) assert.ok(ok(st.get((S + i) >>> 0), (S + i) >>> 0, i === 5 ? 300 : 200), `entry ${i}`);
  // No room left between 300 and 400 for 150: a larger ring, the old entries stay readable.
  fill(st.put((S + 6) >>> 0, 150), (S + 6) >>> 0);
  assert.equal(st.ringSize, 2000);
  for (let i = 2; i < 7; i++) assert.ok(ok(st.get((S + i) >>> 0), (S + i) >>> 0, i === 5 ? 300 : i === 6 ? 150 : 200));
  st.release((S + 7) >>> 0);
  for (let i = 0; i < 7; i++) assert.equal(st.has((S + i) >>> 0), false);
});

test('an SDU larger than the largest ring gets a buffer of its own; clear() forgets everything', () => {
  const st = new RtxStore(8, 100, 400);
  fill(st.put(1, 50), 1);
  fill(st.put(2, 1000), 2);
  fill(st.put(3, 50), 3);
  assert.ok(ok(st.get(1), 1, 50) && ok(st.get(2), 2, 1000) && ok(st.get(3), 3, 50));
  assert.ok(st.ringSize <= 400);
  st.clear();
  assert.equal(st.get(1), undefined);
  assert.equal(st.ringSize, 0);
  // A new run somewhere else.
  fill(st.put(1000, 10), 1000);
  assert.ok(ok(st.get(1000), 1000, 10));
});

test('random sizes and acknowledgements: every live entry reads back intact', () => {
  const r = rng(9);
  const st = new RtxStore(64, 512, 8192);
  let first = 0;
  let next = 0;
  const sizes = new Map<number, number>();
  for (let step = 0; step < 20_000; step++) {
    if (next - first < 64 && r() < 0.55) {
      const n = 1 + Math.floor(r() * 600);
      fill(st.put(next, n), next);
      sizes.set(next, n);
      next++;
    } else if (next > first) {
      const upTo = first + 1 + Math.floor(r() * (next - first));
      st.release(upTo);
      for (; first < upTo; first++) sizes.delete(first);
    }
    if (step % 97 === 0) for (const [s, n] of sizes) assert.ok(ok(st.get(s), s, n), `entry ${s} at step ${step}`);
  }
  assert.ok(st.ringSize <= 8192);
});
