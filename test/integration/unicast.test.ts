/**
 * Unicast layers with real daemons: systems in temporary rundirs whose
 * unicast IPCPs enroll and connect over a udp4 layer (or over another
 * unicast layer), route over several hops, resolve names through the DHT,
 * re-converge when a system dies, and survive garbage on every input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnicastNetwork } from '../helpers/unicast.js';
import { until, type TestSystem, type Child } from '../helpers/system.js';

/** Starts `oping -l` for `name` on `sys`, bound to the name. */
async function pingServer(sys: TestSystem, name: string): Promise<Child> {
  const srv = sys.spawn('oping', ['-l', '-n', name]);
  await srv.waitFor(/Ouroboros ping server started/);
  await sys.irm(['bind', 'process', String(srv.pid), 'name', name]);
  return srv;
}

/** Shortened link-state timers (s): updates every second, adjacencies age out after 3. */
const FAST_LS = ['ls_t_recalc', '1', 'ls_t_update', '1', 'ls_t_timeo', '3'];

test('two systems: enrollment, connections, routes, DHT and oping over udp4', async () => {
  const net = await UnicastNetwork.build(['a', 'b'], [['a', 'b']]);
  try {
    await net.converged();
    const [sa, sb] = [await net.inspect('a'), await net.inspect('b')];
    assert.equal(sa.layer, 'net');
    assert.notEqual(sa.address, sb.address);
    assert.deepEqual(sa.neighbours.map((n) => n.addr), [sb.address]);
    assert.deepEqual(sa.pff, [{ dst: sb.address, nextHops: [sb.address] }]);
    await net.register('b', 'pong');
    await pingServer(net.sys('b'), 'pong');
    // No waiting for the directory: a name is reachable as soon as it is registered.
    const r = await net.sys('a').run('oping', ['-n', 'pong', '-c', '5', '-i', '10ms']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /5 packets transmitted, 5 received, 0 out-of-order, 0% packet loss/);
    const after = await net.inspect('a');
    assert.ok(after.counters.fa!.reqTx! >= 1, JSON.stringify(after.counters.fa));
    // irm ipcp inspect prints the same, readably.
    const out = (await net.sys('a').irm(['ipcp', 'inspect', 'name', 'a'])).stdout;
    assert.match(out, new RegExp(`IPCP a \\(unicast, pid \\d+\\) in layer net, address ${sa.address}`));
    assert.match(out, /Forwarding table:\n\+-+\+-+\+\n\| destination \| +next hops \|/);
    assert.match(out, new RegExp(`\\| +${sb.address} \\| +${sb.address} \\|`));
    assert.match(out, /DHT node [0-9a-f]+:/);
  } finally {
    await net.stop();
  }
});

test('a five-system line: a name at one end is pinged from the other, four hops away', async () => {
  const nodes = ['l1', 'l2', 'l3', 'l4', 'l5'];
  const net = await UnicastNetwork.build(nodes, [['l2', 'l1'], ['l3', 'l2'], ['l4', 'l3'], ['l5', 'l4']], { bootstrap: FAST_LS });
  try {
    await net.converged();
    await net.register('l5', 'far');
    await pingServer(net.sys('l5'), 'far');
    // The name's STORE reaches the nodes l5 knows by then: let the directory settle at l1.
    await net.resolvable('l1', 'far');
    const r = await net.sys('l1').run('oping', ['-n', 'far', '-c', '3', '-i', '10ms']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /3 packets transmitted, 3 received/);
    for (const n of ['l2', 'l3', 'l4']) assert.ok((await net.inspect(n)).counters.dt!.forwarded! >= 6, `${n} forwarded`);
  } finally {
    await net.stop();
  }
});

test('TTL: with ttl 2 a PDU dies two hops out, and the transit IPCP counts it', async () => {
  const nodes = ['t1', 't2', 't3', 't4'];
  const net = await UnicastNetwork.build(nodes, [['t2', 't1'], ['t3', 't2'], ['t4', 't3']], { bootstrap: ['ttl', '2', ...FAST_LS] });
  try {
    await net.converged();
    await net.register('t2', 'near');
    await net.register('t4', 'beyond');
    await pingServer(net.sys('t2'), 'near');
    // Some DHT messages die of the small TTL too: let the directory settle.
    await net.resolvable('t1', 'near');
    const ok = await net.sys('t1').run('oping', ['-n', 'near', '-c', '1']);
    assert.equal(ok.code, 0, ok.stdout);
    // t4 is three hops from t1: the FLOW_REQ dies at t3, so the allocation fails.
    const far = await net.sys('t1').run('oping', ['-n', 'beyond', '-c', '1']);
    assert.notEqual(far.code, 0);
    await until(async () => (await net.inspect('t3')).counters.dt!.ttlDrops! > 0, 5000, 'a TTL drop at t3');
  } finally {
    await net.stop();
  }
});

