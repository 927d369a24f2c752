/**
 * The udp6 layer between o7s systems in network namespaces (test/helpers/netns.ts):
 * the real irm/oping binaries, a flow carrying 1,000 packets intact, and the
 * bytes on the wire checked against the reference (WIRE.md §13) with a fake
 * peer: a plain UDP socket in its own namespace that the hosts file maps a name
 * to, receiving the real IPCP's FLOW_REQ and answering with a FLOW_REPLY.
 *
 * Topology: a — b (link 1), a — peer (link 2); peer is a bare namespace.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { NetnsNetwork } from '../helpers/netns.js';
import { type Child } from '../helpers/system.js';
import { qos, type Flow, type Process, type QosSpec } from '../../src/lib/index.js';

// In CI (root, iproute2 installed by .ci/run) namespaces must work: no skipping there.
const skip = process.env.CI ? undefined : await NetnsNetwork.unavailable();
/** The reference's default UDP port: the helper bootstraps without `port`. */
const PORT = 3435;

const md5 = (name: string): Buffer => createHash('md5').update(name).digest();

/** A FLOW_REQ as WIRE.md §13 lays it out (47-byte header, then the 16-byte MD5 of the name). */
function referenceFlowReq(sEid: number, q: QosSpec, name: string): Buffer {
  const b = Buffer.alloc(47 + 16);
  b.writeUInt32BE(0, 0); // eid 0: management
  b.writeUInt32BE(sEid, 4); // s_eid: the requester's fd
  b.writeUInt32BE(0, 8); // d_eid
  b.writeInt32BE(0, 12); // response
  b.writeBigUInt64BE(q.bandwidth, 16);
  b.writeUInt32BE(q.delay, 24);
  b.writeUInt32BE(q.loss, 28);
  b.writeUInt32BE(q.ber, 32);
  b.writeUInt32BE(q.maxGap, 36);
  b.writeUInt32BE(q.timeout, 40);
  b[44] = 1; // FLOW_REQ
  b[45] = q.availability;
  b[46] = q.inOrder;
  md5(name).copy(b, 47);
  return b;
}

/** A FLOW_REPLY as WIRE.md §13 lays it out (QoS zero), followed by `pk`. */
function referenceFlowReply(sEid: number, dEid: number, response: number, pk: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(47);
  b.writeUInt32BE(sEid, 4);
  b.writeUInt32BE(dEid, 8);
  b.writeInt32BE(response, 12);
  b[44] = 2; // FLOW_REPLY
  return Buffer.concat([b, pk]);
}

/**
 * The OAP response (WIRE.md §10) a peer without security configuration answers
 * an OAP request with: same id, its time, no cipher/kdf/md, no certificate, no
 * kex, no data, req_hash = SHA-384 of the request, no signature.
 */
function oapResponse(request: Buffer): Buffer {
  const h = Buffer.alloc(36);
  request.copy(h, 0, 0, 16);
  h.writeBigUInt64BE(BigInt(Date.now()) * 1_000_000n, 16);
  return Buffer.concat([h, createHash('sha384').update(request).digest()]);
}

// ---------------------------------------------------------------------------
// The fake peer: two udp6 sockets in the `peer` namespace (the layer's port and
// another one), reporting every datagram as a JSON line, sending on command.

const FAKE_PEER = (addr: string, port: number, alt: number): string => `
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';
const socks = {};
let ready = 0;
for (const [k, p] of [['main', ${port}], ['alt', ${alt}]]) {
  const s = dgram.createSocket({ type: 'udp6', ipv6Only: true });
  s.on('message', (m, r) => console.log(JSON.stringify({ ev: 'msg', sock: k, hex: m.toString('hex'), addr: r.address, port: r.port })));
  s.on('error', (e) => console.log(JSON.stringify({ ev: 'error', sock: k, err: e.message })));
  s.bind(p, ${JSON.stringify(addr)}, () => { if (++ready === 2) console.log(JSON.stringify({ ev: 'ready' })); });
  socks[k] = s;
}
createInterface({ input: process.stdin }).on('line', (l) => {
  const c = JSON.parse(l);
  socks[c.sock].send(Buffer.from(c.hex, 'hex'), c.port, c.addr, (e) => console.log(JSON.stringify({ ev: 'sent', id: c.id, err: e ? e.message : null })));
});
process.stdin.on('end', () => process.exit(0));
`;

interface PeerMsg {
  ev: string;
  sock?: 'main' | 'alt';
  hex?: string;
  addr?: string;
  port?: number;
  id?: number;
  err?: string | null;
}

class FakePeer {
  private seen = 0;
  private sends = 0;
  constructor(readonly child: Child) {}

