/**
 * The compliance suite's cases (declared in suite.ts). Every IPCP type must
 * pass them with a fixture that joins a client system and a server system by
 * a layer of that type.
 *
 * Flows always go through the layer: the server process is bound to the name
 * but asks irmd to accept only once the flow request reached the server
 * system's irmd ("Flow request arrived for NAME"), i.e. after an IPCP carried
 * it there. At allocation time nobody accepts, so irmd cannot hand out a
 * direct flow; every case also checks that no "allocated (direct)" line shows
 * up for its names and that the client's flow is attached to an IPCP, not to
 * the server process.
 *
 * Nothing here sleeps for correctness: every wait is for an event (a log
 * line, a reply, an error) and is bounded by a deadline that makes the test
 * fail when the event does not come.
 *
 * Also exports the flow server and the packet pattern, used by the
 * integration tests of the UDP layer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ComplianceFixture, FixtureFactory } from './suite.js';
import { ROOT, type Child, type TestSystem } from '../helpers/system.js';
import { FlowEvent, OuroborosError, qos as QOS, type Flow, type Process, type QosSpec } from '../../src/lib/index.js';

// ---------------------------------------------------------------------------
// What each type answers where the reference lets types differ
// ---------------------------------------------------------------------------

interface TypeExpectations {
  /**
   * Allocating a name that nobody created or registered anywhere. irmd asks
   * every IPCP (IPCP_QUERY); none knows the name and the client system has no
   * such name either, so irmd answers ENAME ("no name on this system and no
   * layer here reaches it"), as the reference does for a name unknown
   * locally (TESTS.md B.2.2). EIPCP would mean the name exists locally but no
   * layer reaches it, which is not the case here.
   */
  unknownName: string;
  /**
   * What the client's reads end with after the server deallocated. The local
   * layer splices the two flows and passes the end on (EFLOWDOWN); UDP (and
   * Ethernet) layers send no deallocation message (WIRE.md §13), so the
   * client learns it only by its peer timeout: EFLOWPEER.
   */
  peerDealloc: readonly string[];
  /** The same when the server process is killed with SIGKILL. */
  peerDeath: readonly string[];
}

const EXPECT: Record<string, TypeExpectations> = {
  local: { unknownName: 'ENAME', peerDealloc: ['EFLOWDOWN'], peerDeath: ['EFLOWDOWN'] },
  udp4: { unknownName: 'ENAME', peerDealloc: ['EFLOWPEER'], peerDeath: ['EFLOWPEER'] },
  udp6: { unknownName: 'ENAME', peerDealloc: ['EFLOWPEER'], peerDeath: ['EFLOWPEER'] },
};
const ANY_END: TypeExpectations = { unknownName: 'ENAME', peerDealloc: ['EFLOWDOWN', 'EFLOWPEER'], peerDeath: ['EFLOWDOWN', 'EFLOWPEER'] };

/** Peer timeout used where a case waits for a peer to be noticed gone. */
export const SHORT_TIMEOUT_MS = 2000;
/** Allowed lateness past a QoS timeout: keepalive ticks (T/8) plus a loaded 2-CPU machine. */
export const peerDeadline = (timeout: number): number => timeout + Math.max(1000, timeout / 2);

// ---------------------------------------------------------------------------
// Packets: sizes 8..1400 B, content a function of (seed, index)
// ---------------------------------------------------------------------------

/**
 * Packet `i` of the stream `seed`: a 4-byte seed, a 4-byte index, then filler
 * derived from both, 8 to 1400 bytes in all. (Serialized into the server
 * script with Function.prototype.toString: keep it self-contained.)
 */
export function pattern(seed: number, i: number): Buffer {
  const size = 8 + ((Math.imul((seed ^ Math.imul(i, 0x9e3779b1)) >>> 0, 0x85ebca6b) >>> 0) % 1393);
  const b = Buffer.allocUnsafe(size);
  b.writeUInt32BE(seed >>> 0, 0);
  b.writeUInt32BE(i >>> 0, 4);
  let x = (seed * 31 + i * 17) & 0xff;
  for (let k = 8; k < size; k++) {
    b[k] = x;
    x = (x * 5 + 1) & 0xff;
  }
  return b;
}

