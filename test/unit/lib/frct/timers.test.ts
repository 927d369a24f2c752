import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimerQueue } from '../../../../src/lib/frct/timers.js';

test('timers fire in deadline order, ties in the order they were set, only when due', () => {
  const q = new TimerQueue();
  const fired: string[] = [];
  q.schedule(30, () => fired.push('c30'));
  q.schedule(10, () => fired.push('a10'));
  q.schedule(20, () => fired.push('b20'));
  q.schedule(10, () => fired.push('a10bis'));
  assert.equal(q.next(), 10);
  assert.equal(q.advance(9), 0);
  assert.deepEqual(fired, []);
  assert.equal(q.advance(20), 3);
  assert.deepEqual(fired, ['a10', 'a10bis', 'b20']);
  assert.equal(q.next(), 30);
  q.advance(1000);
  assert.deepEqual(fired, ['a10', 'a10bis', 'b20', 'c30']);
  assert.equal(q.next(), undefined);
  assert.equal(q.size, 0);
});

test('resolution: deadlines round up, never fire early', () => {
  const q = new TimerQueue(1);
  const fired: number[] = [];
  const t = q.schedule(10.2, (now) => fired.push(now));
  assert.equal(t.deadline, 11);
  q.advance(10.9);
  assert.deepEqual(fired, []);
  q.advance(11);
  assert.deepEqual(fired, [11]);
  // coarser resolution, as a wheel slot would do
  const q5 = new TimerQueue(5);
  const f5: number[] = [];
  q5.schedule(11, (now) => f5.push(now));
  q5.schedule(15, (now) => f5.push(now));
  assert.equal(q5.next(), 15);
  q5.advance(14.99);
  assert.deepEqual(f5, []);
  q5.advance(15);
  assert.deepEqual(f5, [15, 15]);
  assert.throws(() => new TimerQueue(0), RangeError);
});

test('re-arm, cancel, setIfEarlier, and timers set from callbacks', () => {
  const q = new TimerQueue();
  const fired: string[] = [];
  const a = q.timer(() => fired.push('a'));
  const b = q.timer(() => fired.push('b'));
  a.set(50);
  b.set(40);
  a.set(30); // re-arm moves it
  assert.equal(q.size, 2);
  assert.equal(a.deadline, 30);
  a.setIfEarlier(45); // later: ignored
  assert.equal(a.deadline, 30);
  a.setIfEarlier(20);
  assert.equal(a.deadline, 20);
  b.clear();
  assert.equal(b.pending, false);
  assert.equal(b.deadline, undefined);
  b.clear(); // idempotent
  q.advance(100);
  assert.deepEqual(fired, ['a']);
  // a callback re-arming another timer for an already-due time fires it in the same advance
  const c = q.timer((now) => {
    fired.push(`c@${now}`);
    d.set(now - 5);
  });
  const d = q.timer((now) => fired.push(`d@${now}`));
  c.set(110);
  q.advance(120);
  assert.deepEqual(fired, ['a', 'c@120', 'd@120']);
  // a periodic timer re-arming itself in the future fires once per advance step
  let ticks = 0;
  const p = q.timer((now) => {
    ticks++;
    p.set(now + 10);
  });
  p.set(200);
  for (let now = 200; now <= 300; now += 10) q.advance(now);
  assert.equal(ticks, 11);
  p.clear();
  q.clear();
  assert.equal(q.next(), undefined);
});

test('heap stays consistent under many random operations', () => {
  const q = new TimerQueue();
  let x = 1;
  const rnd = () => ((x = (x * 48271) % 0x7fffffff) / 0x7fffffff);
  const timers = Array.from({ length: 200 }, (_, i) => q.timer((now) => fired.push([i, now])));
  const fired: [number, number][] = [];
  const expect = new Map<number, number>();
  for (let k = 0; k < 5_000; k++) {
    const i = Math.floor(rnd() * timers.length);
    if (rnd() < 0.3) {
      timers[i]!.clear();
      expect.delete(i);
    } else {
      const at = Math.floor(rnd() * 10_000);
      timers[i]!.set(at);
      expect.set(i, at);
    }
  }
  q.advance(Infinity);
  const want = [...expect.entries()].sort((p, r) => p[1] - r[1]);
  assert.deepEqual(
    fired.map(([i]) => expect.get(i)),
    want.map(([, at]) => at),
  );
  assert.equal(fired.length, expect.size);
});
