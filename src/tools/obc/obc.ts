/**
 * obc: sends a message to a broadcast layer, or (`-l`) prints every message
 * the layer carries. Options and output as the reference's obc.
 */
import type { Flow, Process } from '../../lib/api.js';
import type { Out } from '../common/main.js';

/** The reference reads messages into a 256-byte buffer. */
export const OBC_BUF = 256;
export const OBC_DEFAULT_MESSAGE = 'Ouroboros multicast rocks!';

export const OBC_USAGE =
  'Usage: obc [OPTION]...\n' +
  'Sends a message to a broadcast network\n\n' +
  '  -n --name                 Name of the broadcast layer\n' +
  '  -m --message              A message to send\n' +
  '  [-l, --listen             Listen mode]\n' +
  '      --help                Display this help text and exit';

export interface ObcOptions {
  listen: boolean;
  name: string;
  message: string;
}

type Parsed = { ok: true; options: ObcOptions; lines: string[] } | { ok: false; lines: string[]; exitCode: number };

export function parseObcArgs(argv: string[]): Parsed {
  let listen = false;
  let name: string | undefined;
  let message = OBC_DEFAULT_MESSAGE;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-l' || a === '--listen') listen = true;
    else if ((a === '-n' || a === '--name') && argv[i + 1] !== undefined) name = argv[++i]!;
    else if ((a === '-m' || a === '--message') && argv[i + 1] !== undefined) message = argv[++i]!;
    else return { ok: false, lines: [OBC_USAGE], exitCode: a === '--help' ? 0 : 1 };
  }
  if (name === undefined) return { ok: false, lines: ['Please specify a name.\n', OBC_USAGE], exitCode: 1 };
  return { ok: true, options: { listen, name, message }, lines: [] };
}

/** Joins the layer, or says it could not. */
async function join(proc: Process, name: string, out: Out): Promise<Flow | undefined> {
  try {
    return await proc.flowJoin(name);
  } catch {
    out('Failed to join broadcast.');
    return undefined;
  }
}

/** Prints `Message is <text>.` for every SDU (at most 256 bytes of it, up to a NUL). */
export async function runObcReader(proc: Process, o: ObcOptions, out: Out, ctl: { signal: AbortSignal }): Promise<number> {
  out('Starting a reader.');
  const flow = await join(proc, o.name, out);
  if (!flow) return 1;
  out('New flow.');
  const buf = Buffer.alloc(OBC_BUF);
  ctl.signal.addEventListener('abort', () => void flow.dealloc(), { once: true });
  for (;;) {
    let n: number;
    try {
      n = await flow.readInto(buf);
    } catch {
      if (ctl.signal.aborted) return 0;
      out('Failed to read.');
      await flow.dealloc();
      return 1;
    }
    const text = buf.subarray(0, n);
    const nul = text.indexOf(0);
    out(`Message is ${(nul >= 0 ? text.subarray(0, nul) : text).toString()}.`);
  }
}

/** Joins, sends the message with its NUL terminator, and leaves. */
export async function runObcWriter(proc: Process, o: ObcOptions, out: Out): Promise<number> {
  const flow = await join(proc, o.name, out);
  if (!flow) return 1;
  try {
    await flow.write(Buffer.concat([Buffer.from(o.message), Buffer.alloc(1)]));
  } catch {
    out('Failed to write packet.');
    await flow.dealloc();
    return 1;
  }
  await flow.dealloc();
  return 0;
}
