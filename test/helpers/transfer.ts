/**
 * A reliable transfer between two library processes: `client` allocates a
 * qos.data flow to `name` (which `server` accepts), writes `bytes` random
 * bytes in 1400-byte SDUs, deallocates (lingering until acknowledged), and
 * the server reads until it has them all. Both sides hash what they saw.
 */
import { createHash, randomBytes } from 'node:crypto';
import { qos, type Flow, type Process } from '../../src/lib/index.js';

export interface Transfer {
  received: number;
  sentHash: string;
  gotHash: string;
  sender: Flow & { stats: { frct?: { retransmitted: number } } };
  receiver: Flow & { stats: { crcErrors: number } };
}

export async function reliableTransfer(client: Process, server: Process, name: string, bytes: number): Promise<Transfer> {
  const accepted = server.flowAccept();
  const flow = await client.flowAlloc(name, { qos: qos.data, timeout: 20000 });
  const sink = await accepted;
  const sent = createHash('sha256');
  const got = createHash('sha256');
  let received = 0;
  const reading = (async () => {
    while (received < bytes) {
      const sdu = await sink.read();
      got.update(sdu);
      received += sdu.length;
    }
  })();
  for (let off = 0; off < bytes; off += 1400) {
    const chunk = randomBytes(Math.min(1400, bytes - off));
    sent.update(chunk);
    await flow.write(chunk);
  }
  await flow.dealloc(); // lingers until everything is acknowledged
  await reading;
  return { received, sentHash: sent.digest('hex'), gotHash: got.digest('hex'), sender: flow as Transfer['sender'], receiver: sink as Transfer['receiver'] };
}
