/** Flow endpoints: credit windows, queues, down/close, on a fake owner and link. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CREDIT_BATCH, Endpoint, EndpointEvent, RX_WINDOW, TX_BYTE_WINDOW, type EndpointOwner } from '../../../src/lib/data/endpoint.js';
import { DataType, MAX_SDU } from '../../../src/lib/data/frame.js';
import type { Link } from '../../../src/lib/data/link.js';

interface Sent {
  type: number;
  flowId: number;
  payload: Buffer;
}

/** Records what an endpoint sends; optionally hands each frame to a peer endpoint. */
class FakeLink {
  readonly sent: Sent[] = [];
  to: Endpoint | undefined;

  send(type: DataType, flowId: number, payload: Uint8Array): void {
    const copy = Buffer.from(payload);
    this.sent.push({ type, flowId, payload: copy });
    const peer = this.to;
    if (!peer) return;
    if (type === DataType.DATA) peer.deliver(copy);
    else if (type === DataType.CREDIT) peer.addCredit(copy.readUInt32BE(0));
    else if (type === DataType.DOWN) peer.markDown();
  }

  sendU32(type: DataType, flowId: number, value: number): void {
    const v = Buffer.alloc(4);
    v.writeUInt32BE(value >>> 0);
    this.send(type, flowId, v);
  }

  /** Frames are delivered at once here; counts explicit flushes. */
  flushes = 0;
  flush(): void {
    this.flushes++;
  }

  of(type: number): Sent[] {
    return this.sent.filter((s) => s.type === type);
  }
}

class FakeOwner implements EndpointOwner {
  readonly link = new FakeLink();
  reachable = true;
  readonly asked: number[] = [];
  readonly released: Endpoint[] = [];

  linkTo(pid: number): Link | undefined {
    this.asked.push(pid);
    return this.reachable ? (this.link as unknown as Link) : undefined;
  }

  release(ep: Endpoint): void {
    this.released.push(ep);
  }
}

function withEvents(ep: Endpoint): EndpointEvent[] {
  const evs: EndpointEvent[] = [];
  ep.onEvent = (e) => evs.push(e);
  return evs;
}

const pkt = (i: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(i);
  return b;
};

