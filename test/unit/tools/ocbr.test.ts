import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { MemClock, MemNet, serverWorld, type DelayFn, type MemFlow } from '../../../src/tools/common/memnet.js';
import { RecvStats } from '../../../src/tools/common/recvstats.js';
import { decodeSeq, encodePacket, runOcbrClient, sentStatsLine } from '../../../src/tools/ocbr/client.js';
import { OCBR_USAGE, parseOcbrArgs, parseRate, type OcbrOptions } from '../../../src/tools/ocbr/options.js';
import { intervalLine, runOcbrServer, totalLines } from '../../../src/tools/ocbr/server.js';

const MS = 1_000_000n;

function options(...args: string[]): OcbrOptions {
  const r = parseOcbrArgs(args);
  assert.ok(r.ok, `expected ${args.join(' ')} to parse: ${JSON.stringify(r)}`);
  return r.options;
}

/** A virtual network with an ocbr server on name `srv`. */
function world(serverArgs: string[] = ['-l'], delay?: DelayFn, bitrate: number | null = null) {
  return serverWorld((proc, out, ctl) => runOcbrServer(proc, options(...serverArgs), out, ctl), delay, bitrate);
}
type World = ReturnType<typeof world>;

async function cbr(w: World, args: string[], signal?: AbortSignal) {
  const proc = w.net.process();
  const out: string[] = [];
  const code = await w.clock.run(runOcbrClient(proc, options(...args), (l) => out.push(l), { clock: w.clock, signal }));
  return { code, out, proc, flow: proc.flows[0] as MemFlow | undefined };
}

async function stop(w: World): Promise<number> {
  w.stopServer.abort();
  return w.clock.run(w.server);
}

/** What the client puts on the wire for packet `seq`. */
function packet(seq: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  b.writeBigInt64LE(BigInt(seq), 0);
  return b;
}

// ---------------------------------------------------------------------------

describe('ocbr options', () => {
  it('has the reference defaults', () => {
    const r = parseOcbrArgs(['-n', 'srv']);
    assert.ok(r.ok);
    assert.deepEqual(r.lines, []);
    assert.deepEqual(r.options, {
      listen: false,
      interval: 1,
      timeout: 1,
      serverName: 'srv',
      duration: 60,
      size: 1000,
      rate: 1_000_000,
      flood: false,
      sleep: true,
    });
  });

  it('takes the long forms and the server options', () => {
    assert.deepEqual(
      options('--server_apn', 'x', '--duration', '5', '--size', '100', '--rate', '2M', '--flood', '--spin'),
      { listen: false, interval: 1, timeout: 1, serverName: 'x', duration: 5, size: 100, rate: 2e6, flood: true, sleep: false },
    );
    const s = options('--listen', '--interval', '5', '--timeout', '3');
    assert.equal(s.listen, true);
    assert.equal(s.interval, 5);
    assert.equal(s.timeout, 3);
    assert.equal(options('-l', '-i', '2', '-t', '7').timeout, 7);
    assert.equal(options('-n', 'x', '--spin', '--sleep').sleep, true);
  });

  it('parses rates in b/s with k, M and G suffixes', () => {
    assert.equal(parseRate('100'), 100);
    assert.equal(parseRate('5k'), 5000);
    assert.equal(parseRate('3kb'), 3000);
    assert.equal(parseRate('2M'), 2_000_000);
    assert.equal(parseRate('1G'), 1_000_000_000);
    assert.equal(parseRate('7x'), 7);
    assert.equal(options('-n', 'x', '-r', '10M').rate, 10_000_000);
  });

  it('checks the client settings with the reference messages', () => {
    assert.deepEqual(parseOcbrArgs([]), { ok: false, lines: ['No server specified.', OCBR_USAGE], exitCode: 1 });
    assert.deepEqual(parseOcbrArgs(['-n', 'x', '-s', '524289']), { ok: false, lines: ['Maximum size: 524288.'], exitCode: 1 });
    assert.deepEqual(parseOcbrArgs(['-n', 'x', '-s', '-1']), { ok: false, lines: ['Size overflow.'], exitCode: 1 });
    assert.deepEqual(parseOcbrArgs(['-n', 'x', '-r', '0']), { ok: false, lines: ['Invalid rate.'], exitCode: 1 });
    assert.deepEqual(parseOcbrArgs(['-n', 'x', '-r', '-5k']), { ok: false, lines: ['Invalid rate.'], exitCode: 1 });
    assert.equal(options('-n', 'x', '-s', '524288').size, 524288);
    assert.equal(options('-n', 'x', '-s', '0').size, 0);
  });

  it('prints the usage on a wrong option (exit 1) and on --help (exit 0)', () => {
    const usage = { ok: false, lines: [OCBR_USAGE], exitCode: 1 };
    assert.deepEqual(parseOcbrArgs(['-x']), usage);
    assert.deepEqual(parseOcbrArgs(['-n']), usage, 'option without its value');
    assert.deepEqual(parseOcbrArgs(['-l', '--server-name', 'x']), usage);
    assert.deepEqual(parseOcbrArgs(['--help']), { ...usage, exitCode: 0 });
  });

  it('has the reference usage text', () => {
    const lines = OCBR_USAGE.split('\n');
    assert.equal(lines.length, 20);
    assert.equal(lines[0], 'Usage: cbr [OPTION]...');
    assert.equal(lines[1], 'Sends packets from client to server at a constant bit rate.');
    assert.ok(lines.includes('  -s, --size                packet size (B, max 524288 B)'));
    assert.ok(lines.includes('  -n, --server_apn          Specify the name of the server.'));
    assert.equal(lines.at(-1), '      --help                Display this help text and exit');
  });
});

