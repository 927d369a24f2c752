/**
 * Flows end to end: allocation errors and timeouts, load balancing, many
 * concurrent flows carrying data (direct and through a local IPCP), and the
 * flow API seen by a program (partial reads, timeouts, non-blocking reads,
 * fccntl, flow sets, async iteration, streams, deallocation by the peer).
 *
 * The test process is the client (a library process in this process); the
 * servers are this same file run as a separate program with `--peer` (see
 * peerMain at the bottom): a server that accepts flows and obeys commands
 * sent to it as SDUs on each flow.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TestSystem, until, type Child } from '../helpers/system.js';
import {
  connect,
  qos,
  Fccntl,
  FlowEvent,
  FlowFlags,
  OuroborosError,
  type Flow,
  type Process,
  type QosSpec,
} from '../../src/lib/index.js';

const SELF = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------------------
// Packets with checkable content

/** Byte j of test SDU number `seq`. */
function patternByte(seq: number, j: number): number {
  return (seq * 31 + j * 7 + 1) & 0xff;
}

/** A test SDU of `len` bytes; its content depends on `seq`. */
function pattern(seq: number, len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  for (let j = 0; j < len; j++) b[j] = patternByte(seq, j);
  return b;
}

/** Bulk SDU `seq` of flow `idx`: [seq u32 BE][idx u32 BE][len u16 BE][pattern], 16..63 bytes. */
function bulkLen(idx: number, seq: number): number {
  return 16 + ((seq * 7 + idx) % 48);
}

function bulkPkt(idx: number, seq: number): Buffer {
  const len = bulkLen(idx, seq);
  const b = Buffer.allocUnsafe(len);
  b.writeUInt32BE(seq, 0);
  b.writeUInt32BE(idx, 4);
  b.writeUInt16BE(len, 8);
  for (let j = 10; j < len; j++) b[j] = (seq + idx * 13 + j) & 0xff;
  return b;
}

/** Why `b` is not bulk SDU `seq` of flow `idx`, or undefined when it is. */
function bulkCheck(idx: number, seq: number, b: Buffer): string | undefined {
  const len = bulkLen(idx, seq);
  if (b.length !== len) return `length ${b.length}, expected ${len}`;
  if (b.readUInt32BE(0) !== seq) return `sequence number ${b.readUInt32BE(0)}, expected ${seq}`;
  if (b.readUInt32BE(4) !== idx) return `flow index ${b.readUInt32BE(4)}, expected ${idx}`;
  if (b.readUInt16BE(8) !== len) return `length field ${b.readUInt16BE(8)}, expected ${len}`;
  for (let j = 10; j < len; j++) if (b[j] !== ((seq + idx * 13 + j) & 0xff)) return `byte ${j} differs`;
  return undefined;
}

