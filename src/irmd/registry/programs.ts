/** Programs (by basename) and the names they are bound to. */
export interface ProgramEntry {
  name: string;
  path: string;
  names: Set<string>;
}

export class Programs {
  private readonly map = new Map<string, ProgramEntry>();

  get(name: string): ProgramEntry | undefined {
    return this.map.get(name);
  }

  ensure(name: string, path: string): ProgramEntry {
    let p = this.map.get(name);
    if (!p) {
      p = { name, path, names: new Set() };
      this.map.set(name, p);
    }
    return p;
  }

  destroy(name: string): boolean {
    return this.map.delete(name);
  }

  list(): ProgramEntry[] {
    return [...this.map.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }
}
