/**
 * Robustness with real daemons: processes killed with SIGKILL in the middle
 * of a flow, junk on every socket, clients that vanish while irmd works for
 * them. Every daemon must stay up and keep serving.
 *
 * The fuzzing is seeded (O7S_FUZZ_SEED, default below) so failures reproduce.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { TestSystem, ROOT, until, type Child } from '../helpers/system.js';
import { irm_msgSchema, irm_msg_code, type irm_msg } from '../../src/proto/gen/irm_pb.js';
import { ipcp_msgSchema, ipcp_msg_code } from '../../src/proto/gen/ipcp_pb.js';
import { flow_info_msgSchema } from '../../src/proto/gen/model_pb.js';
import { CtrlClient } from '../../src/common/ctrl/channel.js';
import { FrameDecoder, MAX_CTRL_FRAME, encodeFrame } from '../../src/common/ctrl/frame.js';
import { DATA_HEADER, DataType, MAX_SDU, writeHeader } from '../../src/lib/data/frame.js';
import { paths } from '../../src/common/rundir.js';
import { OuroborosError } from '../../src/common/errors.js';
import { HashAlgo, hashName } from '../../src/common/hash.js';
import { ipcpConfigToMsg, qosToMsg } from '../../src/common/convert.js';
import { IpcpType } from '../../src/common/ipcp-types.js';
import { IrmClient } from '../../src/lib/irm-client.js';
import { qos } from '../../src/lib/qos.js';
import type { Flow, Process } from '../../src/lib/api.js';
import type { FlowImpl } from '../../src/lib/flow.js';
import { Rng } from '../helpers/rng.js';

const ME = process.pid;
/** How long a peer may take to notice a flow went down. */
const DOWN_DEADLINE_MS = 5000;

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Rejects when `p` does not settle within `ms` (a bound, not a sleep). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing happened within ${ms} ms`)), ms);
    }),
  ]);
}

function errCode(e: unknown): string {
  if (e instanceof OuroborosError) return e.code;
  return (e as { code?: string }).code ?? String(e);
}

/** A flow server run as a child process: one `accept` line on stdin = one flowAccept, then echo. */
const SERVER_SCRIPT = (lib: string): string => `
import { connect } from ${JSON.stringify(lib)};
import { createInterface } from 'node:readline';
const say = (s) => process.stdout.write(s + '\\n');
const proc = await connect({ prog: 'rserver' });
say('ready ' + process.pid);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'accept') return;
  proc.flowAccept().then(async (flow) => {
    say('accepted ' + flow.id);
    try {
      for (;;) {
        const p = await flow.read();
        await flow.write(p);
      }
    } catch (e) {
      say('flow ' + flow.id + ' error ' + (e.code ?? e.message));
    }
  }, (e) => say('accept error ' + (e.code ?? e.message)));
});
`;

/** A one-shot client run as a child process: allocates a flow to argv[2], echoes one packet, deallocates. */
const CLIENT_SCRIPT = (lib: string): string => `
import { connect } from ${JSON.stringify(lib)};
const say = (s) => process.stdout.write(s + '\\n');
const proc = await connect({ prog: 'rclient' });
try {
  const flow = await proc.flowAlloc(process.argv[2], { timeout: 5000 });
  say('allocated ' + flow.id);
  await flow.write(Buffer.from('ping'));
  const back = await flow.read();
  say('echo ' + back.toString());
  await flow.dealloc();
} catch (e) {
  say('client error ' + (e.code ?? e.message));
}
await proc.close();
`;

function startClient(sys: TestSystem, name: string): Child {
  const script = join(sys.rundir, 'rclient.mjs');
  writeFileSync(script, CLIENT_SCRIPT(pathToFileURL(join(ROOT, 'dist/src/lib/index.js')).href));
  return sys.spawn(script, [name]);
}

class Server {
  private constructor(readonly child: Child) {}

  static async start(sys: TestSystem): Promise<Server> {
    const script = join(sys.rundir, 'rserver.mjs');
    writeFileSync(script, SERVER_SCRIPT(pathToFileURL(join(ROOT, 'dist/src/lib/index.js')).href));
    const child = sys.spawn(script);
    await child.waitFor(/^ready \d+$/m);
    return new Server(child);
  }

  get pid(): number {
    return this.child.pid;
  }

  get mark(): number {
    return this.child.out.length + this.child.err.length;
  }

  /** Asks for one flowAccept; resolves with the accepted flow id. */
  accept(): Promise<number> {
    const from = this.mark;
    this.child.proc.stdin!.write('accept\n');
    return this.child.waitFor(/accepted (\d+)/, 15000, from).then((m) => Number(m[1]));
  }

  accepted(): number[] {
    return [...this.child.out.matchAll(/accepted (\d+)/g)].map((m) => Number(m[1]));
  }
}

const payloadOf = (i: number): Buffer => {
  const b = Buffer.alloc(64 + (i % 200), i & 0xff);
  b.writeUInt32BE(i, 0);
  return b;
};

async function echo(flow: Flow, n = 20): Promise<void> {
  for (let i = 0; i < n; i++) {
    await flow.write(payloadOf(i));
    const back = await within(flow.read(), 5000, `echo ${i} on flow ${flow.id}`);
    assert.deepEqual(back, payloadOf(i), `echo ${i} on flow ${flow.id}`);
  }
}

/** Streams packets (write, read the echo) until the flow fails; resolves with the error code. */
function streamUntilDown(flow: Flow, progress: { rounds: number }): Promise<string> {
  return (async () => {
    try {
      for (let i = 0; ; i++) {
        await flow.write(payloadOf(i));
        const back = await flow.read();
        assert.deepEqual(back, payloadOf(i), `packet ${i} came back changed`);
        progress.rounds++;
      }
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      return errCode(e);
    }
  })();
}

const peerOf = (flow: Flow): number => (flow as unknown as FlowImpl).ep.peerPid;

/**
 * Allocates `name` through a layer: the allocation is sent first, and the
 * server starts accepting only once irmd has looked for (and not found) a
 * direct accepter, so the flow must go through the IPCP.
 */
async function allocViaIpcp(sys: TestSystem, proc: Process, server: Server, name: string): Promise<{ flow: Flow; serverId: number }> {
  const from = sys.log.length;
  const alloc = proc.flowAlloc(name, { timeout: 15000 });
  alloc.catch(() => {});
  await sys.irmd.waitFor(new RegExp(`Allocating flow for ${proc.pid} to ${esc(name)} `), 15000, from);
  const serverId = await server.accept();
  const flow = await alloc;
  return { flow, serverId };
}

/** Allocates `name` (bound to the server, in no layer): a direct flow. */
async function allocDirect(proc: Process, server: Server, name: string): Promise<{ flow: Flow; serverId: number }> {
  const accepted = server.accept();
  const flow = await proc.flowAlloc(name, { timeout: 15000 });
  return { flow, serverId: await accepted };
}

async function irmdAnswers(sys: TestSystem, ipcpName?: string, ipcpPid?: number): Promise<void> {
  assert.ok(sys.irmd.running, 'irmd is running');
  const r = await sys.irm(['ipcp', 'list']);
  assert.equal(r.code, 0);
  if (ipcpName) assert.match(r.stdout, new RegExp(`\\|\\s+${ipcpPid ?? '\\d+'} \\|\\s+${esc(ipcpName)} \\|\\s+local \\|`));
}

interface World {
  sys: TestSystem;
  irmc: IrmClient;
  proc: Process | undefined;
}

/** Runs `body` against a fresh system, and tears everything down whatever happens. */
async function withSystem(body: (w: World) => Promise<void>): Promise<void> {
  const sys = await TestSystem.start();
  const w: World = { sys, irmc: await IrmClient.connect(sys.rundir), proc: undefined };
  try {
    await body(w);
  } catch (e) {
    // Attach irmd's log: most failures here are about what irmd did.
    (e as Error).message += `\n--- irmd log ---\n${sys.log.slice(-6000)}`;
    throw e;
  } finally {
    await w.proc?.close().catch(() => {});
    w.irmc.close();
    await sys.stop();
  }
}

// ---------------------------------------------------------------------------
// 1. kill -9 of a server process in the middle of a flow
// ---------------------------------------------------------------------------

describe('a server killed with SIGKILL mid-flow', () => {
  for (const path of ['direct', 'through the local IPCP'] as const) {
    test(`${path}: the client sees EFLOWDOWN, irmd stays up, the flow ids are freed`, async () => {
      await withSystem(async (w) => {
        const { sys, irmc } = w;
        const ipcpPid = await sys.localLayer('lo', 'lo');
        const name = 'victim';
        await irmc.createName({ name, lb: 0 });
        if (path !== 'direct') await irmc.regName(name, ipcpPid);
        w.proc = await sys.connect('rclient');
        const proc = w.proc;

        const start = async (): Promise<{ server: Server; flow: Flow; ids: number[] }> => {
          const server = await Server.start(sys);
          await irmc.bindProcess(server.pid, name);
          const { flow, serverId } = path === 'direct' ? await allocDirect(proc, server, name) : await allocViaIpcp(sys, proc, server, name);
          assert.equal(peerOf(flow), path === 'direct' ? server.pid : ipcpPid, 'the flow took the intended path');
          if (path === 'direct') assert.equal(flow.id, serverId, 'both ends of a direct flow share the id');
          else assert.notEqual(flow.id, serverId);
          return { server, flow, ids: [...new Set([flow.id, serverId])].sort((a, b) => a - b) };
        };

        const first = await start();
        await echo(first.flow);

        const progress = { rounds: 0 };
        const streaming = streamUntilDown(first.flow, progress);
        await until(() => progress.rounds >= 200, 15000, '200 packets streamed');
        first.server.child.proc.kill('SIGKILL');
        const killedAt = Date.now();
        const code = await within(streaming, DOWN_DEADLINE_MS, 'the client noticing the flow went down');
        assert.equal(code, 'EFLOWDOWN');
        assert.ok(Date.now() - killedAt < DOWN_DEADLINE_MS);
        await assert.rejects(first.flow.write(payloadOf(0)), { code: 'EFLOWDOWN' });
        await assert.rejects(first.flow.read(), { code: 'EFLOWDOWN' });

        await sys.irmd.waitFor(new RegExp(`Process removed: ${first.server.pid}\\.`));
        await irmdAnswers(sys, 'lo', ipcpPid);

        const logFrom = sys.log.length;
        await first.flow.dealloc();
        if (path !== 'direct') {
          // Both halves of the flow are released by the IPCP.
          for (const id of first.ids) await sys.irmd.waitFor(new RegExp(`Completed deallocation of flow_id ${id} by process ${ipcpPid}\\.`));
        } else {
          await sys.irmd.waitFor(new RegExp(`Deallocating flow ${first.flow.id} for process ${ME} `), 15000, logFrom);
        }

        // The ids of the killed flow are gone from irmd's flow table, and a new flow works.
        const table = (await irmc.listFlows()).map((f) => f.id);
        for (const id of first.ids) assert.ok(!table.includes(id), `flow id ${id} freed (table: ${table.join(', ')})`);
        const second = await start();
        await echo(second.flow);
        await second.flow.dealloc();
        assert.ok(sys.irmd.running);
      });
    });
  }
});

// ---------------------------------------------------------------------------
// 2. kill -9 of ipcpd-local
// ---------------------------------------------------------------------------

test('ipcpd-local killed with SIGKILL: irmd logs it, its flows go down, a new local IPCP takes over', async () => {
  await withSystem(async (w) => {
    const { sys, irmc } = w;
    const ipcpPid = await sys.localLayer('lo', 'lo');
    await irmc.createName({ name: 'svc', lb: 0 });
    await irmc.regName('svc', ipcpPid);
    const server = await Server.start(sys);
    await irmc.bindProcess(server.pid, 'svc');
    w.proc = await sys.connect('rclient');
    const proc = w.proc;

    const first = await allocViaIpcp(sys, proc, server, 'svc');
    assert.equal(peerOf(first.flow), ipcpPid);
    await echo(first.flow);

    const progress = { rounds: 0 };
    const streaming = streamUntilDown(first.flow, progress);
    await until(() => progress.rounds >= 200, 15000, '200 packets streamed');
    const srvFrom = server.mark;
    process.kill(ipcpPid, 'SIGKILL');
    assert.equal(await within(streaming, DOWN_DEADLINE_MS, 'the client noticing the IPCP died'), 'EFLOWDOWN');
    await server.child.waitFor(new RegExp(`flow ${first.serverId} error EFLOWDOWN`), DOWN_DEADLINE_MS, srvFrom);
    await sys.irmd.waitFor(new RegExp(`IPCP ${ipcpPid} killed by SIGKILL\\.`));

    const list = await sys.irm(['ipcp', 'list']);
    assert.doesNotMatch(list.stdout, new RegExp(`\\b${ipcpPid}\\b`), 'the dead IPCP is no longer listed');
    await first.flow.dealloc();

    // The flows of the dead IPCP are gone from irmd's flow table.
    const table = (await irmc.listFlows()).map((f) => f.id);
    for (const id of [first.flow.id, first.serverId]) assert.ok(!table.includes(id), `the dead IPCP's flow ${id} was released (table: ${table.join(', ')})`);

    // Same IPCP name and layer again; names must be registered anew.
    const newPid = await sys.localLayer('lo', 'lo');
    assert.notEqual(newPid, ipcpPid);
    await irmc.regName('svc', newPid);
    const second = await allocViaIpcp(sys, proc, server, 'svc');
    assert.equal(peerOf(second.flow), newPid);
    await echo(second.flow);
    await second.flow.dealloc();
    await irmdAnswers(sys, 'lo', newPid);
  });
});

