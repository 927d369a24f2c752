/**
 * FRCT engine: flow control (closing and reopening windows, probes), give-up,
 * RTO back-off, linger, bounded memory, flags, and the exact PDUs emitted for
 * single events (driven by hand with a fake clock).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Frct, FRCTFLINGER, FRCTFRESCNTL, FRCTFRTX, type FrctInit } from '../../../../src/lib/frct/frct.js';
import {
  FrctFlag,
  ackPdu,
  dataPdu,
  decodeHeader,
  finalAckPdu,
  rdvsPdu,
  type FrctHeader,
} from '../../../../src/lib/frct/header.js';
import { seqAdd } from '../../../../src/lib/frct/seq.js';
import { inOrderProblem, pair, sdu, sduIndex } from './sim.js';

const { DATA, DRF, ACK, FC, RDVS } = FrctFlag;

/** One engine whose output is captured; the test plays the peer. */
function solo(init: Omit<FrctInit, 'now'>) {
  const clock = { t: 0 };
  const sent: { t: number; h: FrctHeader; pdu: Buffer }[] = [];
  const ev = { readable: 0, writable: 0, downs: [] as { t: number; reason: string }[] };
  const f = new Frct(
    { ...init, now: () => clock.t },
    {
      send: (pdu) => sent.push({ t: clock.t, h: decodeHeader(pdu), pdu: Buffer.from(pdu) }),
      onReadable: () => ev.readable++,
      onWritable: () => ev.writable++,
      onDown: (reason) => ev.downs.push({ t: clock.t, reason }),
    },
  );
  /** Advance the clock to `to`, running every deadline on the way. */
  const advance = (to: number) => {
    for (let d = f.nextDeadline(); d !== undefined && d <= to; d = f.nextDeadline()) {
      clock.t = Math.max(clock.t, d);
      f.tick();
    }
    clock.t = to;
  };
  return { f, clock, sent, ev, advance };
}

test('reliable: a receiver that stops reading closes the window without losing data; reading reopens it', () => {
  const p = pair({ reliable: true, mpl: 100, random: () => 0.1 }, { delay: 5 }, { delay: 5 });
  p.b.reading = false;
  p.a.toWrite = 1_000;
  p.a.pump();
  p.sim.runTo(2_000);
  assert.equal(p.a.written, 256, 'the sender filled exactly the receiver window');
  assert.equal(p.a.frct.canWrite(), false);
  assert.equal(p.a.frct.unacked(), 256);
  assert.equal(p.b.frct.stats.queued, 256);
  assert.equal(p.b.got.length, 0);
  // Ten minutes without reading: the flow stays up, nothing more is sent than retransmissions.
  p.sim.runTo(600_000);
  assert.equal(p.a.downs.length, 0);
  assert.equal(p.a.frct.canWrite(), false);
  assert.equal(p.a.written, 256);
  // backed off to one retransmission per 15 s (the RTO cap): 1+2+4+8 s, then (600-17)/15
  const rtx = p.a.frct.stats.retransmitted;
  assert.ok(rtx >= 40 && rtx <= 45, `retransmissions backed off: ${rtx}`);
  // Resume reading.
  const t0 = p.sim.t;
  p.b.reading = true;
  p.b.drain();
  assert.ok(p.sim.runUntil(() => p.b.got.length === 1_000 && p.a.frct.unacked() === 0, t0 + 60_000), 'p.sim.runUntil(() => p.b.got.length === 1_000 && p.a.frct.unacked() === 0, t0 + 60_000)');
  assert.ok(p.sim.t - t0 < 10_000, `resumed within ${p.sim.t - t0} ms`);
  assert.equal(inOrderProblem(p.b.got, 1_000), '');
  assert.ok(p.a.writable >= 1, 'p.a.writable >= 1');
  assert.equal(p.a.downs.length, 0);
});

