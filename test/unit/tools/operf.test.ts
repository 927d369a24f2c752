import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { systemClock } from '../../../src/tools/oping/clock.js';
import { MemClock, MemNet, serverWorld, type DelayFn, type MemFlow } from '../../../src/tools/common/memnet.js';
import { pace, gapNs, PACE_MAX_LAG_NS } from '../../../src/tools/common/pacer.js';
import { sprintf } from '../../../src/tools/common/printf.js';
import { RecvStats, SeqTracker, SEQ_TRACK_LIMIT } from '../../../src/tools/common/recvstats.js';
import { runOperfClient } from '../../../src/tools/operf/client.js';
import { OPERF_USAGE, parseOperfArgs, type OperfOptions } from '../../../src/tools/operf/options.js';
import { decodeConfig, encodeConfig, readSeq, writeSeq, TEST_TYPE_BI, TEST_TYPE_UNI } from '../../../src/tools/operf/protocol.js';
import { runOperfServer } from '../../../src/tools/operf/server.js';
import { frctStatsLine, lossPercent, sendingLine, seqnoLine, serverStatsLines } from '../../../src/tools/operf/stats.js';
import { qos } from '../../../src/lib/qos.js';
import type { AllocOptions, Flow } from '../../../src/lib/api.js';

const MS = 1_000_000n;

function options(...args: string[]): OperfOptions {
  const r = parseOperfArgs(args);
  assert.ok(r.ok, `expected ${args.join(' ')} to parse: ${JSON.stringify(r)}`);
  return r.options;
}

/** A virtual network with an operf server on name `srv`. */
function world(delay?: DelayFn, bitrate: number | null = null) {
  return serverWorld((proc, out, ctl) => runOperfServer(proc, options('-l'), out, ctl), delay, bitrate);
}
type World = ReturnType<typeof world>;

async function perf(w: World, args: string[], signal?: AbortSignal) {
  const proc = w.net.process();
  const out: string[] = [];
  const code = await w.clock.run(runOperfClient(proc, options(...args), (l) => out.push(l), { clock: w.clock, signal }));
  return { code, out, proc, flow: proc.flows[0] as MemFlow | undefined };
}

async function stop(w: World): Promise<number> {
  w.stopServer.abort();
  return w.clock.run(w.server);
}

/** A test packet as the client sends it. */
function packet(seq: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32LE(seq, 0);
  return b;
}

const seqOf = (pkt: Buffer): number => (pkt.length > 4 ? readSeq(pkt) : -1);

// ---------------------------------------------------------------------------