  private lines(): PeerMsg[] {
    return this.child.out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as PeerMsg);
  }

  /** The next datagram (after those already taken) matching `pred`; earlier non-matching ones are skipped. */
  async next(pred: (m: PeerMsg & { data: Buffer }) => boolean = () => true, ms = 10000): Promise<PeerMsg & { data: Buffer }> {
    const deadline = Date.now() + ms;
    for (;;) {
      const msgs = this.lines().filter((m) => m.ev === 'msg');
      while (this.seen < msgs.length) {
        const m = msgs[this.seen++]!;
        const full = { ...m, data: Buffer.from(m.hex!, 'hex') };
        if (pred(full)) return full;
      }
      if (Date.now() > deadline) throw new Error(`fake peer: no matching datagram in ${ms} ms; peer output:\n${this.child.out}${this.child.err}`);
      if (!this.child.running) throw new Error(`fake peer ended:\n${this.child.out}${this.child.err}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Sends a datagram from one of the peer's sockets and waits until it is sent. */
  async send(sock: 'main' | 'alt', data: Buffer, addr: string, port: number): Promise<void> {
    const id = ++this.sends;
    this.child.proc.stdin!.write(JSON.stringify({ sock, hex: data.toString('hex'), addr, port, id }) + '\n');
    const from = this.child.out.length;
    await this.child.waitFor(new RegExp(`"ev":"sent","id":${id},`), 5000, Math.max(0, from - 200));
    const sent = this.lines().find((m) => m.ev === 'sent' && m.id === id);
    assert.equal(sent?.err, null, `fake peer could not send: ${sent?.err}`);
  }
}

/** Adds a log to an assertion's message. */
function withLog(e: unknown, log: string): unknown {
  if (e instanceof Error) e.message += `\n${log}`;
  return e;
}

/** Byte j of SDU `seq` of the bulk test. */
function bulk(seq: number): Buffer {
  const len = seq % 100 === 99 ? 8000 : 16 + ((seq * 37) % 1400);
  const b = Buffer.allocUnsafe(len);
  b.writeUInt32BE(seq, 0);
  for (let j = 4; j < len; j++) b[j] = (seq * 31 + j * 7 + 1) & 0xff;
  return b;
}

describe('udp6 layer between network namespaces', { skip, timeout: 60000 }, () => {
  let net: NetnsNetwork;
  before(async () => {
    net = await NetnsNetwork.create({ systems: ['a', 'b'], bare: ['peer'], family: 6, links: [['a', 'b'], ['a', 'peer']] });
  });
  after(async () => {
    await net?.stop();
  });

  test('the IPCPs are bootstrapped on the veth addresses', async () => {
    assert.match(net.addr('a'), /^fd00:[0-9a-f]+:1::1$/);
    assert.match(net.addr('b'), /^fd00:[0-9a-f]+:1::2$/);
    for (const s of ['a', 'b']) {
      const list = await net.sys(s).irm(['ipcp', 'list']);
      assert.match(list.stdout, /\|\s+\d+ \|\s+udp \|\s+udp6 \|\s+udp \|/, list.stdout);
      await net.sys(s).irmd.waitFor(new RegExp(`Bound to IP address ${net.addr(s).replace(/\./g, '\\.')} port ${PORT}\\.`));
    }
  });

  test('oping -n NAME -c 3 over udp6 (real binaries, each in its namespace)', async () => {
    const a = net.sys('a');
    const b = net.sys('b');
    const server = b.spawn('oping', ['-l']);
    await server.waitFor(/Ouroboros ping server started\./);
    await net.register('b', 'oping.b');
    await b.irm(['bind', 'process', String(server.pid), 'name', 'oping.b']);

    const r = await a.run('oping', ['-n', 'oping.b', '-c', '3', '-i', '50']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Pinging oping\.b with 64 bytes of data \(3 packets\):/);
    for (let seq = 0; seq < 3; seq++) assert.match(r.stdout, new RegExp(`64 bytes from oping\\.b: seq=${seq} `));
    assert.match(r.stdout, /3 packets transmitted, 3 received, 0 out-of-order, 0% packet loss/);
    await server.waitFor(/New flow \d+\./);
    await server.stop();
  });

  test('a flow carries 1,000 packets intact both ways', async () => {
    const b = net.sys('b');
    await net.register('b', 'bulk.b');
    let srv: Process | undefined;
    let cli: Process | undefined;
    try {
      srv = await b.connect('bulk-server');
      await b.irm(['bind', 'process', String(srv.pid), 'name', 'bulk.b']);
      cli = await net.sys('a').connect('bulk-client');
      const accepted = srv.flowAccept({ timeout: 15000 });
      accepted.catch(() => {}); // awaited below
      const flow = await cli.flowAlloc('bulk.b', { qos: qos.data, timeout: 15000 });
      const peer = await accepted;
      const N = 1000;
      // Echo server: every SDU back as it came.
      const echo = (async (f: Flow) => {
        const got: Buffer[] = [];
        for (let i = 0; i < N; i++) {
          const d = await f.read();
          got.push(d);
          await f.write(d);
        }
        return got;
      })(peer);
      const reader = (async () => {
        const got: Buffer[] = [];
        for (let i = 0; i < N; i++) got.push(await flow.read());
        return got;
      })();
      for (let i = 0; i < N; i++) await flow.write(bulk(i));
      const [atServer, atClient] = await Promise.all([echo, reader]);
      for (let i = 0; i < N; i++) {
        assert.ok(atServer[i]!.equals(bulk(i)), `SDU ${i} arrived at the server damaged or out of order (${atServer[i]!.length} bytes, seq ${atServer[i]!.readUInt32BE(0)})`);
        assert.ok(atClient[i]!.equals(bulk(i)), `echo ${i} arrived at the client damaged or out of order`);
      }
      await flow.dealloc();
    } finally {
      await cli?.close();
      await srv?.close();
    }
  });

  /** The fake peer in namespace `peer`, mapped to `fake.peer` in the hosts file. */
  let fake: FakePeer | undefined;
  const fakePeer = async (): Promise<FakePeer> => {
    if (fake) return fake;
    const addr = net.addr('peer');
    const alt = 40000 + Math.floor(Math.random() * 20000);
    const child = net.spawnIn('peer', process.execPath, ['--input-type=module', '-e', FAKE_PEER(addr, PORT, alt)]);
    await child.waitFor(/"ev":"ready"/);
    net.addHost('fake.peer', addr);
    fake = new FakePeer(child);
    return fake;
  };

  test('the wire: FLOW_REQ and FLOW_REPLY as the reference, data prefixed with the 4-byte eid', async () => {
    const peer = await fakePeer();
    const aAddr = net.addr('a');
    const cli = await net.sys('a').connect('wire-client');
    try {
      // A raw flow (no FRCT, no CRC: SDUs go on the wire as written).
      const q = qos.raw;
      let settled = false;
      const alloc = cli.flowAlloc('fake.peer', { qos: q, timeout: 10000 });
      alloc.then(
        () => (settled = true),
        () => (settled = true),
      );
      const req = await peer.next((m) => m.sock === 'main');
      assert.equal(req.addr, aAddr, 'FLOW_REQ comes from the IPCP address');
      assert.equal(req.port, PORT, 'FLOW_REQ comes from the layer port');
      assert.ok(req.data.length >= 63, `FLOW_REQ of ${req.data.length} bytes`);
      const sEid = req.data.readUInt32BE(4);
      assert.notEqual(sEid, 0, 's_eid');
      assert.equal(req.data.subarray(0, 63).toString('hex'), referenceFlowReq(sEid, q, 'fake.peer').toString('hex'));
      const pk = req.data.subarray(63);
      assert.ok(pk.length === 0 || pk.length >= 36, `trailing OAP request of ${pk.length} bytes`);
      const D_EID = 0x0a0b0c0d;
      const reply = referenceFlowReply(sEid, D_EID, 0, pk.length ? oapResponse(pk) : undefined);

      // A reply from another port than the one the request went to is ignored.
      await peer.send('alt', reply, aAddr, PORT);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(settled, false, 'a FLOW_REPLY from the wrong source port was accepted');
      await peer.send('main', reply, aAddr, PORT);
      const flow = await alloc;
      assert.equal(flow.id, sEid, 'the s_eid of the FLOW_REQ is the flow id');

      // Data from the client: eid (the peer's) ‖ SDU, from the IPCP's address and port; up to 8952 bytes.
      const sdus = [Buffer.from('hello, reference'), Buffer.alloc(1, 0x5a), Buffer.alloc(8952, 0xa5)];
      for (const s of sdus) await flow.write(s);
      for (const s of sdus) {
        const d = await peer.next((m) => m.sock === 'main' && m.data.length > 4);
        assert.equal(d.addr, aAddr);
        assert.equal(d.port, PORT);
        assert.equal(d.data.readUInt32BE(0), D_EID, 'data datagrams start with the receiver eid');
        assert.ok(d.data.subarray(4).equals(s), `SDU of ${s.length} bytes carried as is`);
      }

      // Data to the client: eid (ours) ‖ SDU; from the wrong port it is dropped.
      const eid = Buffer.alloc(4);
      eid.writeUInt32BE(sEid);
      await peer.send('alt', Buffer.concat([eid, Buffer.from('from the wrong port')]), aAddr, PORT);
      await peer.send('main', Buffer.concat([eid, Buffer.from('pong')]), aAddr, PORT);
      flow.readTimeout = 5000;
      assert.equal((await flow.read()).toString(), 'pong');
      await flow.dealloc();
    } catch (e) {
      throw withLog(e, `irmd of a (with its IPCP):\n${net.sys('a').log}`);
    } finally {
      await cli.close();
    }
  });

  test('a refused FLOW_REQ (negative response) fails the allocation and leaves the next flow working', async () => {
    const peer = await fakePeer();
    const aAddr = net.addr('a');
    const cli = await net.sys('a').connect('refused-client');
    try {
      // A request with a distinctive QoS: all of it is on the wire.
      const q = qos.voice;
      const refused = cli.flowAlloc('fake.peer', { qos: q, timeout: 10000 });
      refused.catch(() => {});
      const req = await peer.next((m) => m.sock === 'main' && m.data.length >= 47 && m.data.readUInt32BE(0) === 0);
      const sEid = req.data.readUInt32BE(4);
      assert.equal(req.data.subarray(0, 63).toString('hex'), referenceFlowReq(sEid, q, 'fake.peer').toString('hex'));
      await peer.send('main', referenceFlowReply(sEid, 0, -13), aAddr, PORT);
      await assert.rejects(refused, 'a negative response refuses the allocation');

      // The next allocation (irmd may well give it the same flow id) must give a working flow.
      const alloc = cli.flowAlloc('fake.peer', { qos: qos.raw, timeout: 10000 });
      alloc.catch(() => {}); // awaited below
      const req2 = await peer.next((m) => m.sock === 'main' && m.data.length >= 47 && m.data.readUInt32BE(0) === 0);
      const sEid2 = req2.data.readUInt32BE(4);
      // Accepted with the OAP response of a peer without security configuration.
      await peer.send('main', referenceFlowReply(sEid2, 77, 0, oapResponse(req2.data.subarray(63))), aAddr, PORT);
      const flow = await alloc;
      assert.equal(flow.closed, false, `flow ${flow.id} (after refused flow ${sEid}) is down from the start`);
      await flow.write(Buffer.from('after a refusal'));
      const d = await peer.next((m) => m.sock === 'main' && m.data.length > 4);
      assert.equal(d.data.readUInt32BE(0), 77);
      assert.equal(d.data.subarray(4).toString(), 'after a refusal');
      await flow.dealloc();
    } catch (e) {
      throw withLog(e, `irmd of a (with its IPCP):\n${net.sys('a').log}`);
    } finally {
      await cli.close();
    }
  });
});

describe('udp6 through a routed chain of namespaces', { skip, timeout: 60000 }, () => {
  let net: NetnsNetwork;
  before(async () => {
    net = await NetnsNetwork.create({ systems: ['a', 'b', 'c'], family: 6, links: [['a', 'b'], ['b', 'c']] });
  });
  after(async () => {
    await net?.stop();
  });

  test('a pings c through b (kernel forwarding in b, one flat udp6 layer)', async () => {
    const c = net.sys('c');
    const server = c.spawn('oping', ['-l']);
    await server.waitFor(/Ouroboros ping server started\./);
    await net.register('c', 'oping.c');
    await c.irm(['bind', 'process', String(server.pid), 'name', 'oping.c']);
    const r = await net.sys('a').run('oping', ['-n', 'oping.c', '-c', '3', '-i', '20']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /3 packets transmitted, 3 received, 0 out-of-order, 0% packet loss/);
  });
});

const netem = skip ? false : await NetnsNetwork.netemAvailable();

describe('udp6 over a link with netem delay', { skip: skip ?? (netem ? undefined : 'tc netem is not available here (no sch_netem kernel module)'), timeout: 60000 }, () => {
  let net: NetnsNetwork;
  before(async () => {
    net = await NetnsNetwork.create({ systems: ['a', 'b'], family: 6, links: [['a', 'b', { netem: 'delay 20ms' }]] });
  });
  after(async () => {
    await net?.stop();
  });

  test('20 ms each way: oping round trips take at least 40 ms', async () => {
    const b = net.sys('b');
    const server = b.spawn('oping', ['-l']);
    await server.waitFor(/Ouroboros ping server started\./);
    await net.register('b', 'oping.slow');
    await b.irm(['bind', 'process', String(server.pid), 'name', 'oping.slow']);
    const r = await net.sys('a').run('oping', ['-n', 'oping.slow', '-c', '3', '-i', '50']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /3 packets transmitted, 3 received/);
    const m = r.stdout.match(/rtt min\/avg\/max\/mdev = ([\d.]+)\//);
    assert.ok(m, r.stdout);
    assert.ok(Number(m[1]) >= 39, `minimum RTT ${m[1]} ms over a link delaying 20 ms each way`);
  });
});
