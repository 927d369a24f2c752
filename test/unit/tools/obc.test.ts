import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OBC_DEFAULT_MESSAGE, OBC_USAGE, parseObcArgs, runObcReader, runObcWriter } from '../../../src/tools/obc/obc.js';
import type { Flow, Process } from '../../../src/lib/api.js';
import { OuroborosError } from '../../../src/common/errors.js';

test('obc options as the reference', () => {
  assert.deepEqual(parseObcArgs(['-n', 'bc']), { ok: true, options: { listen: false, name: 'bc', message: OBC_DEFAULT_MESSAGE }, lines: [] });
  assert.deepEqual(parseObcArgs(['--listen', '--name', 'bc']), { ok: true, options: { listen: true, name: 'bc', message: OBC_DEFAULT_MESSAGE }, lines: [] });
  assert.deepEqual(parseObcArgs(['-m', 'hi', '-n', 'bc']), { ok: true, options: { listen: false, name: 'bc', message: 'hi' }, lines: [] });
  assert.deepEqual(parseObcArgs([]), { ok: false, lines: ['Please specify a name.\n', OBC_USAGE], exitCode: 1 });
  assert.deepEqual(parseObcArgs(['--help']), { ok: false, lines: [OBC_USAGE], exitCode: 0 });
  assert.deepEqual(parseObcArgs(['-x']), { ok: false, lines: [OBC_USAGE], exitCode: 1 });
});

/** A process whose joined flow yields `sdus` then fails; records what is written. */
function fakeProc(sdus: Buffer[], joinFails = false): { proc: Process; written: Buffer[]; deallocs: number } {
  const state = { written: [] as Buffer[], deallocs: 0 };
  const flow = {
    async readInto(buf: Uint8Array): Promise<number> {
      const s = sdus.shift();
      if (!s) throw new OuroborosError('EFLOWDOWN', 'down');
      const n = Math.min(buf.length, s.length);
      buf.set(s.subarray(0, n));
      return n;
    },
    async write(b: Uint8Array): Promise<void> {
      state.written.push(Buffer.from(b));
    },
    async dealloc(): Promise<void> {
      state.deallocs++;
    },
  } as unknown as Flow;
  const proc = {
    async flowJoin(): Promise<Flow> {
      if (joinFails) throw new OuroborosError('EIPCP', 'no layer');
      return flow;
    },
  } as unknown as Process;
  return { proc, get written() { return state.written; }, get deallocs() { return state.deallocs; } };
}

test('the reader prints each message up to its NUL, at most 256 bytes of it', async () => {
  const out: string[] = [];
  const f = fakeProc([Buffer.from('hello\0'), Buffer.from('no terminator'), Buffer.alloc(300, 'a')]);
  const code = await runObcReader(f.proc, { listen: true, name: 'bc', message: '' }, (l) => out.push(l), { signal: new AbortController().signal });
  assert.equal(code, 1);
  assert.deepEqual(out.slice(0, 4), ['Starting a reader.', 'New flow.', 'Message is hello.', 'Message is no terminator.']);
  assert.equal(out[4], `Message is ${'a'.repeat(256)}.`);
  assert.equal(out.at(-1), 'Failed to read.');
});

test('the writer sends the message with its NUL and leaves; a failed join is reported', async () => {
  const out: string[] = [];
  const f = fakeProc([]);
  assert.equal(await runObcWriter(f.proc, { listen: false, name: 'bc', message: 'hi' }, (l) => out.push(l)), 0);
  assert.deepEqual(f.written, [Buffer.from('hi\0')]);
  assert.equal(f.deallocs, 1);
  const g = fakeProc([], true);
  assert.equal(await runObcWriter(g.proc, { listen: false, name: 'bc', message: 'hi' }, (l) => out.push(l)), 1);
  assert.equal(out.at(-1), 'Failed to join broadcast.');
});