describe('operf options', () => {
  it('has the reference defaults', () => {
    const r = parseOperfArgs(['-n', 'srv']);
    assert.ok(r.ok);
    assert.deepEqual(r.lines, []);
    assert.deepEqual(r.options, {
      listen: false,
      testType: TEST_TYPE_UNI,
      serverName: 'srv',
      duration: 60000,
      rate: 1_000_000,
      size: 1500,
      flood: false,
      sleep: false,
    });
  });

  it('takes the long forms', () => {
    const o = options('--server-name', 'x', '--test', 'bi', '--duration', '5s', '--rate', '2M', '--size', '100', '--flood', '--sleep');
    assert.deepEqual(o, { listen: false, testType: TEST_TYPE_BI, serverName: 'x', duration: 5000, rate: 2e6, size: 100, flood: true, sleep: true });
    assert.equal(options('--listen').listen, true);
  });

  it('parses durations with units, ms by default', () => {
    assert.equal(options('-n', 'x', '-d', '100').duration, 100);
    assert.equal(options('-n', 'x', '-d', '250ms').duration, 250);
    assert.equal(options('-n', 'x', '-d', '10s').duration, 10_000);
    assert.equal(options('-n', 'x', '-d', '2m').duration, 120_000);
    assert.equal(options('-n', 'x', '-d', '1h').duration, 3_600_000);
    assert.equal(options('-n', 'x', '-d', '1d').duration, 86_400_000);
    assert.deepEqual(parseOperfArgs(['-n', 'x', '-d', '1x']), { ok: false, lines: ['Unknown time unit: x.'], exitCode: 1 });
  });

  it('parses rates: k, M, G, and no suffix means kb/s', () => {
    assert.equal(options('-n', 'x', '-r', '1000').rate, 1_000_000);
    assert.equal(options('-n', 'x', '-r', '5').rate, 5000);
    assert.equal(options('-n', 'x', '-r', '5k').rate, 5000);
    assert.equal(options('-n', 'x', '-r', '2M').rate, 2_000_000);
    assert.equal(options('-n', 'x', '-r', '10G').rate, 10_000_000_000);
    assert.deepEqual(parseOperfArgs(['-n', 'x', '-r', '3T']), { ok: false, lines: ['Unknown rate unit: T.'], exitCode: 1 });
    assert.deepEqual(parseOperfArgs(['-n', 'x', '-r', '1Mb']), { ok: false, lines: ['Unknown rate unit: Mb.'], exitCode: 1 });
  });

  it('clamps the size to 64..1048576 with the reference messages', () => {
    let r = parseOperfArgs(['-n', 'x', '-s', '2000000']);
    assert.ok(r.ok);
    assert.deepEqual(r.lines, ['Packet size truncated to 1048576 bytes.']);
    assert.equal(r.options.size, 1048576);
    r = parseOperfArgs(['-n', 'x', '-s', '10']);
    assert.ok(r.ok);
    assert.deepEqual(r.lines, ['Packet size set to 64 bytes.']);
    assert.equal(r.options.size, 64);
    assert.equal(options('-n', 'x', '-s', '64').size, 64);
    assert.equal(options('-n', 'x', '-s', '1048576').size, 1048576);
  });

  it('checks the test type and the server name for the client only', () => {
    assert.equal(options('-n', 'x', '-t', 'bi').testType, TEST_TYPE_BI);
    assert.equal(options('-n', 'x', '-t', 'uni').testType, TEST_TYPE_UNI);
    assert.deepEqual(parseOperfArgs(['-n', 'x', '-t', 'tri']), { ok: false, lines: ['Invalid test type.'], exitCode: 1 });
    assert.deepEqual(parseOperfArgs([]), { ok: false, lines: ['No server specified.'], exitCode: 1 });
    assert.equal(options('-l', '-t', 'tri').listen, true);
  });

  it('rejects a rate that is not positive unless flooding', () => {
    assert.deepEqual(parseOperfArgs(['-n', 'x', '-r', '0']), { ok: false, lines: ['Invalid rate.'], exitCode: 1 });
    assert.deepEqual(parseOperfArgs(['-n', 'x', '-r', '-5', '-s', '1']), {
      ok: false,
      lines: ['Packet size set to 64 bytes.', 'Invalid rate.'],
      exitCode: 1,
    });
    assert.equal(options('-n', 'x', '-r', '0', '-f').flood, true);
  });

  it('prints the usage on a wrong option (exit 1) and on --help (exit 0)', () => {
    const usage = { ok: false, lines: [OPERF_USAGE], exitCode: 1 };
    assert.deepEqual(parseOperfArgs(['-x']), usage);
    assert.deepEqual(parseOperfArgs(['-n']), usage, 'option without its value');
    assert.deepEqual(parseOperfArgs(['-n', 'x', '-c', '5']), usage);
    assert.deepEqual(parseOperfArgs(['--help']), { ...usage, exitCode: 0 });
  });

  it('o7s: takes the QoS of the flow (-q, --qos), as oping; unknown names fall back to raw', () => {
    // (not through options(): its message would JSON the bigint bandwidth of a QoS)
    const withQos = (...a: string[]): OperfOptions => {
      const r = parseOperfArgs(a);
      assert.ok(r.ok);
      return r.options;
    };
    assert.equal(withQos('-n', 'x', '-q', 'data').qos, qos.data);
    assert.equal(withQos('-n', 'x', '--qos', 'voice').qos, qos.voice);
    assert.equal(withQos('-n', 'x', '-q', 'raw').qos, qos.raw);
    assert.equal('qos' in options('-n', 'x'), false, 'no -q: the library default');
    const r = parseOperfArgs(['-n', 'x', '-q', 'gold']);
    assert.ok(r.ok);
    assert.deepEqual(r.lines, ['Unknown QoS cube, defaulting to raw.']);
    assert.equal(r.options.qos, undefined);
    assert.match(OPERF_USAGE, /-q, --qos\s+QoS of the flow/);
  });

  it('starts with the reference usage text', () => {
    assert.deepEqual(OPERF_USAGE.split('\n').slice(0, 12), [
      'Usage: operf [OPTION]...',
      'Measures bandwidth between a client and a server',
      '  -l, --listen              Run in server mode',
      '  -t, --test                The type of test [uni, bi] (default uni)',
      '  -n, --server-name         Name of the operf server',
      '  -d, --duration            Test duration (default 60s)',
      '  -r, --rate                Rate (b/s)',
      '  -s, --size                Payload size (B, default 1500)',
      '  -f, --flood               Send packets as fast as possible',
      '      --sleep               Sleep in between sending packets',
      '',
      '      --help                Display this help text and exit',
    ]);
    assert.match(OPERF_USAGE, /server\s+reports, when a flow ends, packets and bytes received, loss/);
  });
});

