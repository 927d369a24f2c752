/**
 * Reliable flows (FRCT + CRC) over a lossy UDP layer: everything arrives,
 * once, in order, intact. The server side runs as a child process (this file
 * with `--sink`), which accepts one flow and prints the SHA-256 and length
 * of everything it read until the peer deallocated.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { TestNetwork } from '../helpers/network.js';
import { connect, qos, type Flow } from '../../src/lib/index.js';

const SELF = fileURLToPath(import.meta.url);

if (process.argv.includes('--sink')) {
  const proc = await connect({ prog: 'frct-sink' });
  process.stdout.write('ready\n');
  const flow = await proc.flowAccept();
  // The first SDU says how many bytes follow (a UDP layer sends no deallocation).
  const total = Number((await flow.read()).readBigUInt64BE(0));
  const h = createHash('sha256');
  let bytes = 0;
  while (bytes < total) {
    const sdu = await flow.read();
    h.update(sdu);
    bytes += sdu.length;
  }
  const st = (flow as Flow & { stats: { crcErrors: number; frct?: { duplicates: number; outOfOrder: number } } }).stats;
  process.stdout.write(`done ${bytes} ${h.digest('hex')} crc=${st.crcErrors} dup=${st.frct?.duplicates} ooo=${st.frct?.outOfOrder}\n`);
  await proc.close();
  process.exit(0);
}

let net: TestNetwork;
before(async () => {
  net = await TestNetwork.udp4(['a', 'b'], { extra: ['drop', '0.1', 'dup', '0.05', 'reorder', '0.05', 'corrupt', '0.01'] });
});
after(async () => {
  await net?.stop();
});

test('qos.data over udp4 with 10% loss, 5% duplication, reordering and 1% corruption: all bytes, in order, intact', async () => {
  const MB = Number(process.env.O7S_FRCT_MB ?? 20);
  await net.register('b', 'sink');
  const b = net.sys('b');
  const sink = b.spawn(SELF, ['--sink']);
  await sink.waitFor(/ready/);
  await b.irm(['bind', 'process', String(sink.pid), 'name', 'sink']);

  const proc = await net.sys('a').connect('frct-source');
  try {
    const flow = await proc.flowAlloc('sink', { qos: qos.data, timeout: 10000 });
    const h = createHash('sha256');
    let sent = 0;
    const total = MB * 1024 * 1024;
    const head = Buffer.alloc(8);
    head.writeBigUInt64BE(BigInt(total));
    await flow.write(head);
    while (sent < total) {
      const chunk = randomBytes(Math.min(1400, total - sent));
      h.update(chunk);
      await flow.write(chunk);
      sent += chunk.length;
    }
    const st = (flow as Flow & { stats: { frct?: { retransmitted: number } } }).stats;
    await flow.dealloc(); // lingers until everything is acknowledged
    const m = await sink.waitFor(/done (\d+) ([0-9a-f]{64}) crc=(\d+) dup=(\d+) ooo=(\d+)/, 120000);
    assert.equal(Number(m[1]), total, 'every byte arrived');
    assert.equal(m[2], h.digest('hex'), 'in order and intact (SHA-256)');
    assert.ok(Number(m[3]) > 0, 'corrupted packets were caught by the CRC');
    assert.ok((st.frct?.retransmitted ?? 0) > 0, 'losses were repaired by retransmission');
  } finally {
    await proc.close();
  }
});
