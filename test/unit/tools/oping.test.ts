import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { qos } from '../../../src/lib/qos.js';
import { tsDiffMs, tsDiffUs } from '../../../src/tools/oping/clock.js';
import { runOpingClient } from '../../../src/tools/oping/client.js';
import { decodeMsg, encodeMsg, makeReply, ECHO_REPLY, ECHO_REQUEST } from '../../../src/tools/oping/msg.js';
import { OPING_USAGE, parseOpingArgs, strtol, type OpingOptions } from '../../../src/tools/oping/options.js';
import { runOpingServer } from '../../../src/tools/oping/server.js';
import { MemClock, MemNet, serverWorld, type DelayFn, type MemFlow } from '../../../src/tools/common/memnet.js';
import { cfmt, lossPercent, OUT_OF_ORDER, PingStats, replyLine, timeOfDayPrefix } from '../../../src/tools/oping/stats.js';

// The fake world (virtual time, flows with a per-packet delay) is the shared
// one the tools' tests use: src/tools/common/memnet.ts.

const drive = <T>(clock: MemClock, p: Promise<T>, limitMs = 3_600_000): Promise<T> => clock.run(p, limitMs);
const driveTo = (clock: MemClock, untilMs: number): Promise<void> => clock.runTo(untilMs);

function options(...args: string[]): OpingOptions {
  const r = parseOpingArgs(args);
  assert.ok(r.ok, `expected ${args.join(' ')} to parse`);
  return r.options;
}

/** A world with a running oping server on name `srv`. */
function world(serverArgs: string[] = ['-l'], delay?: DelayFn) {
  return serverWorld((proc, out, ctl) => runOpingServer(proc, options(...serverArgs), out, ctl), delay);
}

async function ping(w: ReturnType<typeof world>, args: string[], signal?: AbortSignal) {
  const proc = w.net.process();
  const out: string[] = [];
  const code = await drive(w.clock, runOpingClient(proc, options(...args), (l) => out.push(l), { clock: w.clock, signal }));
  return { code, out, proc };
}

async function stop(w: ReturnType<typeof world>): Promise<number> {
  w.stopServer.abort();
  return drive(w.clock, w.server);
}

// ---------------------------------------------------------------------------

describe('oping message', () => {
  it('encodes type and id big-endian, the timestamp little-endian, zero padding', () => {
    const buf = encodeMsg({ type: ECHO_REQUEST, id: 0x01020304, tvSec: 0x0102030405060708n, tvNsec: 999_999_999n }, 64);
    assert.equal(buf.length, 64);
    assert.equal(
      buf.subarray(0, 24).toString('hex'),
      '00000000' + '01020304' + '0807060504030201' + 'ffc99a3b00000000',
    );
    assert.ok(buf.subarray(24).every((b) => b === 0));
  });

  it('decodes what it encodes, pads short SDUs with zeros, rejects sizes under 24', () => {
    const m = { type: ECHO_REPLY, id: 7, tvSec: 12n, tvNsec: 345n };
    assert.deepEqual(decodeMsg(encodeMsg(m, 1500)), m);
    assert.deepEqual(decodeMsg(Buffer.from([0, 0, 0, 1, 0, 0])), { type: 1, id: 0, tvSec: 0n, tvNsec: 0n });
    assert.throws(() => encodeMsg(m, 23), RangeError);
  });

  it('a reply is the same bytes with type 1', () => {
    const req = encodeMsg({ type: ECHO_REQUEST, id: 3, tvSec: 1n, tvNsec: 2n }, 100);
    req[99] = 0xaa;
    const rep = makeReply(req);
    assert.equal(rep.readUInt32BE(0), ECHO_REPLY);
    assert.deepEqual(rep.subarray(4), req.subarray(4));
    assert.equal(req.readUInt32BE(0), ECHO_REQUEST, 'request left untouched');
    assert.equal(makeReply(Buffer.from([0, 0])).toString('hex'), '0000');
  });
});

