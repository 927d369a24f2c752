/**
 * operf server: accepts flows for as long as it runs. Each flow first
 * sends its test type; then every packet of a uni test is printed
 * (sequence number, fd, time of day) and every packet of a bi test is
 * sent back. A flow that sent nothing for more than a second is dropped
 * ("Flow %d timed out.", checked every second as the reference does) and
 * its statistics printed: packets, bytes, loss and reordering from the
 * sequence numbers, goodput. Flows still open when the server stops get
 * their statistics too.
 */
import type { Flow, Process } from '../../lib/api.js';
import { raceAbort, systemClock, tsDiffMs, yieldToLoop, type Clock } from '../oping/clock.js';
import { errorCode, isAbort } from '../oping/errors.js';
import { readSdu, writeSdu, serverSignal } from '../common/flowio.js';
import { RecvStats } from '../common/recvstats.js';
import type { Out, RunContext } from './client.js';
import { OPERF_CONFIG_PAUSE_MS } from './client.js';
import type { OperfOptions } from './options.js';
import { decodeConfig, readSeq, TEST_TYPE_BI, TEST_TYPE_UNI } from './protocol.js';
import { frctStatsLine, seqnoLine, serverStatsLines } from './stats.js';

/** A flow idle for longer than this is dropped (ms). */
export const OPERF_IDLE_TIMEOUT_MS = 1000;
/** How often idle flows are looked for (ms). */
export const OPERF_CLEANER_PERIOD_MS = 1000;
/** o7s: how long a new flow may take to send its configuration (ms). */
export const OPERF_CONFIG_TIMEOUT_MS = 10000;

interface Served {
  flow: Flow;
  testType: number;
  /** Clock time of the configuration or the last packet. */
  last: bigint;
  stats: RecvStats;
  ended: boolean;
}

/** Runs the server until `ctx.signal` aborts; returns the exit code. */
export async function runOperfServer(proc: Process, _opts: OperfOptions, out: Out, ctx: RunContext = {}): Promise<number> {
  const clock = ctx.clock ?? systemClock;
  const signal = serverSignal(ctx.signal);
  const served = new Map<number, Served>();
  const handlers = new Set<Promise<void>>();

  const end = (s: Served, timedOut: boolean): void => {
    if (s.ended) return;
    s.ended = true;
    served.delete(s.flow.fd);
    if (timedOut) out(`Flow ${s.flow.fd} timed out.`);
    for (const line of serverStatsLines(s.flow.fd, s.stats)) out(line);
    const fl = frctStatsLine(s.flow);
    if (fl) out(fl);
    s.flow.dealloc().catch(() => undefined);
  };

  out('Ouroboros perf server started.');

  const cleaner = (async () => {
    while (!signal?.aborted) {
      const now = clock.now();
      for (const s of [...served.values()]) {
        // o7s: before its first packet a flow also gets the client's pause after the configuration.
        const limit = OPERF_IDLE_TIMEOUT_MS + (s.stats.packets === 0 ? OPERF_CONFIG_PAUSE_MS : 0);
        if (tsDiffMs(now, s.last) > BigInt(limit)) end(s, true);
      }
      await clock.sleep(OPERF_CLEANER_PERIOD_MS, signal);
    }
  })();

  while (!signal?.aborted) {
    let flow: Flow;
    try {
      flow = await raceAbort(proc.flowAccept(), signal);
    } catch (e) {
      if (signal?.aborted || isAbort(e)) break;
      out('Failed to accept flow.');
      break;
    }
    out(`New flow ${flow.fd}.`);
    const h = serve(flow, served, end, out, clock, signal);
    handlers.add(h);
    void h.finally(() => handlers.delete(h));
  }

  await cleaner;
  for (const s of [...served.values()]) end(s, false);
  await Promise.allSettled([...handlers]);
  return 0;
}

async function serve(
  flow: Flow,
  served: Map<number, Served>,
  end: (s: Served, timedOut: boolean) => void,
  out: Out,
  clock: Clock,
  signal?: AbortSignal,
): Promise<void> {
  flow.readTimeout = OPERF_CONFIG_TIMEOUT_MS;
  let config: Buffer;
  try {
    config = await raceAbort(flow.read(), signal);
  } catch (e) {
    if (!signal?.aborted && !isAbort(e)) out('Failed to read config message.');
    await flow.dealloc().catch(() => undefined);
    return;
  }
  const testType = decodeConfig(config);
  if (testType === undefined) {
    out('Invalid config message.');
    await flow.dealloc().catch(() => undefined);
    return;
  }
  out(testType === TEST_TYPE_BI ? 'Doing a bidirectional test.' : 'Doing a unidirectional test.');
  flow.readTimeout = null;

  const s: Served = { flow, testType, last: clock.now(), stats: new RecvStats(), ended: false };
  served.set(flow.fd, s);

  while (!s.ended && !signal?.aborted) {
    let data: Buffer;
    try {
      data = await raceAbort(readSdu(flow), signal);
    } catch (e) {
      const code = errorCode(e);
      if (code === 'ETIMEDOUT') continue;
      if (code === 'EAGAIN') {
        await yieldToLoop();
        continue;
      }
      // Down, dropped or stopped: nothing more to read. A flow whose peer
      // left stays listed until it times out, as in the reference.
      return;
    }
    if (s.ended) return;
    const now = clock.now();
    s.last = now;
    const seq = readSeq(data);
    s.stats.add(data.length, now, data.length >= 4 ? seq : undefined);

    if (testType === TEST_TYPE_UNI) {
      out(seqnoLine(seq, flow.fd, clock.realtime()));
    } else if (testType === TEST_TYPE_BI) {
      try {
        const pending = writeSdu(flow, data);
        if (pending) await pending;
      } catch {
        out(`Error writing to flow (fd ${flow.fd}).`);
        await flow.dealloc().catch(() => undefined);
        return;
      }
    }
  }
}