// ---------------------------------------------------------------------------
// 3. junk on every socket
// ---------------------------------------------------------------------------


const SEED = Number(process.env.O7S_FUZZ_SEED ?? 0x0ec0de);
const OPS_PER_SOCKET = Number(process.env.O7S_FUZZ_OPS ?? 300);
const CONCURRENCY = 8;

interface Exchange {
  replies: { id: number; payload: Uint8Array }[];
  closedByPeer: boolean;
}

/**
 * Connects to `path`, writes `bytes`, waits for `expect` control replies
 * (when > 0) or for the peer to close (when `waitClose`), then closes.
 */
function exchange(path: string, bytes: Buffer, opts: { expect: number; waitClose: boolean; halfClose: boolean; capMs: number }): Promise<Exchange> {
  return new Promise((resolve) => {
    const sock = net.createConnection(path);
    const dec = new FrameDecoder();
    const out: Exchange = { replies: [], closedByPeer: false };
    let done = false;
    let ended = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(out);
    };
    const timer = setTimeout(finish, opts.capMs);
    sock.on('error', () => {});
    sock.on('connect', () => {
      sock.write(bytes);
      if (opts.halfClose) {
        ended = true;
        sock.end();
      }
      if (opts.expect === 0 && !opts.waitClose && !opts.halfClose) finish();
    });
    sock.on('data', (chunk: Buffer) => {
      try {
        for (const f of dec.push(chunk)) out.replies.push(f);
      } catch {
        out.replies.push({ id: -1, payload: new Uint8Array(0) });
      }
      if (opts.expect > 0 && out.replies.length >= opts.expect && !opts.waitClose) finish();
    });
    sock.on('end', () => {
      if (!ended) out.closedByPeer = true;
    });
    sock.on('close', () => {
      if (!ended) out.closedByPeer = true;
      finish();
    });
  });
}

