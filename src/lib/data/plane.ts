/**
 * The data plane of one process: a listening socket (`proc.<pid>.sock` in the
 * rundir) that peers connect to, one link per peer process, and the flow
 * endpoints of this process. No packet ever passes through irmd.
 */
import net from 'node:net';
import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { paths } from '../../common/rundir.js';
import { peerCred } from '../../common/native/peercred.js';
import { selfPrivileged } from '../../common/privilege.js';
import { DataType } from './frame.js';
import { Link, type LinkHandlers } from './link.js';
import { Endpoint, RX_WINDOW, type EndpointOwner } from './endpoint.js';

/** Packets for a flow id this process does not know yet (its allocation reply is still on the way). */
interface Early {
  frames: { type: number; payload: Buffer }[];
  since: number;
  bytes: number;
}

/** Early frames are kept per (sending process, flow id), so nobody can spoil another's. */
const earlyKey = (pid: number, flowId: number): string => `${pid}:${flowId}`;

const EARLY_MAX_FLOWS = 256;
/** Bytes held as early frames, all flows together (anyone who can reach the socket can send them). */
export const EARLY_MAX_BYTES = 8 << 20;
/** What a held frame costs against EARLY_MAX_BYTES besides its payload (so empty ones are not free). */
export const EARLY_FRAME_COST = 64;
const EARLY_TTL_MS = 10000;
/** Frames for a flow that ended here within this long are stale: dropped, never held as early. */
const TOMBSTONE_TTL_MS = 30000;
const TOMBSTONE_MAX = 4096;

export interface DataPlaneCounters {
  badFrames: number;
  strayFrames: number;
  earlyDropped: number;
}

export class DataPlane implements EndpointOwner {
  private server: net.Server | undefined;
  private readonly links = new Map<number, Link>();
  private readonly endpoints = new Map<number, Endpoint>();
  private readonly early = new Map<string, Early>();
  private earlyBytes = 0;
  /** (peer pid, flow id) of endpoints released recently, with when. */
  private readonly tombstones = new Map<string, number>();
  private readonly path: string;
  readonly counters: DataPlaneCounters = { badFrames: 0, strayFrames: 0, earlyDropped: 0 };
  private keepAlive = 0;

  constructor(readonly rundir: string, readonly pid: number = process.pid) {
    this.path = paths.data(rundir, pid);
  }