/** The stream a server answers a client stream `seed` with. */
export const replySeed = (seed: number): number => ~seed >>> 0;

export function describePacket(p: Buffer): string {
  return p.length >= 8 ? `${p.length} B, seed ${p.readUInt32BE(0)}, index ${p.readUInt32BE(4)}` : `${p.length} B`;
}

export function errCode(e: unknown): string {
  if (e instanceof OuroborosError) return e.code;
  return (e as { code?: string })?.code ?? String(e);
}

export const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Rejects when `p` does not settle within `ms` (a bound, never a sleep). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing happened within ${ms} ms`)), ms);
    }),
  ]);
}

/** Settles with the error code `p` rejects with (or fails when it resolves). */
export async function rejectionOf(p: Promise<unknown>, what: string): Promise<string> {
  try {
    await p;
  } catch (e) {
    return errCode(e);
  }
  assert.fail(`${what} succeeded, expected it to fail`);
}

/**
 * Streams `n` packets of stream `seed` on `flow` and checks the server's
 * answers (stream replySeed(seed)): intact and in order. At most `window`
 * packets are unanswered at any time (pacing end to end: a UDP layer has no
 * flow control of its own); a missing answer fails after `readTimeout` ms.
 * The server sees each flow as one stream: a later call on the same flow
 * goes on with the same seed from index `from`.
 */
export async function echoStream(flow: Flow, n: number, seed: number, window = 32, readTimeout = 10000, from = 0): Promise<void> {
  const prev = flow.readTimeout;
  flow.readTimeout = readTimeout;
  let sent = 0;
  let received = 0;
  let failed = false;
  let wake: (() => void) | undefined;
  const writer = (async () => {
    while (sent < n && !failed) {
      if (sent - received >= window) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      await flow.write(pattern(seed, from + sent));
      sent++;
    }
  })();
  const reader = (async () => {
    try {
      const want = replySeed(seed);
      while (received < n) {
        let p: Buffer;
        try {
          p = await flow.read();
        } catch (e) {
          throw new Error(`flow ${flow.id}: answer ${from + received} (${received} of ${n}) did not come (${errCode(e)}); ${sent} sent`);
        }
        const exp = pattern(want, from + received);
        if (!p.equals(exp)) assert.fail(`flow ${flow.id}: answer ${from + received} is ${describePacket(p)}, expected ${describePacket(exp)}`);
        received++;
        const w = wake;
        wake = undefined;
        w?.();
      }
    } catch (e) {
      failed = true;
      wake?.();
      throw e;
    }
  })();
  await Promise.all([writer, reader]);
  flow.readTimeout = prev;
}

// ---------------------------------------------------------------------------
// The flow server: a separate process (so that it can be killed), driven on stdin
// ---------------------------------------------------------------------------

const SERVER_SCRIPT = (lib: string): string => `
import { connect } from ${JSON.stringify(lib)};
import { createInterface } from 'node:readline';
${pattern.toString()}
const say = (s) => process.stdout.write(s + '\\n');
const code = (e) => (e && e.code) || String((e && e.message) || e);
const proc = await connect({ prog: 'o7s-flow-server' });
say('ready ' + process.pid);

// echo: checks that packets form one stream (seed of the first packet, indexes
// 0, 1, ...) and answers packet i with packet i of the stream ~seed. Once an
// answer cannot be written (the peer is gone) it goes on reading what is
// queued. Reports 'end TAG CODE RECEIVED ANSWERED' when reading fails.
async function echo(tag, flow) {
  let seed;
  let n = 0;
  let answered = 0;
  let answering = true;
  try {
    for (;;) {
      const p = await flow.read();
      if (seed === undefined && p.length >= 8) seed = p.readUInt32BE(0);
      const want = pattern(seed ?? 0, n);
      if (!p.equals(want)) {
        say('bad ' + tag + ' ' + n + ' got ' + p.length + ' B' + (p.length >= 8 ? ' seed ' + p.readUInt32BE(0) + ' index ' + p.readUInt32BE(4) : '') + ', expected ' + want.length + ' B');
        return;
      }
      n++;
      if (!answering) continue;
      try {
        await flow.write(pattern(~seed >>> 0, n - 1));
        answered++;
      } catch (e) {
        answering = false;
        say('answer-error ' + tag + ' ' + code(e) + ' ' + (n - 1));
      }
    }
  } catch (e) {
    say('end ' + tag + ' ' + code(e) + ' ' + n + ' ' + answered);
  }
}

