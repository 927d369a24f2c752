import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keepalive } from '../../../src/lib/keepalive.js';
import type { Endpoint } from '../../../src/lib/data/endpoint.js';

function fakeEp() {
  const ep = { rxActivity: false, txActivity: false, down: false, keepalives: 0, sendKeepalive() { ep.keepalives++; ep.txActivity = true; } };
  return ep;
}

test('keepalive: sent after T/4 of silence, not while traffic flows', () => {
  let now = 0;
  const ep = fakeEp();
  let timedOut = 0;
  const ka = new Keepalive(ep as unknown as Endpoint, 1000, () => timedOut++, () => now);
  try {
    for (now = 0; now < 240; now += 10) {
      ep.txActivity = true;
      ep.rxActivity = true;
      ka.tick();
    }
    assert.equal(ep.keepalives, 0, 'sending traffic: no keepalive');
    // silence on tx: one keepalive at T/4
    for (; now <= 500; now += 10) {
      ep.rxActivity = true;
      ka.tick();
    }
    assert.equal(ep.keepalives, 1);
    assert.equal(timedOut, 0);
  } finally {
    ka.stop();
  }
});

test('keepalive: peer timed out after T without anything received, once', () => {
  let now = 0;
  const ep = fakeEp();
  let timedOut = 0;
  const ka = new Keepalive(ep as unknown as Endpoint, 1000, () => timedOut++, () => now);
  try {
    for (; now <= 1000; now += 50) ka.tick();
    assert.equal(timedOut, 0, 'not before T');
    now += 50;
    ka.tick();
    assert.equal(timedOut, 1);
    now += 5000;
    ka.tick();
    assert.equal(timedOut, 1, 'reported once');
    assert.ok(ep.keepalives >= 3, 'kept sending keepalives meanwhile');
  } finally {
    ka.stop();
  }
});

test('keepalive: received keepalives (rx activity) keep the flow alive', () => {
  let now = 0;
  const ep = fakeEp();
  let timedOut = 0;
  const ka = new Keepalive(ep as unknown as Endpoint, 1000, () => timedOut++, () => now);
  try {
    for (; now < 10000; now += 100) {
      if (now % 300 === 0) ep.rxActivity = true;
      ka.tick();
    }
    assert.equal(timedOut, 0);
  } finally {
    ka.stop();
  }
});