test('a six-system ring: a system dies, routes re-converge within the link-state timers, a new flow succeeds', async () => {
  const nodes = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
  const links: [string, string][] = [['r2', 'r1'], ['r3', 'r2'], ['r4', 'r3'], ['r5', 'r4'], ['r6', 'r5'], ['r1', 'r6']];
  const net = await UnicastNetwork.build(nodes, links, { bootstrap: FAST_LS });
  try {
    await net.converged();
    await net.register('r3', 'three');
    await pingServer(net.sys('r3'), 'three');
    const before = await net.sys('r1').run('oping', ['-n', 'three', '-c', '2', '-i', '10ms']);
    assert.equal(before.code, 0, before.stdout);
    const r2 = await net.inspect('r2');
    process.kill(await net.pid('r2'), 'SIGKILL');
    const killed = Date.now();
    // Every live system drops r2 from its routes: r2's adjacencies age out (ls_t_timeo 3 s, checked every ls_t_update 1 s).
    const live = nodes.filter((n) => n !== 'r2');
    await until(
      async () => {
        for (const n of live) if ((await net.inspect(n)).pff.some((e) => e.dst === r2.address || e.nextHops.includes(r2.address))) return false;
        return true;
      },
      15000,
      'every system forgets r2',
    );
    const took = Date.now() - killed;
    assert.ok(took < 3000 + 1000 + 1000 + 2000, `re-converged after ${took} ms`);
    const after = await net.sys('r1').run('oping', ['-n', 'three', '-c', '3', '-i', '10ms']);
    assert.equal(after.code, 0, after.stdout + after.stderr);
    assert.match(after.stdout, /3 packets transmitted, 3 received/);
    // The long way round: r1 - r6 - r5 - r4 - r3.
    assert.ok((await net.inspect('r5')).counters.dt!.forwarded! > 0);
  } finally {
    await net.stop();
  }
});

/** A square s1 - s2 - s3 - s4 - s1; s1 makes its own two connections. */
const SQUARE: [string, string][] = [['s1', 's2'], ['s1', 's4'], ['s2', 's3'], ['s4', 's3']];

test('lfa: when the primary next hop goes down the loop-free alternate carries the traffic at once', async () => {
  const net = await UnicastNetwork.build(['s1', 's2', 's3', 's4'], SQUARE, { bootstrap: ['routing', 'lfa', ...FAST_LS] });
  try {
    await net.converged();
    await net.register('s3', 'across');
    await pingServer(net.sys('s3'), 'across');
    const names = new Map<number, string>();
    for (const n of ['s2', 's4']) names.set((await net.inspect(n)).address, n);
    const s3 = (await net.inspect('s3')).address;
    const entry = (await net.inspect('s1')).pff.find((e) => e.dst === s3)!;
    assert.equal(entry.nextHops.length, 2, `a primary and an alternate: ${JSON.stringify(entry)}`);
    const primary = names.get(entry.nextHops[0]!)!;
    const ping = net.sys('s1').spawn('oping', ['-n', 'across', '-c', '60', '-i', '25ms']);
    await ping.waitFor(/seq=10 /);
    await net.sys('s1').irm(['ipcp', 'disconnect', 'name', 's1', 'dst', primary, 'component', 'dt']);
    const { code } = await ping.exited;
    assert.equal(code, 0, ping.out);
    const m = ping.out.match(/60 packets transmitted, (\d+) received/);
    assert.ok(m, ping.out);
    assert.ok(Number(m[1]) >= 56, `only ${m[1]} of 60 came back:\n${ping.out}`);
    const other = primary === 's2' ? 's4' : 's2';
    assert.ok((await net.inspect(other)).counters.dt!.forwarded! > 0, 'the alternate forwarded');
  } finally {
    await net.stop();
  }
});

test('ecmp: traffic spreads over both equal-cost paths', async () => {
  const net = await UnicastNetwork.build(['s1', 's2', 's3', 's4'], SQUARE, { bootstrap: ['routing', 'ecmp', ...FAST_LS] });
  try {
    await net.converged();
    await net.register('s3', 'across');
    await pingServer(net.sys('s3'), 'across');
    const s3 = (await net.inspect('s3')).address;
    const entry = (await net.inspect('s1')).pff.find((e) => e.dst === s3)!;
    assert.equal(entry.nextHops.length, 2, JSON.stringify(entry));
    const base = [(await net.inspect('s2')).counters.dt!.forwarded!, (await net.inspect('s4')).counters.dt!.forwarded!];
    const r = await net.sys('s1').run('oping', ['-n', 'across', '-c', '100', '-i', '1ms']);
    assert.equal(r.code, 0, r.stdout);
    const via2 = (await net.inspect('s2')).counters.dt!.forwarded! - base[0]!;
    const via4 = (await net.inspect('s4')).counters.dt!.forwarded! - base[1]!;
    // 200 PDUs each way through s2 or s4 (pings and replies), split by round robin at s1 and s3.
    assert.ok(via2 >= 60 && via4 >= 60, `s2 forwarded ${via2}, s4 ${via4}`);
  } finally {
    await net.stop();
  }
});

test('three stacked layers: unicast over unicast over udp4 carries oping', async () => {
  const low = await UnicastNetwork.build(['a', 'b', 'c'], [['b', 'a'], ['c', 'b']], { layer: 'low' });
  try {
    await low.converged();
    const top = await UnicastNetwork.build(['a', 'c'], [['c', 'a']], { layer: 'top', over: low });
    await top.converged();
    await top.register('c', 'stacked');
    await pingServer(top.sys('c'), 'stacked');
    const r = await top.sys('a').run('oping', ['-n', 'stacked', '-c', '3', '-i', '10ms']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /3 packets transmitted, 3 received/);
    // The top layer's PDUs crossed b inside the low layer.
    assert.ok((await low.inspect('b')).counters.dt!.forwarded! > 0);
    assert.deepEqual((await top.inspect('a')).neighbours.length, 1);
  } finally {
    await low.stop();
  }
});
