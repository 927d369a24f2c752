/**
 * The SDU path of a reliable flow (src/lib/sdu-path.ts) on a real endpoint
 * with a fake link: the CRC written into the room FRCT leaves, packets taken
 * from the endpoint in batches with one event per batch, and nothing of a
 * batch left behind an event that follows it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Endpoint, EndpointEvent, type EndpointOwner } from '../../../../src/lib/data/endpoint.js';
import { DataType } from '../../../../src/lib/data/frame.js';
import type { Link } from '../../../../src/lib/data/link.js';
import { sduPath } from '../../../../src/lib/sdu-path.js';
import { qos } from '../../../../src/lib/qos.js';
import { FrctFlag, dataPdu, decodeHeader } from '../../../../src/lib/frct/header.js';
import { appendCrc, verifyCrc } from '../../../../src/lib/frct/crc.js';
import { sdu, sduIndex } from './sim.js';

/** An endpoint whose link records the DATA frames it sends. */
function endpoint(): { ep: Endpoint; sent: Buffer[] } {
  const sent: Buffer[] = [];
  const link = {
    send(type: number, _flowId: number, payload: Uint8Array): void {
      if (type === DataType.DATA) sent.push(Buffer.from(payload));
    },
    sendU32(): void {},
  };
  const owner: EndpointOwner = { linkTo: () => link as unknown as Link, release: () => undefined };
  return { ep: new Endpoint(7, 1234, owner), sent };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('sending: FRCT PDUs carry the CRC in the room left after them; the bytes on the wire are the reference layout', () => {
  const { ep, sent } = endpoint();
  const path = sduPath(ep, qos.data, 1);
  try {
    assert.equal(path.send(sdu(3)), true);
    assert.equal(sent.length, 1);
    const body = verifyCrc(sent[0]!);
    assert.ok(body, 'a valid CRC-32 trailer');
    assert.equal(body.length, 12 + sdu(3).length);
    const h = decodeHeader(body);
    assert.equal(h.flags, FrctFlag.DATA | FrctFlag.DRF);
    assert.ok(body.subarray(12).equals(sdu(3)));
    // Written again from the copy kept: same bytes, fresh CRC.
    assert.equal(path.stats.frct?.unacked, 1);
  } finally {
    path.stop();
  }
});

test('receiving: the packets of one read are taken in one batch with one event; take() and a later event never leave any behind', async () => {
  const { ep } = endpoint();
  const path = sduPath(ep, qos.data, 1);
  const events: number[] = [];
  path.onEvent = (ev) => events.push(ev);
  try {
    const S = 500;
    for (let i = 0; i < 10; i++) ep.deliver(appendCrc(dataPdu(S + i, sdu(i), { drf: i === 0 })));
    assert.deepEqual(events, [], 'nothing yet: the batch runs after this read');
    await tick();
    assert.deepEqual(events, [EndpointEvent.PKT], 'one event for ten packets');
    for (let i = 0; i < 10; i++) assert.equal(sduIndex(path.take()!), i);
    assert.equal(path.take(), undefined);

    // take() does not wait for the batch.
    for (let i = 10; i < 13; i++) ep.deliver(appendCrc(dataPdu(S + i, sdu(i))));
    assert.equal(path.readable, true);
    assert.equal(path.rxLength, 3);
    for (let i = 10; i < 13; i++) assert.equal(sduIndex(path.take()!), i);

    // A corrupted packet is dropped and counted; the rest of the batch goes on.
    const bad = appendCrc(dataPdu(S + 13, sdu(13)));
    bad[20] = bad[20]! ^ 0xff;
    ep.deliver(bad);
    ep.deliver(appendCrc(dataPdu(S + 13, sdu(13))));
    // The peer leaves right after: its packets come first.
    events.length = 0;
    ep.markDown();
    assert.deepEqual(events, [EndpointEvent.PKT, EndpointEvent.DOWN]);
    assert.equal(sduIndex(path.take()!), 13);
    assert.equal(path.stats.crcErrors, 1);
  } finally {
    path.stop();
  }
});

test('a flow of each QoS gets the path it asks for: raw flows none, best effort and data FRCT (data reliable, with the o7s tuning)', () => {
  for (const [q, frct, reliable] of [
    [qos.raw, false, false],
    [qos.bestEffort, true, false],
    [qos.data, true, true],
  ] as const) {
    const { ep, sent } = endpoint();
    const path = sduPath(ep, q, 1);
    assert.equal(path.frctFlags !== undefined, frct);
    path.send(sdu(1));
    if (frct) assert.equal((decodeHeader(sent[0]!).flags & FrctFlag.DATA) !== 0, true);
    else assert.ok(sent[0]!.equals(sdu(1)));
    if (reliable) {
      // The window a reliable receiver advertises is the o7s one (512), not the reference's 256.
      const { ep: ep2, sent: back } = endpoint();
      const rx = sduPath(ep2, q, 1);
      ep2.deliver(appendCrc(dataPdu(9, sdu(0), { drf: true })));
      assert.equal(sduIndex(rx.take()!), 0);
      ep2.deliver(appendCrc(dataPdu(9, sdu(0), { drf: true }))); // a duplicate: answered at once
      rx.take();
      const h = decodeHeader(verifyCrc(back.at(-1)!)!);
      assert.deepEqual(h, { flags: FrctFlag.ACK | FrctFlag.FC, window: 10 + 512, seqno: 0, ackno: 10 });
      rx.stop();
    }
    path.stop();
  }
});