test('non-reliable one-way: a closed window is probed and reopened when the receiver reads again', () => {
  const p = pair({ reliable: false, mpl: 100, random: () => 0.2 }, { delay: 5 }, { delay: 5 });
  p.b.reading = false;
  p.a.toWrite = 1_000;
  p.a.pump();
  p.sim.runTo(2_000);
  assert.equal(p.a.written, 256);
  assert.equal(p.a.frct.canWrite(), false);
  p.sim.runTo(600_000);
  assert.equal(p.a.downs.length, 0, 'probe answers keep the flow up');
  const probes = p.a.frct.stats.rdvsSent;
  assert.ok(probes > 500 && probes < 700, `probes: ${probes} (100 ms doubling to 1 s)`);
  assert.equal(p.a.written, 256);
  p.b.reading = true;
  p.b.drain();
  assert.ok(p.sim.runUntil(() => p.b.got.length === 1_000, p.sim.t + 10_000), 'p.sim.runUntil(() => p.b.got.length === 1_000, p.sim.t + 10_000)');
  assert.equal(inOrderProblem(p.b.got, 1_000), '');
});

test('one-way flow: when the window update after reading is lost, only the probes reopen the window', () => {
  for (const reliable of [false, true]) {
    const p = pair({ reliable, mpl: 100, random: () => 0.3 }, { delay: 5 }, { delay: 5 });
    p.b.reading = false;
    p.a.toWrite = 600;
    p.a.pump();
    p.sim.runTo(3_000);
    assert.equal(p.a.written, 256);
    p.ba.cut = true; // everything B says now is lost
    p.b.reading = true;
    p.b.drain();
    assert.equal(p.b.got.length, 256);
    p.sim.runTo(p.sim.t + 500);
    assert.equal(p.a.written, 256, 'still closed: the window update was lost');
    const probesBefore = p.a.frct.stats.rdvsSent + p.a.frct.stats.retransmitted;
    p.ba.cut = false;
    const t0 = p.sim.t;
    assert.ok(p.sim.runUntil(() => p.b.got.length === 600, t0 + 70_000), `reliable=${reliable}`);
    assert.equal(inOrderProblem(p.b.got, 600), '');
    assert.ok(p.a.frct.stats.rdvsSent + p.a.frct.stats.retransmitted > probesBefore, 'p.a.frct.stats.rdvsSent + p.a.frct.stats.retransmitted > probesBefore');
    if (!reliable) assert.ok(p.sim.t - t0 < 1_200, `reopened ${p.sim.t - t0} ms after the path healed`);
  }
});

test('sender probes a closed window although it never received any FC (RDVS+DRF, next seqno, backing off)', () => {
  const s = solo({ reliable: false, mpl: 100, random: () => 0.5 });
  const S = 0x80000000;
  for (let i = 0; i < 64; i++) s.f.write(sdu(i));
  assert.equal(s.f.canWrite(), false, 'start window of 64 exhausted');
  assert.throws(() => s.f.write(sdu(64)), /window closed/);
  assert.equal(s.sent.length, 64);
  assert.ok(s.sent.every((e, i) => e.h.seqno === S + i && e.h.flags === (DATA | DRF)), 's.sent.every((e, i) => e.h.seqno === S + i && e.h.flags === (DATA | DRF))');
  s.advance(3_000);
  const probes = s.sent.slice(64);
  assert.deepEqual(
    probes.map((e) => e.t),
    [100, 300, 700, 1_500, 2_500],
    'probe times: 100 ms, doubling, capped at 1 s',
  );
  for (const e of probes) assert.deepEqual(e.h, { flags: RDVS | DRF, window: 0, seqno: S + 64, ackno: 0 });
  // A window update reopens it and wakes the writer.
  s.f.receive(ackPdu(0, S + 64 + 100).subarray()); // ACK field is ignored on non-reliable flows
  assert.equal(s.ev.writable, 1);
  assert.equal(s.f.canWrite(), true);
  assert.equal(s.f.stats.window, 100);
  s.advance(10_000);
  assert.equal(s.sent.length, 64 + 5, 'no more probes once open');
  assert.equal(s.ev.downs.length, 0);
});

