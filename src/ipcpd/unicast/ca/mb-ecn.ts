/**
 * Multi-bit ECN congestion avoidance (ARCHITECTURE §7.5), with the
 * reference's arithmetic so that its FLOW_UPDATEs mean the same thing here.
 *
 * Hops: every hop ORs (packets queued on the outgoing N-1 flow) >> 4 into the
 * PDU's ECN byte (truncated to 8 bits, as the reference's cast does).
 *
 * Receiver: keeps a congestion level rx_ece (u16) averaged over ~32 packets
 * and reports it to the sender in a FLOW_UPDATE at the start of congestion,
 * when it ends, and during it on packets where (rx_ctr++ & 7) == 1.
 *
 * Sender: a byte budget per time slot of 2^tx_mul ns (initially 2^24 ns, about
 * 16.8 ms, and 64 KiB). Slow start doubles the budget each slot it was
 * exceeded; after the first FLOW_UPDATE, congestion shrinks it by
 * budget·ece/2^13 per slot and its absence sets it to last slot's bytes plus
 * an additive increase. Each new slot is rescaled so it holds 8..64 packets.
 * Over budget, the sender waits for the end of the slot (at most 1 s).
 */
import { CongestionPolicy } from '../../../common/ipcp-types.js';
import type { CaFlow, CaPolicy } from './index.js';

const CA_SHFT = 5; // receiver averages over 2^5 packets
const CA_WND = 1 << CA_SHFT; // a sender forgets the echo after this many packets
const CA_UPD = 1 << (CA_SHFT - 2); // receiver update cadence while congested
const CA_SLOT = 24; // initial slot: 2^24 ns
const CA_INC = 1 << 16; // additive increase per slot
const CA_IWL = 1 << 16; // initial byte budget per slot
const CA_MINPS = 8; // fewest packets a slot is scaled to hold
const CA_MAXPS = 64; // most packets a slot is scaled to hold
/**
 * o7s: slots never shrink below 2^20 ns (about 1 ms), the granularity of a
 * Node timer: a sender over budget waits for the end of the slot, and a
 * shorter slot would make it wait a whole timer tick for a fraction of one
 * (the reference sleeps with nanosecond precision). Only the sender's own
 * pacing changes; the marks and FLOW_UPDATEs mean what they mean in C.
 */
const CA_MIN_MUL = 20;
const ECN_Q_SHFT = 4;
const BILLION = 1_000_000_000;
const MD_SHFT = CA_SHFT + 8;

function slotOf(nowNs: bigint | number, mul: number): number {
  return typeof nowNs === 'bigint' ? Number(nowNs >> BigInt(mul)) : Math.floor(nowNs / 2 ** mul);
}

/** ns from now to the start of slot `slot` (slots of 2^mul ns). */
function untilSlot(slot: number, mul: number, nowNs: bigint | number): number {
  return typeof nowNs === 'bigint' ? Number((BigInt(slot) << BigInt(mul)) - nowNs) : slot * 2 ** mul - nowNs;
}

export class MbEcnFlow implements CaFlow {
  /** Receiver: congestion level seen on this flow (u16). */
  rxEce = 0;
  /** Receiver: packets counted during congestion. */
  rxCtr = 0;
  /** Sender: congestion level the receiver last reported. */
  txEce = 0;
  /** Sender: packets since the last FLOW_UPDATE. */
  txCtr = 0;
  /** Sender: bytes in the current slot. */
  txWbc = 0;
  /** Sender: packets in the current slot. */
  txWpc = 0;
  /** Sender: byte budget per slot. */
  txWbl = CA_IWL;
  /** Sender: false in slow start, true once a FLOW_UPDATE arrived. */
  txCav = false;
  /** Sender: slot length is 2^txMul ns. */
  txMul = CA_SLOT;
  /** Sender: additive increase per slot (scaled with the slot). */
  txInc = CA_INC;
  /** Sender: current slot number (undefined until the clock is first seen). */
  txSlot: number | undefined;

  constructor(nowNs?: bigint | number) {
    if (nowNs !== undefined) this.txSlot = slotOf(nowNs, this.txMul);
  }

