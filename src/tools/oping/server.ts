/**
 * oping server: accepts flows for as long as it runs, answers every
 * request with the same bytes marked as a reply, and drops flows that sent
 * no valid request for more than 10 s. `--busy` serves a single flow with
 * non-blocking reads and stops when that flow ends.
 */
import type { Flow, Process } from '../../lib/api.js';
import { FlowFlags } from '../../lib/api.js';
import { raceAbort, systemClock, tsDiffMs, yieldToLoop, type Clock } from './clock.js';
import type { Out, RunContext } from './client.js';
import { errorCode, isAbort, negErrno } from './errors.js';
import { decodeMsg, ECHO_REQUEST, makeReply, OPING_BUF_SIZE } from './msg.js';
import type { OpingOptions } from './options.js';

/** A flow is dropped once its last valid request is older than this (ms). */
export const OPING_FLOW_DEADLINE_MS = 10000n;
/** How often idle flows are looked for (ms). */
export const OPING_CLEANER_PERIOD_MS = 1000;

interface Served {
  flow: Flow;
  /** Clock time of the accept or of the last valid request. */
  last: bigint;
  dropped: boolean;
}

/** Runs the server until `ctx.signal` aborts (or, with --busy, its flow ends); returns the exit code. */
export async function runOpingServer(
  proc: Process,
  opts: OpingOptions,
  out: Out,
  ctx: RunContext = {},
): Promise<number> {
  const clock = ctx.clock ?? systemClock;
  if (opts.busy) return busyServer(proc, out, ctx.signal);

  const signal = ctx.signal;
  const served = new Map<number, Served>();
  out('Ouroboros ping server started.');

  const cleaner = (async () => {
    while (!signal?.aborted) {
      const now = clock.now();
      for (const [fd, s] of served) {
        if (tsDiffMs(now, s.last) > OPING_FLOW_DEADLINE_MS) {
          out(`Flow ${fd} timed out.`);
          served.delete(fd);
          s.dropped = true;
          s.flow.dealloc().catch(() => undefined);
        }
      }
      await clock.sleep(OPING_CLEANER_PERIOD_MS, signal);
    }
  })();

  while (!signal?.aborted) {
    let flow: Flow;
    try {
      flow = await raceAbort(proc.flowAccept(), signal);
    } catch (e) {
      if (signal?.aborted || isAbort(e)) break;
      out(`Failed to accept flow: ${negErrno(e)} `);
      await yieldToLoop();
      continue;
    }
    out(`New flow ${flow.fd}.`);
    const s: Served = { flow, last: clock.now(), dropped: false };
    served.set(flow.fd, s);
    flow.flags = FlowFlags.RDWR | FlowFlags.RNOPART;
    void serve(s, opts, out, clock, signal);
  }

  await cleaner;
  return 0;
}

/** Reads and answers requests on one flow until it is dropped or goes down. */
async function serve(s: Served, opts: OpingOptions, out: Out, clock: Clock, signal?: AbortSignal): Promise<void> {
  const { flow } = s;
  while (!s.dropped && !signal?.aborted) {
    let data: Buffer;
    try {
      data = await raceAbort(flow.read(), signal);
    } catch (e) {
      const code = errorCode(e);
      if (code === 'ETIMEDOUT' || code === 'EMSGSIZE') continue;
      if (code === 'EAGAIN') {
        await yieldToLoop();
        continue;
      }
      // Down, dropped, aborted or broken: stop reading. A flow that went
      // down stays listed until the cleaner times it out, as in the reference.
      return;
    }
    if (data.length > OPING_BUF_SIZE) continue; // does not fit the reference's buffer: dropped
    if (!opts.quiet) out(`Received ${data.length} bytes on fd ${flow.fd}.`);
    if (decodeMsg(data).type !== ECHO_REQUEST) {
      out(`Invalid message on fd ${flow.fd}.`);
      continue;
    }
    s.last = clock.now();
    try {
      await flow.write(makeReply(data));
    } catch {
      out(`Error writing to flow (fd ${flow.fd}).`);
    }
  }
}

/** `--busy`: accept one flow, answer it with non-blocking reads, stop when it ends. */
async function busyServer(proc: Process, out: Out, signal?: AbortSignal): Promise<number> {
  let flow: Flow;
  try {
    flow = await raceAbort(proc.flowAccept(), signal);
  } catch (e) {
    if (!signal?.aborted && !isAbort(e)) out('Failed to accept flow.');
    return 0;
  }
  out(`New flow ${flow.fd} (busy-poll).`);
  flow.flags = FlowFlags.RNOBLOCK | FlowFlags.RDWR | FlowFlags.RNOPART;

  while (!signal?.aborted) {
    let data: Buffer;
    try {
      data = await flow.read();
    } catch (e) {
      if (errorCode(e) === 'EAGAIN') {
        await yieldToLoop();
        continue;
      }
      break;
    }
    if (data.length > OPING_BUF_SIZE) break; // EMSGSIZE ends the loop in the reference
    if (decodeMsg(data).type !== ECHO_REQUEST) continue;
    await flow.write(makeReply(data)).catch(() => undefined);
  }

  await flow.dealloc().catch(() => undefined);
  return 0;
}