describe('endpoint: sending and the credit window', () => {
  it('sends DATA frames for its flow id to its peer pid', () => {
    const owner = new FakeOwner();
    const ep = new Endpoint(42, 777, owner);
    assert.equal(ep.send(Buffer.from('hi')), true);
    assert.deepEqual(owner.asked, [777]);
    assert.equal(owner.link.sent.length, 1);
    assert.deepEqual(owner.link.sent[0], { type: DataType.DATA, flowId: 42, payload: Buffer.from('hi') });
    assert.deepEqual(ep.stats, { txPackets: 1, txBytes: 2, rxPackets: 0, rxBytes: 0, dropped: 0 });
  });

  it('stops at the window: RX_WINDOW packets go, the next is refused', () => {
    const owner = new FakeOwner();
    const ep = new Endpoint(1, 2, owner);
    assert.equal(ep.txLength, 0);
    for (let i = 0; i < RX_WINDOW; i++) assert.equal(ep.send(pkt(i)), true, `packet ${i}`);
    assert.equal(ep.txLength, RX_WINDOW);
    assert.equal(ep.canSend, false);
    assert.equal(ep.send(pkt(RX_WINDOW)), false);
    assert.equal(ep.send(pkt(RX_WINDOW)), false);
    assert.equal(owner.link.of(DataType.DATA).length, RX_WINDOW);
    assert.equal(ep.stats.txPackets, RX_WINDOW);
    assert.equal(ep.down, false);
  });

  it('resumes when credit returns, signalling WRITABLE once when the window opens', () => {
    const owner = new FakeOwner();
    const ep = new Endpoint(1, 2, owner);
    const evs = withEvents(ep);
    for (let i = 0; i < RX_WINDOW; i++) ep.send(pkt(i));
    assert.equal(ep.send(pkt(0)), false);
    ep.addCredit(3);
    assert.deepEqual(evs, [EndpointEvent.WRITABLE]);
    assert.equal(ep.txLength, RX_WINDOW - 3);
    ep.addCredit(2); // window was not closed: no second WRITABLE
    assert.deepEqual(evs, [EndpointEvent.WRITABLE]);
    for (let i = 0; i < 5; i++) assert.equal(ep.send(pkt(i)), true);
    assert.equal(ep.send(pkt(5)), false);
    assert.equal(ep.txLength, RX_WINDOW);
  });

  it('also stops at TX_BYTE_WINDOW bytes in flight, and resumes as credit returns them', () => {
    const owner = new FakeOwner();
    const ep = new Endpoint(1, 2, owner);
    const evs = withEvents(ep);
    const big = Buffer.alloc(1 << 20);
    const n = TX_BYTE_WINDOW / big.length;
    for (let i = 0; i < n; i++) assert.equal(ep.send(big), true, `MiB ${i}`);
    assert.equal(ep.canSend, false, 'the bytes, not the count, closed the window');
    assert.equal(ep.send(pkt(0)), false);
    assert.ok(ep.txLength < RX_WINDOW);
    ep.addCredit(1); // one MiB credited back: room again
    assert.deepEqual(evs, [EndpointEvent.WRITABLE]);
    assert.equal(ep.send(pkt(1)), true);
    assert.equal(ep.send(pkt(2)), true, 'a small packet fits in what is left');
    assert.equal(ep.send(big), true, 'the bound is checked before a packet, not including it');
    assert.equal(ep.send(pkt(3)), false);
    // Credit for the small packets after the first MiBs frees the right sizes (oldest first).
    ep.addCredit(n - 1);
    assert.equal(ep.canSend, true);
    ep.addCredit(3);
    assert.equal(ep.txLength, 0);
    for (let i = 0; i < n; i++) assert.equal(ep.send(big), true, 'a whole byte window again');
    assert.equal(ep.canSend, false);
  });

  it('accounts the bytes of each packet credited back, oldest first, across ring growth', () => {
    const owner = new FakeOwner();
    const ep = new Endpoint(1, 2, owner);
    const sized = (i: number): Buffer => Buffer.alloc(1 + ((i * 7919) % 60000));
    const bytes = (from: number, to: number): number => {
      let b = 0;
      for (let k = from; k < to; k++) b += sized(k).length;
      return b;
    };
    let i = 0;
    for (; i < 100; i++) ep.send(sized(i));
    assert.equal(ep.txBytes, bytes(0, 100));
    ep.addCredit(30); // the oldest 30 leave: the ring's head moves before it grows
    assert.equal(ep.txBytes, bytes(30, 100));
    for (; i < 300; i++) ep.send(sized(i));
    assert.equal(ep.txBytes, bytes(30, 300));
    for (let k = 30; k < 300; k += 27) {
      ep.addCredit(Math.min(27, 300 - k));
      assert.equal(ep.txBytes, bytes(Math.min(k + 27, 300), 300), `after crediting up to ${k + 27}`);
    }
    assert.equal(ep.txLength, 0);
    // Nothing is left in flight: exactly a byte window of 1 MiB packets fits again.
    let n = 0;
    while (ep.send(Buffer.alloc(1 << 20))) n++;
    assert.equal(n, TX_BYTE_WINDOW / (1 << 20));
  });

  it('never lets credit grow the window beyond RX_WINDOW', () => {
    const owner = new FakeOwner();
    const ep = new Endpoint(1, 2, owner);
    ep.addCredit(1_000_000);
    assert.equal(ep.txLength, 0);
    let n = 0;
    while (ep.send(pkt(n))) n++;
    assert.equal(n, RX_WINDOW);
    ep.addCredit(0xffffffff);
    assert.equal(ep.txLength, 0);
  });

  it('goes down when the peer is unreachable', () => {
    const owner = new FakeOwner();
    owner.reachable = false;
    const ep = new Endpoint(1, 2, owner);
    const evs = withEvents(ep);
    assert.equal(ep.send(pkt(0)), false);
    assert.equal(ep.down, true);
    assert.deepEqual(evs, [EndpointEvent.DOWN]);
    assert.equal(ep.stats.txPackets, 0);
  });
});

