/**
 * FRCT engine over simulated channels: bulk transfers (reliable and not),
 * sequence number wrap-around, bidirectional traffic, in-place mutation of
 * handed-out PDUs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrctFlag } from '../../../../src/lib/frct/header.js';
import { before } from '../../../../src/lib/frct/seq.js';
import { inOrderProblem, pair, rng, sduIndex } from './sim.js';

const HOUR = 3_600_000;

test('reliable: 10,000 SDUs over 10% loss, 5% duplication, reordering and delay arrive once, in order, intact', () => {
  const r = rng(1);
  const lossy = { loss: 0.1, dup: 0.05, delay: 5, jitter: 10, random: r };
  const p = pair({ reliable: true, mpl: 100, random: rng(2) }, lossy, lossy);
  const N = 10_000;
  p.a.toWrite = N;
  p.a.pump();
  const done = p.sim.runUntil(() => p.b.got.length === N && p.a.frct.unacked() === 0, HOUR);
  assert.equal(inOrderProblem(p.b.got, N), '');
  assert.ok(done, `transfer incomplete at t=${p.sim.t}: got ${p.b.got.length}, unacked ${p.a.frct.unacked()}`);
  assert.equal(p.a.downs.length, 0);
  assert.equal(p.b.downs.length, 0);
  const sa = p.a.frct.stats;
  const sb = p.b.frct.stats;
  // The channel really was hostile, and the engine noticed.
  assert.ok(p.ab.dataDropped > 800, `dropped ${p.ab.dataDropped}`);
  assert.ok(p.ab.dataDuplicated > 400, `duplicated ${p.ab.dataDuplicated}`);
  assert.equal(sa.sent, N);
  assert.ok(sa.retransmitted >= p.ab.dataDropped - 50, `retransmitted ${sa.retransmitted} < dropped ${p.ab.dataDropped}`);
  assert.ok(sb.duplicates >= p.ab.dataDuplicated / 2, `duplicates ${sb.duplicates}`);
  assert.ok(sb.outOfOrder > 100, `outOfOrder ${sb.outOfOrder}`);
  assert.equal(sb.delivered, N);
  // Every data PDU that reached B was accepted exactly once or counted as a duplicate.
  assert.equal(sb.received, N);
  assert.ok(sa.rttSamples >= 1, 'sa.rttSamples >= 1');
  assert.ok(sa.rttMs > 5 && sa.rttMs < 200, `srtt ${sa.rttMs}`);
  // Unacknowledged data never exceeded the window.
  assert.ok(p.sim.t < HOUR, 'p.sim.t < HOUR');
});

test('reliable: stats match exactly what the channel did (one loss, one duplicate, one swap)', () => {
  // 20 SDUs written at once; channel A->B drops data #5, duplicates #9, and delays #14 past #15.
  const p = pair(
    { reliable: true, mpl: 100, random: () => 0.5 },
    {
      delay: 5,
      decide: (h, _i) => {
        if (!(h.flags & FrctFlag.DATA)) return 'pass';
        const k = (h.seqno - 0x80000000) >>> 0;
        if (k === 5 && !seen5++) return 'drop';
        if (k === 9 && !seen9++) return 'dup';
        return 'pass';
      },
    },
    { delay: 5 },
  );
  let seen5 = 0;
  let seen9 = 0;
  // #14 is also held back 0.5 ms (overtaken by #15..#19).
  const ch = p.ab;
  const origSend = ch.send.bind(ch);
  ch.send = (pdu: Buffer) => {
    const seq = pdu.readUInt32BE(4);
    const k = (seq - 0x80000000) >>> 0;
    if (pdu[0]! & FrctFlag.DATA && k === 14 && !delayed14++) {
      p.sim.at(p.sim.t + 0.5, () => origSend(pdu));
      return;
    }
    origSend(pdu);
  };
  let delayed14 = 0;
  p.a.toWrite = 20;
  p.a.pump();
  assert.ok(p.sim.runUntil(() => p.b.got.length === 20 && p.a.frct.unacked() === 0, 60_000), 'p.sim.runUntil(() => p.b.got.length === 20 && p.a.frct.unacked() === 0, 60_000)');
  assert.equal(inOrderProblem(p.b.got, 20), '');
  const sa = p.a.frct.stats;
  const sb = p.b.frct.stats;
  assert.equal(p.ab.dataDropped, 1);
  assert.equal(p.ab.dataDuplicated, 1);
  assert.equal(sa.retransmitted, 1, 'exactly the lost SDU is retransmitted');
  assert.equal(sb.duplicates, 1, 'exactly the duplicated SDU is dropped as a duplicate');
  // Out of order: #6..#19 arrive while #5 is missing (14; #15 overtaking #14 is among them).
  assert.equal(sb.outOfOrder, 14);
  assert.equal(sb.received, 20);
  assert.equal(sb.noRun, 0);
});

test('reliable: a swap alone counts one out-of-order SDU and no retransmission', () => {
  const p = pair({ reliable: true, mpl: 100, random: () => 0 }, { delay: 5 }, { delay: 5 });
  // The channel swaps SDUs #3 and #4: #3 is held until #4 has gone.
  const ch = p.ab;
  const origSend = ch.send.bind(ch);
  let held: Buffer | undefined;
  ch.send = (pdu: Buffer) => {
    const data = (pdu[0]! & FrctFlag.DATA) !== 0;
    if (data && pdu.readUInt32BE(4) === 3 && held === undefined) {
      held = Buffer.from(pdu);
      return;
    }
    origSend(pdu);
    if (data && pdu.readUInt32BE(4) === 4 && held) origSend(held);
  };
  p.a.toWrite = 10;
  p.a.pump();
  assert.ok(p.sim.runUntil(() => p.b.got.length === 10 && p.a.frct.unacked() === 0, 60_000), 'p.sim.runUntil(() => p.b.got.length === 10 && p.a.frct.unacked() === 0, 60_000)');
  assert.equal(inOrderProblem(p.b.got, 10), '');
  assert.equal(p.b.frct.stats.outOfOrder, 1);
  assert.equal(p.b.frct.stats.duplicates, 0);
  assert.equal(p.a.frct.stats.retransmitted, 0);
  assert.equal(p.ab.log.filter((e) => e.h.flags & FrctFlag.DATA).length, 10);
});

test('reliable: a run starting at 0xFFFFFFF0 crosses zero without losing order', () => {
  const r = rng(7);
  const lossy = { loss: 0.1, dup: 0.05, delay: 3, jitter: 6, random: r };
  const p = pair({ reliable: true, mpl: 100, random: () => 0xfffffff0 / 2 ** 32 }, lossy, lossy);
  p.a.toWrite = 600;
  p.a.pump();
  assert.ok(p.sim.runUntil(() => p.b.got.length === 600 && p.a.frct.unacked() === 0, HOUR), 'p.sim.runUntil(() => p.b.got.length === 600 && p.a.frct.unacked() === 0, HOUR)');
  assert.equal(inOrderProblem(p.b.got, 600), '');
  const seqs = p.ab.log.filter((e) => e.h.flags & FrctFlag.DATA).map((e) => e.h.seqno);
  assert.equal(seqs[0], 0xfffffff0, 'first seqno is the random start');
  assert.ok(seqs.includes(0xffffffff) && seqs.includes(0) && seqs.includes(600 - 17), 'seqs.includes(0xffffffff) && seqs.includes(0) && seqs.includes(600 - 17)');
  assert.ok(seqs.some((s) => before(0xfffffff0, s) && s < 0x1000), 'the run wrapped past zero');
  // ACKs crossed zero too
  const acks = p.ba.log.filter((e) => e.h.flags & FrctFlag.ACK).map((e) => e.h.ackno);
  assert.ok(acks.some((a) => a > 0 && a < 0x1000), 'acks.some((a) => a > 0 && a < 0x1000)');
});

test('non-reliable: in-order delivery skipping lost SDUs, no retransmission, never stalls', () => {
  const r = rng(3);
  const lossy = { loss: 0.1, dup: 0.05, delay: 5, jitter: 10, random: r };
  const p = pair({ reliable: false, mpl: 100, random: rng(4) }, lossy, lossy);
  const N = 5_000;
  p.a.toWrite = N;
  p.a.pump();
  p.sim.runUntil(() => p.a.written === N, HOUR);
  p.sim.runTo(p.sim.t + 5_000);
  assert.equal(p.a.written, N, `sender stalled after ${p.a.written} SDUs`);
  const idx = p.b.got.map(sduIndex);
  for (let i = 1; i < idx.length; i++) assert.ok(idx[i]! > idx[i - 1]!, `delivery not strictly increasing at ${i}`);
  const sa = p.a.frct.stats;
  const sb = p.b.frct.stats;
  assert.equal(sa.retransmitted, 0);
  assert.equal(sa.unacked, 0);
  assert.equal(p.ab.log.filter((e) => e.h.flags & FrctFlag.DATA).length, N, 'each SDU sent exactly once');
  // Everything not lost on the way arrived, apart from reordered SDUs overtaken at read time.
  const arrived = N - p.ab.dataDropped;
  assert.ok(idx.length <= arrived && idx.length > arrived * 0.9, `delivered ${idx.length} of ${arrived}`);
  assert.equal(sb.delivered, idx.length);
  assert.ok(sb.skipped > 0 && sb.late > 0, 'sb.skipped > 0 && sb.late > 0');
  assert.equal(p.a.downs.length, 0);
});

test('non-reliable: without loss and reordering every SDU is delivered in order (one-way, > 64 SDUs)', () => {
  const p = pair({ reliable: false, mpl: 100, random: rng(5) }, { delay: 2 }, { delay: 2 });
  const N = 3_000;
  p.a.toWrite = N;
  p.a.pump();
  assert.ok(p.sim.runUntil(() => p.b.got.length === N, 60_000), `stalled: written ${p.a.written}, got ${p.b.got.length}`);
  assert.equal(inOrderProblem(p.b.got, N), '');
  // The only reverse traffic is window updates (FC only).
  assert.ok(p.ba.log.length > 0, 'p.ba.log.length > 0');
  for (const e of p.ba.log) assert.equal(e.h.flags, FrctFlag.FC);
  // The receiver advertised its window unprompted: the sender never had to probe, and the
  // first window update came after one delayed-ACK interval, before the 64 SDUs of the
  // start window were exhausted on the receiver side.
  assert.equal(p.a.frct.stats.rdvsSent, 0);
  const firstFc = p.ba.log[0]!;
  assert.ok(firstFc.t <= 2 + 10 + 1, `first FC at ${firstFc.t}`);
  assert.ok(p.sim.t < 1_000, `took ${p.sim.t} ms`);
});

test('non-reliable: when the window fills and every SDU of it is lost, a probe reopens it', () => {
  const p = pair({ reliable: false, mpl: 100, random: () => 0.25 }, { delay: 5 }, { delay: 5 });
  p.ab.cut = true; // the first 64 SDUs (the whole start window) vanish
  p.a.toWrite = 64;
  p.a.pump();
  assert.equal(p.a.written, 64);
  assert.equal(p.a.frct.canWrite(), false);
  p.sim.runTo(50);
  p.ab.cut = false;
  p.a.toWrite = 200;
  p.sim.runUntil(() => p.a.written === 200 && p.b.got.length > 0 && p.b.frct.stats.delivered >= 136, 10_000);
  assert.equal(p.a.written, 200);
  assert.ok(p.a.frct.stats.rdvsSent >= 1, 'p.a.frct.stats.rdvsSent >= 1');
  assert.ok(p.b.frct.stats.rdvsReceived >= 1, 'p.b.frct.stats.rdvsReceived >= 1');
  const idx = p.b.got.map(sduIndex);
  assert.deepEqual(idx, Array.from({ length: 136 }, (_, i) => 64 + i));
  assert.equal(p.a.downs.length, 0);
});

test('bidirectional reliable flow: piggy-backed ACK/FC, both directions complete', () => {
  const r = rng(11);
  const lossy = { loss: 0.1, dup: 0.02, delay: 4, jitter: 4, random: r };
  const p = pair({ reliable: true, mpl: 100, random: rng(12) }, lossy, lossy);
  p.a.toWrite = 2_000;
  p.b.toWrite = 2_000;
  p.a.pump();
  p.b.pump();
  assert.ok(
    p.sim.runUntil(
      () => p.a.got.length === 2_000 && p.b.got.length === 2_000 && p.a.frct.unacked() === 0 && p.b.frct.unacked() === 0,
      HOUR,
    ),
    'both directions complete',
  );
  assert.equal(inOrderProblem(p.a.got, 2_000), '');
  assert.equal(inOrderProblem(p.b.got, 2_000), '');
  const piggy = p.ab.log.filter((e) => (e.h.flags & (FrctFlag.DATA | FrctFlag.ACK | FrctFlag.FC)) === 0x0d).length;
  assert.ok(piggy > 500, `data PDUs carrying ACK+FC: ${piggy}`);
});

test('retransmissions are rebuilt: PDUs scribbled over after hand-out (in-place encryption) do not matter', () => {
  const r = rng(21);
  const lossy = { loss: 0.2, delay: 5, jitter: 5, random: r };
  const p = pair({ reliable: true, mpl: 100, random: rng(22) }, lossy, lossy);
  p.a.scribble = true;
  p.b.scribble = true;
  p.a.toWrite = 1_000;
  p.a.pump();
  assert.ok(p.sim.runUntil(() => p.b.got.length === 1_000 && p.a.frct.unacked() === 0, HOUR), 'p.sim.runUntil(() => p.b.got.length === 1_000 && p.a.frct.unacked() === 0, HOUR)');
  assert.equal(inOrderProblem(p.b.got, 1_000), '');
  assert.ok(p.a.frct.stats.retransmitted > 100, 'p.a.frct.stats.retransmitted > 100');
});

test('data runs: first SDU lost (no DRF seen) is recovered; an idle sender later starts a new run with DRF', () => {
  let first = true;
  const p = pair(
    { reliable: true, mpl: 100, random: rng(31) },
    {
      delay: 5,
      decide: (h) => {
        if (h.flags & FrctFlag.DATA && first) {
          first = false;
          return 'drop';
        }
        return undefined;
      },
    },
    { delay: 5 },
  );
  p.a.toWrite = 10;
  p.a.pump();
  assert.ok(p.sim.runUntil(() => p.b.got.length === 10 && p.a.frct.unacked() === 0, 120_000), 'p.sim.runUntil(() => p.b.got.length === 10 && p.a.frct.unacked() === 0, 120_000)');
  assert.equal(inOrderProblem(p.b.got, 10), '');
  assert.equal(p.b.frct.stats.noRun, 9, 'SDUs 1..9 were dropped before the run was known');
  const firstData = p.ab.log.filter((e) => e.h.flags & FrctFlag.DATA);
  assert.ok(firstData[0]!.h.flags & FrctFlag.DRF, 'firstData[0]!.h.flags & FrctFlag.DRF');
  const run1 = firstData[0]!.h.seqno;
  // Idle for longer than the sender inactivity (3*100 ms + 10 s + 120 s -> 131 s).
  p.sim.runTo(p.sim.t + 132_000);
  p.a.toWrite = 20;
  p.a.pump();
  assert.ok(p.sim.runUntil(() => p.b.got.length === 20 && p.a.frct.unacked() === 0, p.sim.t + 60_000), 'p.sim.runUntil(() => p.b.got.length === 20 && p.a.frct.unacked() === 0, p.sim.t + 60_000)');
  assert.equal(inOrderProblem(p.b.got, 20), '');
  const run2 = p.ab.log.filter((e) => e.h.flags & FrctFlag.DATA && e.t > 131_000)[0]!;
  assert.ok(run2.h.flags & FrctFlag.DRF, 'run2.h.flags & FrctFlag.DRF');
  assert.notEqual(run2.h.seqno, (run1 + 10) >>> 0, 'new random initial seqno');
});