describe('oping options', () => {
  it('has the reference defaults', () => {
    const r = parseOpingArgs(['-n', 'srv']);
    assert.ok(r.ok);
    assert.deepEqual(r.lines, []);
    assert.equal(r.options.serverName, 'srv');
    assert.equal(r.options.interval, 1000);
    assert.equal(r.options.count, 2147483647);
    assert.equal(r.options.size, 64);
    assert.equal(r.options.qos, qos.raw);
    assert.equal(r.options.listen || r.options.flood || r.options.floodBusy || r.options.quiet || r.options.timestamp, false);
  });

  it('takes long and short forms and server flags', () => {
    const o = options('--listen', '--poll', '--busy', '--quiet', '--timeofday', '--flood', '--flood-busy', '--qos', 'voice');
    assert.equal(o.listen && o.poll && o.busy && o.quiet && o.timestamp && o.flood && o.floodBusy, true);
    assert.equal(o.qos, qos.voice);
    assert.equal(options('-l', '-Q').quiet, true);
  });

  it('parses time units for interval and duration', () => {
    assert.equal(options('-n', 'x', '-i', '250').interval, 250);
    assert.equal(options('-n', 'x', '-i', '250ms').interval, 250);
    assert.equal(options('-n', 'x', '-i', '5s').interval, 5000);
    assert.equal(options('-n', 'x', '-d', '10s').count, 10);
    assert.equal(options('-n', 'x', '-d', '10s', '-i', '3s').count, 3);
    assert.equal(options('-n', 'x', '-d', '1h', '-i', '0').count, 36_000_000);
    assert.equal(options('-n', 'x', '-d', '2m', '-c', '5').count, 120, 'duration wins over count');
    assert.equal(options('-n', 'x', '-d', '1d', '-i', '1m').count, 1440);
  });

  it('counts like strtol into a u32', () => {
    assert.equal(options('-n', 'x', '-c', '5').count, 5);
    assert.equal(options('-n', 'x', '-c', '5x').count, 5);
    assert.equal(options('-n', 'x', '-c', 'abc').count, 0);
    assert.equal(options('-n', 'x', '-c', '-1').count, 4294967295);
    assert.deepEqual(strtol('  -12ab'), { value: -12n, rest: 'ab' });
    assert.deepEqual(strtol('s'), { value: 0n, rest: 's' });
  });

  it('clamps interval and size with the reference messages', () => {
    let r = parseOpingArgs(['-n', 'x', '-i', '20s', '-s', '2000']);
    assert.ok(r.ok);
    assert.deepEqual(r.lines, ['Ping interval truncated to 10s.', 'Packet size truncated to 1500 bytes.']);
    assert.equal(r.options.interval, 10000);
    assert.equal(r.options.size, 1500);
    r = parseOpingArgs(['-n', 'x', '-s', '10']);
    assert.ok(r.ok);
    assert.deepEqual(r.lines, ['Packet size set to 64 bytes.']);
    assert.equal(r.options.size, 64);
    assert.equal(options('-n', 'x', '-s', '1500').size, 1500);
  });

  it('maps -q names to QoS specs and warns on unknown ones', () => {
    assert.equal(options('-n', 'x', '-q', 'best').qos, qos.bestEffort);
    assert.equal(options('-n', 'x', '-q', 'video').qos, qos.video);
    assert.equal(options('-n', 'x', '-q', 'data').qos, qos.data);
    assert.equal(options('-n', 'x', '-q', 'raw').qos, qos.raw);
    const r = parseOpingArgs(['-l', '-q', 'gold']);
    assert.ok(r.ok);
    assert.deepEqual(r.lines, ['Unknown QoS cube, defaulting to raw.']);
    assert.equal(r.options.qos, qos.raw);
  });

  it('fails with the usage, or the unit message, and exit code 1', () => {
    const usage = { ok: false, lines: [OPING_USAGE], exitCode: 1 };
    assert.deepEqual(parseOpingArgs(['--help']), usage);
    assert.deepEqual(parseOpingArgs(['-x']), usage);
    assert.deepEqual(parseOpingArgs(['-n']), usage, 'option without its value');
    assert.deepEqual(parseOpingArgs(['-l', '-c']), usage);
    assert.deepEqual(parseOpingArgs([]), { ok: false, lines: ['No server specified.', OPING_USAGE], exitCode: 1 });
    assert.deepEqual(parseOpingArgs(['-q', 'gold']), {
      ok: false,
      lines: ['Unknown QoS cube, defaulting to raw.', 'No server specified.', OPING_USAGE],
      exitCode: 1,
    });
    assert.deepEqual(parseOpingArgs(['-n', 'x', '-i', '1x']), { ok: false, lines: ['Unknown time unit: x.'], exitCode: 1 });
    assert.deepEqual(parseOpingArgs(['-n', 'x', '-d', '1.5s']), { ok: false, lines: ['Unknown time unit: .5s.'], exitCode: 1 });
  });

  it('prints the reference usage text', () => {
    const lines = OPING_USAGE.split('\n');
    assert.equal(lines[0], 'Usage: oping [OPTION]...');
    assert.equal(lines.length, 21);
    assert.ok(lines.includes('  -d, --duration          Duration of the test (default 1s)'));
    assert.equal(lines.at(-1), '      --help              Display this help text and exit');
  });
});

