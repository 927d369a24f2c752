import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Impairment, parseImpair } from '../../../src/ipcpd/udp/impair.js';
import { rng } from '../../helpers/rng.js';


const pkt = (i: number): Buffer[] => {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(1, 0);
  b.writeUInt32BE(i, 4);
  return [b.subarray(0, 4), b.subarray(4)];
};
const seqOf = (d: Buffer[]): number => Buffer.concat(d).readUInt32BE(4);

test('parseImpair: probabilities, delay, errors, nothing set', () => {
  assert.equal(parseImpair(undefined), undefined);
  assert.equal(parseImpair({ hosts: '/x' }), undefined);
  assert.equal(parseImpair({ drop: '0' }), undefined);
  assert.deepEqual(parseImpair({ drop: '0.1', delay: '5' }), { drop: 0.1, dup: 0, reorder: 0, corrupt: 0, delay: 5 });
  assert.throws(() => parseImpair({ drop: '1.5' }), /drop must be a probability from 0 to 1, not "1.5"/);
  assert.throws(() => parseImpair({ dup: 'often' }), /dup must be a probability/);
  assert.throws(() => parseImpair({ delay: '-1' }), /delay must be a number of milliseconds/);
});

test('drop, dup and corrupt happen at about their rates; the eid is never corrupted', () => {
  const out: Buffer[][] = [];
  const imp = new Impairment({ drop: 0.1, dup: 0.05, reorder: 0, corrupt: 0.01, delay: 0 }, (d) => out.push(d), rng(7));
  const n = 20000;
  for (let i = 0; i < n; i++) imp.submit(pkt(i), 'a', 1);
  const s = imp.stats;
  assert.ok(Math.abs(s.dropped / n - 0.1) < 0.01, `dropped ${s.dropped}`);
  assert.ok(Math.abs(s.duplicated / (n - s.dropped) - 0.05) < 0.01, `duplicated ${s.duplicated}`);
  assert.ok(s.corrupted > 100 && s.corrupted < 300, `corrupted ${s.corrupted}`);
  assert.equal(out.length, n - s.dropped + s.duplicated);
  for (const d of out) assert.equal(Buffer.concat(d).readUInt32BE(0), 1, 'eid intact');
  const bad = out.filter((d) => seqOf(d) >= n).length;
  assert.ok(bad <= s.corrupted);
});

test('reorder swaps a held datagram with the next one', () => {
  const out: number[] = [];
  let k = 0;
  // reorder decided on the 4th random draw of a datagram: hold datagram 0 only
  const draws = [0.9, 0.9, 0.9, 0.0, 0.9, 0.9, 0.9, 0.9];
  const imp = new Impairment({ drop: 0, dup: 0, reorder: 0.5, corrupt: 0, delay: 0 }, (d) => out.push(seqOf(d)), () => draws[k++ % draws.length]!);
  imp.submit(pkt(0), 'a', 1);
  imp.submit(pkt(1), 'a', 1);
  imp.stop();
  assert.deepEqual(out, [1, 0]);
  assert.equal(imp.stats.reordered, 1);
});
