/** The lines operf prints: the reference's where it has them, o7s summaries in the same style. */
import { sprintf } from '../common/printf.js';
import type { RecvStats } from '../common/recvstats.js';
import type { Flow } from '../../lib/api.js';
import { frctStatsOf } from '../common/frct-stats.js';

/** Loss in percent the reference's way: 100 - 100·rcvd/sent in integer arithmetic; 0 when nothing was sent. */
export function lossPercent(sent: number, rcvd: number): number {
  return sent === 0 ? 0 : 100 - Math.trunc((100 * rcvd) / sent);
}

/** The writer's first line (followed by a blank line). */
export function sendingLine(name: string, size: number, durationMs: number, rate: number, flood: boolean): string {
  const secs = Math.trunc(durationMs / 1000);
  return flood
    ? sprintf('Flooding %s with %d byte packets for %d seconds.', name, size, secs)
    : sprintf('Sending %d byte packets for %d s to %s at %.3f Mb/s.', size, secs, name, rate / 1e6);
}

export interface ClientTotals {
  sent: number;
  sentBytes: number;
  /** Echoes received (bi tests). */
  rcvd: number;
  rcvdBytes: number;
}

/**
 * The client's statistics block (starting with its blank line). `us` is
 * the time from the start of sending to the end of the writer.
 *
 *   bi:  the reference's line, then bytes, packets lost and goodput of the echoes
 *   uni: packets and bytes sent and the send rate (the server reports what arrived)
 */
export function clientStatsLines(name: string, bi: boolean, size: number, t: ClientTotals, us: number): string[] {
  const lines = ['', sprintf('--- %s perf statistics ---', name)];
  if (bi) {
    lines.push(
      sprintf(
        '%d packets transmitted, %d received, %d%% packet loss, time: %.3f ms, bandwidth: %.3f Mb/s.',
        t.sent,
        t.rcvd,
        lossPercent(t.sent, t.rcvd),
        us / 1000,
        (t.rcvd * size * 8) / us,
      ),
      sprintf(
        '%d bytes transmitted, %d received, %d packets lost, goodput: %.3f Mb/s.',
        t.sentBytes,
        t.rcvdBytes,
        Math.max(0, t.sent - t.rcvd),
        (t.rcvdBytes * 8) / us,
      ),
    );
  } else {
    lines.push(
      sprintf(
        '%d packets transmitted, %d bytes, time: %.3f ms, bandwidth: %.3f Mb/s.',
        t.sent,
        t.sentBytes,
        us / 1000,
        (t.sentBytes * 8) / us,
      ),
    );
  }
  return lines;
}

/** What the server prints for a flow when it ends. */
export function serverStatsLines(fd: number, s: RecvStats): string[] {
  const seq = s.seq;
  return [
    sprintf('--- flow %d perf statistics ---', fd),
    sprintf(
      '%d packets received, %d bytes, %d lost, %d%% packet loss, %d out-of-order, time: %.3f ms, goodput: %.3f Mb/s.',
      s.packets,
      s.bytes,
      seq.lost,
      lossPercent(seq.expected, seq.unique),
      seq.reordered,
      s.spanUs / 1000,
      s.goodputMbps,
    ),
  ];
}

/** The server's line per packet of a uni test: sequence number, fd and time of day. */
export function seqnoLine(seq: number, fd: number, realtimeNs: bigint): string {
  const sec = realtimeNs / 1_000_000_000n;
  const usec = (realtimeNs % 1_000_000_000n) / 1000n;
  return sprintf('Seqno %d from fd %d: %d.%06d', seq | 0, fd, sec, usec);
}

/**
 * o7s: the FRCT statistics of a flow with FRCT (in-order QoS), as oping's
 * line with the SDU counts of both directions; undefined for flows without
 * FRCT (raw), whose output stays the reference's.
 */
export function frctStatsLine(flow: Flow): string | undefined {
  const st = frctStatsOf(flow);
  if (!st) return undefined;
  const f = st.frct;
  const rtt = f.rttSamples === 0 ? 'no RTT sample' : sprintf('srtt %.3f ms', f.srttMs);
  return sprintf(
    'frct: %d sent, %d received, %d retransmitted, %d duplicates, %d out of order, %d crc errors, %s, window %d',
    f.sent,
    f.received,
    f.retransmitted,
    f.duplicates,
    f.outOfOrder,
    st.crcErrors,
    rtt,
    f.window,
  );
}
