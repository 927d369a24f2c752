/**
 * The sender's copies of unacknowledged SDUs, kept for retransmission, in a
 * byte ring instead of one Buffer each. They are stored in sequence order and
 * released in sequence order (cumulative ACKs), so one circular region is
 * enough; nothing per SDU stays alive after a write (a PDU handed out is a
 * passing view), which keeps V8's young-generation collections short on a
 * fast flow: with one retained Buffer per SDU, each of the window's 512-1024
 * Buffers survives a collection or two and the pauses stall the flow.
 *
 * The ring starts small and doubles (up to `maxRing`) when an SDU does not
 * fit; older entries keep the ring they were written to until they are
 * released. An SDU that does not fit a ring of `maxRing` gets a Buffer of its
 * own.
 */
export class RtxStore {
  private ring: Buffer | undefined;
  /** Next free byte of the current ring. */
  private head = 0;
  /** Live entries in the current ring. */
  private live = 0;
  private readonly buf: (Buffer | undefined)[];
  private readonly off: Int32Array;
  private readonly len: Int32Array;
  private readonly mask: number;
  /** The oldest live sequence number and the next one to store (the store follows the sender). */
  private first = 0;
  private next = 0;

  /** @param slots a power of two, at least the most SDUs ever unacknowledged. */
  constructor(
    slots: number,
    private readonly minRing = 64 * 1024,
    private readonly maxRing = 4 * 1024 * 1024,
  ) {
    this.buf = new Array<Buffer | undefined>(slots).fill(undefined);
    this.off = new Int32Array(slots);
    this.len = new Int32Array(slots);
    this.mask = slots - 1;
  }

  /** Whether `seq` is stored. */
  has(seq: number): boolean {
    return this.buf[seq & this.mask] !== undefined;
  }

  /**
   * Room for the next SDU, `seq` (one after the previous one stored, or the
   * first of a new run when the store is empty): a view of n bytes to fill
   * in, valid until release(seq).
   */
  put(seq: number, n: number): Buffer {
    if (this.first === this.next) this.first = this.next = seq;
    const slot = seq & this.mask;
    let b = this.ring;
    let at = b === undefined ? -1 : this.fit(b, n);
    if (at < 0 && (b === undefined || b.length < this.maxRing) && n <= this.maxRing) {
      // A larger ring; the entries in the old one stay there until released.
      let size = b === undefined ? this.minRing : b.length * 2;
      while (size < n) size *= 2;
      b = this.ring = Buffer.allocUnsafeSlow(Math.min(size, this.maxRing));
      this.head = 0;
      this.live = 0;
      at = 0;
    }
    if (at < 0) {
      const own = Buffer.allocUnsafe(n);
      this.buf[slot] = own;
      this.off[slot] = 0;
      this.len[slot] = n;
      this.next = (seq + 1) >>> 0;
      return own;
    }
    this.buf[slot] = b;
    this.off[slot] = at;
    this.len[slot] = n;
    this.head = at + n;
    this.live++;
    this.next = (seq + 1) >>> 0;
    return b!.subarray(at, at + n);
  }

  /** The bytes stored for `seq` (a view), or undefined. */
  get(seq: number): Buffer | undefined {
    const slot = seq & this.mask;
    const b = this.buf[slot];
    if (b === undefined) return undefined;
    const o = this.off[slot]!;
    return b.subarray(o, o + this.len[slot]!);
  }

  /** Forget everything before `upTo` (it was acknowledged). */
  release(upTo: number): void {
    for (let s = this.first; s !== upTo && s !== this.next; s = (s + 1) >>> 0) {
      const slot = s & this.mask;
      if (this.buf[slot] === this.ring && this.ring !== undefined) this.live--;
      this.buf[slot] = undefined;
    }
    this.first = upTo;
    if (this.live === 0) this.head = 0;
  }

  /** Forget everything. */
  clear(): void {
    this.buf.fill(undefined);
    this.ring = undefined;
    this.head = 0;
    this.live = 0;
    this.first = this.next;
  }

  /** Offset in ring `b` (the current one) for n more bytes, or -1. */
  private fit(b: Buffer, n: number): number {
    if (this.live === 0) return n <= b.length ? 0 : -1;
    // The live bytes run from the oldest live entry in this ring to head, maybe wrapping.
    let s = this.first;
    while (this.buf[s & this.mask] !== b) s = (s + 1) >>> 0;
    const tail = this.off[s & this.mask]!;
    if (this.head > tail) {
      if (b.length - this.head >= n) return this.head;
      return n < tail ? 0 : -1;
    }
    return tail - this.head > n ? this.head : -1;
  }

  /** Bytes of ring in use by the current ring's entries (for tests). */
  get ringSize(): number {
    return this.ring?.length ?? 0;
  }
}
