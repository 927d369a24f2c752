/**
 * Keepalive and peer timeout of one flow (the reference's dev.c rules): with a
 * QoS timeout T, a flow that has sent nothing for T/4 sends a keepalive (a
 * zero-length SDU, which readers never see), and a flow that has received
 * nothing, keepalives included, for T is timed out: reads then fail with
 * EFLOWPEER and a PEER event is raised.
 */
import type { Endpoint } from './data/endpoint.js';

export class Keepalive {
  private lastRx: number;
  private lastTx: number;
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly ep: Endpoint,
    private readonly timeout: number,
    private readonly onPeerTimeout: () => void,
    private readonly now: () => number = Date.now,
  ) {
    this.lastRx = this.lastTx = now();
    // Check often enough to keep both deadlines within an eighth of T.
    const period = Math.min(1000, Math.max(5, Math.floor(timeout / 8)));
    this.timer = setInterval(() => this.tick(), period);
    this.timer.unref();
  }

  tick(): void {
    if (this.stopped) return;
    const now = this.now();
    if (this.ep.rxActivity) {
      this.ep.rxActivity = false;
      this.lastRx = now;
    }
    if (this.ep.txActivity) {
      this.ep.txActivity = false;
      this.lastTx = now;
    }
    if (this.ep.down) {
      this.stop();
      return;
    }
    if (now - this.lastRx > this.timeout) {
      this.stop();
      this.onPeerTimeout();
      return;
    }
    if (now - this.lastTx >= this.timeout / 4) {
      this.ep.sendKeepalive();
      this.ep.txActivity = false;
      this.lastTx = now;
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }
}
