/** Control-plane framing: `[u32 BE length][u32 BE request id][protobuf]`, length counting id + message. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CTRL_HEADER, FrameDecoder, FrameError, MAX_CTRL_FRAME, encodeFrame, type Frame } from '../../../src/common/ctrl/frame.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const plain = (frames: Frame[]): { id: number; payload: string }[] => frames.map((f) => ({ id: f.id, payload: Buffer.from(f.payload).toString('hex') }));

describe('control frame encoding', () => {
  it('writes length (id + payload) and id big-endian, then the payload', () => {
    assert.equal(CTRL_HEADER, 8);
    assert.deepEqual(encodeFrame(1, hex('08 04')), hex('00000006 00000001 0804'));
    assert.deepEqual(encodeFrame(0x01020304, hex('ff')), hex('00000005 01020304 ff'));
  });

  it('encodes an empty payload as a bare id', () => {
    assert.deepEqual(encodeFrame(7, new Uint8Array(0)), hex('00000004 00000007'));
  });

  it('takes the id modulo 2^32 (ids are unsigned)', () => {
    assert.deepEqual(encodeFrame(0xffffffff, hex('aa')), hex('00000005 ffffffff aa'));
    assert.deepEqual(encodeFrame(-1, hex('aa')), hex('00000005 ffffffff aa'));
  });

  it('accepts the largest payload and refuses one byte more with a FrameError', () => {
    const max = MAX_CTRL_FRAME - 4;
    const ok = encodeFrame(3, new Uint8Array(max).fill(0x5a));
    assert.equal(ok.length, CTRL_HEADER + max);
    assert.equal(ok.readUInt32BE(0), MAX_CTRL_FRAME);
    assert.throws(() => encodeFrame(3, new Uint8Array(max + 1)), FrameError);
    assert.throws(() => encodeFrame(3, new Uint8Array(max + 1)), { name: 'FrameError' });
  });
});

describe('control frame decoding', () => {
  it('decodes one whole frame', () => {
    const d = new FrameDecoder();
    assert.deepEqual(plain(d.push(hex('00000006 0000002a 081b'))), [{ id: 42, payload: '081b' }]);
  });

  it('decodes a frame with an empty payload', () => {
    const d = new FrameDecoder();
    assert.deepEqual(plain(d.push(hex('00000004 00000009'))), [{ id: 9, payload: '' }]);
  });

  it('round-trips what encodeFrame wrote', () => {
    const d = new FrameDecoder();
    const payload = Buffer.from('0814 2a29 0800', 'hex');
    const [f] = d.push(encodeFrame(0xdeadbeef, payload));
    assert.equal(f!.id, 0xdeadbeef);
    assert.deepEqual(Buffer.from(f!.payload), payload);
  });

  it('reassembles a frame delivered one byte at a time', () => {
    const d = new FrameDecoder();
    const bytes = hex('00000007 00000005 0a0b0c');
    const got: Frame[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const out = d.push(bytes.subarray(i, i + 1));
      if (i < bytes.length - 1) assert.equal(out.length, 0, `frame completed early at byte ${i}`);
      got.push(...out);
    }
    assert.deepEqual(plain(got), [{ id: 5, payload: '0a0b0c' }]);
  });

  it('reassembles frames split at every possible point', () => {
    const bytes = Buffer.concat([encodeFrame(1, hex('01 02 03')), encodeFrame(2, hex('')), encodeFrame(3, hex('ff ee'))]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const d = new FrameDecoder();
      const got = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      assert.deepEqual(plain(got), [
        { id: 1, payload: '010203' },
        { id: 2, payload: '' },
        { id: 3, payload: 'ffee' },
      ], `cut at ${cut}`);
    }
  });

  it('hands out many frames from one chunk, in order', () => {
    const d = new FrameDecoder();
    const chunks: Buffer[] = [];
    for (let i = 1; i <= 100; i++) chunks.push(encodeFrame(i, Buffer.alloc(i % 7, i)));
    const got = d.push(Buffer.concat(chunks));
    assert.equal(got.length, 100);
    got.forEach((f, i) => {
      assert.equal(f.id, i + 1);
      assert.deepEqual(Buffer.from(f.payload), Buffer.alloc((i + 1) % 7, i + 1));
    });
  });

  it('keeps a trailing partial frame for the next chunk', () => {
    const d = new FrameDecoder();
    const a = encodeFrame(1, hex('aa'));
    const b = encodeFrame(2, hex('bbbb'));
    assert.deepEqual(plain(d.push(Buffer.concat([a, b.subarray(0, 5)]))), [{ id: 1, payload: 'aa' }]);
    assert.deepEqual(plain(d.push(b.subarray(5))), [{ id: 2, payload: 'bbbb' }]);
    assert.deepEqual(d.push(Buffer.alloc(0)), []);
  });

  it('does not let a later chunk overwrite frames handed out before', () => {
    const d = new FrameDecoder();
    const first = d.push(Buffer.concat([encodeFrame(1, hex('11 22')), encodeFrame(2, hex('33')).subarray(0, 3)]));
    d.push(Buffer.concat([encodeFrame(2, hex('33')).subarray(3), encodeFrame(3, hex('44'))]));
    assert.deepEqual(Buffer.from(first[0]!.payload), hex('1122'));
  });

  it('accepts the largest length', () => {
    const d = new FrameDecoder();
    const frame = encodeFrame(1, new Uint8Array(MAX_CTRL_FRAME - 4));
    assert.equal(d.push(frame.subarray(0, 100)).length, 0);
    const got = d.push(frame.subarray(100));
    assert.equal(got.length, 1);
    assert.equal(got[0]!.payload.length, MAX_CTRL_FRAME - 4);
  });

  for (const [what, len] of [
    ['one above the maximum', MAX_CTRL_FRAME + 1],
    ['a huge', 0xffffffff],
    ['2^31', 0x80000000],
  ] as const) {
    it(`throws FrameError on ${what} length as soon as the length is seen`, () => {
      const d = new FrameDecoder();
      const b = Buffer.alloc(4);
      b.writeUInt32BE(len);
      assert.throws(() => d.push(b), FrameError);
    });
  }

  for (const len of [0, 1, 2, 3]) {
    it(`throws FrameError on length ${len} (shorter than the request id)`, () => {
      const d = new FrameDecoder();
      const b = Buffer.alloc(12);
      b.writeUInt32BE(len);
      assert.throws(() => d.push(b), FrameError);
    });
  }

  it('throws on a bad length that follows good frames in the same chunk', () => {
    const d = new FrameDecoder();
    const bad = Buffer.alloc(4);
    bad.writeUInt32BE(MAX_CTRL_FRAME + 100);
    assert.throws(() => d.push(Buffer.concat([encodeFrame(1, hex('01')), bad])), FrameError);
  });

  it('throws on a bad length split over two chunks', () => {
    const d = new FrameDecoder();
    assert.deepEqual(d.push(hex('ff ff')), []);
    assert.throws(() => d.push(hex('ff ff 00 00 00 01')), FrameError);
  });

  it('waits (no frame, no error) while fewer than 4 length bytes are in', () => {
    const d = new FrameDecoder();
    assert.deepEqual(d.push(hex('00')), []);
    assert.deepEqual(d.push(hex('00 00')), []);
    assert.deepEqual(plain(d.push(hex('05 00 00 00 01 99'))), [{ id: 1, payload: '99' }]);
  });

  it('FrameError is an Error with its own name', () => {
    const e = new FrameError('x');
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'FrameError');
    assert.equal(e.message, 'x');
  });
});
