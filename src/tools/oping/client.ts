/**
 * oping client: allocates a flow to the server name, sends requests
 * (paced by the interval, or flooding), prints one line per reply and the
 * statistics at the end or when stopped.
 */
import type { Flow, Process } from '../../lib/api.js';
import { FlowFlags } from '../../lib/api.js';
import { raceAbort, systemClock, tsDiffUs, yieldToLoop, type Clock } from './clock.js';
import { errorCode, isAbort, isFlowGone, negErrno } from './errors.js';
import { decodeMsg, encodeMsg, ECHO_REPLY, ECHO_REQUEST, OPING_BUF_SIZE, splitNs } from './msg.js';
import type { OpingOptions } from './options.js';
import { headerLine, OUT_OF_ORDER, PingStats, replyLine, timeOfDayPrefix } from './stats.js';
import { frctStatsOf } from '../common/frct-stats.js';

export type Out = (line: string) => void;

export interface RunContext {
  /** Time source; the system clock by default. */
  clock?: Clock;
  /** Aborting it stops the run (SIGINT, SIGTERM, SIGHUP in the bin). */
  signal?: AbortSignal;
}

/** Shared state of one ping run. */
interface Run {
  flow: Flow;
  opts: OpingOptions;
  name: string;
  out: Out;
  clock: Clock;
  signal: AbortSignal | undefined;
  stats: PingStats;
  stop: boolean;
}

function request(run: Run, id: number): Buffer {
  return encodeMsg({ type: ECHO_REQUEST, id, ...splitNs(run.clock.now()) }, run.opts.size);
}

/** Round trip in ms, at the reference's microsecond resolution. */
function rttMs(run: Run, tvSec: bigint, tvNsec: bigint): number {
  return Number(tsDiffUs(run.clock.now(), tvSec * 1_000_000_000n + tvNsec)) / 1000;
}

/**
 * Runs the client with already-parsed options. Returns the exit code: 0
 * once statistics are printed, 1 when the flow could not be allocated.
 */
export async function runOpingClient(
  proc: Process,
  opts: OpingOptions,
  out: Out,
  ctx: RunContext = {},
): Promise<number> {
  const clock = ctx.clock ?? systemClock;
  const name = opts.serverName ?? '';

  let flow: Flow;
  try {
    flow = await proc.flowAlloc(name, { qos: opts.qos });
  } catch (e) {
    out(`Failed to allocate flow: ${negErrno(e)}.`);
    return 1;
  }
  flow.flags = FlowFlags.RDWR | FlowFlags.RNOPART;

  const run: Run = { flow, opts, name, out, clock, signal: ctx.signal, stats: new PingStats(), stop: false };
  const onAbort = (): void => {
    run.stop = true;
  };
  if (ctx.signal?.aborted) run.stop = true;
  ctx.signal?.addEventListener('abort', onAbort, { once: true });

  const tic = clock.now();
  try {
    if (opts.floodBusy) await floodPing(run, true);
    else if (opts.flood) await floodPing(run, false);
    else await pacedPing(run);
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort);
  }
  const toc = clock.now();

  for (const line of run.stats.lines(name, tsDiffUs(toc, tic))) out(line);
  const fs = flowStatsLine(flow);
  if (fs) out(fs);

  await flow.dealloc().catch(() => undefined);
  return 0;
}

/**
 * o7s: one more line for flows with FRCT (in-order QoS), from the flow's
 * statistics; raw flows print exactly what the reference prints.
 */
export function flowStatsLine(flow: Flow): string | undefined {
  const st = frctStatsOf(flow);
  if (!st) return undefined;
  const f = st.frct;
  return `frct: ${f.retransmitted} retransmitted, ${f.duplicates} duplicates, ${f.outOfOrder} out of order, ${st.crcErrors} crc errors, srtt ${f.srttMs.toFixed(3)} ms, window ${f.window}`;
}

/** Default mode: a writer paced by the interval and a reader, side by side. */
async function pacedPing(run: Run): Promise<void> {
  const writerDone = pacedWriter(run);
  await Promise.all([writerDone, pacedReader(run, writerDone)]);
}

