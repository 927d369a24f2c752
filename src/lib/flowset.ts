/** Flow sets and event queues (the reference's fset / fqueue / fevent). */
import { fail } from '../common/errors.js';
import { timerDelay } from '../common/time.js';
import { FlowEvent, type Flow, type FlowEventType, type FlowSet, type FlowSetEvent } from './api.js';
import type { FlowEventSink, FlowImpl } from './flow.js';

/** Events queued per set before the oldest are dropped (the reference's queue holds 1024). */
const MAX_EVENTS = 1024;

export class FlowSetImpl implements FlowSet, FlowEventSink {
  private readonly flows = new Set<FlowImpl>();
  private events: FlowSetEvent[] = [];
  private waiter: (() => void) | undefined;
  private destroyed = false;

  post(flow: FlowImpl, type: FlowEventType): void {
    if (!this.flows.has(flow)) return;
    if (this.events.length >= MAX_EVENTS) this.events.shift();
    this.events.push({ flow, type });
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  add(flow: Flow): void {
    const f = flow as FlowImpl;
    if (f.set && f.set !== this) fail('EPERM', `flow ${f.fd} is in another flow set already`);
    this.flows.add(f);
    f.set = this;
    for (let i = 0; i < f.rxQueueLength; i++) this.post(f, FlowEvent.PKT);
  }

  del(flow: Flow): void {
    const f = flow as FlowImpl;
    if (!this.flows.delete(f)) return;
    f.set = undefined;
    this.events = this.events.filter((e) => e.flow !== f);
  }

  has(flow: Flow): boolean {
    return this.flows.has(flow as FlowImpl);
  }

  zero(): void {
    for (const f of this.flows) f.set = undefined;
    this.flows.clear();
    this.events = [];
  }

  async wait(timeout?: number): Promise<FlowSetEvent[]> {
    if (this.destroyed) fail('EINVAL', 'flow set destroyed');
    if (this.events.length === 0) {
      const woke = await new Promise<boolean>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        this.waiter = () => {
          if (timer) clearTimeout(timer);
          resolve(true);
        };
        if (timeout !== undefined) {
          timer = setTimeout(() => {
            this.waiter = undefined;
            resolve(false);
          }, timerDelay(timeout));
        }
      });
      if (!woke) fail('ETIMEDOUT', `no flow event within ${timeout} ms`);
    }
    const out = this.events;
    this.events = [];
    return out;
  }

  destroy(): void {
    this.zero();
    this.destroyed = true;
  }
}