describe('endpoint: receiving', () => {
  it('queues packets in order, counts them and signals PKT', () => {
    const owner = new FakeOwner();
    const ep = new Endpoint(5, 6, owner);
    const evs = withEvents(ep);
    ep.deliver(Buffer.from('a'));
    ep.deliver(Buffer.from('bc'));
    assert.equal(ep.rxLength, 2);
    assert.deepEqual(evs, [EndpointEvent.PKT, EndpointEvent.PKT]);
    assert.deepEqual(ep.peek(), Buffer.from('a'));
    assert.equal(ep.rxLength, 2, 'peek does not take');
    assert.deepEqual(ep.take(), Buffer.from('a'));
    assert.deepEqual(ep.take(), Buffer.from('bc'));
    assert.equal(ep.take(), undefined);
    assert.equal(ep.peek(), undefined);
    assert.equal(ep.rxLength, 0);
    assert.equal(ep.stats.rxPackets, 2);
    assert.equal(ep.stats.rxBytes, 3);
  });

  it('returns credit in batches of CREDIT_BATCH as packets are taken', () => {
    const owner = new FakeOwner();
    const ep = new Endpoint(9, 10, owner);
    const batch = CREDIT_BATCH;
    for (let i = 0; i < batch * 2 + 5; i++) ep.deliver(pkt(i));
    for (let i = 0; i < batch - 1; i++) ep.take();
    assert.equal(owner.link.of(DataType.CREDIT).length, 0, 'no credit before a whole batch was taken');
    ep.take();
    assert.deepEqual(owner.link.of(DataType.CREDIT), [{ type: DataType.CREDIT, flowId: 9, payload: pkt(batch) }]);
    for (let i = 0; i < batch + 5; i++) ep.take();
    assert.equal(owner.link.of(DataType.CREDIT).length, 2);
    assert.equal(ep.rxLength, 0);
  });

  it('drops (and counts) packets beyond two byte windows (and the packet each may go past) queued, from a peer that ignores its window', () => {
    const owner = new FakeOwner();
    const ep = new Endpoint(1, 2, owner);
    const big = Buffer.alloc(1 << 20);
    const fit = (2 * (TX_BYTE_WINDOW + MAX_SDU)) / big.length;
    for (let i = 0; i < fit + 3; i++) ep.deliver(big);
    assert.equal(ep.rxLength, fit);
    assert.equal(ep.stats.dropped, 3);
    ep.take();
    ep.deliver(big);
    assert.equal(ep.rxLength, fit, 'room for one again once one is taken');
    assert.equal(ep.stats.dropped, 3);
  });

  it('drops (and counts) packets beyond its limit (two windows: room for a hand-over) from a peer that ignores it', () => {
    const owner = new FakeOwner();
    const ep = new Endpoint(1, 2, owner);
    const evs = withEvents(ep);
    const limit = 2 * RX_WINDOW;
    for (let i = 0; i < limit + 10; i++) ep.deliver(pkt(i));
    assert.equal(ep.rxLength, limit);
    assert.equal(ep.stats.dropped, 10);
    assert.equal(ep.stats.rxPackets, limit);
    assert.equal(evs.length, limit);
    assert.deepEqual(ep.take(), pkt(0));
  });

  it('flushRx drops the queue and returns its window at once', () => {
    const owner = new FakeOwner();
    const ep = new Endpoint(3, 4, owner);
    for (let i = 0; i < 10; i++) ep.deliver(pkt(i));
    ep.take();
    assert.equal(ep.flushRx(), 9);
    assert.equal(ep.rxLength, 0);
    assert.equal(ep.take(), undefined);
    assert.deepEqual(owner.link.of(DataType.CREDIT), [{ type: DataType.CREDIT, flowId: 3, payload: pkt(10) }]);
  });

  it('keeps order over many packets while queue storage is compacted', () => {
    const owner = new FakeOwner();
    const ep = new Endpoint(1, 2, owner);
    let next = 0;
    let want = 0;
    // The queue holds 400..900 packets at a time (under the window), while
    // tens of thousands pass through it.
    for (let i = 0; i < 900; i++) ep.deliver(pkt(next++));
    for (let round = 0; round < 60; round++) {
      for (let i = 0; i < 500; i++) assert.equal(ep.take()!.readUInt32BE(0), want++);
      for (let i = 0; i < 500; i++) ep.deliver(pkt(next++));
    }
    while (ep.rxLength > 0) assert.equal(ep.take()!.readUInt32BE(0), want++);
    assert.equal(want, next);
    assert.equal(ep.stats.dropped, 0);
  });
});