const u32be = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};

/** Pools of nonsense values. Real pids and names of the system are never drawn. */
function pools(rng: Rng) {
  const longName = 'n'.repeat(300);
  return {
    i32: (): number => rng.pick([0, -1, 1, 2147483647, -2147483648, -rng.int(1 << 30), rng.int(1 << 30) + 100000]),
    u32: (): number => rng.pick([0, 1, 0xffffffff, 0x80000000, rng.u32()]),
    pid: (): number => rng.pick([0, -1, 1, -2147483648, 2147483647, 3_999_999 + rng.int(100000)]),
    flowId: (): number => rng.pick([0, -1, 2147483647, -2147483648, 100000 + rng.int(1 << 20)]),
    str: (): string =>
      rng.pick(['', 'x', `fuzz-${rng.u32().toString(36)}`, longName, 'a\u0000b', 'ünï©ødé-🦄', '../../../etc/passwd', 'Not enrolled.', ' ', '%s%n%x']),
    bytes: (): Buffer => rng.bytes(rng.pick([0, 1, 4, 16, 31, 32, 33, 64, 300])),
  };
}

function randomIrmMsg(rng: Rng): irm_msg {
  const P = pools(rng);
  const codes = Object.values(irm_msg_code).filter((v): v is number => typeof v === 'number');
  const code = rng.pick(codes);
  const m = create(irm_msgSchema, { code });
  const qosMsg = () => qosToMsg({ ...qos.raw, delay: P.u32(), loss: P.u32(), timeout: P.u32(), bandwidth: BigInt(P.u32()) });
  const flowInfo = () =>
    create(flow_info_msgSchema, { id: P.u32(), nPid: P.u32() === 0 ? 0 : rng.u32(), n1Pid: rng.u32(), mpl: P.u32(), state: P.u32(), uid: P.u32(), qos: qosMsg() });
  if (rng.bool()) m.prog = P.str();
  if (rng.bool()) m.pid = P.pid();
  if (rng.bool()) m.name = P.str();
  if (rng.bool()) m.flowInfo = flowInfo();
  if (rng.bool(0.3)) {
    // Never a valid local IPCP name with the local type: that would (rightly) spawn an IPCP.
    m.ipcpInfo = { $typeName: 'o7s.model.ipcp_info_msg', type: rng.pick([1, 2, 3, 4, 5, 6, 7, 99, 0xffffffff]), name: P.str(), pid: P.u32(), state: P.u32() };
  }
  if (rng.bool(0.3)) m.nameInfo = { $typeName: 'o7s.model.name_info_msg', name: P.str(), polLb: P.u32(), skey: P.str(), scrt: P.str(), ckey: P.str(), ccrt: P.str(), o7sSenc: P.str(), o7sCenc: P.str() };
  if (rng.bool(0.3)) m.exec = Array.from({ length: rng.int(4) }, () => rng.pick(['', '/nonexistent/prog', P.str(), '/bin/false']));
  if (rng.bool()) m.dst = P.str();
  if (rng.bool(0.3)) m.hash = P.bytes();
  if (rng.bool(0.3)) m.qosspec = qosMsg();
  if (rng.bool(0.2)) {
    m.conf = ipcpConfigToMsg({
      type: rng.pick([0, 1, 5, 6, 99]) as IpcpType,
      layer: { name: P.str(), hashAlgo: rng.pick([0, 1, 4, 5, 77]) as HashAlgo },
      ...(rng.bool() ? { udp4: { ip: '256.1.2.3', port: P.u32(), dns: '' } } : {}),
    });
  }
  if (rng.bool(0.3)) m.opts = P.u32();
  if (rng.bool(0.3)) m.response = P.i32();
  if (rng.bool(0.3)) m.comp = P.str();
  if (rng.bool(0.3)) m.pk = P.bytes();
  if (rng.bool(0.3)) m.result = P.i32();
  if (rng.bool(0.3) || code === irm_msg_code.IRM_FLOW_ACCEPT || code === irm_msg_code.IRM_FLOW_ALLOC) {
    // Blocking requests always get a short timeout so the fuzzer never waits long.
    m.timeo = { $typeName: 'o7s.irm.timespec_msg', tvSec: 0n, tvNsec: rng.int(200) * 1_000_000 };
  }
  return m;
}

