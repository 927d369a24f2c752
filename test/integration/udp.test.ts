/**
 * The udp4 layer with real daemons: two systems on loopback addresses
 * (TestNetwork.udp4), the real oping across them, a remote name nobody
 * registered, the whole remote system killed with SIGKILL mid-flow, junk
 * datagrams on the IPCPs' sockets while a flow carries data, and 50
 * concurrent flows.
 *
 * The junk is seeded (O7S_FUZZ_SEED) so failures reproduce.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { appendFileSync, readFileSync } from 'node:fs';
import { TestNetwork } from '../helpers/network.js';
import type { TestSystem } from '../helpers/system.js';
import { FlowEvent, qos as QOS, type Flow, type Process, type QosSpec } from '../../src/lib/index.js';
import { HashAlgo, hashName } from '../../src/common/hash.js';
import { MGMT_LEN, encodeFlowReply, encodeFlowReq } from '../../src/ipcpd/udp/wire.js';
import {
  FlowServer,
  SHORT_TIMEOUT_MS,
  allocThroughLayer,
  describePacket,
  echoStream,
  errCode,
  esc,
  peerDeadline,
  pattern,
  rejectionOf,
  replySeed,
  within,
} from '../compliance/cases.js';
import { Rng } from '../helpers/rng.js';

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/** The pid of the IPCP called `name` on `sys` (from `irm ipcp list`). */
async function ipcpPid(sys: TestSystem, name = 'udp'): Promise<number> {
  const list = await sys.irm(['ipcp', 'list']);
  const m = list.stdout.match(new RegExp(`\\|\\s+(\\d+) \\|\\s+${esc(name)} \\|\\s+udp4 \\|`));
  assert.ok(m, `IPCP ${name} is listed:\n${list.stdout}`);
  return Number(m[1]);
}

/** True when `pid` runs (a zombie, killed but not reaped yet, counts as dead). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/**
 * Receive-buffer drops of the UDP socket bound to ip:port, from
 * /proc/net/udp (the last column): the kernel's count of datagrams that
 * arrived while the socket's buffer was full. undefined when not found.
 */