test('give up after R without any answer: onDown once, at R after the last ACK', () => {
  const p = pair({ reliable: true, mpl: 100, random: () => 0.4, rtxGiveUpMs: 5_000 }, { delay: 5 }, { delay: 5 });
  p.a.toWrite = 10;
  p.a.pump();
  assert.ok(p.sim.runUntil(() => p.a.frct.unacked() === 0, 1_000), 'p.sim.runUntil(() => p.a.frct.unacked() === 0, 1_000)');
  const lastAck = p.ba.log.at(-1)!.t + 5;
  p.ab.cut = true;
  p.ba.cut = true;
  p.sim.runTo(2_000);
  p.a.toWrite = 20;
  p.a.pump();
  const t0 = p.sim.t; // waiting for an ACK starts here
  assert.ok(t0 > lastAck, 't0 > lastAck');
  p.sim.runTo(t0 + 4_999);
  assert.equal(p.a.downs.length, 0);
  p.sim.runTo(t0 + 5_000);
  assert.equal(p.a.downs.length, 1);
  assert.match(p.a.downs[0]!, /no acknowledgement/);
  assert.equal(p.a.frct.down, true);
  assert.equal(p.a.frct.canWrite(), false);
  assert.throws(() => p.a.frct.write(sdu(0)), /down/);
  assert.equal(p.a.frct.nextDeadline(), undefined);
  p.sim.runTo(t0 + 100_000);
  assert.equal(p.a.downs.length, 1, 'reported once');
  // The receiver side, which has nothing to send, does not go down.
  assert.equal(p.b.downs.length, 0);
});

test('default R is 120 s; the RTO backs off 1, 2, 4, 8 s and is capped at 15 s', () => {
  const s = solo({ reliable: true, mpl: 100, random: () => 0 });
  s.f.write(sdu(0));
  s.advance(119_999);
  assert.equal(s.ev.downs.length, 0);
  const times = s.sent.map((e) => e.t);
  assert.deepEqual(times, [0, 1_000, 3_000, 7_000, 15_000, 30_000, 45_000, 60_000, 75_000, 90_000, 105_000]);
  assert.ok(s.sent.every((e) => e.h.seqno === 0 && e.h.flags === (DATA | DRF)), 'the same PDU, DRF kept');
  assert.equal(s.f.stats.timeouts, 10);
  assert.equal(s.f.stats.rtoMs, 15_000);
  s.advance(120_000);
  assert.equal(s.ev.downs.length, 1);
  assert.equal(s.ev.downs[0]!.t, 120_000);
});

test('RTO comes from the estimator and the back-off is cleared by the next ACK of new data', () => {
  const s = solo({ reliable: true, mpl: 100, random: () => 0 });
  s.f.write(sdu(0));
  s.clock.t = 40;
  s.f.receive(finalAckPdu(1)); // plain ACK: SDU 0 took 40 ms
  assert.equal(s.f.stats.rttSamples, 1);
  assert.equal(s.f.stats.rtoMs, 40 + 4 * 20);
  s.f.write(sdu(1));
  s.advance(500);
  // 120 ms after sending, then 240 ms later
  assert.deepEqual(
    s.sent.slice(1).map((e) => e.t),
    [40, 160, 400],
  );
  s.clock.t = 500;
  s.f.receive(finalAckPdu(2));
  assert.equal(s.f.stats.rtoMs, 120, 'back-off cleared');
  assert.equal(s.f.stats.rttSamples, 1, 'Karn: no sample from a retransmitted SDU');
});

test('fast retransmit on the third duplicate ACK, once per RTT', () => {
  const s = solo({ reliable: true, mpl: 100, random: () => 0 });
  for (let i = 0; i < 10; i++) s.f.write(sdu(i));
  s.clock.t = 20;
  s.f.receive(ackPdu(1, 256)); // SDU 0 acknowledged after 20 ms (RTT sample)
  s.clock.t = 25;
  s.f.receive(ackPdu(1, 256));
  s.f.receive(ackPdu(1, 256));
  assert.equal(s.sent.length, 10);
  s.f.receive(ackPdu(1, 256));
  assert.equal(s.sent.length, 11);
  assert.deepEqual(s.sent[10]!.h, { flags: DATA, window: 0, seqno: 1, ackno: 0 });
  assert.ok(s.sent[10]!.pdu.subarray(12).equals(sdu(1)), 's.sent[10]!.pdu.subarray(12).equals(sdu(1))');
  // three more duplicates right away: the retransmission is too recent
  for (let i = 0; i < 3; i++) s.f.receive(ackPdu(1, 256));
  assert.equal(s.sent.length, 11);
  assert.equal(s.f.stats.fastRetransmits, 1);
  // a window update is not a duplicate ACK
  s.clock.t = 100;
  for (let i = 0; i < 3; i++) s.f.receive(ackPdu(1, 257 + i));
  assert.equal(s.sent.length, 11);
  // Partial ACK during recovery: the next oldest goes out at once.
  s.f.receive(ackPdu(4, 300));
  assert.equal(s.sent.length, 12);
  assert.equal(s.sent[11]!.h.seqno, 4);
  s.f.receive(ackPdu(10, 300));
  assert.equal(s.f.unacked(), 0);
  assert.equal(s.f.stats.retransmitted, 2);
});

