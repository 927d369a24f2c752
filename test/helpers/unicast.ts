/**
 * Test helper: a unicast layer over a udp4 layer, one system per node. Each
 * system's unicast IPCP is named after its system and is registered under
 * that name in the udp layer (so neighbours can reach it); the first node
 * bootstraps the layer, the others enroll through a neighbour that is in the
 * layer already (breadth first along the links), and every link gets a
 * management and a data transfer connection.
 */
import { IrmClient } from '../../src/lib/irm-client.js';
import { IpcpControl } from '../../src/irmd/ipcp-control.js';
import { ipcp_msg_code } from '../../src/proto/gen/ipcp_pb.js';
import { HashAlgo, hashName } from '../../src/common/hash.js';
import { TestNetwork, type NetworkOptions } from './network.js';
import { until, type TestSystem } from './system.js';

export interface UnicastOptions {
  /** Layer name (default `net`). */
  layer?: string;
  /** IPCP type of the layer (default unicast). */
  type?: 'unicast' | 'broadcast';
  /** Extra `irm ipcp bootstrap` arguments for the unicast layer (e.g. ['routing', 'lfa']). */
  bootstrap?: string[];
  /** Options of the udp layer beneath. */
  udp?: NetworkOptions;
  /** Stack this layer on another one (same systems) instead of a new udp layer. */
  over?: UnicastNetwork;
}

/** What `irm ipcp inspect` reports for a unicast IPCP (the parts tests use). */
export interface UnicastState {
  layer: string | null;
  address: number;
  neighbours: { addr: number }[];
  pff: { dst: number; nextHops: number[] }[];
  lsdb: { adjacencies: { src: number; dst: number }[] };
  dht: unknown;
  flows: { flowId: number; state: string }[];
  counters: Record<string, Record<string, number>>;
}

export class UnicastNetwork {
  private readonly clients = new Map<string, IrmClient>();
  private readonly pids = new Map<string, number>();

  private constructor(
    readonly udp: TestNetwork,
    readonly layer: string,
    readonly links: readonly (readonly [string, string])[],
    /** The layer beneath when stacked (else the udp layer). */
    readonly over: UnicastNetwork | undefined,
    /** The nodes of this layer. */
    readonly nodes: readonly string[],
  ) {}

  /** The name of node `n`'s IPCP in this layer (also its name in the layer beneath). */
  ipcp(n: string): string {
    return this.over ? `${this.layer}.${n}` : n;
  }

  static async build(nodes: string[], links: [string, string][], opts: UnicastOptions = {}): Promise<UnicastNetwork> {
    const udp = opts.over ? opts.over.udp : await TestNetwork.udp4(nodes, opts.udp);
    const net = new UnicastNetwork(udp, opts.layer ?? 'net', links, opts.over, nodes);
    try {
      const [first, ...rest] = nodes;
      if (first === undefined) throw new Error('a network needs a node');
      const type = opts.type ?? 'unicast';
      await net.sys(first).irm(['ipcp', 'bootstrap', 'type', type, 'name', net.ipcp(first), 'layer', net.layer, 'autobind', ...(opts.bootstrap ?? [])]);
      await net.publish(first);
      const inLayer = new Set([first]);
      const pending = new Set(rest);
      while (pending.size > 0) {
        const next = [...pending].find((n) => net.neighbours(n).some((m) => inLayer.has(m)));
        if (next === undefined) throw new Error(`nodes ${[...pending].join(', ')} are not linked to the layer`);
        const via = net.neighbours(next).find((m) => inLayer.has(m))!;
        if (net.over) await net.over.resolvable(next, net.ipcp(via));
        await net.retry(next, ['ipcp', 'enroll', 'name', net.ipcp(next), 'layer', net.layer, 'dst', net.ipcp(via), 'type', type, 'autobind']);
        await net.publish(next);
        inLayer.add(next);
        pending.delete(next);
      }
      for (const [a, b] of links) await net.connect(a, b);
    } catch (e) {
      await net.stop();
      throw e;
    }
    return net;
  }

  private neighbours(n: string): string[] {
    return this.links.flatMap(([a, b]) => (a === n ? [b] : b === n ? [a] : []));
  }

  sys(name: string): TestSystem {
    return this.udp.sys(name);
  }

  /** Registers node `n`'s IPCP name in the layer beneath, so others can reach it. */
  private async publish(n: string): Promise<void> {
    if (this.over) await this.over.register(n, this.ipcp(n));
    else await this.udp.register(n, n);
  }

  async connect(a: string, b: string): Promise<void> {
    if (this.over) await this.over.resolvable(a, this.ipcp(b));
    await this.retry(a, ['ipcp', 'connect', 'name', this.ipcp(a), 'dst', this.ipcp(b)]);
  }

  /**
   * `irm ARGS` on node `n`, tried again a few times when it fails: over a
   * lossy layer beneath (udp `drop`), an enrollment or CEP message may be lost.
   */
  private async retry(n: string, args: string[], attempts = 8): Promise<void> {
    for (let i = 1; ; i++) {
      const r = await this.sys(n).irm(args, true);
      if (r.code === 0) return;
      if (i >= attempts) throw new Error(`irm ${args.join(' ')} failed ${attempts} times:\n${r.stdout}${r.stderr}`);
    }
  }

  /** Creates `name` on node `at` and registers it in the unicast layer. */
  async register(at: string, name: string): Promise<void> {
    await this.sys(at).irm(['name', 'create', name], true);
    await this.sys(at).irm(['name', 'register', name, 'layer', this.layer]);
  }

  private async client(n: string): Promise<IrmClient> {
    let c = this.clients.get(n);
    if (!c) {
      c = await IrmClient.connect(this.sys(n).rundir);
      this.clients.set(n, c);
    }
    return c;
  }

  async pid(n: string): Promise<number> {
    let pid = this.pids.get(n);
    if (pid === undefined) {
      const c = await this.client(n);
      pid = (await c.listIpcps()).find((i) => i.name === this.ipcp(n))?.pid;
      if (pid === undefined) throw new Error(`no IPCP ${this.ipcp(n)} on system ${n}`);
      this.pids.set(n, pid);
    }
    return pid;
  }

  async inspect(n: string): Promise<UnicastState> {
    const c = await this.client(n);
    return (await c.inspectIpcp(await this.pid(n))) as UnicastState;
  }

  /** Waits until node `at`'s IPCP resolves `name` in the layer (asking it as irmd does). */
  async resolvable(at: string, name: string, ms = 15000): Promise<void> {
    const ctl = await IpcpControl.open(this.sys(at).rundir, await this.pid(at));
    try {
      await until(
        async () => (await ctl.call({ code: ipcp_msg_code.IPCP_QUERY, hash: hashName(HashAlgo.SHA3_256, name) }, 5000)).result === 0,
        ms,
        `${name} resolvable from ${at}`,
      );
    } finally {
      ctl.close();
    }
  }

  /** Waits until every node has a route to every other node. */
  async converged(nodes: readonly string[] = this.nodes, ms = 20000): Promise<void> {
    const addrs = new Map<string, number>();
    for (const n of nodes) addrs.set(n, (await this.inspect(n)).address);
    await until(
      async () => {
        for (const n of nodes) {
          const s = await this.inspect(n);
          const dsts = new Set(s.pff.map((e) => e.dst));
          for (const m of nodes) if (m !== n && !dsts.has(addrs.get(m)!)) return false;
        }
        return true;
      },
      ms,
      'routes to every node',
    );
  }

  /** Stops every system (a stacked layer leaves that to the layer beneath). */
  async stop(): Promise<void> {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    if (!this.over) await this.udp.stop();
  }
}
