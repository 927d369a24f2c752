/** Processes announced to irmd. */
export interface ProcEntry {
  pid: number;
  prog: string;
  uid: number;
  gid: number;
  /** Pending accepts of this process. */
  accepting: number;
}

export class Procs {
  private readonly map = new Map<number, ProcEntry>();

  get(pid: number): ProcEntry | undefined {
    return this.map.get(pid);
  }

  add(p: ProcEntry): void {
    this.map.set(p.pid, p);
  }

  remove(pid: number): boolean {
    return this.map.delete(pid);
  }

  list(): ProcEntry[] {
    return [...this.map.values()].sort((a, b) => a.pid - b.pid);
  }
}
