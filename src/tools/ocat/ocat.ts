/**
 * ocat's two ends, with their I/O passed in (so they run on any Process,
 * the real library or a test double). See framing.ts for the wire format.
 */
import type { Flow, Process } from '../../lib/api.js';
import { raceAbort } from '../oping/clock.js';
import { errorCode, isAbort } from '../oping/errors.js';
import { chunkStream, decodeFrame, encodeAck, encodeData, encodeEnd } from './framing.js';
import type { OcatOptions } from './options.js';

export type Err = (line: string) => void;

export interface OcatContext {
  /** Aborting it stops the run (exit 1). */
  signal?: AbortSignal;
}

/** How often an unreliable sender repeats END while it waits for the ACK (ms). */
export const OCAT_END_RESEND_MS = 500;

const reliable = (f: Flow): boolean => f.qos.loss === 0;

function sameQos(a: Flow['qos'], b: Flow['qos']): boolean {
  return a.loss === b.loss && a.ber === b.ber && a.inOrder === b.inOrder && a.delay === b.delay && a.maxGap === b.maxGap;
}

/**
 * Listener: accepts one flow and hands every DATA payload to `write`, until
 * END. Returns 0 when END came and its count matches the bytes received,
 * 1 otherwise (flow down before END, count mismatch, malformed SDUs, abort).
 */
export async function runOcatListener(
  proc: Process,
  opts: OcatOptions,
  write: (chunk: Buffer) => Promise<void>,
  err: Err,
  ctx: OcatContext = {},
): Promise<number> {
  const { signal } = ctx;
  let flow: Flow;
  try {
    flow = await raceAbort(proc.flowAccept(), signal);
  } catch (e) {
    err(isAbort(e) ? 'ocat: interrupted before a flow arrived.' : `ocat: failed to accept a flow: ${(e as Error).message}`);
    return 1;
  }
  if (opts.qosGiven && !sameQos(flow.qos, opts.qos)) err(`ocat: warning: the accepted flow's QoS is not ${opts.qosName}.`);

  let received = 0n;
  let bad = 0;
  try {
    for (;;) {
      let sdu: Buffer;
      try {
        sdu = await raceAbort(flow.read(), signal);
      } catch (e) {
        if (isAbort(e)) {
          err(`ocat: interrupted after ${received} bytes.`);
          return 1;
        }
        const code = errorCode(e);
        if (code === 'ETIMEDOUT' || code === 'EAGAIN') continue;
        err(`ocat: the flow went down before the end of the data (${received} bytes received${code ? `, ${code}` : ''}).`);
        return 1;
      }
      const f = decodeFrame(sdu);
      switch (f.type) {
        case 'data':
          received += BigInt(f.payload.length);
          if (f.payload.length > 0) await write(f.payload);
          break;
        case 'end': {
          await flow.write(encodeAck(received)).catch(() => undefined);
          let rc = 0;
          if (f.count !== received) {
            err(`ocat: the sender sent ${f.count} bytes, ${received} were received.`);
            rc = 1;
          }
          if (bad > 0) {
            err(`ocat: ${bad} malformed SDU(s) were ignored.`);
            rc = 1;
          }
          return rc;
        }
        case 'ack':
          bad++;
          err('ocat: unexpected ACK SDU, ignored.');
          break;
        case 'bad':
          bad++;
          err(`ocat: ${f.reason}, ignored.`);
          break;
      }
    }
  } finally {
    // A reliable flow lingers here until the ACK is acknowledged.
    await flow.dealloc().catch(() => undefined);
  }
}

/**
 * Sender: allocates a flow to opts.name, sends `input` as DATA SDUs, then
 * END, and waits (up to opts.timeout) for the ACK. Returns 0 once the ACK
 * reports every byte and the flow is deallocated, 1 otherwise.
 */
export async function runOcatSender(
  proc: Process,
  opts: OcatOptions,
  input: AsyncIterable<Uint8Array>,
  err: Err,
  ctx: OcatContext = {},
): Promise<number> {
  const { signal } = ctx;
  const name = opts.name ?? '';
  let flow: Flow;
  try {
    flow = await raceAbort(proc.flowAlloc(name, { qos: opts.qos }), signal);
  } catch (e) {
    err(`ocat: could not allocate a flow to ${name}: ${(e as Error).message}`);
    return 1;
  }

  let rc = 1;
  let sent = 0n;
  try {
    try {
      for await (const payload of chunkStream(input)) {
        await raceAbort(flow.write(encodeData(payload)), signal);
        sent += BigInt(payload.length);
      }
      await raceAbort(flow.write(encodeEnd(sent)), signal);
    } catch (e) {
      if (isAbort(e)) err(`ocat: interrupted after ${sent} bytes.`);
      else err(`ocat: sending failed after ${sent} bytes: ${(e as Error).message}`);
      return 1;
    }

    const ack = await waitAck(flow, opts.timeout, sent, signal);
    if (ack === 'timeout') {
      err(`ocat: no acknowledgement of the end of the data within ${opts.timeout / 1000} s.`);
      return 1;
    }
    if (ack === 'abort') {
      err('ocat: interrupted while waiting for the acknowledgement.');
      return 1;
    }
    if (typeof ack === 'string') {
      err(`ocat: the flow went down before the end of the data was acknowledged (${ack}).`);
      return 1;
    }
    if (ack !== sent) {
      err(`ocat: the listener received ${ack} of ${sent} bytes.`);
      return 1;
    }
    rc = 0;
    return 0;
  } finally {
    // A reliable flow lingers until everything is acknowledged.
    try {
      await flow.dealloc();
    } catch (e) {
      if (rc === 0) {
        err(`ocat: deallocating the flow failed: ${(e as Error).message}`);
      }
    }
  }
}

/** Waits for the ACK: its count, 'timeout', 'abort', or the error code that brought the flow down. */
async function waitAck(flow: Flow, timeout: number, sent: bigint, signal?: AbortSignal): Promise<bigint | string> {
  const deadline = Date.now() + timeout;
  const resend = !reliable(flow);
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return 'timeout';
    flow.readTimeout = resend ? Math.min(left, OCAT_END_RESEND_MS) : left;
    let sdu: Buffer;
    try {
      sdu = await raceAbort(flow.read(), signal);
    } catch (e) {
      if (isAbort(e)) return 'abort';
      const code = errorCode(e);
      if (code === 'ETIMEDOUT' || code === 'EAGAIN') {
        // On an unreliable flow the END (or the ACK) may have been lost: say it again.
        if (resend && Date.now() < deadline) await flow.write(encodeEnd(sent)).catch(() => undefined);
        continue;
      }
      return code ?? (e as Error).message;
    }
    const f = decodeFrame(sdu);
    if (f.type === 'ack') return f.count;
  }
}