function randomIpcpMsg(rng: Rng): Uint8Array {
  const P = pools(rng);
  const codes = Object.values(ipcp_msg_code).filter((v): v is number => typeof v === 'number');
  const m = create(ipcp_msgSchema, { code: rng.pick(codes) });
  if (rng.bool()) m.hash = P.bytes();
  if (rng.bool()) m.flowId = P.flowId();
  if (rng.bool(0.3)) m.dst = P.str();
  if (rng.bool(0.3)) m.qosspec = qosToMsg({ ...qos.raw, delay: P.u32() });
  if (rng.bool(0.3)) m.pk = P.bytes();
  if (rng.bool(0.3)) m.conf = ipcpConfigToMsg({ type: rng.pick([0, 1, 5, 42]) as IpcpType, layer: { name: P.str(), hashAlgo: rng.pick([1, 5, 9]) as HashAlgo } });
  if (rng.bool()) m.pid = P.pid();
  if (rng.bool(0.3)) m.layerInfo = { $typeName: 'o7s.model.layer_info_msg', name: P.str(), dirHashAlgo: P.u32() };
  if (rng.bool(0.3)) m.response = P.i32();
  if (rng.bool(0.3)) m.comp = P.str();
  if (rng.bool(0.3)) m.timeoSec = rng.pick([0, 1]);
  if (rng.bool(0.3)) m.mpl = P.i32();
  if (rng.bool(0.3)) m.result = P.i32();
  if (rng.bool(0.3)) m.uid = P.u32();
  return toBinary(ipcp_msgSchema, m);
}

/** Flips bits, cuts or extends an encoded message. */
function mutate(rng: Rng, b: Uint8Array): Buffer {
  const out = Buffer.from(b);
  switch (rng.int(3)) {
    case 0:
      for (let i = 0, n = rng.range(1, 4); i < n && out.length; i++) out[rng.int(out.length)]! ^= 1 << rng.int(8);
      return out;
    case 1:
      return out.subarray(0, rng.int(out.length + 1));
    default:
      return Buffer.concat([out, rng.bytes(rng.range(1, 20))]);
  }
}

interface Op {
  what: string;
  bytes: Buffer;
  /** Control replies required (by request id). */
  ids: number[];
  /** The peer must drop the connection by itself. */
  mustClose: boolean;
}

/** Operations against a control socket (irm.sock or ipcp.<pid>.sock). */
function ctrlOps(rng: Rng, n: number, kind: 'irm' | 'ipcp', forbidden: { pids: Set<number>; names: Set<string> }): Op[] {
  const ops: Op[] = [];
  let nextId = 1;
  const message = (): Uint8Array => (kind === 'irm' ? toBinary(irm_msgSchema, randomIrmMsg(rng)) : randomIpcpMsg(rng));
  /** Garbage that irmd would decode into something destructive (a valid privileged request on the real system) is skipped. */
  const harmless = (payload: Uint8Array): { ok: boolean; mayBlock: boolean } => {
    if (kind !== 'irm') return { ok: true, mayBlock: false };
    let m: irm_msg;
    try {
      m = fromBinary(irm_msgSchema, payload);
    } catch {
      return { ok: true, mayBlock: false };
    }
    const C = irm_msg_code;
    const realName = [m.name, m.dst, m.prog, m.nameInfo?.name ?? ''].some((s) => forbidden.names.has(s));
    const realPid = forbidden.pids.has(m.pid) || forbidden.pids.has(m.ipcpInfo?.pid ?? -1);
    const spawns = m.code === C.IRM_CREATE_IPCP && m.ipcpInfo?.type === IpcpType.LOCAL && m.ipcpInfo.name.length > 0 && Buffer.byteLength(m.ipcpInfo.name) <= 255;
    const mayBlock = (m.code === C.IRM_FLOW_ACCEPT || m.code === C.IRM_FLOW_ALLOC) && !m.timeo;
    return { ok: !realName && !realPid && !spawns, mayBlock };
  };
  while (ops.length < n) {
    const r = rng.int(100);
    if (r < 10) {
      ops.push({ what: 'random bytes', bytes: rng.bytes(rng.range(1, 300)), ids: [], mustClose: false });
    } else if (r < 18) {
      const payload = message();
      const full = encodeFrame(nextId++, payload);
      ops.push({ what: 'truncated frame', bytes: full.subarray(0, rng.int(full.length)), ids: [], mustClose: false });
    } else if (r < 26) {
      const len = rng.pick([MAX_CTRL_FRAME + 1, 0xffffffff, 0x7fffffff, MAX_CTRL_FRAME + 1 + rng.int(1 << 30)]);
      ops.push({ what: `huge length ${len}`, bytes: Buffer.concat([u32be(len), u32be(nextId++), rng.bytes(rng.int(64))]), ids: [], mustClose: true });
    } else if (r < 30) {
      const len = rng.int(4);
      ops.push({ what: `undersized length ${len}`, bytes: Buffer.concat([u32be(len), rng.bytes(8 + rng.int(16))]), ids: [], mustClose: true });
    } else if (r < 45) {
      const payload = rng.bytes(rng.pick([0, 1, 2, 5, 17, 100, 1000]));
      const h = harmless(payload);
      if (!h.ok) continue;
      const id = nextId++;
      ops.push({ what: `garbage protobuf ${payload.toString('hex').slice(0, 40)}`, bytes: encodeFrame(id, payload), ids: h.mayBlock ? [] : [id], mustClose: false });
    } else if (r < 75) {
      const payload = message();
      const h = harmless(payload);
      if (!h.ok) continue;
      const id = nextId++;
      ops.push({ what: `message ${Buffer.from(payload).toString('hex').slice(0, 60)}`, bytes: encodeFrame(id, payload), ids: h.mayBlock ? [] : [id], mustClose: false });
    } else if (r < 90) {
      const payload = mutate(rng, message());
      const h = harmless(payload);
      if (!h.ok) continue;
      const id = nextId++;
      ops.push({ what: `mutated message ${payload.toString('hex').slice(0, 60)}`, bytes: encodeFrame(id, payload), ids: h.mayBlock ? [] : [id], mustClose: false });
    } else {
      // Many frames in one write.
      const frames: Buffer[] = [];
      const ids: number[] = [];
      for (let i = 0, k = rng.range(2, 12); i < k; i++) {
        const payload = message();
        if (!harmless(payload).ok || harmless(payload).mayBlock) continue;
        const id = nextId++;
        ids.push(id);
        frames.push(encodeFrame(id, payload));
      }
      ops.push({ what: `${frames.length} frames in one write`, bytes: Buffer.concat(frames), ids, mustClose: false });
    }
  }
  return ops;
}

