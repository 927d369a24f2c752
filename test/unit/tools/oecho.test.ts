import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';

import { OuroborosError } from '../../../src/common/errors.js';
import { FlowFlags, type AllocOptions, type Flow, type FlowSet, type Process } from '../../../src/lib/api.js';
import { qos, type QosSpec } from '../../../src/lib/qos.js';
import {
  cString,
  OECHO_USAGE,
  oechoMessage,
  parseOechoArgs,
  runOechoClient,
  runOechoServer,
} from '../../../src/tools/oecho/oecho.js';

// A small in-memory world: packets are delivered on the next macrotask.

const err = (code: ConstructorParameters<typeof OuroborosError>[0]): OuroborosError => new OuroborosError(code);

class FakeProcess implements Process {
  readonly rundir = '/fake';
  nextFd = 64;
  allocs: { dst: string; opts?: AllocOptions }[] = [];
  private incoming: FakeFlow[] = [];
  private acceptors: { resolve: (f: FakeFlow) => void; reject: (e: unknown) => void }[] = [];
  constructor(
    readonly names: Map<string, FakeProcess>,
    readonly pid: number,
  ) {}

  flowAlloc(dst: string, opts?: AllocOptions): Promise<Flow> {
    this.allocs.push({ dst, opts });
    const srv = this.names.get(dst);
    if (!srv) return Promise.reject(err('ENAME'));
    const q = opts?.qos ?? qos.raw;
    const mine = new FakeFlow(this.nextFd++, q);
    const theirs = new FakeFlow(srv.nextFd++, q);
    mine.peer = theirs;
    theirs.peer = mine;
    const a = srv.acceptors.shift();
    if (a) a.resolve(theirs);
    else srv.incoming.push(theirs);
    return Promise.resolve(mine);
  }
  flowAccept(): Promise<Flow> {
    const f = this.incoming.shift();
    if (f) return Promise.resolve(f);
    return new Promise((resolve, reject) => this.acceptors.push({ resolve, reject }));
  }
  flowJoin(): Promise<Flow> {
    throw new Error('not used');
  }
  createFlowSet(): FlowSet {
    throw new Error('not used');
  }
  async close(): Promise<void> {
    for (const a of this.acceptors.splice(0)) a.reject(err('EIRMD'));
  }
}

class FakeFlow implements Flow {
  peer!: FakeFlow;
  readTimeout: number | null = null;
  writeTimeout: number | null = null;
  flags: number = FlowFlags.DEFAULT;
  readonly sent: Buffer[] = [];
  deallocated = false;
  private down = false;
  private rx: Buffer[] = [];
  private readers: { resolve: (b: Buffer) => void; reject: (e: unknown) => void }[] = [];
  private partial: Buffer | undefined;

  constructor(
    readonly fd: number,
    readonly qos: Readonly<QosSpec>,
  ) {}
  readonly id = 1;
  get closed(): boolean {
    return this.deallocated || this.down;
  }
  get rxQueueLength(): number {
    return this.rx.length;
  }
  get txQueueLength(): number {
    return 0;
  }
  read(): Promise<Buffer> {
    if (this.deallocated) return Promise.reject(err('ENOTALLOC'));
    const pkt = this.rx.shift();
    if (pkt) return Promise.resolve(pkt);
    if (this.down) return Promise.reject(err('EFLOWDOWN'));
    return new Promise((resolve, reject) => this.readers.push({ resolve, reject }));
  }
  /** Partial reads as the reference: the rest of a long SDU comes with the next read. */
  async readInto(buf: Uint8Array): Promise<number> {
    const pkt = this.partial ?? (await this.read());
    this.partial = undefined;
    const n = Math.min(pkt.length, buf.length);
    buf.set(pkt.subarray(0, n));
    if (n < pkt.length) this.partial = pkt.subarray(n);
    return n;
  }
  write(data: Uint8Array): Promise<void> {
    if (this.deallocated) return Promise.reject(err('ENOTALLOC'));
    if (this.down) return Promise.reject(err('EFLOWDOWN'));
    const copy = Buffer.from(data);
    this.sent.push(copy);
    const peer = this.peer;
    setImmediate(() => peer.deliver(copy));
    return Promise.resolve();
  }
  private deliver(pkt: Buffer): void {
    if (this.deallocated) return;
    const r = this.readers.shift();
    if (r) r.resolve(pkt);
    else this.rx.push(pkt);
  }
  private markDown(): void {
    this.down = true;
    for (const r of this.readers.splice(0)) r.reject(err('EFLOWDOWN'));
  }
  async dealloc(): Promise<void> {
    if (this.deallocated) return;
    this.deallocated = true;
    for (const r of this.readers.splice(0)) r.reject(err('ENOTALLOC'));
    setImmediate(() => this.peer.markDown());
  }
  fccntl(): unknown {
    throw err('ENOTSUP');
  }
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) yield await this.read();
  }
  toStream(): Duplex {
    throw new Error('not used');
  }
}

function world() {
  const names = new Map<string, FakeProcess>();
  let pid = 100;
  return { names, process: (name?: string) => {
    const p = new FakeProcess(names, pid++);
    if (name) names.set(name, p);
    return p;
  } };
}

describe('oecho options', () => {
  it('selects the server with -l or --listen', () => {
    assert.deepEqual(parseOechoArgs([]), { ok: true, listen: false });
    assert.deepEqual(parseOechoArgs(['-l']), { ok: true, listen: true });
    assert.deepEqual(parseOechoArgs(['--listen']), { ok: true, listen: true });
  });

  it('prints the usage for anything else, exiting 0 as the reference does', () => {
    for (const args of [['--help'], ['-x'], ['-l', 'extra']]) {
      assert.deepEqual(parseOechoArgs(args), { ok: false, lines: [OECHO_USAGE], exitCode: 0 });
    }
    assert.equal(
      OECHO_USAGE,
      'Usage: oecho [OPTION]...\nSends an echo between a server and a client\n\n' +
        '  -l, --listen              Run in server mode\n' +
        '      --help                Display this help text and exit',
    );
  });
});

