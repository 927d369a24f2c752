/**
 * FRCT engine, o7s additions for fast loss repair and cheap sending (notes
 * 11-14 at the top of frct.ts): hole reports (receiver) and the retransmissions
 * they ask for (sender), several holes repaired in one round trip, ACK when
 * the reader has drained, the tail loss probe, undoing a spurious timeout,
 * offer(), and PDUs kept for retransmission with room for the CRC. All of it
 * on the reference's wire format: a hole report is an ordinary FC-only window
 * update.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Frct, type FrctInit } from '../../../../src/lib/frct/frct.js';
import { FrctFlag, ackPdu, dataPdu, decodeHeader, windowUpdatePdu, type FrctHeader } from '../../../../src/lib/frct/header.js';
import { seqAdd } from '../../../../src/lib/frct/seq.js';
import { inOrderProblem, pair, rng, sdu, sduIndex } from './sim.js';

const { DATA, DRF, ACK, FC } = FrctFlag;
const HOUR = 3_600_000;

/** The reliable tuning of src/lib/sdu-path.ts, scaled to the tests' windows. */
const TUNED = { reliable: true, mpl: 100, window: 256, advWindow: 128, holeReports: true, ackOnDrain: 8, tailProbe: true } as const;

/** One engine whose output is captured (copies, and the buffers as handed out); the test plays the peer. */
function solo(init: Omit<FrctInit, 'now'>) {
  const clock = { t: 0 };
  const sent: { t: number; h: FrctHeader; pdu: Buffer; orig: Buffer }[] = [];
  const ev = { readable: 0, writable: 0, downs: [] as string[] };
  const f = new Frct(
    { ...init, now: () => clock.t },
    {
      send: (pdu) => sent.push({ t: clock.t, h: decodeHeader(pdu), pdu: Buffer.from(pdu), orig: pdu }),
      onReadable: () => ev.readable++,
      onWritable: () => ev.writable++,
      onDown: (reason) => ev.downs.push(reason),
    },
  );
  const advance = (to: number): void => {
    for (let d = f.nextDeadline(); d !== undefined && d <= to; d = f.nextDeadline()) {
      clock.t = Math.max(clock.t, d);
      f.tick();
    }
    clock.t = to;
  };
  return { f, clock, sent, ev, advance };
}

const reports = (sent: { h: FrctHeader }[]): number[] => sent.filter((e) => e.h.flags === FC).map((e) => e.h.window);

test('receiver: each missing SDU is reported with an FC-only window update (edge = missing seqno + advertised window), instead of duplicate ACKs', () => {
  const s = solo({ reliable: true, mpl: 100, window: 64, advWindow: 32, holeReports: true, reportAfter: 1 });
  const S = 0xfffffff0; // crosses zero
  s.f.receive(dataPdu(S, sdu(0), { drf: true }));
  assert.equal(sduIndex(s.f.read()!), 0);
  assert.equal(s.sent.length, 0);
  // S+2 arrives, S+1 is missing: one report, no duplicate ACK.
  s.f.receive(dataPdu(seqAdd(S, 2), sdu(2)));
  assert.deepEqual(s.sent.map((e) => e.h), [{ flags: FC, window: (S + 1 + 32) & 0xffffff, seqno: 0, ackno: 0 }]);
  // S+5: S+3 and S+4 are missing too; S+6 (contiguous) reports nothing.
  s.f.receive(dataPdu(seqAdd(S, 5), sdu(5)));
  s.f.receive(dataPdu(seqAdd(S, 6), sdu(6)));
  assert.deepEqual(reports(s.sent), [S + 1 + 32, S + 3 + 32, S + 4 + 32].map((e) => e & 0xffffff));
  assert.equal(s.f.stats.holesReported, 3);
  assert.equal(s.f.stats.acksSent, 0, 'no duplicate ACKs');
  // Duplicates are still answered with an immediate ACK.
  s.f.receive(dataPdu(seqAdd(S, 6), sdu(6)));
  assert.deepEqual(s.sent.at(-1)!.h, { flags: ACK | FC, window: (S + 1 + 32) & 0xffffff, seqno: 0, ackno: seqAdd(S, 1) });
  // S+3 is repaired 4 ms after its report: the receiver learns how long repairs take.
  s.clock.t = 4;
  s.f.receive(dataPdu(seqAdd(S, 3), sdu(3)));
  const n0 = reports(s.sent).length;
  // Still missing 10 ms after the first report (the default before any repair was measured): S+1 and S+4 again.
  s.advance(9);
  assert.equal(reports(s.sent).length, n0);
  s.advance(10);
  assert.deepEqual(reports(s.sent).slice(n0), [S + 1 + 32, S + 4 + 32].map((e) => e & 0xffffff));
  // From now on twice the measured repair time (2 x 4 ms) between reports of a hole.
  s.advance(17);
  assert.equal(reports(s.sent).length, n0 + 2);
  s.advance(18);
  assert.equal(reports(s.sent).length, n0 + 4);
  // Filled: no more reports, everything readable in order.
  s.f.receive(dataPdu(seqAdd(S, 1), sdu(1)));
  s.f.receive(dataPdu(seqAdd(S, 4), sdu(4)));
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => sduIndex(s.f.read()!)), [1, 2, 3, 4, 5, 6]);
  const n1 = reports(s.sent).length;
  s.advance(1_000);
  assert.equal(reports(s.sent).length, n1);
});