describe('oping statistics and lines', () => {
  it('formats like printf %.Nf, ties to even', () => {
    assert.equal(cfmt(0.0625, 3), '0.062');
    assert.equal(cfmt(0.1875, 3), '0.188');
    assert.equal(cfmt(2.5, 0), '2');
    assert.equal(cfmt(3.5, 0), '4');
    assert.equal(cfmt(1.0005, 3), '1.000');
    assert.equal(cfmt(0.042 * 1000, 3), '42.000');
    assert.equal(cfmt(1500.25, 3), '1500.250');
    assert.equal(cfmt(NaN, 3), 'nan');
  });

  it('computes loss as ceil in single precision', () => {
    assert.equal(lossPercent(0, 0), 0);
    assert.equal(lossPercent(4, 4), 0);
    assert.equal(lossPercent(3, 2), 34);
    assert.equal(lossPercent(10, 7), 30);
    assert.equal(lossPercent(100, 93), 7);
    assert.equal(lossPercent(3, 0), 100);
  });

  it('takes time differences the way the reference timespec macros do', () => {
    assert.equal(tsDiffUs(3_000_000_999n, 1_000_000_500n), 2_000_000n);
    // 1.1 us apart across a second boundary: truncation of the negative part rounds up.
    assert.equal(tsDiffUs(2_000_000_100n, 1_999_999_000n), 2n);
    assert.equal(tsDiffMs(13_000_000_000n, 3_000_250_000n), 10_000n);
  });

  it('prints reply lines in ms, or µs below 0.1 ms, with the out-of-order mark', () => {
    assert.equal(replyLine(64, 'srv', 3, 0.5), '64 bytes from srv: seq=3 time=0.500 ms');
    assert.equal(replyLine(64, 'srv', 1, 0.042, OUT_OF_ORDER), '64 bytes from srv: seq=1 time=42.000 µs [out-of-order]');
    assert.equal(replyLine(1500, 'a.b', 0, 0.1), '1500 bytes from a.b: seq=0 time=0.100 ms');
    assert.equal(replyLine(64, 'srv', 0, 0.099), '64 bytes from srv: seq=0 time=99.000 µs');
    assert.equal(timeOfDayPrefix(1_700_000_001_000_500_123n), '[1700000001.000500] ');
  });

  it('prints the statistics block with min/avg/max and the sample deviation', () => {
    const s = new PingStats();
    s.sent = 3;
    for (const ms of [1, 2, 4]) s.addReply(ms);
    assert.deepEqual(s.lines('srv', 3_000_500n), [
      '',
      '--- srv ping statistics ---',
      '3 packets transmitted, 3 received, 0 out-of-order, 0% packet loss, time: 3000.500 ms',
      'rtt min/avg/max/mdev = 1.000/2.333/4.000/1.528 ms',
    ]);
  });

  it('prints NaN deviation for one reply, in µs when the average is', () => {
    const s = new PingStats();
    s.sent = 1;
    s.addReply(0.042);
    assert.equal(s.lines('srv', 1_000_042n)[3], 'rtt min/avg/max/mdev = 42.000/42.000/42.000/NaN µs');
  });

  it('leaves out the rtt line when nothing came back', () => {
    const s = new PingStats();
    s.sent = 2;
    assert.deepEqual(s.lines('srv', 0n), [
      '',
      '--- srv ping statistics ---',
      '2 packets transmitted, 0 received, 0 out-of-order, 100% packet loss, time: 0.000 ms',
    ]);
  });
});