function socketDrops(ip: string, port: number): number | undefined {
  const hexIp = Buffer.from(ip.split('.').map(Number).reverse()).toString('hex').toUpperCase();
  const local = `${hexIp}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  try {
    for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1] === local) return Number(f[f.length - 1]);
    }
  } catch {
    /* no procfs */
  }
  return undefined;
}


const SEED = Number(process.env.O7S_FUZZ_SEED ?? 0x0dd9a7a);

/** Binds a datagram socket to `ip` (any port). */
async function udpSocket(ip: string): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, ip, () => {
      s.off('error', reject);
      resolve();
    });
  });
  return s;
}

function sendDatagram(s: dgram.Socket, msg: Buffer, ip: string, port: number): Promise<void> {
  return new Promise((resolve) => s.send(msg, port, ip, () => resolve()));
}

const eid = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** A seeded piece of junk for an IPCP whose live flow has eid `liveEid`; `kind` says what it is. */
function junk(rng: Rng, liveEid: number): { kind: string; msg: Buffer } {
  const k = rng.int(11);
  switch (k) {
    case 0:
      return { kind: 'random bytes', msg: rng.bytes(rng.int(1500)) };
    case 1:
      return { kind: 'shorter than an eid', msg: rng.bytes(rng.int(4)) };
    case 2:
      return { kind: 'management shorter than 47 B', msg: Buffer.concat([eid(0), rng.bytes(rng.int(MGMT_LEN - 4))]) };
    case 3: {
      const m = Buffer.concat([eid(0), rng.bytes(MGMT_LEN - 4 + rng.int(64))]);
      m[44] = [0, 3, 4, 0x7f, 0x80, 0xff][rng.int(6)]!;
      return { kind: 'management with a wrong code', msg: m };
    }
    case 4:
      return { kind: 'FLOW_REPLY for an unknown eid', msg: encodeFlowReply(rng.u32() | 0x10000, rng.u32(), rng.int(2) ? 0 : -rng.int(2000), rng.bytes(rng.int(32))) };
    case 5:
      return { kind: 'FLOW_REPLY for the live flow', msg: encodeFlowReply(liveEid, rng.u32(), rng.int(2) ? 0 : -1, rng.bytes(rng.int(8))) };
    case 6: {
      const m = Buffer.concat([eid(0), rng.bytes(MGMT_LEN - 4 + rng.int(16))]);
      m[44] = 1;
      return { kind: 'FLOW_REQ with a truncated hash', msg: m };
    }
    case 7:
      return { kind: 'data for an unknown eid', msg: Buffer.concat([eid(rng.u32() | 0x10000), rng.bytes(rng.int(1400))]) };
    case 8:
      return { kind: 'data for the live flow from a foreign source', msg: Buffer.concat([eid(liveEid), rng.bytes(1 + rng.int(1400))]) };
    case 9:
      return { kind: 'keepalive for the live flow from a foreign source', msg: eid(liveEid) };
    default:
      return { kind: 'FLOW_REPLY with garbage tail', msg: Buffer.concat([encodeFlowReply(rng.u32(), rng.u32(), 0, new Uint8Array(0)), rng.bytes(rng.int(600))]) };
  }
}

/** Runs a test body, adding both irmd logs to a failure. */
async function withLogs(systems: Record<string, TestSystem>, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    for (const [n, s] of Object.entries(systems)) (e as Error).message += `\n--- irmd log of ${n} ---\n${s.log.slice(-5000)}`;
    throw e;
  }
}

// ---------------------------------------------------------------------------
// Two systems that stay up. Each describe has its own network, so that what
// one test leaves behind (see the id-reuse case) cannot spoil the next.
// ---------------------------------------------------------------------------

interface World {
  net: TestNetwork;
  a: TestSystem;
  b: TestSystem;
  proc: Process;
  servers: FlowServer[];
  /** A fresh name registered on b with a flow server bound to it. */
  service(): Promise<{ name: string; server: FlowServer }>;
  fresh(what: string): string;
}

/** Sets up a two-system network for the describe it is called in; the getter is valid inside tests. */
function twoSystems(): () => World {
  let w: World | undefined;
  before(async () => {
    const net = await TestNetwork.udp4(['a', 'b']);
    let seq = 0;
    const servers: FlowServer[] = [];
    const fresh = (what: string): string => `udp.${what}.${seq++}`;
    w = {
      net,
      a: net.sys('a'),
      b: net.sys('b'),
      proc: await net.sys('a').connect('udp-test-client'),
      servers,
      fresh,
      async service() {
        const name = fresh('svc');
        await net.register('b', name);
        const server = await FlowServer.start(net.sys('b'));
        servers.push(server);
        await server.bind(name);
        return { name, server };
      },
    };
  });
  after(async () => {
    if (!w) return;
    for (const s of w.servers) s.kill();
    await w.proc.close().catch(() => {});
    await w.net.stop();
  });
  return () => {
    assert.ok(w, 'the network is up');
    return w;
  };
}

describe('udp4: oping and names', () => {
  const world = twoSystems();

  test('oping across the layer: 3 replies, 0% loss', () => {
    const { net, a, b } = world();
    return withLogs({ a, b }, async () => {
      const name = world().fresh('oping');
      await net.register('b', name);
      const server = b.spawn('oping', ['-l']);
      await server.waitFor(/Ouroboros ping server started\./);
      await b.irm(['bind', 'process', String(server.pid), 'name', name]);
      try {
        const r = await a.run('oping', ['-n', name, '-c', '3'], 20000);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, new RegExp(`Pinging ${esc(name)} with 64 bytes of data \\(3 packets\\):`));
        for (let s = 0; s < 3; s++) assert.match(r.stdout, new RegExp(`64 bytes from ${esc(name)}: seq=${s} time=\\d+\\.\\d{3} (ms|µs)`));
        assert.match(r.stdout, /3 packets transmitted, 3 received, 0 out-of-order, 0% packet loss/);
        await server.waitFor(/New flow \d+\./);
        // It went over the layer: the request arrived at b's irmd from its udp IPCP.
        assert.match(b.log, new RegExp(`Flow request arrived for ${esc(name)}\\.`));
      } finally {
        await server.stop('SIGKILL');
      }
    });
  });

  test('a remote name that is not registered: ENAME from the remote irmd, and the next flow works', () => {
    const { net, a, b, proc } = world();
    return withLogs({ a, b }, async () => {
      // In the hosts file (so a's IPCP sends the FLOW_REQ to b), unknown at b:
      // b's irmd has no name with that hash and answers -ENAME, which b's IPCP
      // sends back in FLOW_REPLY and a's irmd hands to the program.
      const ghost = world().fresh('ghost');
      appendFileSync(net.hostsFile, `${net.addrs.get('b')} ${ghost}\n`);
      const from = b.log.length;
      const t0 = Date.now();
      const code = await rejectionOf(proc.flowAlloc(ghost, { timeout: 10000 }), `allocating ${ghost}`);
      assert.equal(code, 'ENAME', `after ${Date.now() - t0} ms`);
      assert.ok(Date.now() - t0 < 5000, 'refused, not timed out');
      await b.irmd.waitFor(/No name for [0-9a-f]+/, 5000, from);

      // A name nobody anywhere knows (not even the hosts file): a's irmd finds no layer: ENAME.
      assert.equal(await rejectionOf(proc.flowAlloc(world().fresh('nowhere'), { timeout: 10000 }), 'allocating an unknown name'), 'ENAME');

      // The refused allocation leaves nothing behind: the next flow (likely
      // with the same flow id on a) is up and carries data.
      const { name, server } = await world().service();
      const { flow } = await allocThroughLayer({ client: a, server: b }, proc, server, name, 'echo');
      try {
        assert.equal(flow.closed, false, `the flow (id ${flow.id}) allocated after the refused one is born down`);
        await echoStream(flow, 20, 0x61057, 8, 5000);
      } finally {
        await flow.dealloc();
      }
    });
  });
});

describe('udp4: junk datagrams', () => {
  const world = twoSystems();

  test('junk on both IPCPs while a flow carries data: the flow is unharmed, the daemons stay up, a new flow works', () => {
    const { net, a, b, proc } = world();
    return withLogs({ a, b }, async () => {
      const aPid = await ipcpPid(a);
      const bPid = await ipcpPid(b);
      const { name, server } = await world().service();
      const { flow, accepted } = await allocThroughLayer({ client: a, server: b }, proc, server, name, 'echo');
      // Foreign sources: an address no member has, and the members' own
      // addresses at another port (not the layer's).
      const foreign = [await udpSocket('127.0.0.1'), await udpSocket(net.addrs.get('a')!), await udpSocket(net.addrs.get('b')!)];
      try {
        // The eids: a's IPCP knows the flow by a's flow id, b's by b's.
        const targets = [
          { ip: net.addrs.get('a')!, liveEid: flow.id },
          { ip: net.addrs.get('b')!, liveEid: accepted.id },
        ];
        const rng = new Rng(SEED);
        const kinds = new Map<string, number>();
        // 3,000 pieces of junk, then 20 flow requests for names nobody has
        // (each costs an irmd a lookup), from foreign sources to both IPCPs.
        const pieces = function* (): Generator<{ kind: string; msg: Buffer; ip: string }> {
          for (let i = 0; i < 3000; i++) {
            const t = targets[rng.int(2)]!;
            yield { ...junk(rng, t.liveEid), ip: t.ip };
          }
          for (let i = 0; i < 20; i++) {
            const req = encodeFlowReq(rng.u32(), QOS.raw, hashName(HashAlgo.MD5, `junk.${rng.u32()}`), rng.bytes(rng.int(64)));
            yield { kind: 'FLOW_REQ for an unknown name', msg: req, ip: targets[rng.int(2)]!.ip };
          }
        };
        const junkLeft = pieces();
        // The data stream: each round writes a packet, sends two pieces of
        // junk while it is on its way, and checks the answer; 200 rounds more
        // once the junk is all sent.
        let streamed = 0;
        const seed = 0x5eed5;
        flow.readTimeout = 10000;
        const stream = (async () => {
          let extra = 0;
          for (let i = 0; ; i++) {
            await flow.write(pattern(seed, i));
            let junkDone = false;
            for (let k = 0; k < 2 && !junkDone; k++) {
              const j = junkLeft.next();
              if (j.done) junkDone = true;
              else {
                kinds.set(j.value.kind, (kinds.get(j.value.kind) ?? 0) + 1);
                await sendDatagram(foreign[rng.int(foreign.length)]!, j.value.msg, j.value.ip, net.port);
              }
            }
            let p: Buffer;
            try {
              p = await flow.read();
            } catch (e) {
              assert.fail(`answer ${i} did not come: ${errCode(e)}`);
            }
            const exp = pattern(replySeed(seed), i);
            assert.ok(p.equals(exp), `answer ${i} is ${describePacket(p)}, expected ${describePacket(exp)}`);
            streamed++;
            if (junkDone && ++extra >= 200) return;
          }
        })();
        await within(stream, 45000, 'the data stream with junk');
        server.assertNoBadPackets();
        assert.ok(streamed >= 1700, `${streamed} packets streamed`);
        assert.ok(kinds.size >= 12, `every kind of junk was sent: ${[...kinds.keys()].join(', ')}`);

        // Everybody is still there.
        for (const [n, sys, pid] of [['a', a, aPid], ['b', b, bPid]] as const) {
          assert.ok(sys.irmd.running, `irmd of ${n} is running`);
          assert.ok(alive(pid), `the udp IPCP of ${n} (${pid}) is alive`);
          assert.equal(await ipcpPid(sys), pid, `irm ipcp list on ${n} still shows its udp IPCP`);
        }
        // The old flow still works, and so does a new one.
        await echoStream(flow, 50, seed, 8, 5000, streamed).catch((e: Error) => assert.fail(`the old flow after the junk: ${e.message}`));
        const next = await world().service();
        const { flow: flow2 } = await allocThroughLayer({ client: a, server: b }, proc, next.server, next.name, 'echo');
        try {
          await echoStream(flow2, 100, 0xb0b, 8, 5000);
        } finally {
          await flow2.dealloc();
        }
      } finally {
        for (const s of foreign) s.close();
        await flow.dealloc();
      }
    });
  });
});

describe('udp4: 50 flows carrying data at once', () => {
  const world = twoSystems();

  test('50 flows, 1,000 packets of 8..1400 B each way on each, all at once: intact and in order', () => {
    const { net, a, b, proc } = world();
    return withLogs({ a, b }, async () => {
      const N = 50;
      const PACKETS = 1000;
      // Unanswered packets per flow. A UDP layer has no flow control between
      // the systems (a flow's window only reaches the local IPCP, which sends
      // at once), so the senders are paced end to end. With 128 per flow
      // (6,400 in flight) b's socket buffer overflows on this loopback.
      const WINDOW = 8;
      const { name, server } = await world().service();
      const bIp = net.addrs.get('b')!;
      const aIp = net.addrs.get('a')!;
      const dropsBefore = { a: socketDrops(aIp, net.port) ?? 0, b: socketDrops(bIp, net.port) ?? 0 };
      const bLogFrom = b.log.length;
      const aLogFrom = a.log.length;
      // Allocated one after the other (concurrent allocation is the next test).
      const flows: Flow[] = [];
      try {
        for (let i = 0; i < N; i++) {
          const tag = server.accept('echo');
          flows.push(await proc.flowAlloc(name, { timeout: 10000 }));
          await server.accepted(tag);
        }
        assert.equal(new Set(flows.map((f) => f.id)).size, N, 'distinct flow ids');
        const t0 = Date.now();
        const results = await Promise.allSettled(flows.map((f, i) => echoStream(f, PACKETS, 0x100000 + i, WINDOW, 10000)));
        const took = Date.now() - t0;
        const failed = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
        const drops = { a: (socketDrops(aIp, net.port) ?? 0) - dropsBefore.a, b: (socketDrops(bIp, net.port) ?? 0) - dropsBefore.b };
        const windowDrops = [...a.log.slice(aLogFrom).matchAll(/window is full[^\n]*/g), ...b.log.slice(bLogFrom).matchAll(/window is full[^\n]*/g)].map((m) => m[0]);
        assert.deepEqual(
          failed,
          [],
          `${failed.length} of ${N} flows failed in ${took} ms; UDP socket receive-buffer drops: a ${drops.a}, b ${drops.b}; ` +
            `window drops in the IPCPs: ${windowDrops.length ? windowDrops.join('; ') : 'none logged'}`,
        );
        server.assertNoBadPackets();
        assert.deepEqual(drops, { a: 0, b: 0 }, 'no datagram was dropped by a full socket buffer');
        assert.deepEqual(windowDrops, [], 'no packet was dropped by a full window');
      } finally {
        await Promise.all(flows.map((f) => f.dealloc().catch(() => {})));
      }
    });
  });
});

describe('udp4: 50 concurrent allocations', () => {
  const world = twoSystems();

  test('50 allocations at once to one server (accepting 50): all succeed, each its own flow end to end', () => {
    const { a, b, proc } = world();
    return withLogs({ a, b }, async () => {
      const N = 50;
      const { name, server } = await world().service();
      const tags = Array.from({ length: N }, () => server.accept('echo'));
      const results = await Promise.allSettled(Array.from({ length: N }, () => proc.flowAlloc(name, { timeout: 10000 })));
      const flows = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      try {
        const errors = results.flatMap((r) => (r.status === 'rejected' ? [errCode(r.reason)] : []));
        const accepted = (server.output.match(/^accepted /gm) ?? []).length;
        assert.deepEqual(errors, [], `${errors.length} of ${N} allocations failed; the server accepted ${accepted} flows; b's irmd saw ${(b.log.match(/Flow request arrived/g) ?? []).length} requests`);
        await Promise.all(tags.map((t) => server.accepted(t, 5000)));
        // Each flow is a stream of its own at the server (it checks the
        // stream of each flow): two flows wired to one would show.
        await Promise.all(flows.map((f, i) => echoStream(f, 5, 0x200000 + i, 5, 5000)));
        server.assertNoBadPackets();
      } finally {
        await Promise.all(flows.map((f) => f.dealloc().catch(() => {})));
      }
    });
  });
});

