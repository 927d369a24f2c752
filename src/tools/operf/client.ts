/**
 * operf client: allocates a flow to the server, sends the test type,
 * pauses a second, then sends sequence-numbered packets at the rate (or
 * flooding) for the duration. In a bi test a reader counts the echoes,
 * and keeps counting after the writer is done until every echo is in or
 * the server has been silent for the read timeout. Prints the statistics
 * at the end, or when stopped.
 */
import type { Flow, Process } from '../../lib/api.js';
import { raceAbort, systemClock, tsDiffUs, yieldToLoop, type Clock } from '../oping/clock.js';
import { errorCode, isAbort } from '../oping/errors.js';
import { drainTx, readSdu, writeSdu } from '../common/flowio.js';
import { gapNs, pace } from '../common/pacer.js';
import type { OperfOptions } from './options.js';
import { encodeConfig, TEST_TYPE_BI, writeSeq } from './protocol.js';
import { clientStatsLines, frctStatsLine, sendingLine, type ClientTotals } from './stats.js';

export type Out = (line: string) => void;

export interface RunContext {
  /** Time source; the system clock by default. */
  clock?: Clock;
  /** Aborting it stops the run (SIGINT, SIGTERM, SIGHUP in the bin). */
  signal?: AbortSignal;
}

/** Pause between the configuration and the first packet (ms). */
export const OPERF_CONFIG_PAUSE_MS = 1000;
/** The reader gives up after this long without an echo (ms), or two packet gaps if longer. */
export const OPERF_READ_TIMEOUT_MS = 2000;

interface Run {
  flow: Flow;
  opts: OperfOptions;
  out: Out;
  clock: Clock;
  totals: ClientTotals;
  /** Aborted to stop everything (signal, server timed out). */
  stop: AbortController;
  /** Aborted when the reader has nothing left to wait for. */
  readerStop: AbortController;
  writerDone: boolean;
}

/**
 * Runs the client with already-parsed options. Returns the exit code: 0
 * once the test ran, 1 when the flow could not be set up.
 */
export async function runOperfClient(proc: Process, opts: OperfOptions, out: Out, ctx: RunContext = {}): Promise<number> {
  const clock = ctx.clock ?? systemClock;
  const name = opts.serverName ?? '';
  const bi = opts.testType === TEST_TYPE_BI;

  let flow: Flow;
  try {
    flow = await proc.flowAlloc(name, opts.qos ? { qos: opts.qos } : undefined);
  } catch {
    out('Failed to allocate flow.');
    return 1;
  }

  out(bi ? 'Doing a bidirectional test.' : 'Doing a unidirectional test.');

  try {
    await flow.write(encodeConfig(opts.testType));
  } catch {
    out('Failed to send configuration.');
    await flow.dealloc().catch(() => undefined);
    return 1;
  }

  const run: Run = {
    flow,
    opts,
    out,
    clock,
    totals: { sent: 0, sentBytes: 0, rcvd: 0, rcvdBytes: 0 },
    stop: new AbortController(),
    readerStop: new AbortController(),
    writerDone: false,
  };
  const onAbort = (): void => run.stop.abort();
  if (ctx.signal?.aborted) run.stop.abort();
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  run.stop.signal.addEventListener('abort', () => run.readerStop.abort(), { once: true });

  try {
    await clock.sleep(OPERF_CONFIG_PAUSE_MS, run.stop.signal);

    const tic = clock.now();
    const reader = bi ? readEchoes(run) : Promise.resolve();
    await writer(run);
    run.writerDone = true;
    if (run.totals.rcvd >= run.totals.sent) run.readerStop.abort();
    const toc = clock.now();
    await reader;

    for (const line of clientStatsLines(name, bi, opts.size, run.totals, Number(tsDiffUs(toc, tic)))) out(line);
    await drainTx(flow, clock, { signal: run.stop.signal });
    // o7s: on a reliable flow, once what was sent is acknowledged (or given up on).
    const fl = frctStatsLine(flow);
    if (fl) out(fl);
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort);
  }

  await flow.dealloc().catch(() => undefined);
  return 0;
}

async function writer(run: Run): Promise<void> {
  const { opts, flow, totals } = run;
  run.out(sendingLine(opts.serverName ?? '', opts.size, opts.duration, opts.rate, opts.flood));
  run.out('');

  const pkt = Buffer.alloc(opts.size);
  const sent = (): boolean => {
    totals.sent++;
    totals.sentBytes += pkt.length;
    return true;
  };
  const result = await pace(
    {
      clock: run.clock,
      durationNs: BigInt(Math.max(0, opts.duration)) * 1_000_000n,
      gapNs: opts.flood ? null : gapNs(opts.size, opts.rate),
      signal: run.stop.signal,
    },
    (seq) => {
      writeSeq(pkt, seq);
      let pending: Promise<void> | undefined;
      try {
        pending = writeSdu(flow, pkt);
      } catch {
        return false;
      }
      if (!pending) return sent();
      return pending.then(sent, () => false);
    },
  );
  if (result.failed) run.out('Failed to send packet.');
  run.out('Test finished.');
}

/** Counts the echoes of a bi test. */
async function readEchoes(run: Run): Promise<void> {
  const { flow, opts, totals } = run;
  const gapMs = opts.flood ? 0 : gapNs(opts.size, opts.rate) / 1e6;
  flow.readTimeout = Math.max(OPERF_READ_TIMEOUT_MS, Math.ceil(2 * gapMs));
  const signal = run.readerStop.signal;

  while (!signal.aborted) {
    if (run.writerDone && totals.rcvd >= totals.sent) break;
    let data: Buffer;
    try {
      data = await raceAbort(readSdu(flow), signal);
    } catch (e) {
      if (signal.aborted || isAbort(e)) break;
      const code = errorCode(e);
      if (code === 'EAGAIN') {
        await yieldToLoop();
        continue;
      }
      if (code === 'ETIMEDOUT' && !run.writerDone) {
        run.out('Server timed out.');
        run.stop.abort();
      }
      break;
    }
    if (data.length !== opts.size) {
      run.out(`Invalid message on fd ${flow.fd}.`);
      continue;
    }
    totals.rcvd++;
    totals.rcvdBytes += data.length;
  }
}
