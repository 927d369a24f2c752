import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { qos } from '../../../src/lib/qos.js';
import {
  chunkStream, decodeFrame, encodeAck, encodeData, encodeEnd, OCAT_MAX_PAYLOAD, OCAT_MAX_SDU,
} from '../../../src/tools/ocat/framing.js';
import { OCAT_USAGE, parseOcatArgs } from '../../../src/tools/ocat/options.js';

describe('ocat options', () => {
  it('sender: -n NAME, QoS data by default', () => {
    const r = parseOcatArgs(['-n', 'srv']);
    assert.ok(r.ok);
    assert.equal(r.options.listen, false);
    assert.equal(r.options.name, 'srv');
    assert.equal(r.options.qos, qos.data);
    assert.equal(r.options.timeout, 30000);
  });
  it('listener: -l alone, or with -n and -q', () => {
    const a = parseOcatArgs(['-l']);
    assert.ok(a.ok && a.options.listen && a.options.name === null);
    const b = parseOcatArgs(['--listen', '--name', 'x', '--qos', 'raw']);
    assert.ok(b.ok && b.options.listen && b.options.name === 'x' && b.options.qos === qos.raw && b.options.qosGiven);
  });
  it('every QoS name of oping', () => {
    for (const [n, s] of [['raw', qos.raw], ['best', qos.bestEffort], ['video', qos.video], ['voice', qos.voice], ['data', qos.data]] as const) {
      const r = parseOcatArgs(['-n', 'x', '-q', n]);
      assert.ok(r.ok && r.options.qos === s, n);
    }
  });
  it('-t SECONDS', () => {
    const r = parseOcatArgs(['-n', 'x', '-t', '2.5']);
    assert.ok(r.ok && r.options.timeout === 2500);
  });
  it('wrong options: usage, exit 1', () => {
    for (const argv of [[], ['-x'], ['-n'], ['-l', '-q'], ['-n', 'x', '-q', 'fast'], ['-n', 'x', '-t', '0'], ['-n', 'x', '-t', 'abc'], ['-l', 'extra']]) {
      const r = parseOcatArgs(argv);
      assert.ok(!r.ok, argv.join(' '));
      assert.equal(r.exitCode, 1);
      assert.equal(r.lines.at(-1), OCAT_USAGE);
    }
  });
  it('--help: usage, exit 0', () => {
    const r = parseOcatArgs(['--help']);
    assert.ok(!r.ok && r.exitCode === 0 && r.help);
  });
  it('the usage documents the default QoS and the framing', () => {
    assert.match(OCAT_USAGE, /default data/);
    assert.match(OCAT_USAGE, /0x00 DATA/);
    assert.match(OCAT_USAGE, /0x01 END/);
    assert.match(OCAT_USAGE, /0x02 ACK/);
  });
});

describe('ocat framing', () => {
  it('DATA round-trips, including an empty payload', () => {
    const p = Buffer.from('hello');
    assert.deepEqual(encodeData(p), Buffer.from([0, ...p]));
    const f = decodeFrame(encodeData(p));
    assert.ok(f.type === 'data' && f.payload.equals(p));
    const e = decodeFrame(encodeData(Buffer.alloc(0)));
    assert.ok(e.type === 'data' && e.payload.length === 0);
  });
  it('END and ACK carry a u64 count', () => {
    assert.deepEqual(encodeEnd(258n), Buffer.from([1, 0, 0, 0, 0, 0, 0, 1, 2]));
    const end = decodeFrame(encodeEnd(2n ** 40n));
    assert.ok(end.type === 'end' && end.count === 2n ** 40n);
    const ack = decodeFrame(encodeAck(7n));
    assert.ok(ack.type === 'ack' && ack.count === 7n);
  });
  it('malformed SDUs are bad', () => {
    assert.equal(decodeFrame(Buffer.alloc(0)).type, 'bad');
    assert.equal(decodeFrame(Buffer.from([1, 2, 3])).type, 'bad');
    assert.equal(decodeFrame(Buffer.alloc(10, 2)).type, 'bad');
    assert.equal(decodeFrame(Buffer.from([0x7f])).type, 'bad');
  });
  it('SDUs are at most 1400 bytes', () => {
    assert.equal(encodeData(Buffer.alloc(OCAT_MAX_PAYLOAD)).length, OCAT_MAX_SDU);
    assert.equal(OCAT_MAX_SDU, 1400);
    assert.throws(() => encodeData(Buffer.alloc(OCAT_MAX_PAYLOAD + 1)), RangeError);
  });
  it('chunkStream cuts input into payloads of at most 1399 bytes, none empty, nothing lost', async () => {
    async function* input(): AsyncGenerator<Uint8Array> {
      yield Buffer.alloc(0);
      yield Buffer.alloc(5000, 1);
      yield Buffer.alloc(1399, 2);
      yield Buffer.alloc(1, 3);
    }
    const parts: Uint8Array[] = [];
    for await (const c of chunkStream(input())) parts.push(c);
    assert.deepEqual(parts.map((p) => p.length), [1399, 1399, 1399, 803, 1399, 1]);
    assert.equal(Buffer.concat(parts).equals(Buffer.concat([Buffer.alloc(5000, 1), Buffer.alloc(1399, 2), Buffer.alloc(1, 3)])), true);
  });
});
