import { test } from 'node:test';
import assert from 'node:assert/strict';
import { after, before, seqAdd, seqDiff, seqDist, seqMax, u32 } from '../../../../src/lib/frct/seq.js';

test('before/after are strict and modulo 2^32', () => {
  assert.ok(before(1, 2), 'before(1, 2)');
  assert.ok(!before(2, 1), '!before(2, 1)');
  assert.ok(!before(5, 5) && !after(5, 5), '!before(5, 5) && !after(5, 5)');
  assert.ok(after(2, 1), 'after(2, 1)');
  // across the wrap
  assert.ok(before(0xfffffff0, 0x10), 'before(0xfffffff0, 0x10)');
  assert.ok(after(0x10, 0xfffffff0), 'after(0x10, 0xfffffff0)');
  assert.ok(before(0xffffffff, 0), 'before(0xffffffff, 0)');
  assert.ok(after(0, 0xffffffff), 'after(0, 0xffffffff)');
  // half-way: the int32 rule (a - b = 2^31 is negative, so a is "before" b)
  assert.ok(before(0x80000000, 0), 'before(0x80000000, 0)');
  assert.ok(before(0, 0x80000000), 'before(0, 0x80000000)');
  assert.ok(after(0x7fffffff, 0), 'after(0x7fffffff, 0)');
  assert.ok(before(0x80000001, 0), 'before(0x80000001, 0)');
});

test('seqAdd / seqDiff / seqDist / seqMax / u32', () => {
  assert.equal(seqAdd(0xffffffff, 1), 0);
  assert.equal(seqAdd(0xfffffff0, 0x20), 0x10);
  assert.equal(seqAdd(0, -1), 0xffffffff);
  assert.equal(seqDiff(0x10, 0xfffffff0), 0x20);
  assert.equal(seqDiff(0xfffffff0, 0x10), -0x20);
  assert.equal(seqDist(0xfffffff0, 0x10), 0x20);
  assert.equal(seqDist(0x10, 0xfffffff0), 0xffffffe0);
  assert.equal(seqMax(0xfffffff0, 0x10), 0x10);
  assert.equal(seqMax(3, 2), 3);
  assert.equal(u32(-1), 0xffffffff);
  assert.equal(u32(2 ** 32 + 5), 5);
});

test('a run starting at 0xFFFFFFF0 crossing zero stays ordered', () => {
  const start = 0xfffffff0;
  const run: number[] = [];
  for (let i = 0; i < 40; i++) run.push(seqAdd(start, i));
  assert.equal(run[15], 0xffffffff);
  assert.equal(run[16], 0);
  for (let i = 0; i < run.length; i++) {
    for (let j = 0; j < run.length; j++) {
      assert.equal(before(run[i]!, run[j]!), i < j, `before(${run[i]}, ${run[j]})`);
      assert.equal(after(run[i]!, run[j]!), i > j);
      assert.equal(seqDiff(run[j]!, run[i]!), j - i);
    }
  }
  // a window edge computed past zero
  const lwe = 0xffffff80;
  const rwe = seqAdd(lwe, 256);
  assert.equal(rwe, 0x80);
  assert.ok(before(0xffffffff, rwe) && before(0x7f, rwe) && !before(0x80, rwe), 'before(0xffffffff, rwe) && before(0x7f, rwe) && !before(0x80, rwe)');
  assert.ok(!before(0xffffff80, lwe) && before(0xffffff7f, lwe), '!before(0xffffff80, lwe) && before(0xffffff7f, lwe)');
});