/** Operations against a data socket (proc.<pid>.sock). Flow ids stay clear of the ones real flows get. */
function dataOps(rng: Rng, n: number, realPids: number[]): Op[] {
  const ops: Op[] = [];
  const frame = (type: number, flowId: number, payload: Buffer): Buffer => {
    const b = Buffer.alloc(DATA_HEADER + payload.length);
    writeHeader(b, 0, type as DataType, flowId, payload.length);
    payload.copy(b, DATA_HEADER);
    return b;
  };
  const flowId = (): number => rng.pick([0, 0xffffffff, 0x80000000, 50000 + rng.int(1 << 24)]);
  const types = Object.values(DataType) as number[];
  const maxType = Math.max(...types);
  while (ops.length < n) {
    const r = rng.int(100);
    if (r < 15) {
      ops.push({ what: 'random bytes', bytes: rng.bytes(rng.range(1, 400)), ids: [], mustClose: false });
    } else if (r < 25) {
      const f = frame(DataType.DATA, flowId(), rng.bytes(rng.range(1, 600)));
      ops.push({ what: 'truncated frame', bytes: f.subarray(0, rng.int(f.length)), ids: [], mustClose: false });
    } else if (r < 35) {
      const h = Buffer.alloc(DATA_HEADER);
      const len = rng.pick([MAX_SDU + 1, 0xffffffff, 0x7fffffff, MAX_SDU + 1 + rng.int(1 << 28)]);
      writeHeader(h, 0, rng.pick(types) as DataType, flowId(), len);
      ops.push({ what: `huge length ${len}`, bytes: Buffer.concat([h, rng.bytes(rng.int(100))]), ids: [], mustClose: true });
    } else if (r < 45) {
      const type = rng.pick([0, maxType + 1, 0x7f, 0xff, maxType + 1 + rng.int(0xff - maxType)]);
      ops.push({ what: `unknown type ${type}`, bytes: frame(type, flowId(), rng.bytes(rng.int(32))), ids: [], mustClose: true });
    } else {
      // Well-formed frames with nonsense contents.
      const parts: Buffer[] = [];
      for (let i = 0, k = rng.range(1, 30); i < k; i++) {
        const t = rng.pick(types);
        if (t === DataType.HELLO) {
          parts.push(frame(t, flowId(), rng.bool() ? u32be(rng.pick([...realPids, 0, 1, rng.u32()])) : rng.bytes(rng.int(9))));
        } else if (t === DataType.DATA) {
          parts.push(frame(t, flowId(), rng.bytes(rng.pick([0, 1, 64, 512]))));
        } else {
          parts.push(frame(t, flowId(), rng.bool(0.7) ? u32be(rng.u32()) : rng.bytes(rng.int(9))));
        }
      }
      ops.push({ what: `${parts.length} well-formed frames`, bytes: Buffer.concat(parts), ids: [], mustClose: false });
    }
  }
  return ops;
}

