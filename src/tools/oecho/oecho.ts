/**
 * oecho: the smallest flow program. The client allocates a flow to the
 * name `oecho`, sends "Client says hi!" with its terminating NUL and prints
 * the answer; the server echoes the first message of every flow it accepts
 * and deallocates the flow.
 */
import type { Flow, Process } from '../../lib/api.js';
import { raceAbort } from '../oping/clock.js';

export const OECHO_USAGE = [
  'Usage: oecho [OPTION]...',
  'Sends an echo between a server and a client',
  '',
  '  -l, --listen              Run in server mode',
  '      --help                Display this help text and exit',
].join('\n');

/** The name the client allocates a flow to. */
export const OECHO_NAME = 'oecho';
/** Most bytes read per message. */
export const OECHO_BUF_SIZE = 256;
export const OECHO_MESSAGE = 'Client says hi!';

export type Out = (line: string) => void;

export type OechoParse = { ok: true; listen: boolean } | { ok: false; lines: string[]; exitCode: number };

/** `-l`/`--listen` selects the server; anything else prints the usage (exit 0, as the reference). */
export function parseOechoArgs(argv: readonly string[]): OechoParse {
  let listen = false;
  for (const a of argv) {
    if (a === '-l' || a === '--listen') listen = true;
    else return { ok: false, lines: [OECHO_USAGE], exitCode: 0 };
  }
  return { ok: true, listen };
}

/** The message bytes the client sends: the text and a terminating NUL. */
export function oechoMessage(): Buffer {
  return Buffer.concat([Buffer.from(OECHO_MESSAGE, 'utf8'), Buffer.alloc(1)]);
}

/** Text of `bytes` as printf("%.*s") shows it: up to the first NUL. */
export function cString(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return Buffer.from(nul < 0 ? bytes : bytes.subarray(0, nul)).toString('utf8');
}

/** Accepts and echoes flows until accepting fails or `signal` aborts; returns the exit code. */
export async function runOechoServer(proc: Process, out: Out, signal?: AbortSignal): Promise<number> {
  out('Starting the server.');
  const buf = Buffer.alloc(OECHO_BUF_SIZE);
  while (!signal?.aborted) {
    let flow: Flow;
    try {
      flow = await raceAbort(proc.flowAccept(), signal);
    } catch {
      if (signal?.aborted) break;
      out('Failed to accept flow.');
      break;
    }
    out('New flow.');

    let count: number;
    try {
      count = await raceAbort(flow.readInto(buf), signal);
    } catch {
      if (!signal?.aborted) out('Failed to read packet.');
      await flow.dealloc().catch(() => undefined);
      continue;
    }
    const msg = Buffer.from(buf.subarray(0, count));
    out(`Message from client is ${cString(msg)}.`);

    try {
      await flow.write(msg);
    } catch {
      out('Failed to write packet.');
    }
    await flow.dealloc().catch(() => undefined);
  }
  return 0;
}

/** Sends the greeting, prints the reply; returns the exit code (255 on failure, as `return -1` from main). */
export async function runOechoClient(proc: Process, out: Out): Promise<number> {
  let flow: Flow;
  try {
    flow = await proc.flowAlloc(OECHO_NAME);
  } catch {
    out('Failed to allocate flow.');
    return 255;
  }
  try {
    try {
      await flow.write(oechoMessage());
    } catch {
      out('Failed to write packet.');
      return 255;
    }
    const buf = Buffer.alloc(OECHO_BUF_SIZE);
    let count: number;
    try {
      count = await flow.readInto(buf);
    } catch {
      out('Failed to read packet.');
      return 255;
    }
    out(`Server replied with ${cString(buf.subarray(0, count))}`);
    return 0;
  } finally {
    await flow.dealloc().catch(() => undefined);
  }
}

