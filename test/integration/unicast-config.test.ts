/**
 * A unicast layer built from irmd.conf alone: the reference's keys
 * (bootstrap, enrol, autobind, reg, conn and the unicast bootstrap keys) on
 * two systems joined by udp4.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestSystem, until } from '../helpers/system.js';
import { IrmClient } from '../../src/lib/irm-client.js';

test('irmd.conf: bootstrap on one system, enrol + conn on another, then a flow across', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'o7s-unicast-conf-'));
  const r = 1 + Math.floor(Math.random() * 250);
  const ip = (i: number): string => `127.${r}.77.${i}`;
  const port = 20000 + Math.floor(Math.random() * 20000);
  const hosts = join(dir, 'hosts');
  writeFileSync(hosts, `${ip(1)} ua\n${ip(2)} ub\n`);
  const udp = (i: number, reg: string): string =>
    `[udp4.udp]\nbootstrap = "udp"\nip = "${ip(i)}"\nport = ${port}\nhosts = "${hosts}"\nreg = ["${reg}"]\n\n`;
  writeFileSync(
    join(dir, 'a.conf'),
    udp(1, 'ua') +
      '[unicast.ua]\nbootstrap = "net"\nautobind = true\nrouting = "lfa"\nls_t_recalc = 1\nls_t_update = 1\nls_t_timeo = 3\ndht_k = 4\nmax_ttl = 9\n',
  );
  writeFileSync(join(dir, 'b.conf'), udp(2, 'ub') + '[unicast.ub]\nenrol = "ua"\nautobind = true\nconn = ["ua"]\nreg = ["pong"]\n');
  const systems: TestSystem[] = [];
  const clients: IrmClient[] = [];
  try {
    const a = await TestSystem.start({ config: join(dir, 'a.conf') });
    systems.push(a);
    await a.irmd.waitFor(/Configuration .* applied\./);
    const b = await TestSystem.start({ config: join(dir, 'b.conf') });
    systems.push(b);
    await b.irmd.waitFor(/Configuration .* applied\./, 30000);
    const ca = await IrmClient.connect(a.rundir);
    clients.push(ca);
    const ipcps = await ca.listIpcps();
    const ua = ipcps.find((i) => i.name === 'ua');
    assert.equal(ua?.layer, 'net');
    // The enrollee got the layer's configuration from the enroller (routing lfa, ttl 9).
    const cb = await IrmClient.connect(b.rundir);
    clients.push(cb);
    const ub = (await cb.listIpcps()).find((i) => i.name === 'ub')!;
    assert.equal(ub.layer, 'net');
    const state = (await cb.inspectIpcp(ub.pid)) as {
      pff: { dst: number; nextHops: number[] }[];
      neighbours: unknown[];
      config: { routing: string; maxTtl: number; lsTimers: number[]; dht: { k: number } };
    };
    assert.equal(state.neighbours.length, 1);
    assert.deepEqual([state.config.routing, state.config.maxTtl, state.config.lsTimers, state.config.dht.k], ['lfa', 9, [1, 1, 3], 4]);
    await until(async () => ((await cb.inspectIpcp(ub.pid)) as typeof state).pff.length === 1, 10000, 'a route');
    const srv = b.spawn('oping', ['-l', '-n', 'pong']);
    await srv.waitFor(/Ouroboros ping server started/);
    await b.irm(['bind', 'process', String(srv.pid), 'name', 'pong']);
    const ping = await a.run('oping', ['-n', 'pong', '-c', '3', '-i', '10ms']);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    assert.match(ping.stdout, /3 packets transmitted, 3 received/);
  } finally {
    for (const c of clients) c.close();
    for (const s of systems) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
