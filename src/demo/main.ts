#!/usr/bin/env node
/**
 * `npm run demo`: a tour of o7s. Three systems on this host, each with its
 * own runtime directory and irmd, joined by a UDP layer on loopback
 * addresses; names registered on each; a ping and a transfer across; a
 * unicast layer over the UDP layer, with a ping over two hops; then
 * everything stopped. Every step says what it does and shows what happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = {
  irmd: join(SRC, 'irmd/main.js'),
  irm: join(SRC, 'tools/irm/main.js'),
  oping: join(SRC, 'tools/oping/main.js'),
  operf: join(SRC, 'tools/operf/main.js'),
};

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string): string => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);

function step(title: string, explain: string): void {
  process.stdout.write(`\n${bold(`== ${title}`)}\n${explain}\n`);
}

function show(cmd: string, out: string): void {
  process.stdout.write(`${dim(`$ ${cmd}`)}\n`);
  for (const line of out.trimEnd().split('\n')) if (line) process.stdout.write(`  ${line}\n`);
}

interface Sys {
  name: string;
  ip: string;
  rundir: string;
  irmd: ChildProcess;
  log: string;
}

const children = new Set<ChildProcess>();
const dirs: string[] = [];

function run(sys: Sys, bin: string, args: string[], timeoutMs = 60000): Promise<{ code: number | null; out: string }> {
  return new Promise((res) => {
    const c = spawn(process.execPath, [bin, ...args], { env: { ...process.env, OUROBOROS_RUNDIR: sys.rundir }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(c);
    let out = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('exit', (code) => {
      clearTimeout(t);
      children.delete(c);
      res({ code, out });
    });
  });
}

async function irm(sys: Sys, args: string[]): Promise<string> {
  const r = await run(sys, BIN.irm, args);
  if (r.code !== 0) throw new Error(`irm ${args.join(' ')} failed on ${sys.name}:\n${r.out}`);
  return r.out;
}

function startSystem(name: string, ip: string): Promise<Sys> {
  const rundir = mkdtempSync(join(tmpdir(), `o7s-demo-${name}-`));
  dirs.push(rundir);
  const irmd = spawn(process.execPath, [BIN.irmd, '--stdout', '--rundir', rundir], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(irmd);
  const sys: Sys = { name, ip, rundir, irmd, log: '' };
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`irmd of ${name} did not start`)), 15000);
    irmd.stdout!.setEncoding('utf8').on('data', (d: string) => {
      sys.log += d;
      if (sys.log.includes('daemon started')) {
        clearTimeout(t);
        res(sys);
      }
    });
    irmd.stderr!.setEncoding('utf8').on('data', (d: string) => (sys.log += d));
    irmd.on('exit', () => children.delete(irmd));
  });
}

async function stopAll(systems: Sys[]): Promise<void> {
  await Promise.all(
    systems.map(
      (s) =>
        new Promise<void>((res) => {
          if (s.irmd.exitCode !== null) return res();
          s.irmd.once('exit', () => res());
          s.irmd.kill('SIGTERM');
          setTimeout(() => s.irmd.kill('SIGKILL'), 8000).unref();
        }),
    ),
  );
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

async function main(): Promise<number> {
  const base = `127.${10 + Math.floor(Math.random() * 200)}.${1 + Math.floor(Math.random() * 250)}`;
  const port = String(30000 + Math.floor(Math.random() * 20000));
  const net = mkdtempSync(join(tmpdir(), 'o7s-demo-net-'));
  dirs.push(net);
  const hosts = join(net, 'hosts');
  writeFileSync(hosts, '');
  const systems: Sys[] = [];
  try {
    step(
      '1. Three systems',
      'Each system is an irmd with its own runtime directory: three independent\n' +
        'Ouroboros systems on this host, as if they were three machines.',
    );
    for (const [i, n] of ['alpha', 'beta', 'gamma'].entries()) {
      const s = await startSystem(n, `${base}.${i + 1}`);
      systems.push(s);
      process.stdout.write(`  ${n}: irmd pid ${s.irmd.pid}, rundir ${s.rundir}\n`);
    }

    step(
      '2. A UDP layer between them',
      `On each system an IPCP of type udp4 is bootstrapped into the layer "demo",\n` +
        `bound to its own loopback address (${base}.1-3), all on UDP port ${port}.\n` +
        'Names are resolved through a hosts file (o7s option "hosts").',
    );
    for (const s of systems) {
      await irm(s, ['ipcp', 'bootstrap', 'type', 'udp4', 'name', `udp.${s.name}`, 'layer', 'demo', 'ip', s.ip, 'port', port, 'hosts', hosts]);
    }
    show('irm ipcp list   (on alpha)', await irm(systems[0]!, ['ipcp', 'list']));

    step(
      '3. Names and servers',
      'On beta, the name "ping.beta" gets an oping server and "perf.beta" an operf\n' +
        'server, started by irmd on demand (bind program ... auto). The names are\n' +
        'registered in the layer: the layer only ever sees their MD5 hashes.',
    );
    const beta = systems[1]!;
    await irm(beta, ['bind', 'program', BIN.oping, 'name', 'ping.beta', 'auto', '--', '-l']);
    await irm(beta, ['bind', 'program', BIN.operf, 'name', 'perf.beta', 'auto', '--', '-l']);
    for (const n of ['ping.beta', 'perf.beta']) {
      await irm(beta, ['name', 'register', n, 'layer', 'demo']);
      appendFileSync(hosts, `${beta.ip} ${n}\n`);
    }
    show('irm name list   (on beta)', await irm(beta, ['name', 'list']));

    step('4. Ping across the layer', 'From alpha, oping allocates a flow to "ping.beta" through the udp4 IPCPs.');
    const ping = await run(systems[0]!, BIN.oping, ['-n', 'ping.beta', '-c', '5', '-i', '200']);
    show('oping -n ping.beta -c 5 -i 200   (on alpha)', ping.out);
    if (ping.code !== 0) throw new Error('the ping failed');

    step('5. A transfer', 'From gamma, operf sends to "perf.beta" for 2 seconds at 10 Mb/s.');
    const perf = await run(systems[2]!, BIN.operf, ['-n', 'perf.beta', '-d', '2s', '-r', '10M']);
    show('operf -n perf.beta -d 2s -r 10M   (on gamma)', perf.out);
    if (perf.code !== 0) throw new Error('the transfer failed');

    step(
      "6. What beta saw",
      "beta's irmd log: the flow requests arriving over the layer and the servers it\nstarted; then what the operf server received (it reports once the flow goes quiet).",
    );
    const seen = beta.log.split('\n').filter((l) => /Flow request arrived|Starting|accepted by/.test(l));
    for (const l of seen) process.stdout.write(`  ${l}\n`);
    const deadline = Date.now() + 8000;
    while (!/perf statistics ---[\s\S]*?\n.*\n/.test(beta.log) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const stats = beta.log.match(/--- flow \d+ perf statistics ---\n(?:.*\n){1,3}/);
    if (stats) for (const l of stats[0].trimEnd().split('\n')) process.stdout.write(`  ${l}\n`);

    step(
      '7. A unicast layer over the UDP layer',
      'A unicast layer routes over many hops and finds names in a distributed\n' +
        'directory (a DHT). Its IPCPs are programs of the UDP layer: alpha starts the\n' +
        'layer "net", beta enrolls through alpha and connects to it, gamma enrolls\n' +
        'through beta and connects to it: a line alpha - beta - gamma.',
    );
    const [alpha, , gamma] = systems as [Sys, Sys, Sys];
    const uni = (x: Sys): string => `net.${x.name}`;
    const publish = async (x: Sys): Promise<void> => {
      await irm(x, ['name', 'register', uni(x), 'layer', 'demo']);
      appendFileSync(hosts, `${x.ip} ${uni(x)}\n`);
    };
    await irm(alpha, ['ipcp', 'bootstrap', 'type', 'unicast', 'name', uni(alpha), 'layer', 'net', 'autobind']);
    await publish(alpha);
    for (const [x, via] of [[beta, alpha], [gamma, beta]] as const) {
      await irm(x, ['ipcp', 'enroll', 'name', uni(x), 'layer', 'net', 'dst', uni(via), 'autobind']);
      await publish(x);
      await irm(x, ['ipcp', 'connect', 'name', uni(x), 'dst', uni(via)]);
    }
    show('irm ipcp list   (on beta)', await irm(beta, ['ipcp', 'list']));
    await irm(gamma, ['bind', 'program', BIN.oping, 'name', 'ping.gamma', 'auto', '--', '-l']);
    await irm(gamma, ['name', 'register', 'ping.gamma', 'layer', 'net']);

    step('8. Ping over two hops', 'From alpha, oping allocates a flow to "ping.gamma" in the unicast layer: beta forwards.');
    let ping2 = { code: 1 as number | null, out: '' };
    for (let i = 0; i < 20 && ping2.code !== 0; i++) {
      // The routes and the directory settle within a second or two of the connections.
      if (i > 0) await new Promise((r) => setTimeout(r, 500));
      ping2 = await run(alpha, BIN.oping, ['-n', 'ping.gamma', '-c', '5', '-i', '200']);
    }
    show('oping -n ping.gamma -c 5 -i 200   (on alpha)', ping2.out);
    if (ping2.code !== 0) throw new Error('the ping over the unicast layer failed');
    show(`irm ipcp inspect name ${uni(beta)} neighbours pff   (on beta)`, await irm(beta, ['ipcp', 'inspect', 'name', uni(beta), 'neighbours', 'pff']));

    step('9. Done', 'Stopping the three systems: irmd stops its IPCPs and servers and removes its sockets.');
    await stopAll(systems);
    process.stdout.write('  all stopped.\n');
    return 0;
  } catch (e) {
    process.stderr.write(`\ndemo failed: ${(e as Error).message}\n`);
    for (const s of systems) process.stderr.write(`--- irmd log of ${s.name}:\n${s.log}\n`);
    await stopAll(systems);
    return 1;
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    for (const c of children) c.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    process.exit(130);
  });
}
main().then((code) => process.exit(code));