  async listen(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    try {
      unlinkSync(this.path);
    } catch {
      /* none there */
    }
    const server = net.createServer((sock) => this.accepted(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => {});
    // Per-user isolation (DESIGN.md §4): a user's data socket is the user's
    // alone. A privileged process's (IPCPs, root) is open to every user, so
    // that their programs reach the IPCPs carrying their flows; frames are
    // taken only from a flow's own peer, whose pid the kernel vouches for
    // (SO_PEERCRED), so this lets nobody into another's flow.
    try {
      chmodSync(this.path, selfPrivileged() ? 0o666 : 0o600);
    } catch {
      /* a file system without modes: nothing to restrict */
    }
    this.server = server;
    this.refresh();
  }

  /** Keeps the process alive while flows or requests are outstanding. */
  hold(delta: number): void {
    this.keepAlive += delta;
    this.refresh();
  }

  private refresh(): void {
    if (!this.server) return;
    if (this.keepAlive > 0 || this.endpoints.size > 0) this.server.ref();
    else this.server.unref();
  }

  private handlers: LinkHandlers = {
    frame: (link, type, flowId, payload) => this.frame(link, type, flowId, payload),
    close: (link) => this.linkClosed(link),
    bad: () => {
      this.counters.badFrames++;
    },
  };

  private accepted(sock: net.Socket): void {
    const cred = peerCred(sock);
    const link = new Link(sock, this.handlers);
    if (cred) link.peerPid = cred.pid;
  }

  /** The link to `pid`, connecting if needed. */
  linkTo(pid: number): Link | undefined {
    const have = this.links.get(pid);
    if (have && !have.closed) return have;
    const sock = net.createConnection(paths.data(this.rundir, pid));
    const link = new Link(sock, this.handlers, pid);
    this.links.set(pid, link);
    const hello = Buffer.allocUnsafe(4);
    hello.writeUInt32BE(this.pid);
    link.send(DataType.HELLO, 0, hello);
    return link;
  }

  /** Creates the endpoint of flow `id` whose other end is process `peerPid`. */
  endpoint(id: number, peerPid: number): Endpoint {
    const old = this.endpoints.get(id);
    if (old) old.close();
    const ep = new Endpoint(id, peerPid, this);
    this.endpoints.set(id, ep);
    this.refresh();
    const key = earlyKey(peerPid, id);
    this.tombstones.delete(key);
    const e = this.takeEarly(key);
    if (e) {
      for (const f of e.frames) this.dispatch(ep, f.type, f.payload, peerPid);
    }
    return ep;
  }

  get(id: number): Endpoint | undefined {
    return this.endpoints.get(id);
  }

  release(ep: Endpoint): void {
    if (this.endpoints.get(ep.id) === ep) this.endpoints.delete(ep.id);
    const now = Date.now();
    for (const [k, t] of this.tombstones) {
      if (now - t <= TOMBSTONE_TTL_MS && this.tombstones.size < TOMBSTONE_MAX) break;
      this.tombstones.delete(k);
    }
    this.tombstones.set(earlyKey(ep.peerPid, ep.id), now);
    if (ep.via !== ep.peerPid) this.tombstones.set(earlyKey(ep.via, ep.id), now);
    this.refresh();
  }

  private frame(link: Link, type: number, flowId: number, payload: Buffer): void {
    if (type === DataType.HELLO) {
      if (payload.length !== 4) {
        this.counters.badFrames++;
        return;
      }
      const claimed = payload.readUInt32BE(0);
      // Trust the kernel's credentials over the claim when both exist.
      if (link.peerPid === undefined) link.peerPid = claimed;
      if (!this.links.has(link.peerPid) || this.links.get(link.peerPid)!.closed) this.links.set(link.peerPid, link);
      return;
    }
    const pid = link.peerPid;
    if (pid === undefined) {
      this.counters.badFrames++;
      link.destroy();
      return;
    }
    const ep = this.endpoints.get(flowId);
    if (ep) {
      if (ep.peerPid === pid) {
        this.dispatch(ep, type, payload, pid);
        return;
      }
      // Frames from the other program of a flow the IPCP is handing over.
      if (ep.holdForHandover(pid, type, payload)) return;
      // ... or from it before our own REDIRECT arrived: held below until it does.
    }
    const t = this.tombstones.get(earlyKey(pid, flowId));
    if (t !== undefined && Date.now() - t <= TOMBSTONE_TTL_MS) {
      this.counters.strayFrames++; // for a flow that ended here: stale
      return;
    }
    this.holdEarly(pid, type, flowId, payload);
  }

  private dispatch(ep: Endpoint, type: number, payload: Buffer, from: number): void {
    switch (type) {
      case DataType.DATA:
        ep.deliver(payload);
        break;
      case DataType.CREDIT:
        if (payload.length === 4) ep.addCredit(payload.readUInt32BE(0), from);
        else this.counters.badFrames++;
        break;
      case DataType.REDIRECT: {
        if (payload.length !== 8) {
          this.counters.badFrames++;
          break;
        }
        const pid = payload.readUInt32BE(0);
        const key = earlyKey(pid, ep.id);
        const early = this.takeEarly(key)?.frames ?? [];
        ep.redirect(pid, payload.readUInt32BE(4), early);
        break;
      }
      case DataType.MARK:
        for (const f of ep.markFromPeer()) this.dispatch(ep, f.type, f.payload, ep.peerPid);
        break;
      case DataType.DOWN:
        ep.markDown();
        break;
      case DataType.STATE:
        if (payload.length === 4) ep.peerState(payload.readUInt32BE(0) !== 0);
        else this.counters.badFrames++;
        break;
      default:
        this.counters.badFrames++;
    }
  }

  private holdEarly(pid: number, type: number, flowId: number, payload: Buffer): void {
    const now = Date.now();
    this.expireEarly(now);
    const cost = payload.length + EARLY_FRAME_COST;
    if (this.earlyBytes + cost > EARLY_MAX_BYTES) {
      this.counters.earlyDropped++;
      return;
    }
    const key = earlyKey(pid, flowId);
    let e = this.early.get(key);
    if (!e) {
      if (this.early.size >= EARLY_MAX_FLOWS) {
        this.counters.earlyDropped++;
        return;
      }
      e = { frames: [], since: now, bytes: 0 };
      this.early.set(key, e);
    }
    if (e.frames.length >= RX_WINDOW) {
      this.counters.earlyDropped++;
      return;
    }
    // The frame is a view into a read chunk of up to 64 KiB: a copy of its own keeps only its bytes.
    e.frames.push({ type, payload: Buffer.from(payload) });
    e.bytes += cost;
    this.earlyBytes += cost;
  }

  /** Removes the early frames held for `key`, returning them. */
  private takeEarly(key: string): Early | undefined {
    const e = this.early.get(key);
    if (!e) return undefined;
    this.early.delete(key);
    this.earlyBytes -= e.bytes;
    return e;
  }

  /** Bytes held as early frames now (for tests and inspection). */
  get earlyHeld(): number {
    return this.earlyBytes;
  }

  /** Drops held frames older than EARLY_TTL_MS (the map is in insertion order, oldest first). */
  private expireEarly(now: number): void {
    for (const [key, e] of this.early) {
      if (now - e.since <= EARLY_TTL_MS) return;
      this.counters.earlyDropped += e.frames.length;
      this.takeEarly(key);
    }
  }

  private linkClosed(link: Link): void {
    const pid = link.peerPid;
    if (pid === undefined) return;
    if (this.links.get(pid) === link) this.links.delete(pid);
    const other = this.links.get(pid);
    if (other && !other.closed) return;
    // A flow goes down with its peer, and with the IPCP it was set up through (also after a hand-over).
    for (const ep of this.endpoints.values()) if (ep.peerPid === pid || ep.via === pid) ep.markDown(true);
    for (const key of [...this.early.keys()]) if (key.startsWith(`${pid}:`)) this.takeEarly(key);
  }

  /** Forgets the peer: its endpoints go down (used when irmd reports the process gone). */
  peerGone(pid: number): void {
    this.links.get(pid)?.destroy();
    for (const ep of this.endpoints.values()) if (ep.peerPid === pid) ep.markDown(true);
  }

  /** Closes every endpoint and link; data already written is still delivered (links end gracefully). */
  async close(): Promise<void> {
    for (const ep of [...this.endpoints.values()]) ep.close();
    const links = [...this.links.values()];
    this.links.clear();
    this.server?.close();
    this.server = undefined;
    try {
      unlinkSync(this.path);
    } catch {
      /* gone */
    }
    await Promise.all(links.map((l) => l.end()));
  }
}