test('receiver: delayed ACK+FC after reading, immediate ACK behind a hole and for duplicates', () => {
  const s = solo({ reliable: true, mpl: 100 });
  const S = 0xfffffffe; // the run crosses zero
  s.f.receive(dataPdu(S, sdu(0), { drf: true }));
  assert.equal(s.ev.readable, 1);
  assert.equal(s.sent.length, 0, 'nothing sent before the application reads');
  assert.equal(sduIndex(s.f.read()!), 0);
  assert.equal(s.f.nextDeadline(), 10);
  s.advance(9);
  assert.equal(s.sent.length, 0);
  s.advance(10);
  assert.deepEqual(s.sent[0]!.h, { flags: ACK | FC, window: (S + 1 + 256) & 0xffffff, seqno: 0, ackno: S + 1 });
  // SDU S+2 arrives before S+1: immediate duplicate ACK for S+1.
  s.f.receive(dataPdu(seqAdd(S, 2), sdu(2)));
  assert.equal(s.sent.length, 2);
  assert.deepEqual(s.sent[1]!.h, { flags: ACK | FC, window: (S + 1 + 256) & 0xffffff, seqno: 0, ackno: S + 1 });
  assert.equal(s.f.readable(), false);
  s.clock.t = 30;
  s.f.receive(dataPdu(seqAdd(S, 1), sdu(1)));
  assert.equal(s.sent.length, 2, 'no ACK before the application consumed it');
  assert.equal(sduIndex(s.f.read()!), 1);
  assert.equal(sduIndex(s.f.read()!), 2);
  assert.equal(s.f.read(), undefined);
  // consumption moved the ack point: one coalesced ACK+FC 10 ms later
  s.advance(39);
  assert.equal(s.sent.length, 2);
  s.advance(40);
  assert.equal(s.sent.length, 3);
  assert.deepEqual(s.sent[2]!.h, { flags: ACK | FC, window: (S + 3 + 256) & 0xffffff, seqno: 0, ackno: seqAdd(S, 3) });
  s.advance(1_000);
  assert.equal(s.sent.length, 3, 'nothing new to acknowledge');
  // A duplicate of something already read: immediate ACK with the current edge (S+3 = 1).
  s.f.receive(dataPdu(S, sdu(0)));
  assert.equal(s.sent.length, 4);
  assert.deepEqual(s.sent[3]!.h, { flags: ACK | FC, window: 257, seqno: 0, ackno: 1 });
  const st = s.f.stats;
  assert.equal(st.duplicates, 1);
  assert.equal(st.outOfOrder, 1);
  assert.equal(st.received, 3);
  assert.equal(st.delivered, 3);
  // Out of window: dropped, and the sender is told where the window is.
  const n0 = s.sent.length;
  s.f.receive(dataPdu(seqAdd(S, 3 + 256), sdu(9)));
  assert.equal(s.f.stats.outOfWindow, 1);
  assert.equal(s.sent.length, n0 + 1);
  assert.deepEqual(s.sent.at(-1)!.h, { flags: ACK | FC, window: 257, seqno: 0, ackno: 1 });
  // close(): nothing newly consumed since the last ACK -> no final ACK; after a read there is one.
  s.f.receive(dataPdu(seqAdd(S, 3), sdu(3)));
  s.f.read();
  s.f.close();
  assert.deepEqual(s.sent.at(-1)!.h, { flags: ACK, window: 0, seqno: 0, ackno: 2 });
  assert.equal(s.f.nextDeadline(), undefined);
  assert.throws(() => s.f.write(sdu(0)), /closed/);
});

