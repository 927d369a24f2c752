/**
 * Moves packets between two endpoints of this process in both directions,
 * respecting each side's window; when one side goes down and is drained,
 * the other side is told (DOWN after the last packet).
 */
import { Endpoint, EndpointEvent } from '../../lib/data/endpoint.js';

function pump(from: Endpoint, to: Endpoint): void {
  while (from.rxLength > 0) {
    if (to.down) {
      from.flushRx();
      return;
    }
    const pkt = from.peek()!;
    if (!to.send(pkt)) return;
    from.take();
  }
  if (from.down && !to.down) to.close();
}

function relay(from: Endpoint, to: Endpoint, ev: EndpointEvent): void {
  if (ev === EndpointEvent.WRITABLE) pump(to, from);
  else if (ev === EndpointEvent.PEER_DOWN || ev === EndpointEvent.PEER_UP) to.sendState(ev === EndpointEvent.PEER_DOWN);
  else if (ev === EndpointEvent.KEEPALIVE) to.sendKeepalive();
  else pump(from, to);
}

/** Splices `a` and `b`: whatever arrives on one is sent on the other. */
export function splice(a: Endpoint, b: Endpoint): void {
  a.onEvent = (ev) => relay(a, b, ev);
  b.onEvent = (ev) => relay(b, a, ev);
  pump(a, b);
  pump(b, a);
}
