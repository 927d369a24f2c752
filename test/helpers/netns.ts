/**
 * Test helper: o7s systems in Linux network namespaces created by the test.
 *
 *   const net = await NetnsNetwork.create({ systems: ['a', 'b'], family: 6, links: [['a', 'b']] });
 *
 * Every node (a system, or a `bare` namespace with no o7s in it, e.g. for a
 * DNS server or a fake peer) gets its own namespace, named o7s-<random>-<node>,
 * with lo up. Every link is a veth pair named veth<i> (i = 1, 2, ... in the
 * order of `links`) at both ends, on its own subnet: 10.R.i.0/24 (family 4) or
 * fd00:R:i::/64 (family 6, addresses added `nodad`), the first node of the
 * link being .1 / ::1 and the second .2 / ::2, for one random R per network.
 * A node's primary address is its address on its first link. Nodes with
 * several links forward, and every node has routes to every link's subnet, so
 * a chain or a tree of namespaces is one routed network.
 *
 * Each system runs its own irmd inside its namespace
 * (`ip netns exec NS node dist/src/irmd/main.js --stdout --rundir DIR`); the
 * programs started through its TestSystem run in the namespace too. Unless
 * `bootstrap: false`, each system gets a udp4/udp6 IPCP named `udp` in layer
 * `udp` bound to its primary address (at the reference's default port 3435:
 * the namespaces are private, nothing else uses it), resolving names through a
 * shared hosts file that `register()` fills in.
 *
 * `stop()` stops the systems, kills every process left in the namespaces and
 * deletes them; it is also done synchronously at process exit (and on SIGINT /
 * SIGTERM) for networks a failing test did not stop.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child, TestSystem, type RunResult } from './system.js';

export interface LinkOptions {
  /** netem parameters applied at both ends, e.g. `delay 5ms loss 1%` (`tc qdisc add dev VETH root netem ...`). */
  netem?: string;
}

export type LinkSpec = readonly [string, string] | readonly [string, string, LinkOptions];

export interface NetnsOptions {
  /** Nodes running an o7s system (irmd). */
  systems: string[];
  /** Nodes that are namespaces only (no irmd), e.g. for a DNS server or a fake peer. */
  bare?: string[];
  /** IP version of the links and of the udp IPCPs (default 4). */
  family?: 4 | 6;
  /** veth links between nodes (default: a chain through systems then bare nodes, in order). */
  links?: LinkSpec[];
  /** Layer name (default `udp`). */
  layer?: string;
  /** UDP port of the layer (default: none given to bootstrap, i.e. the reference's 3435). */
  port?: number;
  /** Bootstrap a udp IPCP on every system (default true). */
  bootstrap?: boolean;
  /** Give the IPCPs the shared hosts file (default true). */
  hosts?: boolean;
  /** DNS server for dynamic DNS (`dns ADDR` at bootstrap): a node name (its primary address) or an address. */
  dns?: string;
  /** Extra bootstrap arguments for every udp IPCP. */
  extra?: string[];
}

interface Attachment {
  link: number;
  dev: string;
  addr: string;
  peer: string;
}

interface Node {
  name: string;
  ns: string;
  attachments: Attachment[];
}

const NODE_NAME = /^[A-Za-z0-9_.-]{1,40}$/;

/** Runs a command to completion; never throws (code null when it could not run or was killed). */
export function runCmd(cmd: string, args: string[], opts: { input?: string; timeout?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let done = false;
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const finish = (code: number | null): void => {
      if (done) return;
      done = true;
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    };
    const t = setTimeout(() => p.kill('SIGKILL'), opts.timeout ?? 15000);
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', (e) => {
      stderr += e.message;
      finish(null);
    });
    p.on('close', (code) => finish(code));
    p.stdin.on('error', () => {});
    p.stdin.end(opts.input ?? '');
  });
}