test('receiver: data without a run is dropped until a DRF starts one; RDVS handling', () => {
  const s = solo({ reliable: false, mpl: 100 });
  s.f.receive(dataPdu(500, sdu(0)));
  assert.equal(s.f.stats.noRun, 1);
  assert.equal(s.f.readable(), false);
  s.f.receive(rdvsPdu()); // reference probe, no run: ignored
  assert.equal(s.sent.length, 0);
  s.f.receive(dataPdu(501, sdu(1), { drf: true }));
  assert.equal(sduIndex(s.f.read()!), 1);
  // Reference-style RDVS (all zero) at an active receiver: answered with a window update.
  s.f.receive(rdvsPdu());
  assert.deepEqual(s.sent.at(-1)!.h, { flags: FC, window: 502 + 256, seqno: 0, ackno: 0 });
  // o7s RDVS+DRF with nothing queued: SDUs before its seqno are given up, the window moves.
  s.f.receive(rdvsPdu(700));
  assert.deepEqual(s.sent.at(-1)!.h, { flags: FC, window: 700 + 256, seqno: 0, ackno: 0 });
  assert.equal(s.f.stats.skipped, 198);
  s.f.receive(dataPdu(650, sdu(2), { drf: true }));
  assert.equal(s.f.stats.late, 1);
  s.f.receive(dataPdu(700, sdu(3), { drf: true }));
  assert.equal(sduIndex(s.f.read()!), 3);
});

test('non-reliable receiver: a hole is held back for the reorder wait, then skipped; late SDUs dropped', () => {
  const s = solo({ reliable: false, mpl: 100 });
  s.f.receive(dataPdu(100, sdu(0), { drf: true }));
  assert.equal(sduIndex(s.f.read()!), 0);
  s.clock.t = 50;
  s.f.receive(dataPdu(102, sdu(2), { drf: true }));
  s.f.receive(dataPdu(103, sdu(3), { drf: true }));
  assert.equal(s.f.readable(), false);
  assert.equal(s.f.read(), undefined);
  const r0 = s.ev.readable;
  s.advance(59);
  assert.equal(s.f.readable(), false);
  s.advance(60);
  assert.equal(s.ev.readable, r0 + 1, 'onReadable when the hole is given up');
  assert.equal(sduIndex(s.f.read()!), 2);
  assert.equal(sduIndex(s.f.read()!), 3);
  assert.equal(s.f.stats.skipped, 1);
  s.f.receive(dataPdu(101, sdu(1), { drf: true }));
  assert.equal(s.f.stats.late, 1);
  assert.equal(s.f.readable(), false);
  // A reordered SDU that arrives within the wait is delivered in order.
  s.f.receive(dataPdu(105, sdu(5), { drf: true }));
  s.clock.t = 65;
  s.f.receive(dataPdu(104, sdu(4), { drf: true }));
  assert.deepEqual([s.f.read(), s.f.read()].map((b) => sduIndex(b!)), [4, 5]);
  assert.equal(s.f.stats.outOfOrder, 3);
});

test('linger: unacknowledged data keeps a reliable flow lingering; lingerMs follows the inactivity timers', () => {
  const p = pair({ reliable: true, mpl: 100, random: () => 0.6 }, { delay: 5 }, { delay: 5 });
  assert.equal(p.a.frct.lingerMs(), 0, 'never active: nothing to wait for');
  p.ab.cut = true;
  p.a.toWrite = 5;
  p.a.pump();
  p.sim.runTo(500);
  assert.equal(p.a.frct.unacked(), 5);
  assert.equal(p.a.frct.lingering(), true);
  // sender inactivity = (3*100 + 10000 + 120000) ms -> 130 s + 1 s = 131 s, since the last send at 0
  assert.equal(p.a.frct.lingerMs(), 131_000 - 500);
  p.ab.cut = false;
  assert.ok(p.sim.runUntil(() => p.a.frct.unacked() === 0, 10_000), 'p.sim.runUntil(() => p.a.frct.unacked() === 0, 10_000)');
  assert.equal(p.a.frct.lingering(), false);
  const lastTx = p.ab.log.filter((e) => e.h.flags & DATA).at(-1)!.t;
  const now = p.sim.t;
  // A also received ACKs only (no data): its receive side has no run, so only the sender counts.
  assert.equal(p.a.frct.lingerMs(), Math.ceil(131_000 - (now - lastTx)));
  // B's receive side: (2*100 + 10000 + 120000) -> 131 s since the last data it received.
  const lastRx = p.ab.log.filter((e) => e.h.flags & DATA && e.fate !== 'drop').at(-1)!.t + 5;
  assert.equal(p.b.frct.lingerMs(), Math.ceil(131_000 - (now - lastRx)));
  // Non-reliable flows do not linger.
  const q = pair({ reliable: false, mpl: 100 }, { delay: 5 }, { delay: 5 });
  q.ab.cut = true;
  q.a.toWrite = 5;
  q.a.pump();
  assert.equal(q.a.frct.unacked(), 0);
  assert.equal(q.a.frct.lingering(), false);
  assert.equal(q.a.frct.flags & FRCTFLINGER, 0);
});