describe('operf protocol', () => {
  it('sends the test type as a little-endian u32', () => {
    assert.equal(encodeConfig(TEST_TYPE_UNI).toString('hex'), '00000000');
    assert.equal(encodeConfig(TEST_TYPE_BI).toString('hex'), '01000000');
    assert.equal(decodeConfig(Buffer.from('01000000', 'hex')), 1);
    assert.equal(decodeConfig(Buffer.from('0100000000', 'hex')), undefined);
    assert.equal(decodeConfig(Buffer.from('0100', 'hex')), undefined);
  });

  it('numbers packets with a little-endian u32 at the start', () => {
    const p = Buffer.alloc(8);
    writeSeq(p, 0x01020304);
    assert.equal(p.toString('hex'), '0403020100000000');
    assert.equal(readSeq(p), 0x01020304);
    assert.equal(readSeq(Buffer.from([7, 1])), 0x107);
  });
});

describe('operf lines', () => {
  it('computes loss as the reference: 100 - 100*rcvd/sent in integers', () => {
    assert.equal(lossPercent(0, 0), 0);
    assert.equal(lossPercent(10, 10), 0);
    assert.equal(lossPercent(10, 9), 10);
    assert.equal(lossPercent(3, 2), 34);
    assert.equal(lossPercent(1000, 999), 1);
    assert.equal(lossPercent(5, 0), 100);
  });

  it('announces the test', () => {
    assert.equal(sendingLine('srv', 1500, 60000, 1e6, false), 'Sending 1500 byte packets for 60 s to srv at 1.000 Mb/s.');
    assert.equal(sendingLine('srv', 64, 2500, 12345, false), 'Sending 64 byte packets for 2 s to srv at 0.012 Mb/s.');
    assert.equal(sendingLine('a.b', 1500, 10_000, 1e6, true), 'Flooding a.b with 1500 byte packets for 10 seconds.');
  });

  it('prints a packet line with the time of day in µs, and the id as a signed int', () => {
    assert.equal(seqnoLine(7, 64, 1_700_000_001_000_500_999n), 'Seqno 7 from fd 64: 1700000001.000500');
    assert.equal(seqnoLine(0x80000000, 65, 0n), 'Seqno -2147483648 from fd 65: 0.000000');
  });

  it('prints the server statistics of a flow', () => {
    const s = new RecvStats();
    for (const [seq, t] of [[0, 0], [1, 10], [3, 30], [2, 40]] as const) s.add(1000, BigInt(t) * MS, seq);
    assert.deepEqual(serverStatsLines(64, s), [
      '--- flow 64 perf statistics ---',
      '4 packets received, 4000 bytes, 0 lost, 0% packet loss, 1 out-of-order, time: 40.000 ms, goodput: 0.600 Mb/s.',
    ]);
  });
});

describe('tools printf', () => {
  it('formats like C', () => {
    assert.equal(sprintf('Flow %4d: %9ld packets (%12ld bytes)', 64, 125, 125000), 'Flow   64:       125 packets (      125000 bytes)');
    assert.equal(sprintf('%9.4f|%4.4f|%.3f|%f', 113.63636, 1, 0.0625, 2), ' 113.6364|1.0000|0.062|2.000000');
    assert.equal(sprintf('%-5d|%05d|%06zu|%+d|% d', 42, -42, 500, 3, 3), '42   |-0042|000500|+3| 3');
    assert.equal(sprintf('%lu %ld %d', -1, 2n ** 40n, 3.9), '18446744073709551615 1099511627776 3');
    assert.equal(sprintf('%s is %d%% done%c', 'x', 50, 33), 'x is 50% done!');
    assert.equal(sprintf('%4.4f %9.4f', 1 / 0, 0 / 0), ' inf       nan');
  });
});

describe('receive statistics', () => {
  it('tells lost, reordered and duplicate packets from the sequence numbers', () => {
    const t = new SeqTracker();
    for (const s of [0, 1, 3, 2, 5, 5, 9]) t.add(s);
    assert.equal(t.expected, 10);
    assert.equal(t.unique, 6);
    assert.equal(t.reordered, 1);
    assert.equal(t.duplicates, 1);
    assert.equal(t.lost, 4);
    t.add(7);
    assert.equal(t.lost, 3);
    assert.equal(t.reordered, 2);
  });

  it('still counts gaps too large to remember', () => {
    const t = new SeqTracker();
    t.add(0);
    t.add(SEQ_TRACK_LIMIT + 10);
    assert.equal(t.lost, SEQ_TRACK_LIMIT + 9);
    t.add(5);
    assert.equal(t.lost, SEQ_TRACK_LIMIT + 8);
    assert.equal(t.reordered, 1);
  });

  it('measures goodput over the packets after the first', () => {
    const s = new RecvStats();
    assert.equal(s.goodputMbps, 0);
    s.add(1250, 5n * MS, 0);
    assert.equal(s.goodputMbps, 0);
    for (let i = 1; i < 10; i++) s.add(1250, (5n + BigInt(i) * 10n) * MS, i);
    assert.equal(s.spanUs, 90_000);
    assert.equal(s.goodputMbps, 1);
    assert.equal(s.pps, 100);
  });
});