// ---------------------------------------------------------------------------
// The remote system killed
// ---------------------------------------------------------------------------

describe('udp4: the remote system killed with SIGKILL mid-flow', () => {
  let net: TestNetwork;
  let proc: Process | undefined;

  before(async () => {
    net = await TestNetwork.udp4(['a', 'b']);
  });
  after(async () => {
    await proc?.close().catch(() => {});
    await net?.stop();
  });

  test('irmd, IPCP and server of the remote system killed: the flow times out its peer (EFLOWPEER, PEER event) within the QoS timeout', () =>
    withLogs({ a: net.sys('a'), b: net.sys('b') }, async () => {
      const a = net.sys('a');
      const b = net.sys('b');
      const name = 'udp.victim';
      await net.register('b', name);
      const server = await FlowServer.start(b);
      await server.bind(name);
      const bIpcp = await ipcpPid(b);
      const aIpcp = await ipcpPid(a);
      proc = await a.connect('udp-kill-client');
      const q: QosSpec = { ...QOS.raw, timeout: SHORT_TIMEOUT_MS };
      const { flow } = await allocThroughLayer({ client: a, server: b }, proc, server, name, 'echo', { qos: q });
      const set = proc.createFlowSet();
      set.add(flow);

      let rounds = 0;
      let killedAt = 0;
      const victims = [b.irmd.pid, bIpcp, server.pid];
      const streaming = (async (): Promise<string> => {
        try {
          for (let i = 0; ; i++) {
            await flow.write(pattern(0xdead, i));
            const p = await flow.read();
            assert.ok(p.equals(pattern(replySeed(0xdead), i)), `answer ${i} is ${describePacket(p)}`);
            if (++rounds === 200) {
              for (const pid of victims) process.kill(pid, 'SIGKILL');
              killedAt = Date.now();
            }
          }
        } catch (e) {
          if (e instanceof assert.AssertionError) throw e;
          return errCode(e);
        }
      })();
      // PEER events, collected as they come.
      const events: number[] = [];
      let peerAt = 0;
      const watching = (async () => {
        while (!peerAt) {
          for (const ev of await set.wait()) {
            events.push(ev.type);
            if (ev.type === FlowEvent.PEER && !peerAt) peerAt = Date.now();
          }
        }
      })();
      const code = await within(streaming, 20000 + peerDeadline(q.timeout), 'the client noticing the remote system died');
      assert.ok(killedAt > 0, `the flow failed (${code}) after ${rounds} rounds, before the remote system was killed`);
      const noticed = Date.now() - killedAt;
      for (const pid of victims) assert.equal(alive(pid), false, `process ${pid} of b is dead`);
      assert.equal(code, 'EFLOWPEER', `the read failed with ${code}`);
      assert.ok(noticed >= q.timeout - 100, `noticed after ${noticed} ms: before the peer timeout of ${q.timeout} ms can have passed`);
      assert.ok(noticed <= peerDeadline(q.timeout), `noticed after ${noticed} ms; QoS timeout ${q.timeout} ms`);
      await within(watching, 2000, 'the PEER event');
      assert.ok(peerAt - killedAt <= peerDeadline(q.timeout), `PEER event ${peerAt - killedAt} ms after the kill`);
      await assert.rejects(flow.read(), { code: 'EFLOWPEER' });
      set.destroy();
      await flow.dealloc();

      // The client's own system is unharmed.
      assert.ok(a.irmd.running, "a's irmd is running");
      assert.ok(alive(aIpcp), "a's udp IPCP is alive");
      assert.equal(await ipcpPid(a), aIpcp);
    }));
});