test('receiver: a hole is only reported while its edge stays within the reorder queue', () => {
  const s = solo({ reliable: true, mpl: 100, window: 64, advWindow: 32, holeReports: true });
  s.f.receive(dataPdu(1000, sdu(0), { drf: true }));
  // 1001..1039 missing; a report for s promises the window up to s + 32, at most lwe (1000) + 64.
  s.f.receive(dataPdu(1040, sdu(40)));
  s.advance(200);
  const edges = reports(s.sent);
  assert.ok(edges.length > 0);
  for (const e of edges) assert.ok(e - 1000 <= 64, `edge ${e} beyond the reorder queue`);
  assert.ok(edges.includes(1032 + 32), 'reported up to the last hole that fits');
  assert.ok(!edges.includes(1033 + 32));
  // Reading moves the left edge: one more can be reported.
  assert.equal(sduIndex(s.f.read()!), 0);
  s.advance(400);
  assert.ok(reports(s.sent).includes(1033 + 32));
  assert.ok(!reports(s.sent).includes(1034 + 32));
});

test('receiver: a hole is reported once reportAfter later SDUs got past it, or once it is half a repair time old; an SDU only overtaken is not reported', () => {
  const s = solo({ reliable: true, mpl: 100, window: 64, advWindow: 32, holeReports: true });
  s.f.receive(dataPdu(10, sdu(0), { drf: true }));
  s.f.read();
  // 12, 13 past the missing 11: not yet (11 may only be late).
  s.f.receive(dataPdu(12, sdu(2)));
  s.f.receive(dataPdu(13, sdu(3)));
  assert.deepEqual(reports(s.sent), []);
  s.f.receive(dataPdu(11, sdu(1))); // it was: nothing reported
  s.f.receive(dataPdu(15, sdu(5)));
  s.f.receive(dataPdu(16, sdu(6)));
  s.f.receive(dataPdu(17, sdu(7)));
  assert.deepEqual(reports(s.sent), [14 + 32], 'three later SDUs: 14 is reported');
  // A hole at the end of a burst (fewer than three after it) is reported by the timer.
  s.f.receive(dataPdu(19, sdu(9)));
  s.advance(9);
  assert.deepEqual(reports(s.sent), [14 + 32]);
  s.advance(10);
  assert.deepEqual(reports(s.sent), [14 + 32, 14 + 32, 18 + 32], "14 again (10 ms since its report), 18 (10 ms missing)");
});