async function pacedWriter(run: Run): Promise<void> {
  const { opts, stats } = run;
  if (!opts.quiet) {
    run.out(headerLine(run.name, opts.size, opts.count));
    run.out('');
  }
  while (!run.stop && stats.sent < opts.count) {
    await run.clock.sleep(Math.max(0, opts.interval), run.signal);
    if (run.stop) break;
    const pkt = request(run, stats.sent++);
    try {
      await run.flow.write(pkt);
    } catch {
      run.out('Failed to send packet.');
      run.stop = true;
    }
  }
}

async function pacedReader(run: Run, writerDone: Promise<void>): Promise<void> {
  const { opts, stats, flow } = run;
  flow.readTimeout = (Math.trunc(opts.interval / 1000) + 2) * 1000;
  let expected = 0;
  while (!run.stop && stats.rcvd !== opts.count) {
    let data: Buffer;
    try {
      data = await raceAbort(flow.read(), run.signal);
    } catch (e) {
      if (run.stop || isAbort(e)) break;
      if (errorCode(e) === 'ETIMEDOUT') {
        run.out('Server timed out.');
        run.stop = true;
        break;
      }
      if (isFlowGone(e) || flow.closed) {
        // Nothing more will arrive; the writer notices on its next send.
        await writerDone;
        break;
      }
      await yieldToLoop();
      continue;
    }
    if (data.length > OPING_BUF_SIZE) continue; // too big for the reference's buffer: dropped

    const msg = decodeMsg(data);
    if (msg.type !== ECHO_REPLY) {
      run.out(`Invalid message on fd ${flow.fd}.`);
      continue;
    }
    if (msg.id >= opts.count) {
      run.out('Invalid id.');
      continue;
    }
    const ms = rttMs(run, msg.tvSec, msg.tvNsec);
    const late = msg.id < expected;
    if (late) stats.ooo++;
    if (!opts.quiet) {
      const prefix = opts.timestamp ? timeOfDayPrefix(run.clock.realtime()) : '';
      run.out(prefix + replyLine(data.length, run.name, msg.id, ms, late ? OUT_OF_ORDER : ''));
    }
    stats.addReply(ms);
    if (msg.id >= expected) expected = msg.id + 1;
  }
}

/** `-f` / `-F`: one request at a time, the next right after its reply. */
async function floodPing(run: Run, busy: boolean): Promise<void> {
  const { opts, stats, flow } = run;
  if (busy) flow.flags = FlowFlags.RDWR | FlowFlags.RNOPART | FlowFlags.RNOBLOCK;
  if (!opts.quiet) {
    run.out(headerLine(run.name, opts.size, opts.count, busy));
    run.out('');
  }
  while (!run.stop && stats.sent < opts.count) {
    try {
      await flow.write(request(run, stats.sent));
    } catch {
      run.out('Failed to send packet.');
      break;
    }
    stats.sent++;

    let data: Buffer | undefined;
    if (busy) {
      data = await busyRead(run);
      if (!data) break;
    } else {
      try {
        data = await raceAbort(flow.read(), run.signal);
      } catch (e) {
        if (!run.stop && !isAbort(e)) run.out('Failed to read packet.');
        break;
      }
    }

    const msg = decodeMsg(data);
    if (msg.type !== ECHO_REPLY) continue;
    const ms = rttMs(run, msg.tvSec, msg.tvNsec);
    stats.addReply(ms);
    if (!opts.quiet) run.out(replyLine(opts.size, run.name, msg.id, ms));
  }
}

/** Non-blocking reads until a packet comes; undefined on error or stop. */
async function busyRead(run: Run): Promise<Buffer | undefined> {
  for (;;) {
    try {
      return await run.flow.read();
    } catch (e) {
      if (errorCode(e) !== 'EAGAIN' || run.stop) return undefined;
    }
    await yieldToLoop();
    if (run.stop) return undefined;
  }
}