async function runPool<T>(items: T[], n: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

/** A valid request on a fresh connection, answered properly. */
async function ctrlCall(path: string, payload: Uint8Array): Promise<Uint8Array> {
  const c = await CtrlClient.connect(path, path, 'EIRMD');
  try {
    return await c.request(payload, 5000);
  } finally {
    c.close();
  }
}

describe('junk on the sockets', () => {
  test(`irm.sock, ipcp.<pid>.sock and proc.<pid>.sock survive ${OPS_PER_SOCKET} junk exchanges each (seed ${SEED})`, async (t) => {
    await withSystem(async (w) => {
      const { sys, irmc } = w;
      const ipcpPid = await sys.localLayer('lo', 'lo');
      await irmc.createName({ name: 'fz', lb: 0 });
      await irmc.createName({ name: 'fzd', lb: 0 });
      await irmc.regName('fz', ipcpPid);
      const server = await Server.start(sys);
      await irmc.bindProcess(server.pid, 'fz');
      await irmc.bindProcess(server.pid, 'fzd');

      const forbidden = { pids: new Set([ME, ipcpPid, server.pid, sys.irmd.pid]), names: new Set(['fz', 'fzd', 'lo']) };
      const rng = new Rng(SEED);
      const targets: { label: string; path: string; ops: Op[]; schema: 'irm' | 'ipcp' | 'data' }[] = [
        { label: 'irm.sock', path: paths.irm(sys.rundir), ops: ctrlOps(rng, OPS_PER_SOCKET, 'irm', forbidden), schema: 'irm' },
        { label: `ipcp.${ipcpPid}.sock`, path: paths.ipcp(sys.rundir, ipcpPid), ops: ctrlOps(rng, OPS_PER_SOCKET, 'ipcp', forbidden), schema: 'ipcp' },
        { label: `proc.${server.pid}.sock (a program)`, path: paths.data(sys.rundir, server.pid), ops: dataOps(rng, OPS_PER_SOCKET, [ME, server.pid, ipcpPid]), schema: 'data' },
        { label: `proc.${ipcpPid}.sock (the IPCP)`, path: paths.data(sys.rundir, ipcpPid), ops: dataOps(rng, OPS_PER_SOCKET, [ME, server.pid, ipcpPid]), schema: 'data' },
      ];

      const hashFz = hashName(HashAlgo.SHA3_256, 'fz');
      const healthy = async (after: string): Promise<void> => {
        const ctx = `after ${after} (seed ${SEED})`;
        assert.ok(sys.irmd.running, `irmd died ${ctx}`);
        assert.ok(server.child.running, `the flow server died ${ctx}`);
        assert.doesNotThrow(() => process.kill(ipcpPid, 0), `ipcpd-local died ${ctx}`);
        const list = fromBinary(irm_msgSchema, await ctrlCall(paths.irm(sys.rundir), toBinary(irm_msgSchema, create(irm_msgSchema, { code: irm_msg_code.IRM_LIST_IPCPS }))));
        assert.equal(list.result, 0, `irmd refused to list IPCPs ${ctx}`);
        assert.deepEqual(list.ipcps.map((i) => [i.pid, i.name, i.layer]), [[ipcpPid, 'lo', 'lo']], `irmd's IPCPs changed ${ctx}`);
        const q = fromBinary(
          ipcp_msgSchema,
          await ctrlCall(paths.ipcp(sys.rundir, ipcpPid), toBinary(ipcp_msgSchema, create(ipcp_msgSchema, { code: ipcp_msg_code.IPCP_QUERY, hash: hashFz }))),
        );
        assert.equal(q.code, ipcp_msg_code.IPCP_REPLY);
        assert.equal(q.result, 0, `the IPCP no longer knows fz ${ctx}`);
      };

      const deadline = Date.now() + 40000;
      for (const target of targets) {
        const stats = { replies: 0, closedByPeer: 0 };
        await runPool(target.ops, CONCURRENCY, async (op, i) => {
          assert.ok(Date.now() < deadline, `fuzzing took too long (seed ${SEED})`);
          const where = `${target.label} op ${i} (${op.what}; seed ${SEED})`;
          const r = await exchange(target.path, op.bytes, {
            expect: op.ids.length,
            waitClose: op.mustClose,
            halfClose: op.ids.length === 0 && !op.mustClose,
            capMs: 5000,
          });
          if (r.closedByPeer) stats.closedByPeer++;
          if (op.mustClose) assert.ok(r.closedByPeer, `${where}: the daemon kept a connection with a bad length open`);
          const got = new Map(r.replies.map((x) => [x.id, x.payload]));
          for (const id of op.ids) {
            const p = got.get(id);
            assert.ok(p, `${where}: no reply to request ${id} (got ${r.replies.length} replies, closed: ${r.closedByPeer})`);
            stats.replies++;
            if (target.schema === 'irm') {
              const m = fromBinary(irm_msgSchema, p);
              assert.equal(m.code, irm_msg_code.IRM_REPLY, `${where}: reply code`);
              assert.ok(m.result <= 0, `${where}: result ${m.result}`);
            } else {
              const m = fromBinary(ipcp_msgSchema, p);
              assert.equal(m.code, ipcp_msg_code.IPCP_REPLY, `${where}: reply code`);
              assert.ok(m.result <= 0, `${where}: result ${m.result}`);
            }
          }
          if ((i + 1) % 50 === 0) await healthy(`${i + 1} ops on ${target.label}`);
        });
        await healthy(`all ops on ${target.label}`);
        t.diagnostic(`${target.label}: ${target.ops.length} ops, ${stats.replies} replies checked, ${stats.closedByPeer} connections dropped by the daemon`);
      }

      // The real tools and real flows still work: irm, a flow through the IPCP, a direct flow.
      await irmdAnswers(sys, 'lo', ipcpPid);
      w.proc = await sys.connect('rclient');
      const viaIpcp = await allocViaIpcp(sys, w.proc, server, 'fz');
      assert.equal(peerOf(viaIpcp.flow), ipcpPid);
      await echo(viaIpcp.flow);
      const direct = await allocDirect(w.proc, server, 'fzd');
      assert.equal(peerOf(direct.flow), server.pid);
      await echo(direct.flow);
      await viaIpcp.flow.dealloc();
      await direct.flow.dealloc();

      assert.doesNotMatch(sys.log, /internal error/, 'a daemon hit an internal error');
      const internal = sys.log.split('\n').filter((l) => /\(EE\): Request \d+ failed:/.test(l));
      if (internal.length) t.diagnostic(`requests that failed with a non-Ouroboros error:\n${[...new Set(internal)].slice(0, 20).join('\n')}`);
    });
  });

  test('requests with missing or nonsense fields get error replies, not silence or a crash', async () => {
    await withSystem(async (w) => {
      const { sys } = w;
      const ipcpPid = await sys.localLayer('lo', 'lo');
      const irm = async (init: Parameters<typeof create<typeof irm_msgSchema>>[1]): Promise<irm_msg> =>
        fromBinary(irm_msgSchema, await ctrlCall(paths.irm(sys.rundir), toBinary(irm_msgSchema, create(irm_msgSchema, init))));
      const ipcp = async (init: Parameters<typeof create<typeof ipcp_msgSchema>>[1]) =>
        fromBinary(ipcp_msgSchema, await ctrlCall(paths.ipcp(sys.rundir, ipcpPid), toBinary(ipcp_msgSchema, create(ipcp_msgSchema, init))));
      const C = irm_msg_code;
      const long = 'x'.repeat(300);

      const irmCases: [string, Parameters<typeof irm>[0], number | undefined][] = [
        ['IRM_FLOW_ALLOC without flow_info', { code: C.IRM_FLOW_ALLOC, dst: 'oping' }, -22],
        ['IRM_FLOW_ACCEPT without flow_info', { code: C.IRM_FLOW_ACCEPT }, -22],
        ['IRM_FLOW_DEALLOC without flow_info', { code: C.IRM_FLOW_DEALLOC }, -22],
        ['IRM_PROC_ANNOUNCE with pid 0', { code: C.IRM_PROC_ANNOUNCE, pid: 0, prog: 'x' }, -22],
        ['IRM_DESTROY_IPCP with pid -1', { code: C.IRM_DESTROY_IPCP, pid: -1 }, -22],
        ['IRM_BOOTSTRAP_IPCP without conf', { code: C.IRM_BOOTSTRAP_IPCP, pid: ipcpPid }, -22],
        ['IRM_CREATE_NAME with a 300-byte name', { code: C.IRM_CREATE_NAME, nameInfo: { name: long, polLb: 0, skey: '', scrt: '', ckey: '', ccrt: '' } }, -22],
        ['IRM_CREATE_NAME with load balancing 7', { code: C.IRM_CREATE_NAME, nameInfo: { name: 'n7', polLb: 7, skey: '', scrt: '', ckey: '', ccrt: '' } }, -22],
        ['IRM_CREATE_IPCP (local) with a 300-byte name', { code: C.IRM_CREATE_IPCP, ipcpInfo: { type: 0, name: long, pid: 0, state: 0 } }, -22],
        ['IRM_CREATE_IPCP with type 99', { code: C.IRM_CREATE_IPCP, ipcpInfo: { type: 99, name: 'x', pid: 0, state: 0 } }, -1001],
        ['IRM_REG_NAME of a name that does not exist', { code: C.IRM_REG_NAME, name: 'nope', pid: ipcpPid }, -1007],
        ['IRM_REG_NAME with a 300-byte name', { code: C.IRM_REG_NAME, name: long, pid: ipcpPid }, -22],
        ['IRM_BIND_PROCESS of pid 2147483647', { code: C.IRM_BIND_PROCESS, pid: 2147483647, name: 'x' }, undefined],
        ['IRM_FLOW_DEALLOC of flow 5000', { code: C.IRM_FLOW_DEALLOC, flowInfo: { id: 5000, nPid: ME, n1Pid: 0, mpl: 0, state: 0, uid: 0, qos: qosToMsg(qos.raw) } }, -1000],
        ['IPCP_FLOW_REQ_ARR from a process that is no IPCP', { code: C.IPCP_FLOW_REQ_ARR, flowInfo: { id: 0, nPid: 0, n1Pid: ipcpPid, mpl: 0, state: 0, uid: 0, qos: qosToMsg(qos.raw) }, hash: new Uint8Array(32) }, -1003],
        ['IPCP_FLOW_ALLOC_REPLY for no flow', { code: C.IPCP_FLOW_ALLOC_REPLY, flowInfo: { id: 77, nPid: 0, n1Pid: 0, mpl: 0, state: 0, uid: 0, qos: qosToMsg(qos.raw) }, response: 0 }, undefined],
        ['IPCP_CREATE_R for an IPCP that is not booting', { code: C.IPCP_CREATE_R, ipcpInfo: { type: 0, name: 'x', pid: 123456, state: 2 } }, undefined],
        ['IRM_FLOW_JOIN', { code: C.IRM_FLOW_JOIN }, undefined],
      ];
      for (const [what, init, want] of irmCases) {
        const r = await irm(init);
        assert.equal(r.code, C.IRM_REPLY, what);
        if (want === undefined) assert.ok(r.result < 0, `${what}: result ${r.result}`);
        else assert.equal(r.result, want, what);
      }

      // Raw protobuf: an unknown message code (closed proto2 enum), and an empty message.
      for (const [what, payload] of [
        ['unknown code 99', Buffer.from('0863', 'hex')],
        ['unknown code 0', Buffer.from('0800', 'hex')],
        ['negative code', Buffer.from('08ffffffffffffffffff01', 'hex')],
        ['empty message', Buffer.alloc(0)],
        ['wrong wire type for code', Buffer.from('0a0100', 'hex')],
      ] as const) {
        const r = fromBinary(irm_msgSchema, await ctrlCall(paths.irm(sys.rundir), payload));
        assert.equal(r.code, C.IRM_REPLY, what);
        assert.ok(r.result < 0, `${what}: result ${r.result}`);
      }

      const I = ipcp_msg_code;
      const ipcpCases: [string, Parameters<typeof ipcp>[0], number | undefined][] = [
        ['IPCP_BOOTSTRAP of a bootstrapped IPCP', { code: I.IPCP_BOOTSTRAP, conf: ipcpConfigToMsg({ type: IpcpType.LOCAL, layer: { name: 'other', hashAlgo: HashAlgo.SHA3_256 } }) }, -1004],
        ['IPCP_QUERY without hash', { code: I.IPCP_QUERY }, -22],
        ['IPCP_QUERY with a 5-byte hash', { code: I.IPCP_QUERY, hash: new Uint8Array(5) }, -22],
        ['IPCP_REG with a 300-byte hash', { code: I.IPCP_REG, hash: new Uint8Array(300) }, -22],
        ['IPCP_FLOW_ALLOC with flow id -1 and pid 0', { code: I.IPCP_FLOW_ALLOC, flowId: -1, pid: 0, hash: new Uint8Array(32) }, -22],
        ['IPCP_FLOW_ALLOC without flow id', { code: I.IPCP_FLOW_ALLOC, pid: 5, hash: new Uint8Array(32) }, -22],
        ['IPCP_FLOW_ALLOC_RESP for no pending flow', { code: I.IPCP_FLOW_ALLOC_RESP, flowId: 4242, pid: 1, response: 0 }, -22],
        ['IPCP_CONNECT on a local IPCP', { code: I.IPCP_CONNECT, dst: 'x', comp: 'Management' }, -95],
        ['IPCP_REPLY sent as a request', { code: I.IPCP_REPLY }, -22],
      ];
      for (const [what, init, want] of ipcpCases) {
        const r = await ipcp(init);
        assert.equal(r.code, I.IPCP_REPLY, what);
        if (want === undefined) assert.ok(r.result < 0, `${what}: result ${r.result}`);
        else assert.equal(r.result, want, what);
      }

      // A huge timeout is a long wait, not an instant timeout: an accept with
      // a 100-day timeout must still be pending when a flow arrives.
      const ghost = await CtrlClient.connect(paths.irm(sys.rundir), 'irmd', 'EIRMD');
      try {
        const call = async (init: Parameters<typeof irm>[0]): Promise<irm_msg> =>
          fromBinary(irm_msgSchema, await ghost.request(toBinary(irm_msgSchema, create(irm_msgSchema, init)), 15000));
        assert.equal((await call({ code: C.IRM_PROC_ANNOUNCE, pid: ME, prog: 'patient' })).result, 0);
        assert.equal((await call({ code: C.IRM_BIND_PROCESS, pid: ME, name: 'oecho' })).result, 0);
        const accept = call({
          code: C.IRM_FLOW_ACCEPT,
          flowInfo: { id: 0, nPid: ME, n1Pid: 0, mpl: 0, state: 0, uid: 0, qos: qosToMsg(qos.raw) },
          timeo: { tvSec: 8_640_000n, tvNsec: 0 },
        });
        await call({ code: C.IRM_LIST_IPCPS }); // the accept is registered once this is answered
        const client = sys.spawn('oecho');
        const r = await within(accept, 15000, 'the accept with a 100-day timeout');
        assert.equal(r.result, 0, `accept with a 100-day timeout failed at once: ${r.o7sError}`);
        assert.ok(r.flowInfo && r.flowInfo.id > 0);
        await client.stop('SIGKILL');
      } finally {
        ghost.close();
      }
      await irmdAnswers(sys, 'lo', ipcpPid);
    });
  });
});

// ---------------------------------------------------------------------------
// 4. clients that disappear while irmd works for them
// ---------------------------------------------------------------------------

/** A raw control connection announced as this process (not the library: it must be able to vanish). */
async function ghostClient(sys: TestSystem, prog: string): Promise<{ ctrl: CtrlClient; request: (init: Parameters<typeof create<typeof irm_msgSchema>>[1]) => Promise<irm_msg> }> {
  const ctrl = await CtrlClient.connect(paths.irm(sys.rundir), 'irmd', 'EIRMD');
  const request = async (init: Parameters<typeof create<typeof irm_msgSchema>>[1]): Promise<irm_msg> =>
    fromBinary(irm_msgSchema, await ctrl.request(toBinary(irm_msgSchema, create(irm_msgSchema, init))));
  const r = await request({ code: irm_msg_code.IRM_PROC_ANNOUNCE, pid: ME, prog });
  assert.equal(r.result, 0, `announce: ${r.o7sError}`);
  return { ctrl, request };
}

const rawFlowInfo = () => create(flow_info_msgSchema, { id: 0, nPid: ME, n1Pid: 0, mpl: 0, state: 0, uid: 0, qos: qosToMsg(qos.raw) });

describe('a client that disconnects with a request pending', () => {
  test('during flowAccept: irmd forgets the accept, the id is freed, later allocations work', async () => {
    await withSystem(async (w) => {
      const { sys, irmc } = w;
      await irmc.createName({ name: 'gh', lb: 0 });
      const ghost = await ghostClient(sys, 'ghost');
      await irmc.bindProcess(ME, 'gh');
      const pending = ghost.request({ code: irm_msg_code.IRM_FLOW_ACCEPT, flowInfo: rawFlowInfo() });
      pending.catch(() => {});
      await ghost.request({ code: irm_msg_code.IRM_LIST_IPCPS }); // requests are handled in order: the accept is pending now
      ghost.ctrl.close();
      await assert.rejects(pending, { code: 'EIRMD' });
      await sys.irmd.waitFor(new RegExp(`Process removed: ${ME}\\.`));
      await irmdAnswers(sys);

      // Nobody accepts 'gh' any more: an allocation fails rather than landing on the ghost.
      w.proc = await sys.connect('rclient');
      await assert.rejects(w.proc.flowAlloc('gh', { timeout: 3000 }), (e: unknown) => e instanceof OuroborosError && e.code !== 'ETIMEDOUT');

      const server = await Server.start(sys);
      await irmc.bindProcess(server.pid, 'gh');
      assert.ok(!(await irmc.listFlows()).some((f) => f.id === 1), "the ghost's pending flow (id 1) was freed");
      const { flow } = await allocDirect(w.proc, server, 'gh');
      await echo(flow);
      await flow.dealloc();
    });
  });

  test('during a direct flowAlloc: an accepter showing up later is not handed a flow to the vanished client', async () => {
    await withSystem(async (w) => {
      const { sys, irmc } = w;
      await irmc.createName({ name: 'gd', lb: 0 });
      const server = await Server.start(sys);
      await irmc.bindProcess(server.pid, 'gd');

      const ghost = await ghostClient(sys, 'ghost');
      const from = sys.log.length;
      const pending = ghost.request({ code: irm_msg_code.IRM_FLOW_ALLOC, dst: 'gd', flowInfo: rawFlowInfo() });
      pending.catch(() => {});
      // irmd now waits (up to 1 s) for a process to accept 'gd'.
      await sys.irmd.waitFor(new RegExp(`Allocating flow for ${ME} to gd `), 15000, from);
      ghost.ctrl.close();
      await sys.irmd.waitFor(new RegExp(`Process removed: ${ME}\\.`), 15000, from);

      // The server starts accepting while irmd is still waiting for the ghost's
      // allocation; then another process (not this pid) allocates a flow.
      const srvFrom = server.mark;
      server.child.proc.stdin!.write('accept\n');
      const client = startClient(sys, 'gd');
      const { code } = await within(client.exited, 20000, 'the live client');
      assert.equal(code, 0, client.out + client.err);
      const got = client.out.match(/allocated (\d+)/);
      assert.ok(got, `a live client could not reach the server after a ghost allocation: ${client.out.trim()}; server says: ${server.child.out.slice(srvFrom).trim()}`);
      assert.match(client.out, /echo ping/);
      assert.deepEqual(server.accepted(), [Number(got[1])], 'the server was handed exactly one flow, the live client\'s');
      await irmdAnswers(sys);
    });
  });

  test('during a flowAlloc through the local IPCP: irmd cleans up and later allocations work', async () => {
    await withSystem(async (w) => {
      const { sys, irmc } = w;
      const ipcpPid = await sys.localLayer('lo', 'lo');
      await irmc.createName({ name: 'gi', lb: 0 });
      await irmc.regName('gi', ipcpPid);
      const server = await Server.start(sys);
      await irmc.bindProcess(server.pid, 'gi');

      const ghost = await ghostClient(sys, 'ghost');
      const from = sys.log.length;
      const pending = ghost.request({ code: irm_msg_code.IRM_FLOW_ALLOC, dst: 'gi', flowInfo: rawFlowInfo() });
      pending.catch(() => {});
      await sys.irmd.waitFor(/Flow request arrived for gi\./, 15000, from);
      ghost.ctrl.close();
      await sys.irmd.waitFor(new RegExp(`Process removed: ${ME}\\.`), 15000, from);
      // Nobody accepts: irmd gives up on the request and on the allocation.
      await sys.irmd.waitFor(/No active process for gi\./, 15000, from);
      await sys.irmd.waitFor(/Flow allocation \d+ failed\./, 15000, from);
      await irmdAnswers(sys, 'lo', ipcpPid);

      w.proc = await sys.connect('rclient');
      const ghostIds = (await w.irmc.listFlows()).filter((f) => f.nPid === ME).map((f) => f.id);
      assert.deepEqual(ghostIds, [], "the ghost's flow ids were freed");
      const { flow } = await allocViaIpcp(sys, w.proc, server, 'gi');
      assert.equal(peerOf(flow), ipcpPid);
      await echo(flow);
      await flow.dealloc();
    });
  });
});
