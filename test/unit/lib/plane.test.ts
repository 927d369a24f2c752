/**
 * The data plane's early frames (src/lib/data/plane.ts): packets for a flow
 * id not known yet are held, within a bound in bytes over all flows, and
 * handed to the endpoint in order once it is made.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataPlane, EARLY_FRAME_COST, EARLY_MAX_BYTES } from '../../../src/lib/data/plane.js';
import { DataType, encodeDataFrame } from '../../../src/lib/data/frame.js';
import { paths } from '../../../src/common/rundir.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Polls `cond` until it holds (rejects after 5 s with `what`). */
async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('data plane: early frames', () => {
  it('holds frames for an unknown flow up to EARLY_MAX_BYTES in all, then drops and counts; delivers the held ones in order', async () => {
    const rundir = mkdtempSync(join(tmpdir(), 'o7s-plane-'));
    dirs.push(rundir);
    // A plane under another pid, so that this process can be its peer.
    const plane = new DataPlane(rundir, 999_999);
    await plane.listen();
    const sock = net.createConnection(paths.data(rundir, 999_999));
    await new Promise<void>((r) => sock.once('connect', r));
    const hello = Buffer.alloc(4);
    hello.writeUInt32BE(process.pid);
    sock.write(encodeDataFrame(DataType.HELLO, 0, hello));

    const size = 60_000;
    const cost = size + EARLY_FRAME_COST;
    const fits = Math.floor(EARLY_MAX_BYTES / cost);
    const sent = fits + 5;
    for (let i = 0; i < sent; i++) {
      const p = Buffer.alloc(size, i & 0xff);
      p.writeUInt32BE(i);
      sock.write(encodeDataFrame(DataType.DATA, i < fits - 1 ? 7 : 8, p));
    }
    // Flows 7 and 8 share the budget: fits - 1 frames for 7, the rest for 8 until it runs out.
    await until(() => plane.counters.earlyDropped === sent - fits, `${sent - fits} early frames dropped (${plane.counters.earlyDropped})`);
    assert.equal(plane.earlyHeld, fits * cost);
    assert.ok(plane.earlyHeld <= EARLY_MAX_BYTES);

    const ep = plane.endpoint(7, process.pid);
    assert.equal(ep.rxLength, fits - 1);
    for (let i = 0; i < fits - 1; i++) assert.equal(ep.take()!.readUInt32BE(0), i);
    assert.equal(plane.earlyHeld, cost, 'what flow 8 holds is still counted');
    const ep8 = plane.endpoint(8, process.pid);
    assert.equal(ep8.take()!.readUInt32BE(0), fits - 1);
    assert.equal(plane.earlyHeld, 0);

    // With the budget free again, new early frames are held again.
    sock.write(encodeDataFrame(DataType.DATA, 9, Buffer.from('late')));
    await until(() => plane.earlyHeld === 4 + EARLY_FRAME_COST, 'the next early frame held');
    sock.destroy();
    await plane.close();
  });
});