test('sender: a hole report resends that SDU (once), learns the peer window from its ACKs, and turns off guessing (NewReno, duplicate ACKs)', () => {
  const s = solo({ reliable: true, mpl: 100, random: () => 0 });
  for (let i = 0; i < 10; i++) s.f.write(sdu(i));
  s.clock.t = 20;
  s.f.receive(ackPdu(1, 1 + 32)); // the peer advertises lwe + 32
  assert.equal(s.f.stats.rttSamples, 1);
  // Reports for SDU 4 (edge 4 + 32) and 7.
  s.clock.t = 21;
  s.f.receive(windowUpdatePdu(4 + 32));
  s.f.receive(windowUpdatePdu(7 + 32));
  assert.deepEqual(s.sent.slice(10).map((e) => e.h.seqno), [4, 7]);
  assert.ok(s.sent[10]!.pdu.subarray(12).equals(sdu(4)));
  assert.equal(s.f.stats.reportRetransmits, 2);
  // The same report again right away (a re-report crossing the repair): ignored.
  s.f.receive(windowUpdatePdu(4 + 32));
  // Not outstanding: acknowledged already, or never sent.
  s.f.receive(windowUpdatePdu(0 + 32));
  s.f.receive(windowUpdatePdu(12 + 32));
  assert.equal(s.sent.length, 12);
  // Duplicate ACKs no longer trigger a fast retransmit: the peer says what is missing.
  for (let i = 0; i < 6; i++) s.f.receive(ackPdu(1, 33));
  assert.equal(s.sent.length, 12);
  assert.equal(s.f.stats.fastRetransmits, 0);
  // A report is a window update too (never moving the edge back: the start window's 64 stays).
  assert.equal(s.f.stats.window, 64 - 10);
  s.f.receive(ackPdu(10, 42));
  assert.equal(s.f.unacked(), 0);
  // A re-report: ignored within a round trip (20 ms) of the last resend, honoured after.
  s.f.write(sdu(10));
  s.clock.t = 30;
  s.f.receive(windowUpdatePdu(10 + 32));
  const n = s.sent.length;
  s.clock.t = 45;
  s.f.receive(windowUpdatePdu(10 + 32));
  assert.equal(s.sent.length, n);
  s.clock.t = 55;
  s.f.receive(windowUpdatePdu(10 + 32));
  assert.equal(s.sent.length, n + 1);
  assert.equal(s.sent.at(-1)!.h.seqno, 10);
});

test('a reference receiver never reports: its FC-only answer to a probe resends nothing', () => {
  const s = solo({ reliable: true, mpl: 100, random: () => 0 });
  s.f.write(sdu(0));
  s.clock.t = 5;
  s.f.receive(ackPdu(1, 1 + 256));
  // Nothing outstanding: an FC-only PDU is just a window update.
  s.f.receive(windowUpdatePdu(1 + 256 + 10));
  assert.equal(s.sent.length, 1);
  assert.equal(s.f.stats.reportRetransmits, 0);
  assert.equal(s.f.canWrite(), true);
});

test('several holes in one round trip: five losses in a window are repaired together, in about one round trip, with exactly five retransmissions', () => {
  const lose = new Set([10, 20, 30, 40, 50]);
  const seen = new Set<number>();
  const p = pair(
    { ...TUNED, random: () => 0 },
    {
      delay: 5,
      decide: (h) => {
        if (!(h.flags & DATA) || !lose.has(h.seqno) || seen.has(h.seqno)) return undefined;
        seen.add(h.seqno);
        return 'drop';
      },
    },
    { delay: 5 },
  );
  p.a.toWrite = 100;
  p.a.pump();
  assert.ok(p.sim.runUntil(() => p.b.got.length === 100 && p.a.frct.unacked() === 0, 10_000));
  assert.equal(inOrderProblem(p.b.got, 100), '');
  const sa = p.a.frct.stats;
  assert.equal(sa.retransmitted, 5);
  assert.equal(sa.reportRetransmits, 5);
  assert.equal(sa.timeouts, 0);
  // Sent at 0, reported at 5, resent at 10, in at 15: a NewReno sender (one
  // hole per round trip) would need five round trips (50 ms) for these.
  const resent = p.ab.log.filter((e) => e.h.flags & DATA && lose.has(e.h.seqno) && e.fate === 'pass').map((e) => e.t);
  assert.deepEqual(resent, [10, 10, 10, 10, 10]);
  assert.ok(p.sim.t <= 25, `done at ${p.sim.t} ms`);
});

test('reports over a lossy, duplicating channel (both ways): everything arrives, about one retransmission per loss', () => {
  const r = rng(41);
  const lossy = { loss: 0.05, dup: 0.02, delay: 5, random: r };
  const p = pair({ ...TUNED, random: rng(42) }, lossy, lossy);
  const N = 10_000;
  p.a.toWrite = N;
  p.a.pump();
  assert.ok(p.sim.runUntil(() => p.b.got.length === N && p.a.frct.unacked() === 0, HOUR), `got ${p.b.got.length}`);
  assert.equal(inOrderProblem(p.b.got, N), '');
  const sa = p.a.frct.stats;
  const dropped = p.ab.dataDropped;
  assert.ok(sa.retransmitted >= dropped, `retransmitted ${sa.retransmitted} < dropped ${dropped}`);
  // Lost reports and lost repairs are made up for by re-reports; nothing much is resent for nothing.
  assert.ok(sa.retransmitted <= 1.2 * dropped + 20, `retransmitted ${sa.retransmitted} for ${dropped} losses`);
  assert.ok(sa.reportRetransmits >= 0.9 * dropped, `${sa.reportRetransmits} of the retransmissions were reported`);
  assert.equal(sa.timeouts, 0);
});

