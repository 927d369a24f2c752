/**
 * Reliable flows (FRCT) between two systems joined by udp4, beyond "the
 * bytes arrive" (frct.test.ts):
 *  - a receiver that stops reading stalls the sender through the window,
 *    without losing anything, and the transfer completes when it reads again;
 *  - a receiver that dies (its program, or its whole system) makes the
 *    sender's blocked write fail with EFLOWPEER within the flow's peer
 *    timeout, instead of hanging;
 *  - deallocation lingers until what was written is acknowledged, so a
 *    sender may deallocate right after its last write, also over a lossy
 *    layer.
 * The receiving end runs as a child process (this file with `--sink`),
 * driven through its stdin; nothing waits on a fixed sleep: every wait is
 * for an event (a line from the sink, a promise, a flow state) with a
 * deadline.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TestNetwork } from '../helpers/network.js';
import { until, type Child } from '../helpers/system.js';
import { connect, qos, type Flow, type QosSpec } from '../../src/lib/index.js';
import { OuroborosError } from '../../src/common/errors.js';

const SELF = fileURLToPath(import.meta.url);

/** SDU i of a transfer: a u32 BE index, then bytes derived from it (so order and content can be checked). */
function sdu(i: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  b.writeUInt32BE(i >>> 0, 0);
  for (let k = 4; k < size; k++) b[k] = (i * 131 + k * 7) & 0xff;
  return b;
}

/** The first SDU of a transfer: how many SDUs of which size follow. */
function head(count: number, size: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(count, 0);
  b.writeUInt32BE(size, 4);
  return b;
}

interface FrctStatsView {
  frct?: { unacked: number; window: number; retransmitted: number; duplicates: number; delivered: number; queued: number; acksReceived: number };
}
const frctOf = (f: Flow): NonNullable<FrctStatsView['frct']> => {
  const s = (f as Flow & { stats: FrctStatsView }).stats.frct;
  assert.ok(s, 'the flow runs FRCT');
  return s;
};

if (process.argv.includes('--sink')) {
  // The receiving program. Prints `ready`, `flow`, then, while reading,
  // `got N` every 256 SDUs and `done SDUS BYTES SHA256 BAD` at the end (BAD:
  // SDUs out of order or corrupted). Commands on stdin: `queued` (prints
  // `queued N`, the SDUs waiting unread), `read` (starts reading, when
  // started with --hold).
  const hold = process.argv.includes('--hold');
  const proc = await connect({ prog: 'frct-behaviour-sink' });
  process.stdout.write('ready\n');
  const flow = await proc.flowAccept();
  process.stdout.write('flow\n');
  let go: () => void = () => undefined;
  const reading = new Promise<void>((r) => (go = r));
  if (!hold) go();
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'queued') process.stdout.write(`queued ${flow.rxQueueLength}\n`);
    else if (line === 'read') go();
  });
  await reading;
  const h0 = await flow.read();
  const count = h0.readUInt32BE(0);
  const size = h0.readUInt32BE(4);
  const h = createHash('sha256');
  let bytes = 0;
  let bad = 0;
  for (let i = 0; i < count; i++) {
    const p = await flow.read();
    if (p.length !== size || !p.equals(sdu(i, size))) bad++;
    h.update(p);
    bytes += p.length;
    if ((i + 1) % 256 === 0) process.stdout.write(`got ${i + 1}\n`);
  }
  process.stdout.write(`done ${count} ${bytes} ${h.digest('hex')} ${bad}\n`);
  // Stay until told to go: the sender's flow must not see this one leave.
  await new Promise<void>((r) => process.stdin.once('end', r));
  await proc.close();
  process.exit(0);
}

/** SHA-256 of SDUs 0..count-1 of `size` bytes, as the sink computes it. */
function expectedSha(count: number, size: number): string {
  const h = createHash('sha256');
  for (let i = 0; i < count; i++) h.update(sdu(i, size));
  return h.digest('hex');
}

let net: TestNetwork;
let lossy: TestNetwork;
before(async () => {
  [net, lossy] = await Promise.all([
    // a: senders; b: sinks; c: a system that gets killed.
    TestNetwork.udp4(['a', 'b', 'c']),
    TestNetwork.udp4(['x', 'y'], { extra: ['drop', '0.05', 'dup', '0.02', 'reorder', '0.02'] }),
  ]);
  await Promise.all([net.register('b', 'sink'), net.register('c', 'far'), lossy.register('y', 'sink')]);
});
after(async () => {
  await Promise.all([net?.stop(), lossy?.stop()]);
});

