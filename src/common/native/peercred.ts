/**
 * SO_PEERCRED on an accepted Unix socket, through koffi (Node has no API for it).
 * Returns undefined where the platform or the FFI is unavailable.
 */
import type net from 'node:net';
import { createRequire } from 'node:module';

export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

type GetSockOpt = (fd: number, level: number, name: number, val: Buffer, len: Buffer) => number;
let getsockopt: GetSockOpt | null | undefined;

function load(): GetSockOpt | null {
  if (getsockopt !== undefined) return getsockopt;
  getsockopt = null;
  if (process.platform !== 'linux') return null;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi');
    const libc = koffi.load('libc.so.6');
    getsockopt = libc.func('int getsockopt(int, int, int, _Out_ uint8_t *, _Inout_ uint32_t *)') as GetSockOpt;
  } catch {
    getsockopt = null;
  }
  return getsockopt;
}

export function peerCred(sock: net.Socket): PeerCred | undefined {
  const fn = load();
  const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (!fn || fd === undefined || fd < 0) return undefined;
  const val = Buffer.alloc(12);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(12);
  if (fn(fd, SOL_SOCKET, SO_PEERCRED, val, len) !== 0) return undefined;
  return { pid: val.readInt32LE(0), uid: val.readUInt32LE(4), gid: val.readUInt32LE(8) };
}
