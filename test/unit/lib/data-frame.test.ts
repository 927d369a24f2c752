/** Data-plane framing: `[u8 type][u32 BE flow id][u32 BE length][payload]`. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DATA_HEADER,
  DataFrameDecoder,
  DataFrameError,
  DataType,
  MAX_SDU,
  encodeDataFrame,
  encodeU32Frame,
  writeHeader,
} from '../../../src/lib/data/frame.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

interface Got {
  type: number;
  flowId: number;
  payload: Buffer;
}

function collect(d: DataFrameDecoder, ...chunks: Buffer[]): Got[] {
  const got: Got[] = [];
  for (const c of chunks) d.push(c, (type, flowId, payload) => got.push({ type, flowId, payload }));
  return got;
}

const plain = (g: Got[]): { type: number; flowId: number; payload: string }[] =>
  g.map((x) => ({ type: x.type, flowId: x.flowId, payload: x.payload.toString('hex') }));

describe('data frame encoding', () => {
  it('numbers the frame types as o7s documents them', () => {
    assert.equal(DataType.DATA, 1);
    assert.equal(DataType.CREDIT, 2);
    assert.equal(DataType.DOWN, 3);
    assert.equal(DataType.HELLO, 4);
    assert.equal(new Set(Object.values(DataType)).size, Object.values(DataType).length, 'type numbers are distinct');
    assert.equal(DATA_HEADER, 9);
    assert.equal(MAX_SDU, 1 << 20);
  });

  it('writes type, flow id and length big-endian before the payload', () => {
    assert.deepEqual(encodeDataFrame(DataType.DATA, 0x0a0b0c0d, hex('de ad be ef')), hex('01 0a0b0c0d 00000004 deadbeef'));
    assert.deepEqual(encodeDataFrame(DataType.DOWN, 7, new Uint8Array(0)), hex('03 00000007 00000000'));
  });

  it('writes u32 frames (CREDIT, HELLO) with a 4-byte BE value', () => {
    assert.deepEqual(encodeU32Frame(DataType.CREDIT, 12, 128), hex('02 0000000c 00000004 00000080'));
    assert.deepEqual(encodeU32Frame(DataType.HELLO, 0, 1234), hex('04 00000000 00000004 000004d2'));
    assert.deepEqual(encodeU32Frame(DataType.CREDIT, 1, -1), hex('02 00000001 00000004 ffffffff'));
  });

  it('takes the flow id modulo 2^32', () => {
    assert.deepEqual(encodeDataFrame(DataType.DATA, -1, hex('00')), hex('01 ffffffff 00000001 00'));
  });

  it('writeHeader writes at an offset and nothing else', () => {
    const b = Buffer.alloc(DATA_HEADER + 4, 0xee);
    writeHeader(b, 2, DataType.DATA, 0x11223344, 0x55667788);
    assert.deepEqual(b, hex('eeee 01 11223344 55667788 eeee'));
  });
});

describe('data frame decoding', () => {
  it('decodes frames of every type', () => {
    const d = new DataFrameDecoder();
    const got = collect(
      d,
      Buffer.concat([
        encodeDataFrame(DataType.DATA, 1, hex('0102')),
        encodeU32Frame(DataType.CREDIT, 2, 5),
        encodeDataFrame(DataType.DOWN, 3, new Uint8Array(0)),
        encodeU32Frame(DataType.HELLO, 0, 99),
      ]),
    );
    assert.deepEqual(plain(got), [
      { type: 1, flowId: 1, payload: '0102' },
      { type: 2, flowId: 2, payload: '00000005' },
      { type: 3, flowId: 3, payload: '' },
      { type: 4, flowId: 0, payload: '00000063' },
    ]);
  });

  it('hands out whole frames of a chunk as views of that chunk (zero copy)', () => {
    const d = new DataFrameDecoder();
    const chunk = Buffer.concat([encodeDataFrame(DataType.DATA, 1, hex('aabbcc')), encodeDataFrame(DataType.DATA, 2, hex('dd'))]);
    const got = collect(d, chunk);
    assert.equal(got.length, 2);
    assert.equal(got[0]!.payload.buffer, chunk.buffer);
    assert.equal(got[0]!.payload.byteOffset, chunk.byteOffset + DATA_HEADER);
    assert.equal(got[1]!.payload.buffer, chunk.buffer);
    assert.equal(got[1]!.payload.byteOffset, chunk.byteOffset + DATA_HEADER + 3 + DATA_HEADER);
    // A view, really: writing into the chunk shows through.
    chunk[DATA_HEADER] = 0x00;
    assert.equal(got[0]!.payload[0], 0x00);
  });

  it('copies a frame split over chunks, and the copy is right', () => {
    const d = new DataFrameDecoder();
    const f = encodeDataFrame(DataType.DATA, 9, hex('0011223344'));
    const a = Buffer.from(f.subarray(0, 11));
    const b = Buffer.from(f.subarray(11));
    const got = collect(d, a, b);
    assert.deepEqual(plain(got), [{ type: 1, flowId: 9, payload: '0011223344' }]);
  });

  it('reassembles frames split at every possible point', () => {
    const bytes = Buffer.concat([
      encodeDataFrame(DataType.DATA, 1, hex('010203')),
      encodeDataFrame(DataType.DOWN, 2, new Uint8Array(0)),
      encodeU32Frame(DataType.CREDIT, 3, 1024),
    ]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const d = new DataFrameDecoder();
      const got = collect(d, bytes.subarray(0, cut), bytes.subarray(cut));
      assert.deepEqual(plain(got), [
        { type: 1, flowId: 1, payload: '010203' },
        { type: 3, flowId: 2, payload: '' },
        { type: 2, flowId: 3, payload: '00000400' },
      ], `cut at ${cut}`);
    }
  });

  it('reassembles a frame fed one byte at a time', () => {
    const d = new DataFrameDecoder();
    const f = encodeDataFrame(DataType.DATA, 77, Buffer.from('hello'));
    const got: Got[] = [];
    for (let i = 0; i < f.length; i++) {
      d.push(f.subarray(i, i + 1), (type, flowId, payload) => got.push({ type, flowId, payload }));
      if (i < f.length - 1) assert.equal(got.length, 0, `frame completed early at byte ${i}`);
    }
    assert.deepEqual(plain(got), [{ type: 1, flowId: 77, payload: Buffer.from('hello').toString('hex') }]);
  });

  it('hands out many frames from one chunk in order', () => {
    const d = new DataFrameDecoder();
    const frames: Buffer[] = [];
    for (let i = 0; i < 500; i++) frames.push(encodeDataFrame(DataType.DATA, i, Buffer.alloc(i % 13, i & 0xff)));
    const got = collect(d, Buffer.concat(frames));
    assert.equal(got.length, 500);
    got.forEach((g, i) => {
      assert.equal(g.flowId, i);
      assert.deepEqual(g.payload, Buffer.alloc(i % 13, i & 0xff));
    });
  });

  it('accepts a payload of exactly MAX_SDU bytes', () => {
    const d = new DataFrameDecoder();
    const f = encodeDataFrame(DataType.DATA, 1, new Uint8Array(MAX_SDU));
    const got = collect(d, f.subarray(0, 1000), f.subarray(1000));
    assert.equal(got.length, 1);
    assert.equal(got[0]!.payload.length, MAX_SDU);
  });

  for (const len of [MAX_SDU + 1, 0x7fffffff, 0xffffffff]) {
    it(`throws DataFrameError on a length of ${len} as soon as the header is in`, () => {
      const d = new DataFrameDecoder();
      const h = Buffer.alloc(DATA_HEADER);
      writeHeader(h, 0, DataType.DATA, 1, len);
      assert.throws(() => collect(d, h), DataFrameError);
    });
  }

  const firstUnknown = Math.max(...Object.values(DataType)) + 1;
  for (const type of [0, firstUnknown, 0x7f, 0xff]) {
    it(`throws DataFrameError on unknown type ${type}`, () => {
      const d = new DataFrameDecoder();
      const f = encodeDataFrame(DataType.DATA, 1, hex('00'));
      f[0] = type;
      assert.throws(() => collect(d, f), DataFrameError);
    });
  }

  it('delivers the good frames before a bad one in the same chunk, then throws', () => {
    const d = new DataFrameDecoder();
    const bad = encodeDataFrame(DataType.DATA, 2, hex('00'));
    bad[0] = 0xf0;
    const got: Got[] = [];
    assert.throws(
      () => d.push(Buffer.concat([encodeDataFrame(DataType.DATA, 1, hex('01')), bad]), (type, flowId, payload) => got.push({ type, flowId, payload })),
      DataFrameError,
    );
    assert.deepEqual(plain(got), [{ type: 1, flowId: 1, payload: '01' }]);
  });

  it('throws on a bad header completed by a later chunk', () => {
    const d = new DataFrameDecoder();
    assert.deepEqual(collect(d, hex('01 00000001 ff')), []);
    assert.throws(() => collect(d, hex('ff ff ff')), DataFrameError);
  });

  it('waits without error while fewer than 9 header bytes are in', () => {
    const d = new DataFrameDecoder();
    assert.deepEqual(collect(d, hex('01 0000')), []);
    assert.deepEqual(collect(d, hex('0005 0000')), []);
    assert.deepEqual(plain(collect(d, hex('0001 ab'))), [{ type: 1, flowId: 5, payload: 'ab' }]);
  });

  it('DataFrameError is an Error', () => {
    assert.ok(new DataFrameError('x') instanceof Error);
  });
});