describe('pacer', () => {
  it('sends packet k at start + k*gap and ends after the last slot', async () => {
    const clock = new MemClock();
    const times: bigint[] = [];
    const r = await clock.run(pace({ clock, durationNs: 100n * MS, gapNs: 10e6 }, () => (times.push(clock.t), true)));
    assert.deepEqual(times, [0n, 10n, 20n, 30n, 40n, 50n, 60n, 70n, 80n, 90n].map((t) => t * MS));
    assert.deepEqual(r, { sent: 10, startNs: 0n, endNs: 100n * MS, failed: false });
  });

  it('keeps the average rate with fractional gaps', async () => {
    const clock = new MemClock();
    const gap = gapNs(1500, 7e6); // 1.714285... ms
    const r = await clock.run(pace({ clock, durationNs: 1000n * MS, gapNs: gap }, () => true));
    assert.equal(r.sent, 584);
    assert.equal(r.endNs, BigInt(Math.round(584 * gap)));
  });

  it('catches up after a slow write, back to back', async () => {
    const clock = new MemClock();
    const times: number[] = [];
    const r = await clock.run(
      pace({ clock, durationNs: 100n * MS, gapNs: 10e6 }, (seq) => {
        times.push(Number(clock.t / MS));
        return seq === 2 ? clock.sleep(35).then(() => true) : true;
      }),
    );
    assert.deepEqual(times, [0, 10, 20, 55, 55, 55, 60, 70, 80, 90]);
    assert.equal(r.sent, 10);
  });

  it('restarts the schedule instead of bursting after a long stall', async () => {
    const clock = new MemClock();
    const stall = Number(PACE_MAX_LAG_NS / MS) + 500;
    const r = await clock.run(
      pace({ clock, durationNs: 3000n * MS, gapNs: 10e6 }, (seq) => (seq === 1 ? clock.sleep(stall).then(() => true) : true)),
    );
    // Packet 1 took until 1510 ms; from there one every 10 ms until 3000 ms.
    assert.equal(r.sent, 2 + 149);
    assert.equal(r.endNs, 3000n * MS);
  });

  it('floods as fast as writes complete, until the duration is over', async () => {
    const clock = new MemClock();
    const r = await clock.run(pace({ clock, durationNs: 100n * MS, gapNs: null }, () => clock.sleep(1).then(() => true)));
    assert.deepEqual(r, { sent: 100, startNs: 0n, endNs: 100n * MS, failed: false });
  });

  it('stops on a failed write or when aborted', async () => {
    const clock = new MemClock();
    let r = await clock.run(pace({ clock, durationNs: 100n * MS, gapNs: 10e6 }, (seq) => seq < 3));
    assert.deepEqual(r, { sent: 3, startNs: 0n, endNs: 30n * MS, failed: true });
    const ac = new AbortController();
    clock.schedule(45, () => ac.abort());
    r = await clock.run(pace({ clock, durationNs: 1000n * MS, gapNs: 10e6, signal: ac.signal }, () => true));
    assert.equal(r.sent, 5);
    assert.equal(r.failed, false);
    // Started at 30 ms (where the first run ended), aborted at 30 + 45 ms.
    assert.equal(r.endNs - r.startNs, 45n * MS);
  });

  it('paces accurately on the real clock without burning the CPU', async () => {
    const cpu0 = process.cpuUsage();
    const r = await pace({ clock: systemClock, durationNs: 300n * MS, gapNs: 2e6 }, () => true);
    const cpu = process.cpuUsage(cpu0);
    const wallMs = Number(r.endNs - r.startNs) / 1e6;
    assert.equal(r.sent, 150);
    assert.ok(wallMs >= 300 && wallMs < 400, `took ${wallMs} ms`);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    assert.ok(cpuMs < wallMs / 2, `used ${cpuMs} ms of CPU in ${wallMs} ms`);
  });

  it('spins to the same schedule with spin', async () => {
    const r = await pace({ clock: systemClock, durationNs: 100n * MS, gapNs: 1e6, spin: true }, () => true);
    const wallMs = Number(r.endNs - r.startNs) / 1e6;
    assert.equal(r.sent, 100);
    assert.ok(wallMs >= 100 && wallMs < 200, `took ${wallMs} ms`);
  });
});

