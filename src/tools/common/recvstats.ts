/**
 * What a receiver can tell from the packets it got: counts, bytes, the
 * arrival span, goodput, and loss and reordering from the sequence numbers
 * the sender puts in every packet (0, 1, 2, ...).
 *
 * Loss: a sequence number above the next expected one opens a gap; the
 * numbers skipped are missing until they arrive late (counted as
 * reordered). Lost = missing numbers below the highest one seen. Packets
 * lost after the last one that arrived cannot be seen by the receiver.
 * A number seen twice is a duplicate and not counted again.
 *
 * Goodput: the bits of every packet after the first one, over the time
 * from the first arrival to the last (so n packets sent at rate R over
 * n·gap measure R).
 */

/** Missing sequence numbers remembered one by one; larger gaps are only counted. */
export const SEQ_TRACK_LIMIT = 1 << 16;

export class SeqTracker {
  /** Next sequence number expected (highest seen + 1). */
  next = 0;
  /** Distinct sequence numbers received. */
  unique = 0;
  /** Packets that arrived after a higher number (filling a gap). */
  reordered = 0;
  /** Numbers received again. */
  duplicates = 0;
  private readonly missing = new Set<number>();
  /** Missing numbers not remembered individually (gaps past the limit). */
  private untracked = 0;

  add(seq: number): void {
    if (seq >= this.next) {
      const gap = seq - this.next;
      if (gap > 0) {
        if (this.missing.size + gap <= SEQ_TRACK_LIMIT) {
          for (let s = this.next; s < seq; s++) this.missing.add(s);
        } else {
          this.untracked += gap;
        }
      }
      this.next = seq + 1;
      this.unique++;
    } else if (this.missing.delete(seq)) {
      this.unique++;
      this.reordered++;
    } else if (this.untracked > 0) {
      this.untracked--;
      this.unique++;
      this.reordered++;
    } else {
      this.duplicates++;
    }
  }

  /** Sequence numbers below the highest seen that never arrived. */
  get lost(): number {
    return this.missing.size + this.untracked;
  }

  /** Packets the sender sent as far as the receiver knows (highest + 1). */
  get expected(): number {
    return this.next;
  }
}

export class RecvStats {
  packets = 0;
  bytes = 0;
  /** Size of the first packet (left out of the goodput). */
  firstBytes = 0;
  /** Clock time of the first and last arrival (ns). */
  first: bigint | null = null;
  last: bigint | null = null;
  readonly seq = new SeqTracker();

  /** Counts a packet of `len` bytes that arrived at `at` (ns), with its sequence number if it had one. */
  add(len: number, at: bigint, seq?: number): void {
    if (this.first === null) {
      this.first = at;
      this.firstBytes = len;
    }
    this.last = at;
    this.packets++;
    this.bytes += len;
    if (seq !== undefined) this.seq.add(seq);
  }

  /** µs from the first arrival to the last (0 before two packets). */
  get spanUs(): number {
    if (this.first === null || this.last === null) return 0;
    return Number((this.last - this.first) / 1000n);
  }

  /** Goodput in Mb/s (bits per µs); 0 before two packets. */
  get goodputMbps(): number {
    const us = this.spanUs;
    return us > 0 ? ((this.bytes - this.firstBytes) * 8) / us : 0;
  }

  /** Packets per second over the span; 0 before two packets. */
  get pps(): number {
    const us = this.spanUs;
    return us > 0 ? ((this.packets - 1) * 1e6) / us : 0;
  }
}
