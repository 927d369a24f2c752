/**
 * Per-flow encryption on a flow's data path (WIRE.md §6, §8), in the
 * reference's order:
 *
 *   send:    FRCT header → encrypt (IV ‖ ciphertext ‖ tag) → CRC-32 trailer
 *   receive: check CRC → decrypt → FRCT
 *
 * FRCT and the CRC of unencrypted flows live in the SDU path above the
 * endpoint (sdu-path.ts). An encrypted flow sets a codec on its endpoint
 * (Endpoint.codec) that encrypts every non-empty SDU leaving and decrypts
 * every one taken, and, when the QoS asks for a CRC (ber = 0), also adds and
 * checks the CRC itself, after encryption: the SDU path above is then built
 * without its own CRC ({@link pathQos}), so the order on the wire is the
 * reference's. Keepalives (zero-length SDUs) pass untouched. A packet that
 * fails the CRC or authentication is dropped and counted.
 */
import { appendCrc, verifyCrc } from '../frct/crc.js';
import type { QosSpec } from '../qos.js';
import { createFlowCrypt, type FlowCrypt, type FlowCryptStats } from './cipher.js';

/** A transform of the SDUs of one flow, applied by its endpoint. */
export interface SduCodec {
  /**
   * The bytes to send for a non-empty SDU. They may be overwritten by the
   * next encode or decode of any flow: the caller copies them at once (as
   * Link.send does).
   */
  encode(sdu: Uint8Array): Uint8Array;
  /**
   * The SDU inside a received packet; undefined to drop it. The SDU may be
   * written over the packet's own bytes (the packet is the caller's to
   * hand on, as an unencoded one would be).
   */
  decode(pkt: Buffer): Buffer | undefined;
}

export interface FlowSecurityInit {
  /** Cipher NID negotiated by OAP (0 = none). */
  cipherNid: number;
  /** The 32-byte key OAP derived (absent when cipherNid is 0). */
  key: Uint8Array | undefined;
}

export interface CryptStats {
  /** Cipher name, e.g. aes-256-gcm. */
  cipher: string;
  /** Packets dropped because they did not decrypt (tampered, or not for this key). */
  decryptErrors: number;
  /** Packets dropped on a bad CRC (only when this codec checks the CRC: encrypted flows with ber 0). */
  crcErrors: number;
  /** Key rotation state (packet counter, phase, rotations). */
  keys: FlowCryptStats;
}

export interface CryptCodec extends SduCodec {
  readonly crypt: FlowCrypt;
  readonly stats: CryptStats;
  /** Frees the flow's cipher contexts and zeroes its keys (at deallocation; garbage collection does it otherwise). */
  dispose(): void;
}

/** True when OAP negotiated encryption for the flow. */
export const isEncrypted = (s: FlowSecurityInit | undefined): s is FlowSecurityInit & { key: Uint8Array } =>
  s !== undefined && s.cipherNid !== 0 && s.key !== undefined;

/**
 * The codec of an encrypted flow: encryption, then the CRC when `crc` is
 * set (the flow's QoS has ber = 0).
 */
export function cryptCodec(sec: FlowSecurityInit & { key: Uint8Array }, crc: boolean): CryptCodec {
  const crypt = createFlowCrypt({ cipher: sec.cipherNid, key: sec.key });
  let decryptErrors = 0;
  let crcErrors = 0;
  return {
    crypt,
    encode(sdu) {
      const out = crypt.encryptTransient(sdu);
      return crc ? appendCrc(out) : out;
    },
    decode(pkt) {
      let body: Buffer | undefined = pkt;
      if (crc) {
        body = verifyCrc(pkt);
        if (!body) {
          crcErrors++;
          return undefined;
        }
      }
      const out = crypt.decryptInPlace(body);
      if (!out) decryptErrors++;
      return out;
    },
    get stats(): CryptStats {
      return { cipher: crypt.cipher.name, decryptErrors, crcErrors, keys: crypt.stats() };
    },
    dispose: () => crypt.dispose(),
  };
}

/**
 * The QoS to build the SDU path above an encrypted flow's endpoint with:
 * the flow's own, without the CRC (the codec adds it after encryption).
 */
export function pathQos(qos: QosSpec, encrypted: boolean): QosSpec {
  return encrypted && qos.ber === 0 ? { ...qos, ber: 1 } : qos;
}