test('reports: neighbours swapped on the way (the udp layer\'s reorder) are not reported; heavy reordering still delivers everything', () => {
  // Every 7th data PDU is held back until the next one has gone.
  let held: Buffer | undefined;
  let n = 0;
  const p = pair({ ...TUNED, random: rng(46) }, { delay: 5 }, { delay: 5 });
  const ch = p.ab;
  const orig = ch.send.bind(ch);
  ch.send = (pdu: Buffer) => {
    if (pdu[0]! & DATA && held === undefined && ++n % 7 === 0) {
      held = Buffer.from(pdu);
      return;
    }
    orig(pdu);
    if (held) {
      orig(held);
      held = undefined;
    }
  };
  p.a.toWrite = 5_000;
  p.a.pump();
  assert.ok(p.sim.runUntil(() => p.b.got.length === 5_000 && p.a.frct.unacked() === 0, HOUR));
  assert.equal(inOrderProblem(p.b.got, 5_000), '');
  assert.ok(p.b.frct.stats.outOfOrder > 500);
  assert.equal(p.b.frct.stats.holesReported, 0);
  assert.equal(p.a.frct.stats.retransmitted, 0);

  const r = rng(47);
  const shuffled = { loss: 0.02, delay: 5, jitter: 10, random: r };
  const q = pair({ ...TUNED, random: rng(48) }, shuffled, shuffled);
  q.a.toWrite = 3_000;
  q.a.pump();
  assert.ok(q.sim.runUntil(() => q.b.got.length === 3_000 && q.a.frct.unacked() === 0, HOUR));
  assert.equal(inOrderProblem(q.b.got, 3_000), '');
});

test('mixed peers: a reporting receiver with a sender of the reference defaults, and the other way round, both complete', () => {
  for (const [a, b] of [
    [{ reliable: true, mpl: 100 }, TUNED],
    [TUNED, { reliable: true, mpl: 100 }],
  ] as const) {
    const r = rng(43);
    const lossy = { loss: 0.05, delay: 5, jitter: 1, random: r };
    const p = pair({ ...a, random: rng(44) }, lossy, lossy, { ...b, random: rng(45) });
    p.a.toWrite = 3_000;
    p.a.pump();
    assert.ok(p.sim.runUntil(() => p.b.got.length === 3_000 && p.a.frct.unacked() === 0, HOUR));
    assert.equal(inOrderProblem(p.b.got, 3_000), '');
  }
});

test('ackOnDrain: an ACK as soon as the reader has taken everything in order and at least that many SDUs', () => {
  const s = solo({ reliable: true, mpl: 100, ackOnDrain: 4 });
  for (let i = 0; i < 3; i++) s.f.receive(dataPdu(seqAdd(50, i), sdu(i), { drf: i === 0 }));
  for (let i = 0; i < 3; i++) s.f.read();
  assert.equal(s.sent.length, 0, 'three SDUs: the delayed ACK');
  s.f.receive(dataPdu(53, sdu(3)));
  s.f.read();
  assert.deepEqual(s.sent.map((e) => e.h), [{ flags: ACK | FC, window: 54 + 256, seqno: 0, ackno: 54 }]);
  for (let i = 4; i < 9; i++) s.f.receive(dataPdu(seqAdd(50, i), sdu(i)));
  s.f.read();
  s.f.read();
  s.f.read();
  s.f.read();
  assert.equal(s.sent.length, 1, 'not drained yet');
  s.f.read();
  assert.equal(s.sent.length, 2);
  assert.equal(s.sent[1]!.h.ackno, 59);
});

test('tail loss probe: the last SDU of a burst lost is resent after two round trips, without a timeout', () => {
  for (const tailProbe of [true, false]) {
    let drop = true;
    const p = pair(
      { reliable: true, mpl: 100, random: () => 0, ackOnDrain: 1, tailProbe },
      {
        delay: 5,
        decide: (h) => {
          if (h.flags & DATA && h.seqno === 9 && drop) {
            drop = false;
            return 'drop';
          }
          return undefined;
        },
      },
      { delay: 5 },
    );
    p.a.toWrite = 10;
    p.a.pump();
    assert.ok(p.sim.runUntil(() => p.b.got.length === 10 && p.a.frct.unacked() === 0, 60_000));
    assert.equal(inOrderProblem(p.b.got, 10), '');
    const sa = p.a.frct.stats;
    assert.equal(sa.retransmitted, 1);
    assert.equal(sa.tailProbes, tailProbe ? 1 : 0);
    assert.equal(sa.timeouts, tailProbe ? 0 : 1);
  }
});