describe('ocbr packets and lines', () => {
  it('starts every packet with an 8-byte little-endian sequence number', () => {
    assert.equal(encodePacket(0x0102030405, 12).toString('hex'), '0504030201000000' + '00000000');
    assert.equal(encodePacket(1, 4).toString('hex'), '01000000');
    assert.equal(encodePacket(3, 0).length, 0);
    assert.equal(decodeSeq(packet(123456789, 1000)), 123456789);
    assert.equal(decodeSeq(Buffer.alloc(7)), undefined);
  });

  it('prints the reference lines', () => {
    assert.equal(
      sentStatsLine(125, 1000, 1000),
      'sent statistics:       125 packets,       125000 bytes in      1000 ms, 1.0000 Mb/s',
    );
    assert.equal(
      sentStatsLine(617985, 1400, 2000),
      'sent statistics:    617985 packets,    865179000 bytes in      2000 ms, 3460.7160 Mb/s',
    );
    assert.equal(
      intervalLine(64, 125, 125000, 1_092_250),
      'Flow   64:       125 packets (      125000 bytes) in      1092 ms =>  114.4427 pps,    0.9155 Mbps',
    );
    assert.equal(
      intervalLine(1234, 0, 0, 1_000_000),
      'Flow 1234:         0 packets (           0 bytes) in      1000 ms =>    0.0000 pps,    0.0000 Mbps',
    );
  });

  it('prints totals and loss in the same style', () => {
    const s = new RecvStats();
    for (const [seq, t] of [[0, 0], [1, 8], [3, 24], [2, 30], [5, 40]] as const) s.add(1000, BigInt(t) * MS, seq);
    assert.deepEqual(totalLines(64, s), [
      'Flow   64 total:         5 packets (        5000 bytes) in        40 ms =>  100.0000 pps,    0.8000 Mbps',
      'Flow   64 loss:         1 of         6 packets lost =>   16.6667 %,         1 out of order',
    ]);
    assert.deepEqual(totalLines(65, new RecvStats()), [
      'Flow   65 total:         0 packets (           0 bytes) in         0 ms =>    0.0000 pps,    0.0000 Mbps',
      'Flow   65 loss:         0 of         0 packets lost =>    0.0000 %,         0 out of order',
    ]);
  });
});

