/**
 * Test helper: a wire tap for a UDP layer. It binds an address of its own
 * on the layer's port and relays between one client system and one server
 * system, keeping a copy of every datagram. Point the client at it by
 * publishing the server's name with the tap's address in the layer's hosts
 * file: the client's IPCP then sends its flow request to the tap, the
 * server answers the tap (the request's source), and both send their data
 * to it. This is the real wire: nothing in the IPCPs knows about the tap.
 */
import dgram from 'node:dgram';

export interface TappedDatagram {
  /** c2s: from the client system to the server system; s2c the other way. */
  dir: 'c2s' | 's2c';
  data: Buffer;
}

export interface Endpoint {
  address: string;
  port: number;
}

export class UdpTap {
  readonly datagrams: TappedDatagram[] = [];
  private client: Endpoint | undefined;

  private constructor(private readonly sock: dgram.Socket, readonly server: Endpoint) {
    sock.on('message', (msg, rinfo) => {
      if (rinfo.address === server.address && rinfo.port === server.port) {
        this.datagrams.push({ dir: 's2c', data: Buffer.from(msg) });
        if (this.client) sock.send(msg, this.client.port, this.client.address);
      } else {
        this.client = { address: rinfo.address, port: rinfo.port };
        this.datagrams.push({ dir: 'c2s', data: Buffer.from(msg) });
        sock.send(msg, server.port, server.address);
      }
    });
  }

  /** Starts relaying on `listen` (an address of this host, the layer's port) to `server`. */
  static async start(listen: Endpoint, server: Endpoint): Promise<UdpTap> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(listen.port, listen.address, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    return new UdpTap(sock, server);
  }

  /** Whether `needle` crossed the wire inside any one datagram. */
  contains(needle: Uint8Array): boolean {
    const n = Buffer.from(needle.buffer, needle.byteOffset, needle.length);
    return this.datagrams.some((d) => d.data.includes(n));
  }

  /** Management datagrams (eid 0) with the given code (1 = FLOW_REQ, 2 = FLOW_REPLY, WIRE.md §13). */
  management(code: number): TappedDatagram[] {
    return this.datagrams.filter((d) => d.data.length >= 47 && d.data.readUInt32BE(0) === 0 && d.data[44] === code);
  }

  /** Data datagrams (eid ≠ 0). */
  data(): TappedDatagram[] {
    return this.datagrams.filter((d) => d.data.length >= 4 && d.data.readUInt32BE(0) !== 0);
  }

  clear(): void {
    this.datagrams.length = 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.sock.close(() => resolve()));
  }
}