test('bounded memory: never more than a window unacknowledged, also without flow control', () => {
  const p = pair({ reliable: true, mpl: 100, random: () => 0.7, window: 64 }, { delay: 5 }, { delay: 5 });
  p.a.frct.setFlags(0); // FRCTFRESCNTL and FRCTFLINGER off
  assert.equal(p.a.frct.flags, FRCTFRTX);
  p.b.reading = false;
  p.a.toWrite = 1_000;
  p.a.pump();
  p.sim.runTo(30_000);
  assert.equal(p.a.written, 64);
  assert.equal(p.a.frct.unacked(), 64);
  assert.equal(p.a.frct.canWrite(), false);
  assert.equal(p.b.frct.stats.queued, 64);
  p.b.reading = true;
  p.b.drain();
  assert.ok(p.sim.runUntil(() => p.b.got.length === 1_000 && p.a.frct.unacked() === 0, 200_000), 'p.sim.runUntil(() => p.b.got.length === 1_000 && p.a.frct.unacked() === 0, 200_000)');
  assert.equal(inOrderProblem(p.b.got, 1_000), '');
});

test('flags: FRCTFRTX fixed by the QoS, FRCTFRESCNTL and FRCTFLINGER settable', () => {
  const r = pair({ reliable: true, mpl: 1 }).a.frct;
  const n = pair({ reliable: false, mpl: 1 }).a.frct;
  assert.equal(r.flags, FRCTFRTX | FRCTFRESCNTL | FRCTFLINGER);
  assert.equal(n.flags, FRCTFRESCNTL);
  r.setFlags(0);
  assert.equal(r.flags, FRCTFRTX);
  r.setFlags(FRCTFRESCNTL | FRCTFLINGER);
  assert.equal(r.flags, FRCTFRTX | FRCTFRESCNTL | FRCTFLINGER);
  n.setFlags(FRCTFRTX | FRCTFRESCNTL | FRCTFLINGER);
  assert.equal(n.flags, FRCTFRESCNTL | FRCTFLINGER);
  // Without FRCTFRESCNTL a non-reliable sender ignores the window.
  n.setFlags(0);
  for (let i = 0; i < 1_000; i++) n.write(sdu(i));
  assert.equal(n.canWrite(), true);
  assert.throws(() => n.write(new Uint8Array(0)), RangeError);
  assert.throws(() => new Frct({ reliable: true, mpl: 1, now: () => 0, window: 100 }, null as never), RangeError);
});

test('receiver: a new data run after inactivity keeps unread SDUs of the old run readable first', () => {
  const s = solo({ reliable: true, mpl: 100 });
  s.f.receive(dataPdu(10, sdu(0), { drf: true }));
  s.f.receive(dataPdu(11, sdu(1)));
  // the application does not read; the peer goes quiet for longer than the receiver inactivity (131 s)
  s.advance(132_000);
  s.f.receive(dataPdu(9_000, sdu(2), { drf: true }));
  s.f.receive(dataPdu(9_001, sdu(3)));
  assert.deepEqual(
    [s.f.read(), s.f.read(), s.f.read(), s.f.read()].map((b) => sduIndex(b!)),
    [0, 1, 2, 3],
  );
  assert.equal(s.f.read(), undefined);
  // without DRF after inactivity, data is dropped
  s.advance(300_000);
  s.f.receive(dataPdu(9_002, sdu(4)));
  assert.equal(s.f.stats.noRun, 1);
  assert.equal(s.f.readable(), false);
});