describe('operf client against server', () => {
  it('runs a unidirectional test at the rate and both sides report', async () => {
    const w = world();
    const { code, out, proc, flow } = await perf(w, ['-n', 'srv', '-d', '100', '-s', '1250', '-r', '1M']);
    assert.equal(code, 0);
    assert.deepEqual(out, [
      'Doing a unidirectional test.',
      'Sending 1250 byte packets for 0 s to srv at 1.000 Mb/s.',
      '',
      'Test finished.',
      '',
      '--- srv perf statistics ---',
      '10 packets transmitted, 12500 bytes, time: 100.000 ms, bandwidth: 1.000 Mb/s.',
    ]);
    assert.deepEqual(proc.allocs, [{ dst: 'srv', opts: undefined }]);

    // On the wire: the config, then 10 numbered packets, 10 ms apart after a 1 s pause.
    assert.ok(flow);
    assert.deepEqual(flow.sent, [encodeConfig(TEST_TYPE_UNI), ...Array.from({ length: 10 }, (_, i) => packet(i, 1250))]);

    await w.clock.runTo(2999);
    assert.ok(!w.srvOut.includes('Flow 64 timed out.'));
    await w.clock.runTo(3000);
    assert.deepEqual(w.srvOut, [
      'Ouroboros perf server started.',
      'New flow 64.',
      'Doing a unidirectional test.',
      ...Array.from({ length: 10 }, (_, i) => `Seqno ${i} from fd 64: 1700000001.0${i}0250`),
      'Flow 64 timed out.',
      '--- flow 64 perf statistics ---',
      '10 packets received, 12500 bytes, 0 lost, 0% packet loss, 0 out-of-order, time: 90.000 ms, goodput: 1.000 Mb/s.',
    ]);
    assert.equal(await stop(w), 0);
  });

  it('keeps the rate over the default 60 s test', async () => {
    const w = world();
    const { out } = await perf(w, ['-n', 'srv']);
    assert.equal(out[1], 'Sending 1500 byte packets for 60 s to srv at 1.000 Mb/s.');
    assert.equal(out[6], '5000 packets transmitted, 7500000 bytes, time: 60000.000 ms, bandwidth: 1.000 Mb/s.');
    await w.clock.runTo(65_000);
    assert.deepEqual(w.srvOut.slice(-2), [
      '--- flow 64 perf statistics ---',
      '5000 packets received, 7500000 bytes, 0 lost, 0% packet loss, 0 out-of-order, time: 59988.000 ms, goodput: 1.000 Mb/s.',
    ]);
    await stop(w);
  });

  it('has the server report packets lost on the way in a uni test', async () => {
    const w = world((pkt) => ([2, 7].includes(seqOf(pkt)) ? null : 0.25));
    const { out } = await perf(w, ['-n', 'srv', '-d', '100', '-s', '1250', '-r', '1000']);
    assert.equal(out.at(-1), '10 packets transmitted, 12500 bytes, time: 100.000 ms, bandwidth: 1.000 Mb/s.');
    await w.clock.runTo(3000);
    const seqnos = w.srvOut.filter((l) => l.startsWith('Seqno')).map((l) => Number(l.split(' ')[1]));
    assert.deepEqual(seqnos, [0, 1, 3, 4, 5, 6, 8, 9]);
    assert.deepEqual(w.srvOut.slice(-2), [
      '--- flow 64 perf statistics ---',
      '8 packets received, 10000 bytes, 2 lost, 20% packet loss, 0 out-of-order, time: 90.000 ms, goodput: 0.778 Mb/s.',
    ]);
    await stop(w);
  });

  it('counts echoes in a bi test: loss from the echoes, reordering at the server', async () => {
    // Client to server: packet 3 is lost, packet 5 is 25 ms late.
    const w = world();
    w.net.delay = (pkt, from) => {
      const toServer = w.srvProc.flows.includes(from.peer);
      if (toServer && seqOf(pkt) === 3) return null;
      if (toServer && seqOf(pkt) === 5) return 25;
      return 0.25;
    };
    const { out, flow } = await perf(w, ['-n', 'srv', '-t', 'bi', '-d', '100', '-s', '1250', '-r', '1M']);
    assert.deepEqual(out, [
      'Doing a bidirectional test.',
      'Sending 1250 byte packets for 0 s to srv at 1.000 Mb/s.',
      '',
      'Test finished.',
      '',
      '--- srv perf statistics ---',
      '10 packets transmitted, 9 received, 10% packet loss, time: 100.000 ms, bandwidth: 0.900 Mb/s.',
      '12500 bytes transmitted, 11250 received, 1 packets lost, goodput: 0.900 Mb/s.',
    ]);
    // The missing echo is waited for until the server drops the idle flow (at 3 s,
    // before the client's 2 s of silence since the last echo at 1090.5 ms are over).
    assert.equal(w.clock.t, 3000n * MS);
    assert.equal(flow!.sent[0]!.toString('hex'), '01000000');
    // The server sent back exactly what it got, in the order it got it.
    const echoed = w.srvProc.flows[0]!.sent.map(seqOf);
    assert.deepEqual(echoed, [0, 1, 2, 4, 6, 7, 5, 8, 9]);
    assert.deepEqual(w.srvProc.flows[0]!.sent[0], packet(0, 1250));

    await w.clock.runTo(6000);
    assert.deepEqual(w.srvOut, [
      'Ouroboros perf server started.',
      'New flow 64.',
      'Doing a bidirectional test.',
      'Flow 64 timed out.',
      '--- flow 64 perf statistics ---',
      '9 packets received, 11250 bytes, 1 lost, 10% packet loss, 1 out-of-order, time: 90.000 ms, goodput: 0.889 Mb/s.',
    ]);
    await stop(w);
  });

  it('ends a bi test as soon as every echo is back', async () => {
    const w = world();
    const { out } = await perf(w, ['-n', 'srv', '-t', 'bi', '-d', '1s', '-s', '1500', '-r', '3M']);
    assert.deepEqual(out.slice(-2), [
      '250 packets transmitted, 250 received, 0% packet loss, time: 1000.000 ms, bandwidth: 3.000 Mb/s.',
      '375000 bytes transmitted, 375000 received, 0 packets lost, goodput: 3.000 Mb/s.',
    ]);
    assert.equal(w.clock.t, 2000n * MS);
    await stop(w);
  });

  it('waits for echoes still on their way when the writer is done', async () => {
    const w = world();
    w.net.delay = (_pkt, from) => (w.srvProc.flows.includes(from) ? 50 : 0.25);
    const { out } = await perf(w, ['-n', 'srv', '-t', 'bi', '-d', '100', '-s', '1250', '-r', '1M']);
    assert.deepEqual(out.slice(-2), [
      '10 packets transmitted, 10 received, 0% packet loss, time: 100.000 ms, bandwidth: 1.000 Mb/s.',
      '12500 bytes transmitted, 12500 received, 0 packets lost, goodput: 1.000 Mb/s.',
    ]);
    // The last echo left the server at 1090.25 ms and took 50 ms.
    assert.equal(w.clock.t, 1_140_250_000n);
    await stop(w);
  });

  it('floods as fast as the flow takes packets', async () => {
    const w = world(undefined, 10_000_000);
    const { out, flow } = await perf(w, ['-n', 'srv', '-f', '-d', '100', '-s', '1250']);
    assert.deepEqual(out, [
      'Doing a unidirectional test.',
      'Flooding srv with 1250 byte packets for 0 seconds.',
      '',
      'Test finished.',
      '',
      '--- srv perf statistics ---',
      '100 packets transmitted, 125000 bytes, time: 100.000 ms, bandwidth: 10.000 Mb/s.',
    ]);
    assert.deepEqual(flow!.sent.slice(1).map(seqOf), Array.from({ length: 100 }, (_, i) => i));
    await w.clock.runTo(4000);
    assert.equal(
      w.srvOut.at(-1),
      '100 packets received, 125000 bytes, 0 lost, 0% packet loss, 0 out-of-order, time: 99.000 ms, goodput: 10.000 Mb/s.',
    );
    await stop(w);
  });

  it('paces fractional gaps exactly', async () => {
    const w = world();
    const { out } = await perf(w, ['-n', 'srv', '-d', '1s', '-r', '7M']);
    assert.equal(out.at(-1), '584 packets transmitted, 876000 bytes, time: 1001.142 ms, bandwidth: 7.000 Mb/s.');
    await stop(w);
  });

  it('prints the statistics when stopped', async () => {
    const w = world();
    const ac = new AbortController();
    w.clock.schedule(1045, () => ac.abort());
    const { code, out } = await perf(w, ['-n', 'srv', '-s', '1250', '-r', '1M'], ac.signal);
    assert.equal(code, 0);
    assert.deepEqual(out.slice(3), [
      'Test finished.',
      '',
      '--- srv perf statistics ---',
      '5 packets transmitted, 6250 bytes, time: 45.000 ms, bandwidth: 1.111 Mb/s.',
    ]);
    await stop(w);
  });

  it('reports a server that stops echoing, and wrong-sized echoes', async () => {
    const clock = new MemClock();
    const net = new MemNet(clock);
    const mute = net.process('mute');
    void (async () => {
      const f = await mute.flowAccept();
      await f.read(); // config
      const first = await f.read();
      await f.write(first.subarray(0, 100));
      for (;;) await f.read();
    })().catch(() => undefined);
    const out: string[] = [];
    const opts = options('-n', 'mute', '-t', 'bi', '-d', '5s', '-s', '1250', '-r', '1M');
    await clock.run(runOperfClient(net.process(), opts, (l) => out.push(l), { clock }));
    assert.deepEqual(out, [
      'Doing a bidirectional test.',
      'Sending 1250 byte packets for 5 s to mute at 1.000 Mb/s.',
      '',
      'Invalid message on fd 64.',
      'Server timed out.',
      'Test finished.',
      '',
      '--- mute perf statistics ---',
      // 2 s after the bad echo came in at 1000.5 ms the reader gives up and stops the writer.
      '201 packets transmitted, 0 received, 100% packet loss, time: 2000.500 ms, bandwidth: 0.000 Mb/s.',
      '251250 bytes transmitted, 0 received, 201 packets lost, goodput: 0.000 Mb/s.',
    ]);
  });

  it('fails when the flow cannot be allocated', async () => {
    const w = world();
    const { code, out } = await perf(w, ['-n', 'nobody']);
    assert.equal(code, 1);
    assert.deepEqual(out, ['Failed to allocate flow.']);
    await stop(w);
  });

  it('says so when a packet cannot be sent', async () => {
    const clock = new MemClock();
    const net = new MemNet(clock);
    const peer = net.process('gone');
    void (async () => {
      const f = await peer.flowAccept();
      await f.read();
      await f.dealloc();
    })();
    const out: string[] = [];
    await clock.run(runOperfClient(net.process(), options('-n', 'gone', '-d', '1s'), (l) => out.push(l), { clock }));
    assert.deepEqual(out.slice(3), [
      'Failed to send packet.',
      'Test finished.',
      '',
      '--- gone perf statistics ---',
      '0 packets transmitted, 0 bytes, time: 0.000 ms, bandwidth: nan Mb/s.',
    ]);
  });
});