// send: writes k packets of stream seed, then deallocates.
async function send(tag, flow, k, seed) {
  try {
    for (let i = 0; i < k; i++) await flow.write(pattern(seed, i));
    await flow.dealloc();
    say('dealloced ' + tag);
  } catch (e) {
    say('send-error ' + tag + ' ' + code(e));
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, tag, mode, ...args] = line.trim().split(/\\s+/);
  if (cmd !== 'accept') return;
  proc.flowAccept().then((flow) => {
    const q = JSON.stringify({ ...flow.qos, bandwidth: String(flow.qos.bandwidth) });
    say('accepted ' + tag + ' ' + flow.id + ' ' + q);
    if (mode === 'echo') void echo(tag, flow);
    else if (mode === 'send') void send(tag, flow, Number(args[0]), Number(args[1]));
    // 'hold': keep the flow, do nothing
  }, (e) => say('accept-error ' + tag + ' ' + code(e)));
});
`;

export interface Accepted {
  /** The server's flow id (its system's). */
  id: number;
  /** The QoS the server's flow has, as the server saw it. */
  qos: QosSpec;
}

let serverSeq = 0;

export class FlowServer {
  private tags = 0;
  private constructor(readonly sys: TestSystem, readonly child: Child) {}

  static async start(sys: TestSystem): Promise<FlowServer> {
    const script = join(sys.rundir, `flow-server-${process.pid}-${serverSeq++}.mjs`);
    writeFileSync(script, SERVER_SCRIPT(pathToFileURL(join(ROOT, 'dist/src/lib/index.js')).href));
    const child = sys.spawn(script);
    await child.waitFor(/^ready \d+$/m);
    return new FlowServer(sys, child);
  }

  get pid(): number {
    return this.child.pid;
  }

  get output(): string {
    return this.child.out + this.child.err;
  }

  get mark(): number {
    return this.output.length;
  }

  /** Binds this process to `name` on its system (a bound process, not accepting yet). */
  async bind(name: string): Promise<void> {
    await this.sys.irm(['bind', 'process', String(this.pid), 'name', name]);
  }

  /** Asks for one flowAccept with `mode` (echo | send K SEED | hold); returns the tag to wait on. */
  accept(mode: string): string {
    const tag = `t${this.tags++}`;
    this.child.proc.stdin!.write(`accept ${tag} ${mode}\n`);
    return tag;
  }

  async accepted(tag: string, ms = 15000): Promise<Accepted> {
    const m = await this.child.waitFor(new RegExp(`^(?:accepted ${tag} (\\d+) (\\S+)|accept-error ${tag} (\\S+))$`, 'm'), ms);
    if (m[3]) assert.fail(`the server's accept ${tag} failed: ${m[3]}`);
    const q = JSON.parse(m[2]!) as Record<string, unknown>;
    return { id: Number(m[1]), qos: { ...(q as unknown as QosSpec), bandwidth: BigInt(q.bandwidth as string) } };
  }

  /** Fails when the server reported a corrupted or reordered packet. */
  assertNoBadPackets(): void {
    const bad = this.output.match(/^bad .*$/m);
    assert.equal(bad, null, `the server saw a bad packet: ${bad?.[0]}`);
  }

  kill(): void {
    this.child.proc.kill('SIGKILL');
  }
}

/**
 * The pid the client's end of `flow` was set up through: an IPCP, or the
 * peer itself for a direct flow. (Not where its packets go now: a local
 * IPCP may have handed the path over to the two programs already.)
 */
export const peerPidOf = (flow: Flow): number => (flow as unknown as { ep: { via: number } }).ep.via;

/**
 * Allocates a flow from `proc` to `name` through the layer: the allocation is
 * issued first, and `server` accepts only once the request reached the server
 * system's irmd, so no direct flow is possible. Checks the flow took the layer.
 */
