/**
 * Allocations waiting for the accepter's answer. irmd sends the answer to a
 * flow request and the accepter's IPCP_FLOW_ALLOC_RESP over two different
 * sockets, so the response can overtake the request's registration: `take`
 * waits (bounded) for the entry instead of failing.
 */
export class PendingTable<T> {
  private readonly entries = new Map<number, T>();
  private readonly waiters = new Map<number, (v: T) => void>();

  set(id: number, value: T): void {
    const w = this.waiters.get(id);
    if (w) {
      this.waiters.delete(id);
      w(value);
      return;
    }
    this.entries.set(id, value);
  }

  has(id: number): boolean {
    return this.entries.has(id);
  }

  /** Removes and returns the entry, if there is one now. */
  delete(id: number): T | undefined {
    const v = this.entries.get(id);
    this.entries.delete(id);
    return v;
  }

  /**
   * Removes and returns the entry, waiting up to `ms` for it to appear, but
   * only while `mayArrive()` says a registration can still come.
   */
  take(id: number, ms: number, mayArrive: () => boolean): Promise<T | undefined> {
    const v = this.delete(id);
    if (v !== undefined || !mayArrive()) return Promise.resolve(v);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        resolve(undefined);
      }, ms);
      this.waiters.set(id, (value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  }
}