describe('oecho client and server', () => {
  it('says hi with the NUL, and both print the reference lines', async () => {
    const w = world();
    const srv = w.process('oecho');
    const stopServer = new AbortController();
    const srvOut: string[] = [];
    const server = runOechoServer(srv, (l) => srvOut.push(l), stopServer.signal);

    const cli = w.process();
    const out: string[] = [];
    assert.equal(await runOechoClient(cli, (l) => out.push(l)), 0);
    assert.deepEqual(out, ['Server replied with Client says hi!']);
    assert.equal(cli.allocs[0]!.dst, 'oecho');
    assert.equal(cli.allocs[0]!.opts, undefined, 'raw QoS, the library default');

    stopServer.abort();
    assert.equal(await server, 0);
    assert.deepEqual(srvOut, ['Starting the server.', 'New flow.', 'Message from client is Client says hi!.']);
  });

  it('sends exactly "Client says hi!" and a NUL, and gets the same back', async () => {
    assert.equal(oechoMessage().toString('hex'), Buffer.from('Client says hi!\0').toString('hex'));
    assert.equal(oechoMessage().length, 16);

    const w = world();
    const srv = w.process('oecho');
    const got: Buffer[] = [];
    const echo = (async () => {
      const f = (await srv.flowAccept()) as FakeFlow;
      got.push(await f.read());
      await f.write(Buffer.from('Hello\0ignored'));
    })();
    const out: string[] = [];
    assert.equal(await runOechoClient(w.process(), (l) => out.push(l)), 0);
    await echo;
    assert.deepEqual(got, [oechoMessage()]);
    assert.deepEqual(out, ['Server replied with Hello'], 'printed up to the NUL');
  });

  it('server reads at most 256 bytes and echoes those, for each flow in turn', async () => {
    const w = world();
    const srv = w.process('oecho');
    const stopServer = new AbortController();
    const srvOut: string[] = [];
    const server = runOechoServer(srv, (l) => srvOut.push(l), stopServer.signal);

    const replies: Buffer[] = [];
    for (const msg of [Buffer.alloc(300, 'a'), Buffer.from('second')]) {
      const f = (await w.process().flowAlloc('oecho')) as FakeFlow;
      await f.write(msg);
      replies.push(await f.read());
    }
    stopServer.abort();
    await server;
    assert.deepEqual(replies, [Buffer.alloc(256, 'a'), Buffer.from('second')]);
    assert.deepEqual(srvOut, [
      'Starting the server.',
      'New flow.',
      `Message from client is ${'a'.repeat(256)}.`,
      'New flow.',
      'Message from client is second.',
    ]);
  });

  it('client fails with exit code 255 when there is no server', async () => {
    const out: string[] = [];
    assert.equal(await runOechoClient(world().process(), (l) => out.push(l)), 255);
    assert.deepEqual(out, ['Failed to allocate flow.']);
  });

  it('client fails with exit code 255 when the flow goes down before the answer', async () => {
    const w = world();
    const srv = w.process('oecho');
    void srv.flowAccept().then(async (f) => {
      await f.read();
      await f.dealloc();
    });
    const out: string[] = [];
    assert.equal(await runOechoClient(w.process(), (l) => out.push(l)), 255);
    assert.deepEqual(out, ['Failed to read packet.']);
  });

  it('server says so when a flow goes down before its message, then carries on', async () => {
    const w = world();
    const srv = w.process('oecho');
    const stopServer = new AbortController();
    const srvOut: string[] = [];
    const server = runOechoServer(srv, (l) => srvOut.push(l), stopServer.signal);
    const f = await w.process().flowAlloc('oecho');
    await f.dealloc();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    const out: string[] = [];
    assert.equal(await runOechoClient(w.process(), (l) => out.push(l)), 0);
    stopServer.abort();
    await server;
    assert.deepEqual(srvOut, [
      'Starting the server.',
      'New flow.',
      'Failed to read packet.',
      'New flow.',
      'Message from client is Client says hi!.',
    ]);
  });

  it('ends the server when accepting fails', async () => {
    const w = world();
    const srv = w.process('oecho');
    const srvOut: string[] = [];
    const server = runOechoServer(srv, (l) => srvOut.push(l));
    await new Promise((r) => setImmediate(r));
    await srv.close();
    assert.equal(await server, 0);
    assert.deepEqual(srvOut, ['Starting the server.', 'Failed to accept flow.']);
  });

  it('cString stops at the first NUL', () => {
    assert.equal(cString(Buffer.from('abc\0def')), 'abc');
    assert.equal(cString(Buffer.from('abc')), 'abc');
    assert.equal(cString(Buffer.alloc(0)), '');
  });
});

describe('oecho bin', () => {
  it('prints the usage on unknown options, exit status 0, without needing irmd', () => {
    // Run from the sources (tsx) or from the build, whichever this test is.
    const fromTs = import.meta.url.endsWith('.ts');
    const main = fileURLToPath(new URL(`../../../src/tools/oecho/main.${fromTs ? 'ts' : 'js'}`, import.meta.url));
    const r = spawnSync(process.execPath, [...(fromTs ? ['--import', 'tsx'] : []), main, '--rundir', '/nonexistent', '--help'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 0);
    assert.equal(r.stdout, `${OECHO_USAGE}\n`);
  });
});