describe('oping client against server', () => {
  it('pings at the interval and prints replies and statistics', async () => {
    const w = world();
    const { code, out, proc } = await ping(w, ['-n', 'srv', '-c', '3', '-q', 'data']);
    assert.equal(code, 0);
    assert.deepEqual(out, [
      'Pinging srv with 64 bytes of data (3 packets):',
      '',
      '64 bytes from srv: seq=0 time=0.500 ms',
      '64 bytes from srv: seq=1 time=0.500 ms',
      '64 bytes from srv: seq=2 time=0.500 ms',
      '',
      '--- srv ping statistics ---',
      '3 packets transmitted, 3 received, 0 out-of-order, 0% packet loss, time: 3000.500 ms',
      'rtt min/avg/max/mdev = 0.500/0.500/0.500/0.000 ms',
    ]);
    assert.deepEqual(w.srvOut, [
      'Ouroboros ping server started.',
      'New flow 64.',
      'Received 64 bytes on fd 64.',
      'Received 64 bytes on fd 64.',
      'Received 64 bytes on fd 64.',
    ]);
    assert.equal(proc.allocs[0]!.dst, 'srv');
    assert.equal(proc.allocs[0]!.opts?.qos, qos.data);
    assert.equal(await stop(w), 0);
  });

  it('sends the reference request bytes and gets them back as a reply', async () => {
    const w = world();
    const sent: Buffer[] = [];
    w.net.delay = (pkt) => {
      sent.push(pkt);
      return 0.25;
    };
    await ping(w, ['-n', 'srv', '-c', '2', '-s', '100']);
    assert.equal(sent.length, 4);
    // Request 1 leaves at t = 2 s on the monotonic clock.
    assert.deepEqual(sent[2], encodeMsg({ type: ECHO_REQUEST, id: 1, tvSec: 2n, tvNsec: 0n }, 100));
    assert.deepEqual(sent[3], makeReply(sent[2]!));
    await stop(w);
  });

  it('shows µs below 0.1 ms, time of day with -D, NaN with one reply', async () => {
    const w = world(['-l'], () => 0.021);
    const { out } = await ping(w, ['-n', 'srv', '-c', '1', '-D']);
    assert.deepEqual(out.slice(2), [
      '[1700000001.000042] 64 bytes from srv: seq=0 time=42.000 µs',
      '',
      '--- srv ping statistics ---',
      '1 packets transmitted, 1 received, 0 out-of-order, 0% packet loss, time: 1000.042 ms',
      'rtt min/avg/max/mdev = 42.000/42.000/42.000/NaN µs',
    ]);
    await stop(w);
  });

  it('marks late replies out-of-order', async () => {
    const w = world(['-l'], (pkt) => {
      const m = decodeMsg(pkt);
      return m.type === ECHO_REQUEST && m.id === 0 ? 1500 : 0.25;
    });
    const { out } = await ping(w, ['-n', 'srv', '-c', '3']);
    assert.deepEqual(out.slice(2), [
      '64 bytes from srv: seq=1 time=0.500 ms',
      '64 bytes from srv: seq=0 time=1500.250 ms [out-of-order]',
      '64 bytes from srv: seq=2 time=0.500 ms',
      '',
      '--- srv ping statistics ---',
      '3 packets transmitted, 3 received, 1 out-of-order, 0% packet loss, time: 3000.500 ms',
      'rtt min/avg/max/mdev = 0.500/500.417/1500.250/865.881 ms',
    ]);
    await stop(w);
  });

  it('reports loss after the server times out (interval + 2 s)', async () => {
    const w = world(['-l'], (pkt) => (decodeMsg(pkt).id === 1 ? null : 0.25));
    const { out } = await ping(w, ['-n', 'srv', '-c', '3']);
    assert.deepEqual(out.slice(2), [
      '64 bytes from srv: seq=0 time=0.500 ms',
      '64 bytes from srv: seq=2 time=0.500 ms',
      'Server timed out.',
      '',
      '--- srv ping statistics ---',
      '3 packets transmitted, 2 received, 0 out-of-order, 34% packet loss, time: 6000.500 ms',
      'rtt min/avg/max/mdev = 0.500/0.500/0.500/0.000 ms',
    ]);
    await stop(w);
  });

  it('gives up when a silent peer never answers', async () => {
    const clock = new MemClock();
    const net = new MemNet(clock);
    net.process('mute');
    const out: string[] = [];
    const code = await drive(clock, runOpingClient(net.process(), options('-n', 'mute', '-c', '10'), (l) => out.push(l), { clock }));
    assert.equal(code, 0);
    assert.deepEqual(out, [
      'Pinging mute with 64 bytes of data (10 packets):',
      '',
      'Server timed out.',
      '',
      '--- mute ping statistics ---',
      '2 packets transmitted, 0 received, 0 out-of-order, 100% packet loss, time: 3000.000 ms',
    ]);
  });

  it('prints statistics when stopped (SIGINT)', async () => {
    const w = world();
    const ac = new AbortController();
    w.clock.schedule(2500, () => ac.abort());
    const { code, out } = await ping(w, ['-n', 'srv'], ac.signal);
    assert.equal(code, 0);
    assert.deepEqual(out, [
      'Pinging srv with 64 bytes of data (2147483647 packets):',
      '',
      '64 bytes from srv: seq=0 time=0.500 ms',
      '64 bytes from srv: seq=1 time=0.500 ms',
      '',
      '--- srv ping statistics ---',
      '2 packets transmitted, 2 received, 0 out-of-order, 0% packet loss, time: 2500.000 ms',
      'rtt min/avg/max/mdev = 0.500/0.500/0.500/0.000 ms',
    ]);
    await stop(w);
  });

  it('only prints statistics with -Q, and the server only its flows', async () => {
    const w = world(['-l', '-Q']);
    const { out } = await ping(w, ['-n', 'srv', '-c', '2', '-Q']);
    assert.deepEqual(out, [
      '',
      '--- srv ping statistics ---',
      '2 packets transmitted, 2 received, 0 out-of-order, 0% packet loss, time: 2000.500 ms',
      'rtt min/avg/max/mdev = 0.500/0.500/0.500/0.000 ms',
    ]);
    assert.deepEqual(w.srvOut, ['Ouroboros ping server started.', 'New flow 64.']);
    await stop(w);
  });

  it('floods: next request right after each reply', async () => {
    const w = world();
    const { out } = await ping(w, ['-n', 'srv', '-f', '-c', '3', '-s', '200']);
    assert.deepEqual(out, [
      'Pinging srv with 200 bytes of data (3 packets):',
      '',
      '200 bytes from srv: seq=0 time=0.500 ms',
      '200 bytes from srv: seq=1 time=0.500 ms',
      '200 bytes from srv: seq=2 time=0.500 ms',
      '',
      '--- srv ping statistics ---',
      '3 packets transmitted, 3 received, 0 out-of-order, 0% packet loss, time: 1.500 ms',
      'rtt min/avg/max/mdev = 0.500/0.500/0.500/0.000 ms',
    ]);
    await stop(w);
  });

  it('floods with busy polling (-F)', async () => {
    const w = world();
    const { out } = await ping(w, ['-n', 'srv', '-F', '-c', '2']);
    assert.deepEqual(out, [
      'Pinging srv with 64 bytes of data (2 packets, busy-poll):',
      '',
      '64 bytes from srv: seq=0 time=0.500 ms',
      '64 bytes from srv: seq=1 time=0.500 ms',
      '',
      '--- srv ping statistics ---',
      '2 packets transmitted, 2 received, 0 out-of-order, 0% packet loss, time: 1.000 ms',
      'rtt min/avg/max/mdev = 0.500/0.500/0.500/0.000 ms',
    ]);
    await stop(w);
  });

  it('fails with the error number when the flow cannot be allocated', async () => {
    const w = world();
    const { code, out } = await ping(w, ['-n', 'nobody', '-c', '1']);
    assert.equal(code, 1);
    assert.deepEqual(out, ['Failed to allocate flow: -1007.']);
    await stop(w);
  });

  it('stops sending when the flow goes down', async () => {
    const clock = new MemClock();
    const net = new MemNet(clock);
    const peer = net.process('gone');
    void peer.flowAccept().then((f) => f.dealloc());
    const out: string[] = [];
    await drive(clock, runOpingClient(net.process(), options('-n', 'gone', '-c', '5'), (l) => out.push(l), { clock }));
    assert.deepEqual(out.slice(2), [
      'Failed to send packet.',
      '',
      '--- gone ping statistics ---',
      '1 packets transmitted, 0 received, 0 out-of-order, 100% packet loss, time: 1000.000 ms',
    ]);
  });

  it('rejects replies that are not replies or carry an unknown id', async () => {
    const clock = new MemClock();
    const net = new MemNet(clock);
    const peer = net.process('odd');
    void (async () => {
      const f = await peer.flowAccept();
      const req = await f.read();
      const bad = makeReply(req);
      bad.writeUInt32BE(5, 4);
      await f.write(bad);
      await f.write(req);
      await f.write(makeReply(req));
    })();
    const out: string[] = [];
    await drive(clock, runOpingClient(net.process(), options('-n', 'odd', '-c', '1'), (l) => out.push(l), { clock }));
    assert.deepEqual(out.slice(2, 5), ['Invalid id.', 'Invalid message on fd 64.', '64 bytes from odd: seq=0 time=0.500 ms']);
  });
});