/** Starts a sink bound to `name` on system `at` of `n`. */
async function sink(n: TestNetwork, at: string, name: string, hold = false): Promise<Child> {
  const sys = n.sys(at);
  const c = sys.spawn(SELF, ['--sink', ...(hold ? ['--hold'] : [])]);
  await c.waitFor(/ready/);
  await sys.irm(['bind', 'process', String(c.pid), 'name', name]);
  return c;
}

/** Asks the sink how many SDUs wait unread in its flow. */
async function queuedAt(c: Child): Promise<number> {
  const from = c.out.length;
  c.proc.stdin!.write('queued\n');
  const m = await c.waitFor(/queued (\d+)\n/, 10000, from);
  return Number(m[1]);
}

const codeOf = (e: unknown): string | undefined => (e instanceof OuroborosError ? e.code : undefined);

test('a receiver that stops reading stalls the sender through the window, loses nothing, and the transfer completes when it reads again', async () => {
  const COUNT = 3000;
  const SIZE = 1000;
  const s = await sink(net, 'b', 'sink', true);
  const proc = await net.sys('a').connect('frct-stall');
  try {
    const flow = await proc.flowAlloc('sink', { qos: qos.data, timeout: 10000 });
    await s.waitFor(/flow/);
    // The writer: blocking writes, one after the other, as fast as the flow takes them.
    let written = 0;
    let blocked = false;
    const writer = (async () => {
      await flow.write(head(COUNT, SIZE));
      for (let i = 0; i < COUNT; i++) {
        blocked = true;
        await flow.write(sdu(i, SIZE));
        blocked = false;
        written = i + 1;
      }
    })();
    writer.catch(() => undefined);

    // Stalled: the receiver has advertised its window (an ACK+FC came back;
    // until then only the start window may go), a write is pending, and
    // everything written before it has reached the receiver, which holds it
    // unread (plus the header SDU).
    const stalled = async (): Promise<boolean> => {
      const f = frctOf(flow);
      return f.acksReceived > 0 && f.window === 0 && blocked && written > 0 && (await queuedAt(s)) === written + 1;
    };
    await until(stalled, 30000, 'the sender to stall');
    const stalledAt = written;
    assert.ok(stalledAt < COUNT, 'the sender stopped before the end');
    assert.ok(stalledAt + 1 >= 64, `at least the start window went out (${stalledAt + 1} SDUs)`);
    // Still stalled once more answers came back: nothing more was taken,
    // a non-blocking attempt would block, and all of it is unacknowledged.
    assert.equal(await queuedAt(s), stalledAt + 1);
    assert.equal(written, stalledAt);
    assert.equal(blocked, true, 'the pending write has not returned');
    const fast = flow as Flow & { tryWrite(d: Uint8Array): boolean };
    assert.equal(fast.tryWrite(sdu(stalledAt, SIZE)), false, 'a non-blocking write would block');
    assert.equal(frctOf(flow).unacked, stalledAt + 1, 'everything written is held for retransmission');

    // The receiver reads again: the writer resumes, every byte arrives, in order.
    s.proc.stdin!.write('read\n');
    await writer;
    const m = await s.waitFor(/done (\d+) (\d+) ([0-9a-f]{64}) (\d+)/, 60000);
    assert.equal(Number(m[1]), COUNT);
    assert.equal(Number(m[2]), COUNT * SIZE, 'every byte arrived');
    assert.equal(m[4], '0', 'every SDU in order and intact');
    assert.equal(m[3], expectedSha(COUNT, SIZE));
    await until(() => frctOf(flow).unacked === 0, 10000, 'everything to be acknowledged');
  } finally {
    await proc.close();
    await s.stop('SIGKILL');
  }
});

/**
 * Writes to `name` until a write fails; returns the error code and how long
 * after `kill()` (called once `got N` shows the transfer running) it came.
 */
