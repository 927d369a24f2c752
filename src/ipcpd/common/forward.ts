/**
 * Moves packets between two endpoints of this process in both directions,
 * respecting each side's window; when one side goes down and is drained,
 * the other side is told (DOWN after the last packet). After a hand-over
 * (the programs talk directly), each direction ends with the program's MARK,
 * which is passed on after the packets before it, and nothing more.
 */
import { Endpoint, EndpointEvent } from '../../lib/data/endpoint.js';

interface Direction {
  from: Endpoint;
  to: Endpoint;
  /** The program's MARK came in and waits behind queued packets. */
  markPending: boolean;
  /** The MARK was passed on: this direction no longer goes through here. */
  done: boolean;
}

function pump(d: Direction): void {
  const { from, to } = d;
  while (from.rxLength > 0) {
    if (to.down) {
      from.flushRx();
      return;
    }
    const pkt = from.peek()!;
    if (!to.send(pkt)) return;
    from.take();
  }
  if (d.markPending) {
    d.markPending = false;
    d.done = true;
    to.sendMark();
    return;
  }
  if (from.down && !to.down && !d.done) to.close();
}

function relay(d: Direction, back: Direction, ev: EndpointEvent): void {
  if (ev === EndpointEvent.WRITABLE) pump(back);
  else if (d.done) return; // handed over: the programs deal with each other
  else if (ev === EndpointEvent.MARK) {
    d.markPending = true;
    pump(d);
  } else if (ev === EndpointEvent.PEER_DOWN || ev === EndpointEvent.PEER_UP) d.to.sendState(ev === EndpointEvent.PEER_DOWN);
  else if (ev === EndpointEvent.KEEPALIVE) d.to.sendKeepalive();
  else pump(d);
}

/** Splices `a` and `b`: whatever arrives on one is sent on the other. */
export function splice(a: Endpoint, b: Endpoint): void {
  const ab: Direction = { from: a, to: b, markPending: false, done: false };
  const ba: Direction = { from: b, to: a, markPending: false, done: false };
  a.onEvent = (ev) => relay(ab, ba, ev);
  b.onEvent = (ev) => relay(ba, ab, ev);
  pump(ab);
  pump(ba);
}

/**
 * Hands the data path of a spliced flow over to its two programs: each is
 * told the other's pid and flow id, sends a MARK through here and then talks
 * to the other directly. Both must be able to reach each other's socket.
 */
export function handOver(a: Endpoint, b: Endpoint): void {
  if (a.peerPid === b.peerPid || a.down || b.down) return;
  a.sendRedirect(b.peerPid, b.id);
  b.sendRedirect(a.peerPid, a.id);
}