test('a timeout whose SDU was only late is undone: no further retransmissions (F-RTO)', () => {
  for (const lateBy of [5, 30]) {
    const s = solo({ reliable: true, mpl: 100, random: () => 0 });
    for (let i = 0; i < 10; i++) s.f.write(sdu(i));
    s.clock.t = 20;
    s.f.receive(ackPdu(1, 300)); // RTT 20 ms: RTO 60 ms, armed until 80
    s.advance(80);
    assert.equal(s.f.stats.timeouts, 1);
    assert.deepEqual(s.sent.slice(10).map((e) => e.h.seqno), [1]);
    // The ACKs of the first transmissions, late.
    s.clock.t = 80 + lateBy;
    s.f.receive(ackPdu(8, 300));
    s.f.receive(ackPdu(10, 300));
    const st = s.f.stats;
    if (lateBy < 10) {
      assert.equal(st.spuriousTimeouts, 1, 'an answer within half a round trip of the resend answers the first transmission');
      assert.equal(st.retransmitted, 1);
    } else {
      // Too late to tell: NewReno resends the next oldest on the partial ACK.
      assert.equal(st.spuriousTimeouts, 0);
      assert.deepEqual(s.sent.slice(10).map((e) => e.h.seqno), [1, 8]);
    }
    assert.equal(s.f.unacked(), 0);
  }
});

test('offer(): sends when the window is open, false (and onWritable later) when closed, down or closed', () => {
  const s = solo({ reliable: true, mpl: 100, random: () => 0 });
  let n = 0;
  while (s.f.offer(sdu(n))) n++;
  assert.equal(n, 64, 'the start window');
  assert.equal(s.sent.length, 64);
  s.f.receive(ackPdu(10, 10 + 256));
  assert.equal(s.ev.writable, 1);
  assert.equal(s.f.offer(sdu(n)), true);
  assert.throws(() => s.f.offer(new Uint8Array(0)), RangeError);
  s.f.close();
  assert.equal(s.f.offer(sdu(0)), false);
});

test('keepPdus + tailroom: the first PDU is kept for retransmission, with room left for the CRC; resends are fresh PDUs', () => {
  const s = solo({ reliable: true, mpl: 100, random: () => 0, tailroom: 4, keepPdus: true });
  s.f.write(sdu(7));
  const first = s.sent[0]!.orig;
  assert.equal(first.length, 12 + sdu(7).length + 4);
  assert.deepEqual(decodeHeader(first), { flags: DATA | DRF, window: 0, seqno: 0, ackno: 0 });
  first.writeUInt32BE(0xdeadbeef, first.length - 4); // the owner's CRC
  s.advance(1_000); // initial RTO
  const again = s.sent[1]!.orig;
  assert.notEqual(again, first);
  assert.equal(again.length, first.length);
  assert.ok(again.subarray(12, again.length - 4).equals(sdu(7)));
  assert.ok(first.subarray(12, first.length - 4).equals(sdu(7)), 'the kept PDU is not touched');
  // Control PDUs have the tail room too.
  const r = solo({ reliable: true, mpl: 100, tailroom: 4 });
  r.f.receive(dataPdu(5, sdu(0), { drf: true }));
  r.f.receive(dataPdu(5, sdu(0), { drf: true }));
  assert.equal(r.sent[0]!.orig.length, 16);
  assert.equal(r.sent[0]!.h.flags, ACK | FC);
});

test('advWindow: the window advertised is lwe + advWindow; data up to lwe + window is still taken (promised by hole reports)', () => {
  const s = solo({ reliable: true, mpl: 100, window: 64, advWindow: 16 });
  s.f.receive(dataPdu(100, sdu(0), { drf: true }));
  s.f.read();
  s.advance(20);
  assert.deepEqual(s.sent.at(-1)!.h, { flags: ACK | FC, window: 101 + 16, seqno: 0, ackno: 101 });
  s.f.receive(dataPdu(101 + 40, sdu(40)));
  assert.equal(s.f.stats.outOfWindow, 0);
  s.f.receive(dataPdu(101 + 64, sdu(64)));
  assert.equal(s.f.stats.outOfWindow, 1);
  assert.throws(() => solo({ reliable: true, mpl: 1, window: 64, advWindow: 65 }), RangeError);
});