async function writeUntilError(at: string, name: string, s: Child, kill: () => Promise<void>, peerTimeout: number): Promise<{ code: string | undefined; ms: number; written: number }> {
  const proc = await net.sys(at).connect('frct-kill');
  try {
    const spec: QosSpec = { ...qos.data, timeout: peerTimeout };
    const flow = await proc.flowAlloc(name, { qos: spec, timeout: 10000 });
    const SIZE = 1000;
    const COUNT = 1_000_000; // more than can go in the time the test allows
    let written = 0;
    const writer = (async () => {
      await flow.write(head(COUNT, SIZE));
      for (let i = 0; i < COUNT; i++) {
        await flow.write(sdu(i, SIZE));
        written++;
      }
    })();
    const failed = writer.then(
      () => undefined,
      (e: unknown) => e,
    );
    await s.waitFor(/got \d+/, 20000);
    const killedAt = Date.now();
    await kill();
    // The writer must not hang: it fails within the peer timeout (plus slack for a loaded machine).
    const e = await Promise.race([failed, new Promise((r) => setTimeout(() => r('hang'), peerTimeout + 15000))]);
    assert.notEqual(e, 'hang', `the writer hangs ${peerTimeout + 15000} ms after the receiver died (${written} SDUs written)`);
    assert.ok(e !== undefined, 'the writer failed');
    return { code: codeOf(e), ms: Date.now() - killedAt, written };
  } finally {
    await proc.close();
  }
}

test('a receiving program killed mid-transfer: the blocked writer fails with EFLOWPEER within the peer timeout', async () => {
  const s = await sink(net, 'b', 'sink');
  const r = await writeUntilError('a', 'sink', s, () => s.stop('SIGKILL'), 2000);
  assert.equal(r.code, 'EFLOWPEER', `the reference's error for a peer gone silent (got ${r.code})`);
  assert.ok(r.ms >= 1500, `not before the peer timeout (${r.ms} ms)`);
  assert.ok(r.written > 0);
});

test('the receiving system killed mid-transfer (irmd, IPCP, program): the blocked writer fails with EFLOWPEER within the peer timeout', async () => {
  const c = net.sys('c');
  const s = await sink(net, 'c', 'far');
  const list = await c.irm(['ipcp', 'list']);
  const ipcpPids = [...list.stdout.matchAll(/\|\s+(\d+) \|\s+udp /g)].map((m) => Number(m[1]));
  assert.ok(ipcpPids.length > 0, `the udp IPCP of system c is listed:\n${list.stdout}`);
  const r = await writeUntilError('a', 'far', s, async () => {
    c.irmd.proc.kill('SIGKILL');
    for (const pid of ipcpPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone with irmd */
      }
    }
    s.proc.kill('SIGKILL');
    await Promise.all([c.irmd.exited, s.exited]);
  }, 2000);
  assert.equal(r.code, 'EFLOWPEER', `the reference's error for a peer gone silent (got ${r.code})`);
  assert.ok(r.ms >= 1500, `not before the peer timeout (${r.ms} ms)`);
});

test('deallocation lingers until everything written is acknowledged: over a lossy layer, the receiver gets every byte although the sender deallocates right after its last write', async () => {
  const COUNT = 4000;
  const SIZE = 1200;
  const s = await sink(lossy, 'y', 'sink');
  const proc = await lossy.sys('x').connect('frct-linger');
  let unackedAtDealloc = 0;
  let post: { unacked: number; retransmitted: number } | undefined;
  try {
    const flow = await proc.flowAlloc('sink', { qos: qos.data, timeout: 10000 });
    await flow.write(head(COUNT, SIZE));
    for (let i = 0; i < COUNT; i++) await flow.write(sdu(i, SIZE));
    unackedAtDealloc = frctOf(flow).unacked;
    await flow.dealloc();
    const st = frctOf(flow);
    post = { unacked: st.unacked, retransmitted: st.retransmitted };
  } finally {
    await proc.close();
  }
  // The sender's process context is gone; what it wrote still arrives, complete.
  const m = await s.waitFor(/done (\d+) (\d+) ([0-9a-f]{64}) (\d+)/, 60000);
  await s.stop('SIGKILL');
  assert.ok(unackedAtDealloc > 0, 'data was still unacknowledged when the sender deallocated');
  assert.equal(post?.unacked, 0, 'dealloc returned only once everything was acknowledged');
  assert.ok((post?.retransmitted ?? 0) > 0, 'the lossy layer made retransmissions necessary');
  assert.equal(Number(m[2]), COUNT * SIZE, 'every byte arrived');
  assert.equal(m[4], '0', 'every SDU in order and intact');
  assert.equal(m[3], expectedSha(COUNT, SIZE));
});
