/**
 * Batched UDP sends (src/ipcpd/udp/mmsg.ts): what arrives is exactly the
 * datagrams queued, in order, whether trains go out segmented by the kernel
 * (UDP GSO) or one message per datagram, and when the kernel refuses to
 * segment the batch still arrives whole.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import { GSO_MAX_BYTES, GSO_MAX_SEGS, Mmsg, ip4ToU32, socketFd } from '../../../../src/ipcpd/udp/mmsg.js';

const LO = ip4ToU32('127.0.0.1');

interface Rx {
  sock: dgram.Socket;
  port: number;
  got: Buffer[];
  /** Resolves once `n` datagrams arrived (rejects after 5 s with what came). */
  wait(n: number): Promise<Buffer[]>;
}

const sockets: dgram.Socket[] = [];
after(() => {
  for (const s of sockets) s.close();
});

async function bound(): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 22 });
  sockets.push(s);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

async function receiver(): Promise<Rx> {
  const sock = await bound();
  const got: Buffer[] = [];
  let waiter: (() => void) | undefined;
  sock.on('message', (m) => {
    got.push(m);
    waiter?.();
  });
  return {
    sock,
    port: sock.address().port,
    got,
    wait: (n) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${got.length} of ${n} datagrams arrived`)), 5000);
        waiter = () => {
          if (got.length < n) return;
          clearTimeout(t);
          resolve(got);
        };
        waiter();
      }),
  };
}

/** A datagram's SDU: `len` bytes, each the datagram's number plus its position. */
const sdu = (n: number, len: number): Buffer => {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) b[i] = (n * 31 + i) & 0xff;
  return b;
};
const datagram = (n: number, len: number): Buffer => Buffer.concat([Buffer.from([0, 0, 0, n]), sdu(n, len)]);

async function sender(gso: boolean, fallback: Buffer[] = []): Promise<{ mm: Mmsg; sock: dgram.Socket }> {
  const sock = await bound();
  const mm = Mmsg.open(socketFd(sock), 9000, (d) => fallback.push(d), { gso });
  assert.ok(mm, 'koffi and sendmmsg are available on this platform');
  return { mm, sock };
}

/**
 * The batch of every test: a train of 10 full datagrams and a shorter one
 * to A, 3 more full ones to A, 2 to B; then `len`-byte SDUs.
 */
function queue(mm: Mmsg, a: Rx, b: Rx, len: number): { toA: Buffer[]; toB: Buffer[] } {
  const toA: Buffer[] = [];
  const toB: Buffer[] = [];
  let n = 0;
  const put = (rx: Rx, list: Buffer[], l: number): void => {
    n++;
    mm.send(n, sdu(n, l), LO, rx.port);
    list.push(datagram(n, l));
  };
  for (let i = 0; i < 10; i++) put(a, toA, len);
  put(a, toA, 100);
  for (let i = 0; i < 3; i++) put(a, toA, len);
  put(b, toB, len);
  put(b, toB, len);
  mm.flush();
  return { toA, toB };
}

describe('Mmsg: batched sends', () => {
  test('GSO: trains leave as one message each and arrive as the datagrams queued, in order', async () => {
    const [a, b] = [await receiver(), await receiver()];
    const { mm } = await sender(true);
    const { toA, toB } = queue(mm, a, b, 1400);
    assert.deepEqual(await a.wait(toA.length), toA);
    assert.deepEqual(await b.wait(toB.length), toB);
    assert.equal(mm.sent.datagrams, 16);
    // 11 to A (the short one ends the train), 3 to A, 2 to B.
    assert.equal(mm.sent.messages, 3, 'this kernel segments UDP (Linux 4.18+)');
    assert.equal(mm.gsoLimit, 0xffff);
  });

  test('without GSO every datagram is a message of its own; the bytes are the same', async () => {
    const [a, b] = [await receiver(), await receiver()];
    const { mm } = await sender(false);
    const { toA, toB } = queue(mm, a, b, 1400);
    assert.deepEqual(await a.wait(toA.length), toA);
    assert.deepEqual(await b.wait(toB.length), toB);
    assert.deepEqual(mm.sent, { messages: 16, datagrams: 16 });
  });

  test('a train is cut at GSO_MAX_BYTES; a full batch is flushed at once', async () => {
    const a = await receiver();
    const { mm } = await sender(true);
    const want: Buffer[] = [];
    for (let n = 1; n <= 64; n++) {
      mm.send(n, sdu(n, 1400), LO, a.port); // the 64th fills the batch: sent without waiting for the tick
      want.push(datagram(n, 1400));
    }
    assert.equal(mm.sent.datagrams, 64);
    const perTrain = Math.min(GSO_MAX_SEGS, Math.floor(GSO_MAX_BYTES / 1404));
    assert.equal(mm.sent.messages, Math.ceil(64 / perTrain));
    assert.deepEqual(await a.wait(64), want);
  });

  test('when the kernel refuses to segment, the batch goes out unsegmented and GSO stops', async () => {
    // SO_NO_CHECK (no UDP checksum) makes the kernel refuse UDP_SEGMENT with EINVAL.
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as { load(p: string): { func(d: string): (...a: unknown[]) => number } };
    const setsockopt = koffi.load('libc.so.6').func('int setsockopt(int, int, int, const int *, unsigned int)');
    for (const len of [1400, 3000]) {
      const [a, b] = [await receiver(), await receiver()];
      const fallback: Buffer[] = [];
      const { mm, sock } = await sender(true, fallback);
      assert.equal(setsockopt(socketFd(sock), 1 /* SOL_SOCKET */, 11 /* SO_NO_CHECK */, [1], 4), 0);
      const { toA, toB } = queue(mm, a, b, len);
      assert.deepEqual(await a.wait(toA.length), toA, `${len}-byte SDUs`);
      assert.deepEqual(await b.wait(toB.length), toB);
      assert.deepEqual(fallback, [], 'nothing left for dgram');
      // A 1400-byte segment fits any MTU: no GSO at all. A 3000-byte one may just exceed the path's.
      assert.equal(mm.gsoLimit, len === 1400 ? 0 : 1472);
      assert.deepEqual(mm.sent, { messages: 16, datagrams: 16 });
    }
  });
});