describe('endpoint: down and close', () => {
  it('markDown signals DOWN once, stops sending, and leaves queued packets readable', () => {
    const owner = new FakeOwner();
    const ep = new Endpoint(1, 2, owner);
    const evs = withEvents(ep);
    ep.deliver(pkt(1));
    ep.deliver(pkt(2));
    ep.markDown();
    ep.markDown();
    assert.deepEqual(evs, [EndpointEvent.PKT, EndpointEvent.PKT, EndpointEvent.DOWN]);
    assert.equal(ep.down, true);
    assert.equal(ep.canSend, false);
    assert.equal(ep.send(pkt(3)), false);
    assert.equal(owner.link.of(DataType.DATA).length, 0);
    assert.deepEqual(ep.take(), pkt(1));
    assert.deepEqual(ep.take(), pkt(2));
    assert.equal(ep.take(), undefined);
  });

  it('does not return credit to a peer that is gone', () => {
    const owner = new FakeOwner();
    const ep = new Endpoint(1, 2, owner);
    for (let i = 0; i < RX_WINDOW; i++) ep.deliver(pkt(i));
    ep.markDown();
    while (ep.take());
    assert.equal(ep.flushRx(), 0);
    assert.equal(owner.link.of(DataType.CREDIT).length, 0);
  });

  it('close tells the peer with a DOWN frame, releases the endpoint and drops the queue', () => {
    const owner = new FakeOwner();
    const ep = new Endpoint(11, 12, owner);
    ep.deliver(pkt(1));
    ep.close();
    assert.deepEqual(owner.link.of(DataType.DOWN), [{ type: DataType.DOWN, flowId: 11, payload: Buffer.alloc(0) }]);
    assert.deepEqual(owner.released, [ep]);
    assert.equal(ep.down, true);
    assert.equal(ep.rxLength, 0);
    assert.equal(ep.send(pkt(2)), false);
    ep.deliver(pkt(3));
    assert.equal(ep.rxLength, 0, 'nothing is queued after close');
    ep.close();
    assert.equal(owner.link.of(DataType.DOWN).length, 1, 'close is idempotent');
    assert.equal(owner.released.length, 1);
  });

  it('close after the peer went down sends no DOWN frame', () => {
    const owner = new FakeOwner();
    const ep = new Endpoint(1, 2, owner);
    ep.markDown();
    ep.close();
    assert.equal(owner.link.of(DataType.DOWN).length, 0);
    assert.deepEqual(owner.released, [ep]);
  });
});

describe('endpoint pair over fake links', () => {
  function pair(): { a: Endpoint; b: Endpoint; ao: FakeOwner; bo: FakeOwner } {
    const ao = new FakeOwner();
    const bo = new FakeOwner();
    const a = new Endpoint(7, 200, ao);
    const b = new Endpoint(7, 100, bo);
    ao.link.to = b;
    bo.link.to = a;
    return { a, b, ao, bo };
  }

  it('a sender stops at the window and resumes as the receiver consumes', () => {
    const { a, b } = pair();
    const aEv = withEvents(a);
    let sent = 0;
    while (a.send(pkt(sent))) sent++;
    assert.equal(sent, RX_WINDOW);
    assert.equal(b.rxLength, RX_WINDOW);
    assert.equal(a.txLength, RX_WINDOW);
    // Taking less than a batch returns nothing yet.
    for (let i = 0; i < CREDIT_BATCH - 1; i++) b.take();
    assert.equal(a.canSend, false);
    assert.deepEqual(aEv, []);
    b.take();
    assert.deepEqual(aEv, [EndpointEvent.WRITABLE]);
    assert.equal(a.txLength, RX_WINDOW - CREDIT_BATCH);
    let more = 0;
    while (a.send(pkt(sent + more))) more++;
    assert.equal(more, CREDIT_BATCH);
    // Everything arrives in order, nothing dropped.
    let want = CREDIT_BATCH;
    while (b.rxLength > 0) assert.equal(b.take()!.readUInt32BE(0), want++);
    assert.equal(want, sent + more);
    assert.equal(b.stats.dropped, 0);
  });

  it('streams many windows worth of packets without loss', () => {
    const { a, b } = pair();
    const total = RX_WINDOW * 10 + 17;
    let sent = 0;
    let got = 0;
    while (got < total) {
      while (sent < total && a.send(pkt(sent))) sent++;
      const p = b.take();
      assert.ok(p, `receiver starved at ${got} (sent ${sent}, tx ${a.txLength})`);
      assert.equal(p.readUInt32BE(0), got++);
    }
    assert.equal(b.stats.dropped, 0);
    assert.ok(a.txLength < CREDIT_BATCH, `window not returned: ${a.txLength}`);
  });

  it('closing one end takes the other down after its queued packets', () => {
    const { a, b } = pair();
    const bEv = withEvents(b);
    a.send(pkt(1));
    a.close();
    assert.equal(b.down, true);
    assert.deepEqual(bEv, [EndpointEvent.PKT, EndpointEvent.DOWN]);
    assert.deepEqual(b.take(), pkt(1));
    assert.equal(b.send(pkt(2)), false);
  });
});