describe('operf server', () => {
  it('rejects a bad configuration and goes on accepting', async () => {
    const w = world();
    const raw = w.net.process();
    const f = await raw.flowAlloc('srv');
    await f.write(Buffer.from('010000000000', 'hex'));
    await w.clock.runTo(10);
    assert.deepEqual(w.srvOut, ['Ouroboros perf server started.', 'New flow 64.', 'Invalid config message.']);
    assert.equal(f.closed, true, 'the server deallocated the flow');
    const { out } = await perf(w, ['-n', 'srv', '-d', '20', '-s', '1250', '-r', '1M']);
    assert.equal(out.at(-1), '2 packets transmitted, 2500 bytes, time: 20.000 ms, bandwidth: 1.000 Mb/s.');
    assert.deepEqual(w.srvOut.slice(3, 5), ['New flow 65.', 'Doing a unidirectional test.']);
    await stop(w);
  });

  it('gives a new flow the client pause before timing it out', async () => {
    const w = world();
    const raw = w.net.process();
    const f = await raw.flowAlloc('srv');
    await f.write(encodeConfig(TEST_TYPE_UNI));
    await w.clock.runTo(2050);
    await f.write(packet(0, 64));
    await w.clock.runTo(2100);
    await f.write(packet(1, 64));
    await w.clock.runTo(3999);
    assert.ok(!w.srvOut.includes('Flow 64 timed out.'), w.srvOut.join('\n'));
    await w.clock.runTo(4000);
    assert.deepEqual(w.srvOut.slice(-3), [
      'Flow 64 timed out.',
      '--- flow 64 perf statistics ---',
      '2 packets received, 128 bytes, 0 lost, 0% packet loss, 0 out-of-order, time: 50.000 ms, goodput: 0.010 Mb/s.',
    ]);
    await stop(w);
  });

  it('times out a flow that never sends data', async () => {
    const w = world();
    const f = await w.net.process().flowAlloc('srv');
    await f.write(encodeConfig(TEST_TYPE_BI));
    await w.clock.runTo(3000);
    assert.deepEqual(w.srvOut.slice(2), [
      'Doing a bidirectional test.',
      'Flow 64 timed out.',
      '--- flow 64 perf statistics ---',
      '0 packets received, 0 bytes, 0 lost, 0% packet loss, 0 out-of-order, time: 0.000 ms, goodput: 0.000 Mb/s.',
    ]);
    await stop(w);
  });

  it('reports the flows still open when stopped', async () => {
    const w = world();
    const f = await w.net.process().flowAlloc('srv');
    await f.write(encodeConfig(TEST_TYPE_UNI));
    for (const i of [0, 1, 3]) await f.write(packet(i, 100));
    await w.clock.runTo(500);
    assert.equal(await stop(w), 0);
    assert.deepEqual(w.srvOut.slice(-2), [
      '--- flow 64 perf statistics ---',
      '3 packets received, 300 bytes, 1 lost, 25% packet loss, 0 out-of-order, time: 0.000 ms, goodput: 0.000 Mb/s.',
    ]);
    assert.ok(!w.srvOut.some((l) => l.includes('timed out')));
  });
});