/** Runs a command, throwing with its output when it fails. */
async function must(cmd: string, args: string[], opts: { input?: string; timeout?: number } = {}): Promise<string> {
  const r = await runCmd(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${(r.stderr + r.stdout).trim()}`);
  return r.stdout;
}

// ---------------------------------------------------------------------------
// Last-resort cleanup of networks a test did not stop

const liveNets = new Set<NetnsNetwork>();
let hooked = false;

function killNamespacePidsSync(ns: string): void {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  for (const s of (r.stdout ?? '').split(/\s+/)) {
    const pid = Number(s);
    if (pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
  }
}

function cleanupAllSync(): void {
  for (const net of liveNets) net.cleanupSync();
  liveNets.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', cleanupAllSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      cleanupAllSync();
      process.kill(process.pid, sig);
    });
  }
}

let availability: Promise<string | undefined> | undefined;

export class NetnsNetwork {
  readonly systems = new Map<string, TestSystem>();
  readonly hostsFile: string;
  readonly layer: string;
  readonly family: 4 | 6;
  readonly port: number | undefined;
  /** Prefix of every namespace of this network (o7s-<random>). */
  readonly id: string;
  /** A temporary directory for the test's files (removed by stop()). */
  readonly dir: string;
  private readonly nodes = new Map<string, Node>();
  private readonly links: { a: string; b: string; opts: LinkOptions }[] = [];
  private readonly children: Child[] = [];
  private readonly created: string[] = [];
  private readonly subnet: number;
  private stopped = false;

  /**
   * Why namespaces cannot be used here (not root, no `ip`, `ip netns` or veth
   * failing), or undefined when they can. Tests skip with this reason.
   */
  static unavailable(): Promise<string | undefined> {
    availability ??= (async () => {
      if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
      if (process.getuid?.() !== 0) return 'network namespaces need root (run the tests as root)';
      const probe = `o7s-probe-${randomBytes(4).toString('hex')}`;
      const add = await runCmd('ip', ['netns', 'add', probe]);
      if (add.code !== 0) return `\`ip netns add\` failed: ${(add.stderr || add.stdout).trim() || 'is iproute2 installed?'}`;
      try {
        const veth = await runCmd('ip', ['-n', probe, 'link', 'add', 'veth1', 'type', 'veth', 'peer', 'name', 'veth2']);
        if (veth.code !== 0) return `cannot create veth pairs: ${veth.stderr.trim()}`;
        return undefined;
      } finally {
        await runCmd('ip', ['netns', 'del', probe]);
      }
    })();
    return availability;
  }

  /** Whether `tc ... netem` works here (the sch_netem kernel module). */
  static async netemAvailable(): Promise<boolean> {
    const probe = `o7s-probe-${randomBytes(4).toString('hex')}`;
    if ((await runCmd('ip', ['netns', 'add', probe])).code !== 0) return false;
    try {
      await runCmd('ip', ['-n', probe, 'link', 'add', 'veth1', 'type', 'veth', 'peer', 'name', 'veth2']);
      const r = await runCmd('ip', ['netns', 'exec', probe, 'tc', 'qdisc', 'add', 'dev', 'veth1', 'root', 'netem', 'delay', '1ms']);
      return r.code === 0;
    } finally {
      await runCmd('ip', ['netns', 'del', probe]);
    }
  }

  private constructor(opts: NetnsOptions) {
    this.layer = opts.layer ?? 'udp';
    this.family = opts.family ?? 4;
    this.port = opts.port;
    this.id = `o7s-${randomBytes(3).toString('hex')}`;
    this.subnet = 1 + Math.floor(Math.random() * 254);
    this.dir = mkdtempSync(join(tmpdir(), 'o7s-netns-'));
    this.hostsFile = join(this.dir, 'hosts');
    writeFileSync(this.hostsFile, '# o7s namespace test network\n');
  }

  /** Creates the namespaces, links and systems. On failure everything created is removed. */
  static async create(opts: NetnsOptions): Promise<NetnsNetwork> {
    const reason = await NetnsNetwork.unavailable();
    if (reason) throw new Error(`network namespaces unavailable: ${reason}`);
    const net = new NetnsNetwork(opts);
    liveNets.add(net);
    hookExit();
    try {
      await net.build(opts);
    } catch (e) {
      await net.stop();
      throw e;
    }
    return net;
  }

  private addrFor(link: number, end: 1 | 2): string {
    return this.family === 4 ? `10.${this.subnet}.${link}.${end}` : `fd00:${this.subnet.toString(16)}:${link.toString(16)}::${end}`;
  }

  private subnetOf(link: number): string {
    return this.family === 4 ? `10.${this.subnet}.${link}.0/24` : `fd00:${this.subnet.toString(16)}:${link.toString(16)}::/64`;
  }

  private async build(opts: NetnsOptions): Promise<void> {
    const all = [...opts.systems, ...(opts.bare ?? [])];
    if (all.length === 0) throw new Error('a network needs at least one node');
    for (const n of all) {
      if (!NODE_NAME.test(n)) throw new Error(`bad node name ${JSON.stringify(n)} (letters, digits, _ . - only)`);
      if (this.nodes.has(n)) throw new Error(`node ${n} given twice`);
      this.nodes.set(n, { name: n, ns: `${this.id}-${n}`, attachments: [] });
    }
    const specs: LinkSpec[] = opts.links ?? all.slice(1).map((n, i) => [all[i]!, n] as const);
    if (specs.length > 250) throw new Error('at most 250 links');
    for (const s of specs) {
      const [a, b] = s;
      if (!this.nodes.has(a) || !this.nodes.has(b)) throw new Error(`link ${a}-${b}: unknown node`);
      if (a === b) throw new Error(`link ${a}-${b}: a node cannot link to itself`);
      this.links.push({ a, b, opts: s[2] ?? {} });
    }

    // Namespaces, with lo up.
    for (const node of this.nodes.values()) {
      await must('ip', ['netns', 'add', node.ns]);
      this.created.push(node.ns);
      await must('ip', ['-n', node.ns, 'link', 'set', 'lo', 'up']);
    }

    // Links: veth<i> at both ends, addressed, up, with netem if asked for.
    for (const [k, l] of this.links.entries()) {
      const i = k + 1;
      const dev = `veth${i}`;
      const na = this.nodes.get(l.a)!;
      const nb = this.nodes.get(l.b)!;
      await must('ip', ['link', 'add', 'name', dev, 'netns', na.ns, 'type', 'veth', 'peer', 'name', dev, 'netns', nb.ns]);
      for (const [node, end, peer] of [[na, 1, l.b], [nb, 2, l.a]] as const) {
        const addr = this.addrFor(i, end);
        const prefixLen = this.family === 4 ? 24 : 64;
        await must('ip', ['-n', node.ns, ...(this.family === 6 ? ['-6'] : []), 'addr', 'add', `${addr}/${prefixLen}`, 'dev', dev, ...(this.family === 6 ? ['nodad'] : [])]);
        await must('ip', ['-n', node.ns, 'link', 'set', dev, 'up']);
        if (l.opts.netem) await must('ip', ['netns', 'exec', node.ns, 'tc', 'qdisc', 'add', 'dev', dev, 'root', 'netem', ...l.opts.netem.trim().split(/\s+/)]);
        node.attachments.push({ link: i, dev, addr, peer });
      }
    }
    for (const node of this.nodes.values()) {
      if (node.attachments.length === 0 && this.nodes.size > 1) throw new Error(`node ${node.name} has no link`);
    }
    await this.route();

    // Systems.
    await Promise.all(
      opts.systems.map(async (name) => {
        const sys = await TestSystem.start({ prefix: ['ip', 'netns', 'exec', this.ns(name)] });
        this.systems.set(name, sys);
      }),
    );
    if (opts.bootstrap === false) return;
    const dns = opts.dns === undefined ? undefined : this.nodes.has(opts.dns) ? this.addr(opts.dns) : opts.dns;
    await Promise.all(
      opts.systems.map((name) =>
        this.sys(name).irm([
          'ipcp', 'bootstrap', 'type', this.family === 4 ? 'udp4' : 'udp6', 'name', 'udp', 'layer', this.layer,
          'ip', this.addr(name),
          ...(this.port !== undefined ? ['port', String(this.port)] : []),
          ...(dns !== undefined ? ['dns', dns] : []),
          ...(opts.hosts === false ? [] : ['hosts', this.hostsFile]),
          ...(opts.extra ?? []),
        ]),
      ),
    );
  }

  /** Forwarding on nodes with several links; routes to every subnet not attached, via the first hop of a shortest path. */
  private async route(): Promise<void> {
    for (const node of this.nodes.values()) {
      if (node.attachments.length > 1) {
        const knob = this.family === 4 ? '/proc/sys/net/ipv4/ip_forward' : '/proc/sys/net/ipv6/conf/all/forwarding';
        await must('ip', ['netns', 'exec', node.ns, 'sh', '-c', `echo 1 > ${knob}`]);
      }
    }
    for (const src of this.nodes.values()) {
      // BFS from src: distance and the attachment of src leading there first.
      const dist = new Map<string, number>([[src.name, 0]]);
      const via = new Map<string, Attachment>();
      const queue = [src.name];
      while (queue.length) {
        const cur = queue.shift()!;
        for (const at of this.nodes.get(cur)!.attachments) {
          if (dist.has(at.peer)) continue;
          dist.set(at.peer, dist.get(cur)! + 1);
          via.set(at.peer, cur === src.name ? at : via.get(cur)!);
          queue.push(at.peer);
        }
      }
      const mine = new Set(src.attachments.map((a) => a.link));
      for (const [k, l] of this.links.entries()) {
        const i = k + 1;
        if (mine.has(i)) continue;
        const da = dist.get(l.a);
        const db = dist.get(l.b);
        if (da === undefined && db === undefined) continue;
        const target = db === undefined || (da !== undefined && da <= db) ? l.a : l.b;
        const first = via.get(target)!;
        const gw = this.nodes.get(first.peer)!.attachments.find((a) => a.link === first.link)!.addr;
        await must('ip', ['-n', src.ns, ...(this.family === 6 ? ['-6'] : []), 'route', 'add', this.subnetOf(i), 'via', gw, 'dev', first.dev]);
      }
    }
  }

  private node(name: string): Node {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name} in this network`);
    return n;
  }

  /** The namespace of a node. */
  ns(name: string): string {
    return this.node(name).ns;
  }

  /** A node's primary address (on its first link); its udp IPCP is bound to it. */
  addr(name: string): string {
    const at = this.node(name).attachments[0];
    if (!at) throw new Error(`node ${name} has no link`);
    return at.addr;
  }

  /** A node's address on its (first) direct link to `peer`. */
  addrOn(name: string, peer: string): string {
    const at = this.node(name).attachments.find((a) => a.peer === peer);
    if (!at) throw new Error(`no link ${name}-${peer}`);
    return at.addr;
  }

  /** The interface of a node on its (first) direct link to `peer`. */
  dev(name: string, peer: string): string {
    const at = this.node(name).attachments.find((a) => a.peer === peer);
    if (!at) throw new Error(`no link ${name}-${peer}`);
    return at.dev;
  }

  sys(name: string): TestSystem {
    const s = this.systems.get(name);
    if (!s) throw new Error(`no system ${name} in this network`);
    return s;
  }

  /** Runs a command inside a node's namespace to completion. */
  exec(name: string, cmd: string, args: string[] = [], opts: { input?: string; timeout?: number } = {}): Promise<RunResult> {
    return runCmd('ip', ['netns', 'exec', this.ns(name), cmd, ...args], opts);
  }

  /** Starts a command inside a node's namespace; it is killed by stop(). */
  spawnIn(name: string, cmd: string, args: string[] = []): Child {
    const c = new Child(spawn('ip', ['netns', 'exec', this.ns(name), cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] }));
    this.children.push(c);
    return c;
  }

  /** Adds `ADDRESS NAME` to the shared hosts file (ADDRESS: a node's primary address, or a literal address). */
  addHost(name: string, nodeOrAddr: string): void {
    const addr = this.nodes.has(nodeOrAddr) ? this.addr(nodeOrAddr) : nodeOrAddr;
    appendFileSync(this.hostsFile, `${addr} ${name}\n`);
  }

  /** Creates `name` on system `at`, registers it in the layer and publishes it in the hosts file. */
  async register(at: string, name: string): Promise<void> {
    const sys = this.sys(at);
    await sys.irm(['name', 'create', name]);
    await sys.irm(['name', 'register', name, 'layer', this.layer]);
    this.addHost(name, at);
  }

  /** Stops every system and process, deletes the namespaces and the temporary directory. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.allSettled(this.children.map((c) => c.stop('SIGKILL')));
    await Promise.allSettled([...this.systems.values()].map((s) => s.stop()));
    for (const ns of this.created) {
      // Whatever is left in the namespace (IPCPs of a killed irmd, a test's servers): by pid.
      for (let round = 0; round < 20; round++) {
        const r = await runCmd('ip', ['netns', 'pids', ns]);
        const pids = r.stdout.split(/\s+/).map(Number).filter((p) => p > 0 && p !== process.pid);
        if (pids.length === 0) break;
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone already */
          }
        }
        await new Promise((res) => setTimeout(res, 50));
      }
      await runCmd('ip', ['netns', 'del', ns]);
    }
    rmSync(this.dir, { recursive: true, force: true });
    liveNets.delete(this);
  }

  /** Synchronous cleanup for process exit: kills what runs in the namespaces and deletes them. */
  cleanupSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const c of this.children) if (c.running) c.proc.kill('SIGKILL');
    for (const s of this.systems.values()) {
      for (const c of [...s.children, s.irmd]) if (c.running) c.proc.kill('SIGKILL');
      rmSync(s.rundir, { recursive: true, force: true });
    }
    for (const ns of this.created) {
      killNamespacePidsSync(ns);
      spawnSync('ip', ['netns', 'del', ns]);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