describe('endpoint: hand-over to a direct path', () => {
  /** A tiny world of three processes: X and Y (programs) and I (the IPCP), wired through fake links. */
  function world() {
    const eps = new Map<number, Map<number, Endpoint>>(); // pid -> flow id -> endpoint
    const frames: { from: number; to: number; type: number; flowId: number; payload: Buffer }[] = [];
    let paused = false;
    const deliver = (f: (typeof frames)[number]): void => {
      const ep = eps.get(f.to)?.get(f.flowId);
      if (!ep) return;
      if (ep.peerPid !== f.from) {
        if (!ep.holdForHandover(f.from, f.type, f.payload)) throw new Error(`frame from ${f.from} not taken by ${f.to}:${f.flowId}`);
        return;
      }
      dispatch(ep, f.type, f.payload, f.from);
    };
    const dispatch = (ep: Endpoint, type: number, payload: Buffer, from: number): void => {
      if (type === DataType.DATA) ep.deliver(payload);
      else if (type === DataType.CREDIT) ep.addCredit(payload.readUInt32BE(0), from);
      else if (type === DataType.DOWN) ep.markDown();
      else if (type === DataType.REDIRECT) ep.redirect(payload.readUInt32BE(0), payload.readUInt32BE(4), []);
      else if (type === DataType.MARK) for (const h of ep.markFromPeer()) dispatch(ep, h.type, h.payload, ep.peerPid);
    };
    // Frames travel in one FIFO (as on real links: never recursively, never overtaking).
    const queue: typeof frames = [];
    let running = false;
    const run = (): void => {
      if (running) return;
      running = true;
      while (queue.length && !paused) deliver(queue.shift()!);
      running = false;
    };
    const owner = (me: number): EndpointOwner => {
      const send = (to: number, type: DataType, flowId: number, payload: Uint8Array): void => {
        const f = { from: me, to, type, flowId, payload: Buffer.from(payload) };
        frames.push(f);
        queue.push(f);
        run();
      };
      return {
        linkTo: (pid) => {
          const bound = (type: DataType, flowId: number, payload: Uint8Array): void => send(pid, type, flowId, payload);
          return {
            send: bound,
            sendU32(type: DataType, flowId: number, v: number) {
              const b = Buffer.alloc(4);
              b.writeUInt32BE(v);
              bound(type, flowId, b);
            },
            flush() {},
          } as unknown as Link;
        },
        release() {},
      };
    };
    const add = (pid: number, id: number, peer: number): Endpoint => {
      const ep = new Endpoint(id, peer, owner(pid));
      if (!eps.has(pid)) eps.set(pid, new Map());
      eps.get(pid)!.set(id, ep);
      return ep;
    };
    return { add, frames, pause: () => (paused = true), resume: () => { paused = false; run(); } };
  }

  it('keeps every packet in order across the switch, then frames go directly between the programs', () => {
    const w = world();
    const X = 100, Y = 200, I = 300;
    const x = w.add(X, 1, I);
    const i1 = w.add(I, 1, X);
    const i2 = w.add(I, 2, Y);
    const y = w.add(Y, 2, I);
    // The IPCP forwards whatever arrives, and MARKs after the packets before them.
    const fwd = (from: Endpoint, to: Endpoint) => (ev: number) => {
      if (ev === 1) for (let p = from.take(); p; p = from.take()) to.send(p);
      if (ev === 8) to.sendMark();
    };
    i1.onEvent = fwd(i1, i2);
    i2.onEvent = fwd(i2, i1);
    const got: number[] = [];
    y.onEvent = (ev) => {
      if (ev === 1) for (let p = y.take(); p; p = y.take()) got.push(p.readUInt32BE(0));
    };
    const send = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      assert.ok(x.send(b));
    };
    for (let n = 0; n < 5; n++) send(n);
    w.pause(); // packets 5..9 are stuck on the old path while the hand-over happens
    for (let n = 5; n < 10; n++) send(n);
    i1.sendRedirect(Y, 2);
    i2.sendRedirect(X, 1);
    w.resume();
    for (let n = 10; n < 15; n++) send(n);
    assert.deepEqual(got, [...Array(15).keys()], 'in order, none lost or doubled');
    const last = w.frames.filter((f) => f.type === DataType.DATA).slice(-5);
    assert.ok(last.every((f) => f.from === X && f.to === Y && f.flowId === 2), 'after the switch X sends straight to Y under its flow id');
    assert.equal(x.peerPid, Y);
    assert.equal(y.peerPid, X);
    assert.equal(x.via, I);
  });
});