describe('operf bin', () => {
  // Run from the sources (tsx) or from the build, whichever this test is.
  const fromTs = import.meta.url.endsWith('.ts');
  const main = fileURLToPath(new URL(`../../../src/tools/operf/main.${fromTs ? 'ts' : 'js'}`, import.meta.url));
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [...(fromTs ? ['--import', 'tsx'] : []), main, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });

  it('prints the usage and exits 1 on a bad option, 0 on --help, without irmd', () => {
    let r = run(['--rundir', '/nonexistent', '--bogus']);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, `${OPERF_USAGE}\n`);
    r = run(['--rundir', '/nonexistent', '--help']);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, `${OPERF_USAGE}\n`);
    r = run(['--rundir', '/nonexistent', '-n', 'x', '-t', 'tri']);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, 'Invalid test type.\n');
  });

  it('exits 1 when there is no irmd to announce to', () => {
    const dir = mkdtempSync(join(tmpdir(), 'o7s-operf-'));
    try {
      const r = run(['-n', 'srv'], { OUROBOROS_RUNDIR: dir });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /FATAL: Could not announce to IRMd\./);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('operf FRCT statistics (o7s)', () => {
  const frct = { sent: 1200, received: 3, retransmitted: 17, duplicates: 2, outOfOrder: 9, srttMs: 1.23456, rttSamples: 40, window: 495 };

  it('prints one line like oping\'s for flows with FRCT, nothing for raw flows', () => {
    assert.equal(
      frctStatsLine({ stats: { crcErrors: 4, frct } } as unknown as Flow),
      'frct: 1200 sent, 3 received, 17 retransmitted, 2 duplicates, 9 out of order, 4 crc errors, srtt 1.235 ms, window 495',
    );
    assert.equal(
      frctStatsLine({ stats: { crcErrors: 0, frct: { ...frct, rttSamples: 0, srttMs: 0 } } } as unknown as Flow),
      'frct: 1200 sent, 3 received, 17 retransmitted, 2 duplicates, 9 out of order, 0 crc errors, no RTT sample, window 495',
    );
    assert.equal(frctStatsLine({ stats: { crcErrors: 0, frct: undefined } } as unknown as Flow), undefined);
    assert.equal(frctStatsLine({} as unknown as Flow), undefined);
  });

  it('a run over a reliable flow (-q data): the client allocates with that QoS and prints the line last, the server at the flow\'s end', async () => {
    const w = world();
    const proc = w.net.process();
    const alloc = proc.flowAlloc.bind(proc);
    const sender = { ...frct, received: 0 };
    const receiver = { ...frct, sent: 0, received: 10, retransmitted: 0, srttMs: 0, rttSamples: 0, window: 64 };
    proc.flowAlloc = async (dst: string, opts?: AllocOptions): Promise<Flow> => {
      const f = (await alloc(dst, opts)) as MemFlow;
      // The engine's statistics as flow.ts shows them (MemFlow has none).
      Object.defineProperty(f, 'stats', { get: () => ({ crcErrors: 0, frct: sender }) });
      Object.defineProperty(f.peer, 'stats', { get: () => ({ crcErrors: 1, frct: receiver }) });
      return f;
    };
    const out: string[] = [];
    const parsed = parseOperfArgs(['-n', 'srv', '-d', '100', '-s', '1250', '-r', '1M', '-q', 'data']);
    assert.ok(parsed.ok);
    const code = await w.clock.run(runOperfClient(proc, parsed.options, (l) => out.push(l), { clock: w.clock }));
    assert.equal(code, 0);
    assert.deepEqual(proc.allocs, [{ dst: 'srv', opts: { qos: qos.data } }]);
    assert.deepEqual(out.slice(-3), [
      '--- srv perf statistics ---',
      '10 packets transmitted, 12500 bytes, time: 100.000 ms, bandwidth: 1.000 Mb/s.',
      'frct: 1200 sent, 0 received, 17 retransmitted, 2 duplicates, 9 out of order, 0 crc errors, srtt 1.235 ms, window 495',
    ]);
    await w.clock.runTo(3000);
    assert.deepEqual(w.srvOut.slice(-3), [
      '--- flow 64 perf statistics ---',
      '10 packets received, 12500 bytes, 0 lost, 0% packet loss, 0 out-of-order, time: 90.000 ms, goodput: 1.000 Mb/s.',
      'frct: 0 sent, 10 received, 0 retransmitted, 2 duplicates, 9 out of order, 1 crc errors, no RTT sample, window 64',
    ]);
    assert.equal(await stop(w), 0);
  });
});
