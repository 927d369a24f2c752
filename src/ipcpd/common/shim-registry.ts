/** The set of name hashes registered with a shim IPCP (local, udp, eth). */
export class HashSet {
  private readonly set = new Set<string>();

  private static key(hash: Uint8Array): string {
    return Buffer.from(hash).toString('hex');
  }

  add(hash: Uint8Array): void {
    this.set.add(HashSet.key(hash));
  }

  delete(hash: Uint8Array): boolean {
    return this.set.delete(HashSet.key(hash));
  }

  has(hash: Uint8Array): boolean {
    return this.set.has(HashSet.key(hash));
  }

  get size(): number {
    return this.set.size;
  }
}