export async function allocThroughLayer(
  fx: Pick<ComplianceFixture, 'client' | 'server'>,
  proc: Process,
  server: FlowServer,
  name: string,
  mode: string,
  opts: { qos?: QosSpec; timeout?: number } = {},
): Promise<{ flow: Flow; accepted: Accepted }> {
  const from = fx.server.log.length;
  const alloc = proc.flowAlloc(name, { timeout: opts.timeout ?? 15000, ...(opts.qos ? { qos: opts.qos } : {}) });
  alloc.catch(() => {});
  const arrived = fx.server.irmd.waitFor(new RegExp(`Flow request arrived for ${esc(name)}\\.`), 15000, from);
  await Promise.race([
    arrived,
    alloc.then(
      () => assert.fail(`the flow to ${name} was allocated before the server accepted`),
      (e) => assert.fail(`the allocation to ${name} failed before its request reached the server: ${errCode(e)} ${(e as Error).message}`),
    ),
  ]);
  const tag = server.accept(mode);
  const flow = await alloc;
  const accepted = await server.accepted(tag);
  assert.notEqual(peerPidOf(flow), server.pid, 'the client flow must go through an IPCP, not straight to the server');
  assertNoDirect(fx, name);
  return { flow, accepted };
}

/** No irmd of the fixture handed out a direct flow for `name`. */
export function assertNoDirect(fx: Pick<ComplianceFixture, 'client' | 'server'>, name: string): void {
  const re = new RegExp(`allocated \\(direct\\) for \\d+ to ${esc(name)}\\.`);
  for (const sys of new Set([fx.client, fx.server])) assert.doesNotMatch(sys.log, re, `irmd gave a direct flow for ${name}`);
}

const qosJson = (q: QosSpec): Record<string, string | number> => ({ ...q, bandwidth: String(q.bandwidth) });

// ---------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------