describe('ocbr client against server', () => {
  it('sends at the constant bit rate and the server reports every interval', async () => {
    const w = world();
    const { code, out, proc, flow } = await cbr(w, ['-n', 'srv', '-d', '1', '-s', '1000', '-r', '1M']);
    assert.equal(code, 0);
    assert.deepEqual(out, [
      'Client started, duration 1, rate 1000000 b/s, size 1000 B.',
      'sent statistics:       125 packets,       125000 bytes in      1000 ms, 1.0000 Mb/s',
    ]);
    assert.deepEqual(proc.allocs, [{ dst: 'srv', opts: undefined }]);
    // One packet every 8 ms, numbered from 0.
    assert.deepEqual(flow!.sent, Array.from({ length: 125 }, (_, i) => packet(i, 1000)));

    await w.clock.runTo(4000);
    assert.deepEqual(w.srvOut, [
      'Server started, interval is 1 s, timeout is 1 s.',
      'New flow.',
      // The client left at 1000 ms: reads end at once, every 100 ms tick.
      'Flow   64:       125 packets (      125000 bytes) in      1100 ms =>  113.6364 pps,    0.9091 Mbps',
      'Test on flow 64 timed out',
      'Flow   64:         0 packets (           0 bytes) in      1000 ms =>    0.0000 pps,    0.0000 Mbps',
      'Flow   64 total:       125 packets (      125000 bytes) in       992 ms =>  125.0000 pps,    1.0000 Mbps',
      'Flow   64 loss:         0 of       125 packets lost =>    0.0000 %,         0 out of order',
    ]);
    assert.equal(await stop(w), 0);
  });

  it('reports loss and reordering from the sequence numbers', async () => {
    const w = world(['-l'], (pkt) => {
      const s = decodeSeq(pkt);
      return s === 10 || s === 20 ? null : s === 30 ? 20 : 0.25;
    });
    const { out } = await cbr(w, ['-n', 'srv', '-d', '2', '-s', '1000', '-r', '1M']);
    assert.equal(out[1], 'sent statistics:       250 packets,       250000 bytes in      2000 ms, 1.0000 Mb/s');
    await w.clock.runTo(5000);
    assert.deepEqual(w.srvOut.slice(2), [
      'Flow   64:       126 packets (      126000 bytes) in      1008 ms =>  124.9690 pps,    0.9998 Mbps',
      'Flow   64:       122 packets (      122000 bytes) in      1100 ms =>  110.9091 pps,    0.8873 Mbps',
      'Test on flow 64 timed out',
      'Flow   64:         0 packets (           0 bytes) in      1000 ms =>    0.0000 pps,    0.0000 Mbps',
      'Flow   64 total:       248 packets (      248000 bytes) in      1992 ms =>  123.9960 pps,    0.9920 Mbps',
      'Flow   64 loss:         2 of       250 packets lost =>    0.8000 %,         1 out of order',
    ]);
    await stop(w);
  });

  it('keeps reporting a live flow every interval', async () => {
    const w = world(['-l', '-i', '2', '-t', '3']);
    await cbr(w, ['-n', 'srv', '-d', '5', '-s', '500', '-r', '4k']);
    await w.clock.runTo(10_000);
    assert.deepEqual(w.srvOut, [
      'Server started, interval is 2 s, timeout is 3 s.',
      'New flow.',
      // Packets at 0, 1, 2, 3 and 4 s; reads wait 100 ms at most, so reports come up to 100 ms late.
      'Flow   64:         3 packets (        1500 bytes) in      2100 ms =>    1.4284 pps,    0.0057 Mbps',
      'Flow   64:         2 packets (        1000 bytes) in      2100 ms =>    0.9523 pps,    0.0038 Mbps',
      'Flow   64:         0 packets (           0 bytes) in      2100 ms =>    0.0000 pps,    0.0000 Mbps',
      // Silent for more than 3 s since the last packet at 4000.25 ms.
      'Test on flow 64 timed out',
      'Flow   64:         0 packets (           0 bytes) in      1100 ms =>    0.0000 pps,    0.0000 Mbps',
      'Flow   64 total:         5 packets (        2500 bytes) in      4000 ms =>    1.0000 pps,    0.0040 Mbps',
      'Flow   64 loss:         0 of         5 packets lost =>    0.0000 %,         0 out of order',
    ]);
    await stop(w);
  });

  it('floods as fast as the flow takes packets, still numbered', async () => {
    const w = world(['-l', '-i', '2'], undefined, 1_000_000);
    const { out, flow } = await cbr(w, ['-n', 'srv', '-d', '1', '-s', '1000', '-f']);
    assert.deepEqual(out.slice(1), ['sent statistics:       126 packets,       126000 bytes in      1008 ms, 1.0000 Mb/s']);
    assert.deepEqual(flow!.sent.map((p) => decodeSeq(p)), Array.from({ length: 126 }, (_, i) => i));
    await w.clock.runTo(5000);
    assert.deepEqual(w.srvOut.slice(-2), [
      'Flow   64 total:       126 packets (      126000 bytes) in      1000 ms =>  125.0000 pps,    1.0000 Mbps',
      'Flow   64 loss:         0 of       126 packets lost =>    0.0000 %,         0 out of order',
    ]);
    await stop(w);
  });

  it('spins to the same schedule with --spin', async () => {
    const clock = new MemClock();
    const net = new MemNet(clock);
    net.process('sink');
    clock.tickNs = 100_000n; // time moves while the client spins
    const proc = net.process();
    const out: string[] = [];
    await clock.run(runOcbrClient(proc, options('-n', 'sink', '-d', '1', '-s', '10000', '-r', '1M', '--spin'), (l) => out.push(l), { clock }));
    assert.deepEqual(out.slice(1), ['sent statistics:        13 packets,       130000 bytes in      1040 ms, 1.0000 Mb/s']);
    assert.deepEqual(proc.flows[0]!.sent.map((p) => decodeSeq(p)), Array.from({ length: 13 }, (_, i) => i));
  });

  it('sends short packets with as much of the number as fits', async () => {
    const w = world();
    const { out, flow } = await cbr(w, ['-n', 'srv', '-d', '1', '-s', '4', '-r', '320']);
    assert.equal(out[1], 'sent statistics:        10 packets,           40 bytes in      1000 ms, 0.0003 Mb/s');
    assert.deepEqual(flow!.sent.slice(0, 3).map((p) => p.toString('hex')), ['00000000', '01000000', '02000000']);
    await w.clock.runTo(4000);
    assert.equal(w.srvOut.at(-1), 'Flow   64 loss:         0 of         0 packets lost =>    0.0000 %,         0 out of order');
    assert.equal(w.srvOut.at(-2), 'Flow   64 total:        10 packets (          40 bytes) in       900 ms =>   10.0000 pps,    0.0003 Mbps');
    await stop(w);
  });

  it('prints the sent statistics when stopped', async () => {
    const w = world();
    const ac = new AbortController();
    w.clock.schedule(500, () => ac.abort());
    const { code, out } = await cbr(w, ['-n', 'srv', '-s', '1000', '-r', '1M'], ac.signal);
    assert.equal(code, 0);
    assert.deepEqual(out.slice(1), ['sent statistics:        63 packets,        63000 bytes in       500 ms, 1.0080 Mb/s']);
    await stop(w);
  });

  it('fails when the flow cannot be allocated', async () => {
    const w = world();
    const { code, out } = await cbr(w, ['-n', 'nobody', '-d', '1']);
    assert.equal(code, 1);
    assert.deepEqual(out, ['Client started, duration 1, rate 1000000 b/s, size 1000 B.', 'Failed to allocate flow.']);
    await stop(w);
  });

  it('stops sending when the flow goes down', async () => {
    const clock = new MemClock();
    const net = new MemNet(clock);
    const peer = net.process('gone');
    void peer.flowAccept().then(async (f) => {
      await clock.sleep(20);
      await f.dealloc();
    });
    const out: string[] = [];
    await clock.run(runOcbrClient(net.process(), options('-n', 'gone', '-d', '5'), (l) => out.push(l), { clock }));
    assert.deepEqual(out.slice(1), ['sent statistics:         3 packets,         3000 bytes in        24 ms, 1.0000 Mb/s']);
  });
});