describe('oping server', () => {
  it('serves several flows at once', async () => {
    const w = world();
    const a = w.net.process();
    const b = w.net.process();
    const outA: string[] = [];
    const outB: string[] = [];
    const runs = Promise.all([
      runOpingClient(a, options('-n', 'srv', '-c', '2'), (l) => outA.push(l), { clock: w.clock }),
      runOpingClient(b, options('-n', 'srv', '-c', '2', '-i', '500'), (l) => outB.push(l), { clock: w.clock }),
    ]);
    await drive(w.clock, runs);
    assert.deepEqual(w.srvOut.slice(0, 3), ['Ouroboros ping server started.', 'New flow 64.', 'New flow 65.']);
    assert.equal(w.srvOut.filter((l) => l === 'Received 64 bytes on fd 64.').length, 2);
    assert.equal(w.srvOut.filter((l) => l === 'Received 64 bytes on fd 65.').length, 2);
    assert.equal(outA[6], '2 packets transmitted, 2 received, 0 out-of-order, 0% packet loss, time: 2000.500 ms');
    assert.equal(outB[6], '2 packets transmitted, 2 received, 0 out-of-order, 0% packet loss, time: 1000.500 ms');
    await stop(w);
  });

  it('drops a flow idle for more than 10 s', async () => {
    const w = world();
    await ping(w, ['-n', 'srv', '-c', '3']);
    // Last request at 3000.25 ms; the cleaner looks every second.
    await driveTo(w.clock, 13_500);
    assert.ok(!w.srvOut.includes('Flow 64 timed out.'));
    await driveTo(w.clock, 14_500);
    assert.equal(w.srvOut.at(-1), 'Flow 64 timed out.');
    assert.equal(w.srvOut.filter((l) => l.startsWith('Flow ')).length, 1);
    assert.equal(await stop(w), 0);
  });

  it('answers only requests, and any size', async () => {
    const w = world();
    const raw = w.net.process();
    const f = (await raw.flowAlloc('srv')) as MemFlow;
    await f.write(encodeMsg({ type: ECHO_REPLY, id: 0, tvSec: 0n, tvNsec: 0n }, 64));
    await f.write(Buffer.from('00000000aabbcc', 'hex'));
    await driveTo(w.clock, 10);
    assert.deepEqual(w.srvOut.slice(1), [
      'New flow 64.',
      'Received 64 bytes on fd 64.',
      'Invalid message on fd 64.',
      'Received 7 bytes on fd 64.',
    ]);
    assert.equal(f.rxQueueLength, 1);
    assert.equal((await f.read()).toString('hex'), '00000001aabbcc');
    await stop(w);
  });

  it('--busy serves one flow and ends with it', async () => {
    const w = world(['-l', '--busy']);
    const { out } = await ping(w, ['-n', 'srv', '-c', '2']);
    assert.equal(out[7], 'rtt min/avg/max/mdev = 0.500/0.500/0.500/0.000 ms');
    assert.equal(await drive(w.clock, w.server), 0);
    assert.deepEqual(w.srvOut, ['New flow 64 (busy-poll).']);
  });
});

describe('oping bin', () => {
  // Run from the sources (tsx) or from the build, whichever this test is.
  const fromTs = import.meta.url.endsWith('.ts');
  const main = fileURLToPath(new URL(`../../../src/tools/oping/main.${fromTs ? 'ts' : 'js'}`, import.meta.url));
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [...(fromTs ? ['--import', 'tsx'] : []), main, ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 30_000,
    });

  it('prints the usage and exits 1 on a bad option, without needing irmd', () => {
    const r = run(['--rundir', '/nonexistent', '--bogus']);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, `${OPING_USAGE}\n`);
  });

  it('exits 1 when there is no irmd to announce to', () => {
    const dir = mkdtempSync(join(tmpdir(), 'o7s-oping-'));
    try {
      const r = run(['-n', 'srv', '-c', '1'], { OUROBOROS_RUNDIR: dir });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /FATAL: Could not announce to IRMd\./);
      assert.equal(r.stdout, '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