export function defineComplianceSuite(factory: FixtureFactory): void {
  let fx: ComplianceFixture;
  let proc: Process;
  const servers: FlowServer[] = [];
  const names: string[] = [];
  /** Flows a case opened: deallocated when it ends, whatever happened. */
  const open: Flow[] = [];
  const expect = (): TypeExpectations => EXPECT[fx.type] ?? ANY_END;

  /** A fresh name in the layer and a server process bound to it. */
  const service = async (): Promise<{ name: string; server: FlowServer }> => {
    const name = await fx.newName();
    names.push(name);
    const server = await FlowServer.start(fx.server);
    servers.push(server);
    await server.bind(name);
    return { name, server };
  };

  /** Runs a case, attaching the servers' output and the irmd logs when it fails. */
  const run = (body: () => Promise<void>) => async (): Promise<void> => {
    try {
      await body();
    } catch (e) {
      const err = e as Error;
      const tail = (s: string): string => s.slice(-4000);
      err.message += `\n--- client irmd log ---\n${tail(fx.client.log)}`;
      if (fx.server !== fx.client) err.message += `\n--- server irmd log ---\n${tail(fx.server.log)}`;
      for (const s of servers) err.message += `\n--- server ${s.pid} ---\n${tail(s.output)}`;
      throw err;
    } finally {
      await Promise.all(open.splice(0).map((f) => f.dealloc().catch(() => {})));
      for (const s of servers.splice(0)) s.kill();
    }
  };

  const alloc = async (name: string, server: FlowServer, mode: string, opts: { qos?: QosSpec } = {}): Promise<{ flow: Flow; accepted: Accepted }> => {
    const r = await allocThroughLayer(fx, proc, server, name, mode, opts);
    open.push(r.flow);
    return r;
  };

  // The describe is named after the type; the fixture is only known once
  // started, so the name is taken from the file's factory at definition time.
  describe(`compliance: ${factoryType(factory)}`, () => {
    before(async () => {
      fx = await factory();
      proc = await fx.client.connect('o7s-compliance-client');
    });
    after(async () => {
      await proc?.close().catch(() => {});
      if (fx) {
        // No direct flow for any name the suite used, over the whole run.
        try {
          for (const n of names) assertNoDirect(fx, n);
        } finally {
          await fx.stop();
        }
      }
    });

    test('allocate and accept through the layer', run(async () => {
      const { name, server } = await service();
      const { flow, accepted } = await alloc(name, server, 'echo');
      assert.ok(flow.id > 0 && accepted.id > 0, 'both ends have flow ids');
      if (fx.server === fx.client) assert.notEqual(flow.id, accepted.id, 'two flows spliced by the IPCP, not one direct flow');
      await fx.server.irmd.waitFor(new RegExp(`Flow ${accepted.id} accepted by ${server.pid} for ${esc(name)}`), 5000);
      // One round trip proves both halves are connected.
      await echoStream(flow, 1, 0x5eed);
      await flow.dealloc();
    }));

    test('flows allocated right after a deallocation work (flow ids are reused at once)', run(async () => {
      const { name, server } = await service();
      // irmd hands out the lowest free flow id, so each new flow takes the id
      // the previous one just gave back: nothing of an old flow may reach it.
      let ids = '';
      for (let round = 0; round < 5; round++) {
        const { flow, accepted } = await alloc(name, server, 'echo');
        ids += ` ${flow.id}/${accepted.id}`;
        assert.equal(flow.closed, false, `round ${round}: flow ${flow.id} is down as soon as it is allocated (ids so far:${ids})`);
        await echoStream(flow, 10, 0x1000 + round, 32, 5000);
        await flow.dealloc();
      }
      server.assertNoBadPackets();
    }));

    test('1,000 packets of 8..1400 B each way arrive intact and in order', run(async () => {
      const { name, server } = await service();
      const { flow } = await alloc(name, server, 'echo');
      const seed = 0x00c0ffee;
      await echoStream(flow, 1000, seed, 32);
      server.assertNoBadPackets();
      // The sizes really varied over the whole range.
      const sizes = Array.from({ length: 1000 }, (_, i) => pattern(seed, i).length);
      assert.ok(Math.min(...sizes) < 100 && Math.max(...sizes) > 1300);
      // The server checked each packet before answering it: 1,000 answers = 1,000 good packets.
      await flow.dealloc();
    }));

    test('deallocation is seen by the peer after the data is drained', run(async () => {
      const { name, server } = await service();
      const q: QosSpec = { ...QOS.raw, timeout: SHORT_TIMEOUT_MS };
      const k = 100;
      const seed = 0xdea1;
      const { flow } = await alloc(name, server, `send ${k} ${seed}`, { qos: q });
      flow.readTimeout = peerDeadline(q.timeout);
      await server.child.waitFor(/^dealloced t0$/m, 10000);
      const deallocAt = Date.now();
      let got = 0;
      for await (const p of flow) {
        const exp = pattern(seed, got);
        assert.ok(p.equals(exp), `packet ${got} is ${describePacket(p)}, expected ${describePacket(exp)}`);
        got++;
      }
      assert.equal(got, k, 'every packet written before the deallocation is read');
      const code = await rejectionOf(flow.read(), 'a read after the peer deallocated');
      assert.ok(expect().peerDealloc.includes(code), `reads end with ${code}, expected ${expect().peerDealloc.join(' or ')}`);
      assert.ok(Date.now() - deallocAt <= peerDeadline(q.timeout), `noticed ${Date.now() - deallocAt} ms after the deallocation`);
      await flow.dealloc();
    }));

    test('allocating a name nobody registered fails with the exact code', run(async () => {
      const name = `nobody.${process.pid}.${Date.now().toString(36)}`;
      const t0 = Date.now();
      const code = await rejectionOf(proc.flowAlloc(name, { timeout: 10000 }), `allocating ${name}`);
      assert.equal(code, expect().unknownName);
      assert.ok(Date.now() - t0 < 10000, 'the failure is an answer, not a timeout');
    }));

    test('allocation to a server that never accepts times out with ETIMEDOUT', run(async () => {
      const { name, server } = await service();
      // Bound but never accepting: the server's irmd waits 1 s (REQ_ARR_TIMEOUT)
      // for an accept before refusing, so a 500 ms user timeout expires first.
      const timeout = 500;
      const from = fx.server.log.length;
      const t0 = Date.now();
      const code = await rejectionOf(proc.flowAlloc(name, { timeout }), `allocating ${name} with no accepter`);
      const took = Date.now() - t0;
      await fx.server.irmd.waitFor(new RegExp(`Flow request arrived for ${esc(name)}\\.`), 5000, from);
      assert.equal(code, 'ETIMEDOUT', `after ${took} ms`);
      assert.ok(took >= timeout - 5, `failed after ${took} ms, before the ${timeout} ms timeout`);
      assert.ok(took <= timeout + 1000, `failed after ${took} ms, long after the ${timeout} ms timeout`);
      assert.doesNotMatch(server.output, /accepted/);

      // The failed allocation leaves nothing behind: a flow allocated right
      // away (it may well get the same flow id) works.
      const next = await service();
      const { flow } = await alloc(next.name, next.server, 'echo');
      assert.equal(flow.closed, false, `a new flow (id ${flow.id}) allocated after the timed-out one is born down`);
      await echoStream(flow, 10, 0x7e57);
    }));

    test('the accepter sees the QoS the allocator asked for', run(async () => {
      const odd: QosSpec = { delay: 123, bandwidth: 2n ** 40n + 7n, availability: 4, loss: 7, ber: 9, inOrder: 1, maxGap: 321, timeout: 45678 };
      for (const [what, q] of [['qos.voice', QOS.voice], ['a spec with every field distinct', odd]] as const) {
        const { name, server } = await service();
        const { flow, accepted } = await alloc(name, server, 'echo', { qos: q });
        assert.deepEqual(qosJson(accepted.qos), qosJson(q), `${what}: the accepter's QoS`);
        assert.deepEqual(qosJson(flow.qos), qosJson(q), `${what}: the allocator's QoS`);
        await echoStream(flow, 3, 0x9005);
        await flow.dealloc();
      }
    }));

    test('a server killed with SIGKILL mid-flow: the client sees the flow end within the QoS timeout', run(async () => {
      const { name, server } = await service();
      const q: QosSpec = { ...QOS.raw, timeout: SHORT_TIMEOUT_MS };
      const { flow } = await alloc(name, server, 'echo', { qos: q });
      const set = proc.createFlowSet();
      set.add(flow);
      // Stream (write, read the answer) until the flow fails; kill the server after 100 rounds.
      let rounds = 0;
      let killedAt = 0;
      const streaming = (async (): Promise<string> => {
        try {
          for (let i = 0; ; i++) {
            await flow.write(pattern(0xfeed, i));
            const p = await flow.read();
            assert.ok(p.equals(pattern(replySeed(0xfeed), i)), `answer ${i} is ${describePacket(p)}`);
            if (++rounds === 100) {
              server.kill();
              killedAt = Date.now();
            }
          }
        } catch (e) {
          if (e instanceof assert.AssertionError) throw e;
          return errCode(e);
        }
      })();
      const code = await within(streaming, 15000 + peerDeadline(q.timeout), 'the client noticing the server died');
      const noticed = Date.now() - killedAt;
      assert.ok(killedAt > 0, `the flow failed (${code}) before the server was killed, after ${rounds} rounds`);
      assert.ok(expect().peerDeath.includes(code), `the client's read failed with ${code}, expected ${expect().peerDeath.join(' or ')}`);
      assert.ok(noticed <= peerDeadline(q.timeout), `noticed ${noticed} ms after the kill; QoS timeout ${q.timeout} ms`);
      const events = set.wait(0).catch(() => []);
      const types = (await events).map((e) => e.type);
      if (code === 'EFLOWPEER') assert.ok(types.includes(FlowEvent.PEER), `a PEER event was raised (events: ${types})`);
      else assert.ok(types.includes(FlowEvent.DOWN) || types.includes(FlowEvent.DEALLOC), `a DOWN/DEALLOC event was raised (events: ${types})`);
      set.destroy();
      await flow.dealloc();
    }));
  });
}

/**
 * The type a factory builds, for the describe's name: factories built with
 * {@link typedFactory} carry it; otherwise "IPCP".
 */
function factoryType(factory: FixtureFactory): string {
  return (factory as FixtureFactory & { type?: string }).type ?? 'IPCP';
}

/** Tags a factory with its IPCP type so that the suite's describe can be named before it runs. */
export function typedFactory(type: string, factory: FixtureFactory): FixtureFactory {
  return Object.assign(factory, { type });
}
