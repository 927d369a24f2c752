import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OAP_REPLAY_WINDOW_MS, ReplayGuard, wallNs } from '../../../../src/irmd/oap/replay.js';
import { FakeClock } from '../../../helpers/fake-clock.js';

const id = (n: number) => Buffer.alloc(16, n);

test('fresh headers pass once; a replay of the same id and timestamp is EAUTH', () => {
  const clock = new FakeClock();
  const g = new ReplayGuard({ clock });
  const ts = wallNs(clock);
  g.check(id(1), ts);
  assert.throws(() => g.check(id(1), ts), { code: 'EAUTH', message: /replayed/ });
  g.check(id(1), ts + 1n); // same id, other timestamp
  g.check(id(2), ts); // other id, same timestamp
  clock.advance(5000);
  assert.throws(() => g.check(id(1), ts), { code: 'EAUTH', message: /replayed/ });
});

test('freshness: up to 100 ms in the future and 20 s in the past', () => {
  const clock = new FakeClock();
  const g = new ReplayGuard({ clock });
  const now = wallNs(clock);
  const ms = 1_000_000n;
  g.check(id(1), now + 100n * ms);
  assert.throws(() => g.check(id(2), now + 102n * ms), { code: 'EAUTH', message: /102 ms in the future/ });
  g.check(id(3), now - 20_000n * ms);
  assert.throws(() => g.check(id(4), now - 20_002n * ms), { code: 'EAUTH', message: /too old \(20002 ms\)/ });
  assert.equal(OAP_REPLAY_WINDOW_MS, 20_000);
});

test('the window is configurable (e.g. from the MPL) and old entries are forgotten', () => {
  const clock = new FakeClock();
  const g = new ReplayGuard({ clock, windowMs: 2000 });
  for (let i = 0; i < 100; i++) g.check(id(i), wallNs(clock));
  assert.equal(g.size, 100);
  clock.advance(1500);
  g.check(id(200), wallNs(clock));
  assert.equal(g.size, 101);
  clock.advance(1500); // the first 100 are now older than the window
  g.check(id(201), wallNs(clock));
  assert.equal(g.size, 2);
  assert.throws(() => g.check(id(300), wallNs(clock) - 2_100_000_000n), { code: 'EAUTH', message: /too old/ });
});