function qosJson(q: Readonly<QosSpec>): string {
  return JSON.stringify(q, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

// ---------------------------------------------------------------------------
// The peer program (this file run with --peer)

/**
 * Serves one flow: each SDU received is a command.
 *   pid                  reply "pid <pid>"
 *   write <l1,l2,...>    send one pattern SDU per length (seq = index)
 *   burst <n> <len>      send n pattern SDUs of len bytes
 *   dealloc              deallocate the flow
 *   qos                  reply with the flow's QoS (FLOWGQOSSPEC) as JSON
 *   echo                 echo every SDU until the flow goes down
 *   sink <token>         read until the flow goes down, then print
 *                        "sink <token> <count> <bytes> <sha256>" on stdout
 *   check <n> <idx>      read n bulk SDUs of flow idx, reply "ok <n>" or "bad <why>"
 */
async function serveFlow(f: Flow): Promise<void> {
  for (;;) {
    let cmd: string;
    try {
      cmd = (await f.read()).toString();
    } catch (e) {
      if (e instanceof OuroborosError && (e.code === 'EFLOWDOWN' || e.code === 'ENOTALLOC')) {
        await f.dealloc();
        return;
      }
      throw e;
    }
    const [op, ...args] = cmd.split(' ');
    switch (op) {
      case 'pid':
        await f.write(Buffer.from(`pid ${process.pid}`));
        break;
      case 'write': {
        const lens = args[0]!.split(',').map(Number);
        for (let i = 0; i < lens.length; i++) await f.write(pattern(i, lens[i]!));
        break;
      }
      case 'burst': {
        const n = Number(args[0]);
        const len = Number(args[1]);
        for (let i = 0; i < n; i++) await f.write(pattern(i, len));
        break;
      }
      case 'dealloc':
        await f.dealloc();
        return;
      case 'qos':
        await f.write(Buffer.from(qosJson(f.fccntl(Fccntl.GQOSSPEC) as QosSpec)));
        break;
      case 'echo':
        for await (const pkt of f) await f.write(pkt);
        await f.dealloc();
        return;
      case 'sink': {
        const token = args[0] ?? String(f.id);
        const h = createHash('sha256');
        let count = 0;
        let bytes = 0;
        for await (const pkt of f) {
          count++;
          bytes += pkt.length;
          h.update(pkt);
        }
        process.stdout.write(`sink ${token} ${count} ${bytes} ${h.digest('hex')}\n`);
        await f.dealloc();
        return;
      }
      case 'check': {
        const n = Number(args[0]);
        const idx = Number(args[1]);
        let bad: string | undefined;
        for (let seq = 0; seq < n && bad === undefined; seq++) {
          const why = bulkCheck(idx, seq, await f.read());
          if (why) bad = `bad flow ${idx} packet ${seq}: ${why}`;
        }
        await f.write(Buffer.from(bad ?? `ok ${n}`));
        break;
      }
      default:
        await f.write(Buffer.from(`unknown command ${cmd}`));
    }
  }
}

/**
 * `--peer [--gate]`: announces itself as program "flows-peer", prints
 * "ready <pid>", then accepts flows and serves each (see serveFlow). Without
 * --gate it accepts again as soon as an accept returns; with --gate it
 * accepts once per line "accept" read on stdin.
 */
async function peerMain(args: string[]): Promise<void> {
  const p = await connect({ prog: 'flows-peer' });
  const serve = (f: Flow): void => {
    serveFlow(f).catch((e: unknown) => process.stdout.write(`error on flow ${f.id}: ${(e as Error).message}\n`));
  };
  const died = (e: unknown): never => {
    process.stdout.write(`accept failed: ${(e as Error).message}\n`);
    process.exit(1);
  };
  process.on('SIGTERM', () => process.exit(0));
  process.stdout.write(`ready ${process.pid}\n`);
  if (args.includes('--gate')) {
    for await (const line of createInterface({ input: process.stdin })) {
      if (line.trim() === 'accept') p.flowAccept().then(serve, died);
    }
    return;
  }
  for (;;) serve(await p.flowAccept().catch(died));
}

// ---------------------------------------------------------------------------
// Test helpers

/** Runs `fn`, expecting an OuroborosError with `code`; yields the error and the time it took. */
async function rejects(fn: () => Promise<unknown>, code: string): Promise<{ err: OuroborosError; ms: number }> {
  const t0 = Date.now();
  try {
    const v = await fn();
    assert.fail(`expected ${code}, got success (${String(v)})`);
  } catch (e) {
    const ms = Date.now() - t0;
    if (!(e instanceof OuroborosError)) throw e;
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    return { err: e, ms };
  }
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof OuroborosError && e.code === code, `expected ${code}`);
}

async function cmd(f: Flow, text: string): Promise<void> {
  await f.write(Buffer.from(text));
}

async function reply(f: Flow, ms = 10000): Promise<string> {
  f.readTimeout = ms;
  try {
    return (await f.read()).toString();
  } finally {
    f.readTimeout = null;
  }
}

/** `irm ARGS...`; a failure says how irmd is doing, with the end of its log. */
async function irm(sys: TestSystem, args: string[]): Promise<void> {
  try {
    await sys.irm(args);
  } catch (e) {
    const state = sys.irmd.running ? 'irmd is running' : `irmd exited (code ${sys.irmd.proc.exitCode}, signal ${sys.irmd.proc.signalCode})`;
    throw new Error(`${(e as Error).message}\n${state}; its log ends with:\n${sys.log.split('\n').slice(-25).join('\n')}`);
  }
}

/** Starts a peer program bound to `names`; yields it once it is ready and bound. */
async function startPeer(sys: TestSystem, names: string[], gate = false): Promise<Child> {
  const peer = sys.spawn(SELF, ['--peer', ...(gate ? ['--gate'] : [])]);
  await peer.waitFor(/ready \d+/);
  for (const n of names) await irm(sys, ['bind', 'process', String(peer.pid), 'name', n]);
  return peer;
}

function count(text: string, re: RegExp): number {
  return [...text.matchAll(new RegExp(re.source, 'g'))].length;
}

/** Sends `packets` bulk SDUs on `f` (flow index `idx`) and waits for the peer's verdict. */
async function bulk(f: Flow, idx: number, packets: number): Promise<string> {
  await cmd(f, `check ${packets} ${idx}`);
  for (let seq = 0; seq < packets; seq++) await f.write(bulkPkt(idx, seq));
  return reply(f, 120000);
}

// ---------------------------------------------------------------------------
// The tests

if (process.argv[2] === '--peer') {
  await peerMain(process.argv.slice(3));
} else {
  describe('flow allocation', () => {
    let sys: TestSystem;
    let client: Process;
    let loPid: number;
    before(async () => {
      sys = await TestSystem.start();
      loPid = await sys.localLayer('lo', 'lo');
      client = await sys.connect('flows-client');
    });
    after(async () => {
      await client?.close();
      await sys?.stop();
    });

    test('allocation to a name that does not exist fails with ENAME', async () => {
      const { ms } = await rejects(() => client.flowAlloc('no.such.name', { timeout: 5000 }), 'ENAME');
      assert.ok(ms < 2000, `took ${ms} ms`);
    });

    test('allocation to a name registered nowhere, with no server, fails with EIPCP', async () => {
      await irm(sys, ['name', 'create', 'lonely']);
      const { ms } = await rejects(() => client.flowAlloc('lonely', { timeout: 5000 }), 'EIPCP');
      assert.ok(ms < 3000, `took ${ms} ms`);
      assert.match(sys.log, /Failed to find IPCP for lonely\./);
    });

    test('allocation with a timeout to a registered name whose server never accepts fails with ETIMEDOUT', async () => {
      await irm(sys, ['name', 'create', 'deaf']);
      await irm(sys, ['name', 'register', 'deaf', 'layer', 'lo']);
      await sys.irmd.waitFor(new RegExp(`Registered deaf with IPCP ${loPid} as [0-9a-f]{8}\\.`));
      // Bound and never accepting: it only accepts on an "accept" line, which it never gets.
      const peer = await startPeer(sys, ['deaf'], true);
      const { ms } = await rejects(() => client.flowAlloc('deaf', { timeout: 500 }), 'ETIMEDOUT');
      assert.ok(ms >= 450, `gave up after ${ms} ms, before the 500 ms timeout`);
      assert.ok(ms < 2000, `took ${ms} ms for a 500 ms timeout`);
      await peer.stop('SIGKILL');
    });

    test('accept with a timeout and no client fails with ETIMEDOUT', async () => {
      const { ms } = await rejects(() => client.flowAccept({ timeout: 300 }), 'ETIMEDOUT');
      assert.ok(ms >= 280, `gave up after ${ms} ms, before the 300 ms timeout`);
      assert.ok(ms < 2000, `took ${ms} ms for a 300 ms timeout`);
    });

    for (const via of ['direct', 'local IPCP'] as const) {
      test(`concurrent allocations (${via}) to a server accepting one flow at a time each get their own working flow`, async () => {
        const name = via === 'direct' ? 'conc' : 'conc.lo';
        await irm(sys, ['name', 'create', name]);
        if (via !== 'direct') await irm(sys, ['name', 'register', name, 'layer', 'lo']);
        const peer = await startPeer(sys, [name]);
        const n = 20;
        const results = await Promise.allSettled(Array.from({ length: n }, () => client.flowAlloc(name, { timeout: 8000 })));
        const flows = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        const errors = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
        try {
          assert.deepEqual(errors, [], 'every allocation succeeds');
          assert.equal(new Set(flows.map((f) => f.id)).size, n, `flow ids ${flows.map((f) => f.id).join(' ')}`);
          // Each flow reaches the server and back on its own.
          const answers = await Promise.all(
            flows.map(async (f, i) => {
              await cmd(f, `write ${i + 1}`);
              f.readTimeout = 5000;
              return (await f.read()).equals(pattern(0, i + 1));
            }),
          );
          assert.deepEqual(answers, flows.map(() => true));
          assert.equal(count(sys.log, new RegExp(`Flow \\d+ accepted (\\(direct\\) )?by ${peer.pid} for ${name.replace('.', '\\.')}[ .]`)), n);
        } finally {
          await Promise.all(flows.map((f) => f.dealloc()));
          await peer.stop('SIGKILL');
        }
      });
    }

    test('round-robin: allocations alternate between two accepting servers', async () => {
      await irm(sys, ['name', 'create', 'rr', 'lb', 'round-robin']);
      const a = await startPeer(sys, ['rr']);
      const b = await startPeer(sys, ['rr']);
      const served: number[] = [];
      for (let i = 0; i < 6; i++) {
        const f = await client.flowAlloc('rr', { timeout: 10000 });
        await cmd(f, 'pid');
        const m = (await reply(f)).match(/^pid (\d+)$/);
        assert.ok(m, 'the server answers with its pid');
        served.push(Number(m[1]));
        await f.dealloc();
      }
      for (const pid of served) assert.ok(pid === a.pid || pid === b.pid, `served by ${pid}`);
      for (let i = 1; i < served.length; i++) assert.notEqual(served[i], served[i - 1], `not alternating: ${served.join(', ')}`);
      assert.equal(served.filter((p) => p === a.pid).length, 3, `served by ${served.join(', ')}`);
      await Promise.all([a.stop('SIGKILL'), b.stop('SIGKILL')]);
    });

    test('spillover: the server that accepted last keeps getting the allocations', async () => {
      await irm(sys, ['name', 'create', 'spill', 'lb', 'spillover']);
      const a = await startPeer(sys, ['spill']);
      const b = await startPeer(sys, ['spill']);
      const served: number[] = [];
      for (let i = 0; i < 4; i++) {
        const f = await client.flowAlloc('spill', { timeout: 10000 });
        await cmd(f, 'pid');
        served.push(Number((await reply(f)).split(' ')[1]));
        await f.dealloc();
      }
      assert.deepEqual(served, [b.pid, b.pid, b.pid, b.pid]);
      await Promise.all([a.stop('SIGKILL'), b.stop('SIGKILL')]);
    });
  });

  describe('100 concurrent flows of 10,000 packets', () => {
    const FLOWS = 100;
    const PACKETS = 10000;
    let sys: TestSystem;
    let client: Process;
    before(async () => {
      sys = await TestSystem.start();
      await sys.localLayer('lo', 'lo');
      client = await sys.connect('flows-client');
    });
    after(async () => {
      await client?.close();
      await sys?.stop();
    });

    test('direct: data intact and in order', async () => {
      await irm(sys, ['name', 'create', 'bulk']);
      const peer = await startPeer(sys, ['bulk']);
      const flows: Flow[] = [];
      for (let i = 0; i < FLOWS; i++) flows.push(await client.flowAlloc('bulk', { timeout: 15000 }));
      assert.equal(new Set(flows.map((f) => f.id)).size, FLOWS, 'every allocation got its own flow');
      assert.equal(count(sys.log, new RegExp(`allocated \\(direct\\) for ${process.pid} to bulk\\.`)), FLOWS);
      const t0 = Date.now();
      const verdicts = await Promise.all(flows.map((f, i) => bulk(f, i, PACKETS)));
      const ms = Date.now() - t0;
      assert.deepEqual(verdicts, flows.map(() => `ok ${PACKETS}`));
      assert.ok(ms < 60000, `${FLOWS} x ${PACKETS} packets took ${ms} ms`);
      await Promise.all(flows.map((f) => f.dealloc()));
      await peer.stop('SIGKILL');
    });

    test('through the local IPCP: data intact and in order', async () => {
      await irm(sys, ['name', 'create', 'bulk.lo']);
      await irm(sys, ['name', 'register', 'bulk.lo', 'layer', 'lo']);
      // The server accepts only when told, so that every request reaches it through the layer.
      const peer = await startPeer(sys, ['bulk.lo'], true);
      const arrived = /Flow request arrived for bulk\.lo\./;
      const flows: Flow[] = [];
      for (let i = 0; i < FLOWS; i++) {
        const alloc = client.flowAlloc('bulk.lo', { timeout: 15000 });
        await until(() => count(sys.log, arrived) > i, 10000, `flow request ${i + 1} at irmd`);
        peer.proc.stdin!.write('accept\n');
        flows.push(await alloc);
      }
      assert.equal(new Set(flows.map((f) => f.id)).size, FLOWS, 'every allocation got its own flow');
      assert.equal(count(sys.log, new RegExp(`Flow \\d+ accepted by ${peer.pid} for bulk\\.lo \\(uid`)), FLOWS);
      assert.equal(count(sys.log, /allocated \(direct\) for \d+ to bulk\.lo\./), 0);
      const t0 = Date.now();
      const verdicts = await Promise.all(flows.map((f, i) => bulk(f, i, PACKETS)));
      const ms = Date.now() - t0;
      assert.deepEqual(verdicts, flows.map(() => `ok ${PACKETS}`));
      assert.ok(ms < 60000, `${FLOWS} x ${PACKETS} packets took ${ms} ms`);
      await Promise.all(flows.map((f) => f.dealloc()));
      await peer.stop('SIGKILL');
    });
  });

  describe('the flow API', () => {
    let sys: TestSystem;
    let client: Process;
    let peer: Child;
    /** Accepts only when told: its flows always come through the local IPCP. */
    let gated: Child;
    before(async () => {
      sys = await TestSystem.start();
      await sys.localLayer('lo', 'lo');
      await irm(sys, ['name', 'create', 'peer']);
      peer = await startPeer(sys, ['peer']);
      await irm(sys, ['name', 'create', 'peer.lo']);
      await irm(sys, ['name', 'register', 'peer.lo', 'layer', 'lo']);
      gated = await startPeer(sys, ['peer.lo'], true);
      client = await sys.connect('flows-client');
    });
    after(async () => {
      await client?.close();
      await sys?.stop();
    });

    const open = (): Promise<Flow> => client.flowAlloc('peer', { timeout: 10000 });
    let loRequests = 0;
    /** A flow to the gated peer, through the local IPCP. */
    const openLo = async (opts: { qos?: QosSpec } = {}): Promise<Flow> => {
      const alloc = client.flowAlloc('peer.lo', { timeout: 10000, ...opts });
      const n = ++loRequests;
      await until(() => count(sys.log, /Flow request arrived for peer\.lo\./) >= n, 10000, `flow request ${n} for peer.lo at irmd`);
      gated.proc.stdin!.write('accept\n');
      return alloc;
    };

    test('SDU boundaries: each write arrives as one read of the same size', async () => {
      const f = await open();
      const lens = [1, 64, 1500, 9000, 65000];
      await cmd(f, `write ${lens.join(',')}`);
      for (let i = 0; i < lens.length; i++) assert.deepEqual(await f.read(), pattern(i, lens[i]!), `SDU ${i}`);
      await f.dealloc();
    });

    test('partial reads: the rest of an SDU on the next reads, then 0 when the buffer was filled exactly', async () => {
      const f = await open();
      await cmd(f, 'write 10,8,4,3');
      const buf = Buffer.alloc(4);
      const reads: Array<[number, string]> = [];
      for (let i = 0; i < 8; i++) {
        const n = await f.readInto(buf);
        reads.push([n, buf.subarray(0, n).toString('hex')]);
      }
      const p = (seq: number, len: number, from: number, to: number): string => pattern(seq, len).subarray(from, to).toString('hex');
      assert.deepEqual(reads, [
        [4, p(0, 10, 0, 4)],
        [4, p(0, 10, 4, 8)],
        [2, p(0, 10, 8, 10)], // the end of a 10-byte SDU, shorter than the buffer: no 0 read follows
        [4, p(1, 8, 0, 4)],
        [4, p(1, 8, 4, 8)],
        [0, ''], // the 8-byte SDU filled the buffer exactly on its last piece
        [4, p(2, 4, 0, 4)],
        [0, ''], // a whole SDU of exactly the buffer's size
      ]);
      assert.equal(await f.readInto(buf), 3);
      assert.deepEqual(buf.subarray(0, 3), pattern(3, 3));
      await f.dealloc();
    });

    test('no partial reads (RNOPART): an oversized SDU is dropped with EMSGSIZE', async () => {
      const f = await open();
      f.fccntl(Fccntl.SFLAGS, FlowFlags.RDWR | FlowFlags.RNOPART);
      await cmd(f, 'write 10,4,3');
      const buf = Buffer.alloc(4);
      await rejects(() => f.readInto(buf), 'EMSGSIZE');
      assert.equal(await f.readInto(buf), 4, 'the next SDU, the oversized one is gone');
      assert.deepEqual(buf, pattern(1, 4));
      assert.equal(await f.readInto(buf), 3, 'no 0-length read after an exact fill without partial reads');
      assert.deepEqual(buf.subarray(0, 3), pattern(2, 3));
      await f.dealloc();
    });

    test('read timeout: ETIMEDOUT after about the timeout', async () => {
      const f = await open();
      f.fccntl(Fccntl.SRCVTIMEO, 150);
      const { ms } = await rejects(() => f.read(), 'ETIMEDOUT');
      assert.ok(ms >= 140 && ms < 2000, `timed out after ${ms} ms`);
      f.readTimeout = 100;
      const r = await rejects(() => f.readInto(Buffer.alloc(8)), 'ETIMEDOUT');
      assert.ok(r.ms >= 90 && r.ms < 2000, `timed out after ${r.ms} ms`);
      // A packet that arrives within the timeout is returned.
      f.readTimeout = 5000;
      await cmd(f, 'write 5');
      assert.deepEqual(await f.read(), pattern(0, 5));
      await f.dealloc();
    });

    test('non-blocking read on an empty flow: EAGAIN at once', async () => {
      const f = await open();
      f.flags = FlowFlags.RDWR | FlowFlags.RNOBLOCK;
      const { ms } = await rejects(() => f.read(), 'EAGAIN');
      assert.ok(ms < 100, `took ${ms} ms`);
      await rejects(() => f.readInto(Buffer.alloc(4)), 'EAGAIN');
      await cmd(f, 'write 7');
      await until(() => f.rxQueueLength === 1, 5000, 'the packet to arrive');
      assert.deepEqual(await f.read(), pattern(0, 7));
      await rejects(() => f.read(), 'EAGAIN');
      await f.dealloc();
    });

    test('fccntl: timeouts, flags, QoS, queue lengths', async () => {
      const q: QosSpec = { delay: 250, bandwidth: 5000000n, availability: 2, loss: 1, ber: 1, inOrder: 0, maxGap: 400, timeout: 60000 };
      const f = await client.flowAlloc('peer', { qos: q, timeout: 10000 });

      throwsCode(() => f.fccntl(Fccntl.GRCVTIMEO), 'EPERM');
      throwsCode(() => f.fccntl(Fccntl.GSNDTIMEO), 'EPERM');
      f.fccntl(Fccntl.SRCVTIMEO, 1234);
      f.fccntl(Fccntl.SSNDTIMEO, 4321);
      assert.equal(f.fccntl(Fccntl.GRCVTIMEO), 1234);
      assert.equal(f.fccntl(Fccntl.GSNDTIMEO), 4321);
      assert.equal(f.readTimeout, 1234);
      assert.equal(f.writeTimeout, 4321);
      f.fccntl(Fccntl.SRCVTIMEO, null);
      throwsCode(() => f.fccntl(Fccntl.GRCVTIMEO), 'EPERM');
      f.fccntl(Fccntl.SSNDTIMEO, null);

      assert.equal(f.fccntl(Fccntl.GFLAGS), FlowFlags.DEFAULT);
      f.fccntl(Fccntl.SFLAGS, FlowFlags.RDWR | FlowFlags.RNOBLOCK | FlowFlags.RNOPART);
      assert.equal(f.fccntl(Fccntl.GFLAGS), FlowFlags.RDWR | FlowFlags.RNOBLOCK | FlowFlags.RNOPART);
      assert.equal(f.flags, FlowFlags.RDWR | FlowFlags.RNOBLOCK | FlowFlags.RNOPART);
      f.fccntl(Fccntl.SFLAGS, FlowFlags.RDONLY);
      await rejects(() => f.write(Buffer.from('x')), 'EPERM');
      f.fccntl(Fccntl.SFLAGS, FlowFlags.DEFAULT);

      assert.deepEqual(f.fccntl(Fccntl.GQOSSPEC), q, "the allocator's own view");
      assert.deepEqual(f.qos, q);
      await cmd(f, 'qos');
      assert.deepEqual(JSON.parse(await reply(f)), JSON.parse(qosJson(q)), "the accepter's view: the allocator's QoS");

      assert.equal(f.fccntl(Fccntl.GRXQLEN), 0);
      await cmd(f, 'burst 3 20');
      await until(() => (f.fccntl(Fccntl.GRXQLEN) as number) >= 3, 5000, '3 queued packets');
      assert.equal(f.fccntl(Fccntl.GRXQLEN), 3);
      assert.equal(f.rxQueueLength, 3);
      await f.read();
      assert.equal(f.fccntl(Fccntl.GRXQLEN), 2);
      await f.read();
      await f.read();
      assert.equal(f.fccntl(Fccntl.GRXQLEN), 0);

      throwsCode(() => f.fccntl(0o777), 'ENOTSUP');
      await f.dealloc();
      throwsCode(() => f.fccntl(Fccntl.GFLAGS), 'ENOTALLOC');
    });

    test('flow sets: PKT events for the right flow, DEALLOC when the peer leaves, ETIMEDOUT when idle', async () => {
      const f1 = await open();
      const f2 = await open();
      const set = client.createFlowSet();
      set.add(f1);
      set.add(f2);
      assert.ok(set.has(f1) && set.has(f2));
      const other = client.createFlowSet();
      throwsCode(() => other.add(f1), 'EPERM');

      const t0 = Date.now();
      await assert.rejects(set.wait(150), (e: unknown) => e instanceof OuroborosError && e.code === 'ETIMEDOUT');
      const ms = Date.now() - t0;
      assert.ok(ms >= 140 && ms < 2000, `timed out after ${ms} ms`);

      await cmd(f2, 'write 12');
      const ev = await set.wait(5000);
      assert.equal(ev.length, 1, `events: ${ev.map((e) => `${e.flow.fd}:${e.type}`).join(' ')}`);
      assert.equal(ev[0]!.flow, f2);
      assert.equal(ev[0]!.type, FlowEvent.PKT);
      assert.deepEqual(await f2.read(), pattern(0, 12));

      await cmd(f1, 'write 3,4');
      const got: Array<[Flow, number]> = [];
      while (got.length < 2) for (const e of await set.wait(5000)) got.push([e.flow, e.type]);
      assert.deepEqual(got, [[f1, FlowEvent.PKT], [f1, FlowEvent.PKT]]);

      // A flow added with packets already queued raises events at once.
      set.del(f1);
      assert.equal(set.has(f1), false);
      other.add(f1);
      const queued = await other.wait(1000);
      assert.ok(queued.length >= 1 && queued.every((e) => e.flow === f1 && e.type === FlowEvent.PKT));

      await cmd(f2, 'dealloc');
      const down = await set.wait(5000);
      assert.ok(down.some((e) => e.flow === f2 && e.type === FlowEvent.DEALLOC), `events: ${down.map((e) => `${e.flow.fd}:${e.type}`).join(' ')}`);
      set.destroy();
      other.destroy();
      await f1.dealloc();
      await f2.dealloc();
    });

    const paths: Array<[string, () => Promise<Flow>, () => Child]> = [
      ['direct', open, () => peer],
      ['local IPCP', () => openLo(), () => gated],
    ];
    for (const [via, openVia, server] of paths) {
      test(`after the peer deallocates, queued packets are read, then EFLOWDOWN (${via})`, async () => {
        const f = await openVia();
        await cmd(f, 'write 5,6,7');
        await cmd(f, 'dealloc');
        await until(() => f.closed, 5000, 'the flow to go down');
        f.readTimeout = 5000;
        assert.deepEqual(await f.read(), pattern(0, 5));
        assert.deepEqual(await f.read(), pattern(1, 6));
        const buf = Buffer.alloc(16);
        assert.equal(await f.readInto(buf), 7);
        assert.deepEqual(buf.subarray(0, 7), pattern(2, 7));
        await rejects(() => f.read(), 'EFLOWDOWN');
        await rejects(() => f.readInto(buf), 'EFLOWDOWN');
        await rejects(() => f.write(Buffer.from('late')), 'EFLOWDOWN');
        await f.dealloc();
      });

      test(`async iteration ends when the peer deallocates (${via})`, async () => {
        const f = await openVia();
        const lens = [10, 20, 30, 40, 50];
        await cmd(f, `write ${lens.join(',')}`);
        await cmd(f, 'dealloc');
        f.readTimeout = 5000; // a read that hangs fails the test with ETIMEDOUT
        const got: Buffer[] = [];
        for await (const pkt of f) got.push(pkt);
        assert.deepEqual(got, lens.map((l, i) => pattern(i, l)));
        await f.dealloc();
      });

      test(`a Duplex stream carries data both ways, one chunk per SDU (${via})`, async () => {
        // Out: chunks piped into the flow's stream; the peer counts and hashes them.
        const out = await openVia();
        const token = `t${Date.now()}`;
        await cmd(out, `sink ${token}`);
        const chunks = Array.from({ length: 200 }, (_, i) => pattern(i, 1 + ((i * 37) % 1400)));
        await pipeline(Readable.from(chunks), out.toStream());
        const h = createHash('sha256');
        for (const c of chunks) h.update(c);
        const bytes = chunks.reduce((sum, c) => sum + c.length, 0);
        const m = await server().waitFor(new RegExp(`sink ${token} .*`), 10000);
        assert.equal(m[0], `sink ${token} ${chunks.length} ${bytes} ${h.digest('hex')}`);

        // In: the peer sends and leaves; the stream ends.
        const inn = await openVia();
        const lens = Array.from({ length: 50 }, (_, i) => 100 + i);
        await cmd(inn, `write ${lens.join(',')}`);
        await cmd(inn, 'dealloc');
        inn.readTimeout = 5000;
        const got: Buffer[] = [];
        await pipeline(
          inn.toStream(),
          new Writable({
            write(chunk: Buffer, _enc, cb) {
              got.push(chunk);
              cb();
            },
          }),
        );
        assert.deepEqual(got, lens.map((l, i) => pattern(i, l)));
        await inn.dealloc();
      });
    }

    test('the last packets a peer writes before deallocating all arrive (local IPCP, 10 flows)', async () => {
      const lost: string[] = [];
      for (let i = 0; i < 10; i++) {
        const f = await openLo();
        await cmd(f, 'write 100,200,300');
        await cmd(f, 'dealloc');
        f.readTimeout = 5000;
        const got: number[] = [];
        for await (const pkt of f) got.push(pkt.length);
        if (got.join() !== '100,200,300') lost.push(`flow ${i}: got SDUs of ${got.join(',') || 'nothing'}`);
        await f.dealloc();
      }
      assert.deepEqual(lost, []);
    });

    test("QoS through the local IPCP: the accepter sees the allocator's QoS", async () => {
      const q: QosSpec = { ...qos.raw, delay: 75, bandwidth: 123456789n, availability: 4, maxGap: 90, timeout: 30000 };
      const f = await openLo({ qos: q });
      await sys.irmd.waitFor(new RegExp(`Flow \\d+ accepted by ${gated.pid} for peer\\.lo \\(uid`), 5000);
      assert.deepEqual(f.fccntl(Fccntl.GQOSSPEC), q);
      await cmd(f, 'qos');
      assert.deepEqual(JSON.parse(await reply(f)), JSON.parse(qosJson(q)));
      await cmd(f, 'write 33');
      f.readTimeout = 5000;
      assert.deepEqual(await f.read(), pattern(0, 33));
      await f.dealloc();
    });
  });
}