describe('ocbr server', () => {
  it('serves at most 10 flows at a time', async () => {
    const w = world();
    const runs = Array.from({ length: 11 }, () =>
      runOcbrClient(w.net.process(), options('-n', 'srv', '-d', '1', '-r', '80k'), () => undefined, { clock: w.clock }),
    );
    await w.clock.run(Promise.all(runs));
    await w.clock.runTo(8000);
    assert.deepEqual(w.srvOut.slice(0, 13), [
      'Server started, interval is 1 s, timeout is 1 s.',
      ...Array(10).fill('New flow.'),
      "Can't accept any more flows, waiting.",
      'Flow   64:        10 packets (       10000 bytes) in      1100 ms =>    9.0909 pps,    0.0727 Mbps',
    ]);
    // The 11th flow is taken once the first test is over.
    const i = w.srvOut.indexOf('Test on flow 64 timed out');
    assert.ok(i > 12 && w.srvOut.indexOf('New flow.', 12) > i);
    assert.equal(w.srvOut.filter((l) => l === 'New flow.').length, 11);
    for (let fd = 64; fd <= 74; fd++) {
      assert.ok(
        w.srvOut.includes(`Flow ${String(fd).padStart(4)} loss:         0 of        10 packets lost =>    0.0000 %,         0 out of order`),
        `flow ${fd}: ${w.srvOut.join('\n')}`,
      );
    }
    await stop(w);
  });

  it('reports the flows under test when stopped', async () => {
    const w = world();
    const f = await w.net.process().flowAlloc('srv');
    for (const i of [0, 1, 2, 4]) await f.write(packet(i, 100));
    await w.clock.runTo(450);
    assert.equal(await stop(w), 0);
    assert.deepEqual(w.srvOut.slice(2), [
      // Reported as of the start of the read under way when it stopped.
      'Flow   64:         4 packets (         400 bytes) in       400 ms =>    9.9938 pps,    0.0080 Mbps',
      'Flow   64 total:         4 packets (         400 bytes) in         0 ms =>    0.0000 pps,    0.0000 Mbps',
      'Flow   64 loss:         1 of         5 packets lost =>   20.0000 %,         0 out of order',
    ]);
  });
});

describe('ocbr bin', () => {
  // Run from the sources (tsx) or from the build, whichever this test is.
  const fromTs = import.meta.url.endsWith('.ts');
  const main = fileURLToPath(new URL(`../../../src/tools/ocbr/main.${fromTs ? 'ts' : 'js'}`, import.meta.url));
  const run = (args: string[]) =>
    spawnSync(process.execPath, [...(fromTs ? ['--import', 'tsx'] : []), main, ...args], { encoding: 'utf8', timeout: 30_000 });

  it('prints the usage and exits 1 on a bad option, 0 on --help, without irmd', () => {
    let r = run(['--rundir', '/nonexistent', '--bogus']);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, `${OCBR_USAGE}\n`);
    r = run(['--rundir', '/nonexistent', '--help']);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, `${OCBR_USAGE}\n`);
    r = run(['--rundir', '/nonexistent']);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, `No server specified.\n${OCBR_USAGE}\n`);
  });
});
