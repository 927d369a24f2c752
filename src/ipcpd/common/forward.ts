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

/** Splices `a` and `b`: whatever arrives on one is sent on the other. */
export function splice(a: Endpoint, b: Endpoint): void {
  a.onEvent = (ev) => (ev === EndpointEvent.WRITABLE ? pump(b, a) : pump(a, b));
  b.onEvent = (ev) => (ev === EndpointEvent.WRITABLE ? pump(a, b) : pump(b, a));
  pump(a, b);
  pump(b, a);
}