  /**
   * Accounts an SDU of `len` bytes sent at `nowNs` and returns how many ns
   * the sender should wait first (0 when within budget).
   */
  beforeSendNs(len: number, nowNs: bigint | number): number {
    const slot = slotOf(nowNs, this.txMul);
    if (this.txSlot === undefined) this.txSlot = slot;

    this.txCtr++;
    this.txWpc++;
    this.txWbc += len;

    if (this.txCtr > CA_WND) this.txEce = 0;

    if (slot > this.txSlot) {
      let carry = false; // the counts carry over into the rescaled slot
      this.txSlot = slot;

      if (!this.txCav) {
        if (this.txWbc > this.txWbl) this.txWbl *= 2;
      } else if (this.txEce) {
        const prod = this.txWbl * this.txEce;
        const dec =
          prod <= Number.MAX_SAFE_INTEGER ? Math.floor(prod / 2 ** MD_SHFT) : Number((BigInt(this.txWbl) * BigInt(this.txEce)) >> BigInt(MD_SHFT));
        // The reference's size_t would wrap for ece >= 2^13 (which its own receivers never send).
        this.txWbl = Math.max(0, this.txWbl - dec);
      } else {
        this.txWbl = this.txWbc + this.txInc;
      }

      if (this.txWpc < CA_MINPS) {
        let fact = 0;
        for (let p = this.txWpc; p < CA_MINPS; p *= 2) fact++;
        const f = 2 ** fact;
        this.txMul += fact;
        this.txSlot = Math.floor(this.txSlot / f);
        if (this.txSlot % f === 0) {
          carry = true;
          this.txSlot += 1;
        }
        this.txWbl *= f;
        this.txInc *= f;
      } else if (this.txWpc > CA_MAXPS) {
        let fact = 0;
        for (let p = this.txWpc; p > CA_MAXPS; p = Math.floor(p / 2)) fact++;
        fact = Math.max(0, Math.min(fact, this.txMul - CA_MIN_MUL));
        const f = 2 ** fact;
        this.txMul -= fact;
        this.txSlot *= f;
        this.txWbl = Math.floor(this.txWbl / f);
        this.txInc = Math.floor(this.txInc / f);
      } else {
        this.txSlot = slot;
      }

      if (!carry) {
        this.txWbc = 0;
        this.txWpc = 0;
      }
    }

    if (this.txWbc > this.txWbl) return Math.max(0, untilSlot(this.txSlot + 1, this.txMul, nowNs));
    return 0;
  }

  beforeSend(len: number, nowNs: bigint | number): number {
    const ns = this.beforeSendNs(len, nowNs);
    if (ns <= 0) return 0;
    if (ns >= BILLION) return 1000;
    return Math.ceil(ns / 1_000_000);
  }

  onReceive(_len: number, ecn: number): number | undefined {
    if ((this.rxEce | ecn) === 0) return undefined;
    let update: boolean;
    if (ecn === 0) {
      // congestion over
      this.rxEce >>= 2;
      update = this.rxEce === 0;
    } else if (this.rxEce === 0) {
      // congestion starts
      this.rxEce = ecn & 0xffff;
      this.rxCtr = 0;
      update = true;
    } else {
      this.rxEce = (this.rxEce - (this.rxEce >> CA_SHFT) + ecn) & 0xffff;
      // Compared with `true` in the reference: updates when the old counter is 1 mod 8.
      update = this.rxCtr % CA_UPD === 1;
      this.rxCtr++;
    }
    return update ? this.rxEce : undefined;
  }

  onUpdate(ece: number): void {
    this.txEce = ece & 0xffff;
    this.txCtr = 0;
    this.txCav = true;
  }

  stats(): Record<string, number> {
    return {
      txEce: this.txEce,
      txCtr: this.txCtr,
      rxEce: this.rxEce,
      rxCtr: this.rxCtr,
      slotNs: 2 ** this.txMul,
      txWpc: this.txWpc,
      txWbc: this.txWbc,
      txWbl: this.txWbl,
      txInc: this.txInc,
      txCav: this.txCav ? 1 : 0,
    };
  }
}

/** The hop's mark: queued >> 4, truncated to a byte like the reference's cast. */
export function mbEcnMark(queued: number): number {
  return queued > 0 ? Math.floor(queued / (1 << ECN_Q_SHFT)) % 256 : 0;
}

export const mbEcnPolicy: CaPolicy = Object.freeze({
  name: 'mb-ecn',
  type: CongestionPolicy.MB_ECN,
  newFlow: (nowNs?: bigint | number) => new MbEcnFlow(nowNs),
  mark: mbEcnMark,
});
