/**
 * The OAP exchange (WIRE.md §10.3-10.5) in three steps, free of I/O (the
 * per-name configuration is loaded by config.ts and handed in):
 *
 *   client: const st = oapClientPrepare(ctx, clientCfg)   → st.request
 *   server: const r  = oapServerProcess(ctx, serverCfg, request) → r.response, r.cipherNid, r.key
 *   client: const f  = oapClientComplete(ctx, st, response) → f.cipherNid, f.key
 *
 * Errors are OuroborosErrors with the reference's codes: the server throws
 * EAUTH for a malformed, stale, replayed or badly signed request and ECRYPT
 * when the key exchange cannot be agreed (e.g. the server requires
 * encryption and the client offers none); the client throws ECRYPT for any
 * failure to complete. EMSGSIZE when a header would exceed `ctx.maxSize`.
 */
import { randomBytes } from 'node:crypto';
import { type Clock, systemClock } from '../../common/clock.js';
import { fail, OuroborosError } from '../../common/errors.js';
import { isClientEncap, type SecConfig } from '../../lib/crypt/enc-conf.js';
import { digest, SYMM_KEY_LEN } from '../../lib/crypt/kdf.js';
import {
  dheDerive,
  generateKexKeyPair,
  kemDecapsulate,
  kemEncapsulate,
  kexAlgoOfPublicKey,
  type KexKeyPair,
} from '../../lib/crypt/kex.js';
import {
  cipherInfo,
  cipherRank,
  DigestNid,
  digestRank,
  isHybrid,
  isKem,
  type KexInfo,
  kexInfo,
  kexRank,
  NID_UNDEF,
} from '../../lib/crypt/nid.js';
import { type Credentials, oapSign, oapVerify, parseCertificate, type TrustStore } from './auth.js';
import { decodeOapHeader, encodeOapHeader, OAP_ID_LEN, OAP_MAX_CTRL, type OapHeader } from './header.js';
import { type ReplayGuard, wallNs } from './replay.js';

/** What both sides share in an IRMd: the CA store, the replay memory, the clock. */
export interface OapContext {
  trust: TrustStore;
  /** Needed by servers. */
  replay?: ReplayGuard;
  clock?: Clock;
  /** Largest header to produce; default OAP_MAX_CTRL (10240). */
  maxSize?: number;
  /** Servers: how old a request may be (ms); default the replay guard's window. */
  replayWindowMs?: number;
}

export interface OapClientConfig {
  /** The destination name; a server certificate must carry it as its CN. */
  name: string;
  /** The client's enc.conf (NO_ENCRYPTION when absent). */
  enc: SecConfig;
  credentials?: Credentials;
  /**
   * The server's static KEM public key for client-encapsulation mode:
   * SPKI DER (`raw` false, ML-KEM) or raw (`raw` true, hybrids).
   */
  serverKemPublicKey?: (raw: boolean) => Uint8Array;
}

export interface OapServerConfig {
  name: string;
  /** The server's enc.conf (NO_ENCRYPTION when absent). */
  enc: SecConfig;
  credentials?: Credentials;
  /** The server's static KEM key for client-encapsulation requests (`raw`: hybrid .raw file, else ML-KEM .pem). */
  staticKemKey?: (raw: boolean) => KexKeyPair;
}

/** The outcome for a flow: cipher 0 = no encryption; else a 32-byte key. */
export interface FlowSecurity {
  cipherNid: number;
  key: Buffer | undefined;
  /** The peer's piggy-backed data (always empty with the reference). */
  data: Buffer;
  /** The peer certificate's CN, when it sent one. */
  peerName: string | undefined;
}

export interface OapServerResult extends FlowSecurity {
  response: Buffer;
}

/** The client's state between prepare and complete. */
export interface OapClientState {
  readonly request: Buffer;
  readonly id: Buffer;
  readonly name: string;
  readonly enc: SecConfig;
  readonly reqMdNid: number;
  readonly reqHash: Buffer;
  readonly kex: KexInfo | undefined;
  /** Ephemeral key pair (DHE, or KEM in server-encapsulation mode). */
  readonly keyPair: KexKeyPair | undefined;
  /** Key already derived (KEM in client-encapsulation mode). */
  readonly encapKey: Buffer | undefined;
}

const nowNs = (ctx: OapContext): bigint => wallNs(ctx.clock ?? systemClock);
const reqDigest = (mdNid: number): number => (mdNid !== NID_UNDEF ? mdNid : DigestNid.SHA384);

function checkSize(ctx: OapContext, b: Buffer, what: string): Buffer {
  const max = ctx.maxSize ?? OAP_MAX_CTRL;
  if (b.length > max) fail('EMSGSIZE', `OAP ${what} of ${b.length} bytes exceeds ${max}`);
  return b;
}

/** Re-throws anything as `code`, keeping the message. */
function as<T>(code: 'EAUTH' | 'ECRYPT', what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof OuroborosError && (e.code === code || e.code === 'EMSGSIZE')) throw e;
    fail(code, `${what}: ${(e as Error).message}`);
  }
}

function signer(creds: Credentials | undefined, mdNid: number): ((b: Buffer) => Uint8Array) | undefined {
  if (!creds) return undefined;
  return (b) => oapSign(creds.key, mdNid, b);
}

/**
 * Authenticates a peer header: no certificate is fine (unauthenticated);
 * otherwise it must chain to the trust store and sign the header with the
 * header's digest. Returns the certificate's CN (undefined without one).
 */
function authenticatePeer(ctx: OapContext, hdr: OapHeader): string | undefined {
  if (hdr.crt.length === 0) return undefined;
  const cert = parseCertificate(hdr.crt);
  ctx.trust.verify(cert, new Date((ctx.clock ?? systemClock).wallNow()));
  if (!oapVerify(cert.publicKey, hdr.mdNid, hdr.signed, hdr.sig)) fail('EAUTH', 'bad OAP signature');
  return cert.subjectCN;
}

// ---- client -----------------------------------------------------------------------------------

/** Builds the client's request for a flow to `cfg.name`. Throws ECRYPT (or EMSGSIZE). */
export function oapClientPrepare(ctx: OapContext, cfg: OapClientConfig, data?: Uint8Array): OapClientState {
  return as('ECRYPT', `OAP request for ${cfg.name}`, () => {
    const id = randomBytes(OAP_ID_LEN);
    const enc = cfg.enc;
    let kex: KexInfo | undefined;
    let keyPair: KexKeyPair | undefined;
    let encapKey: Buffer | undefined;
    let kexData: Buffer | undefined;
    let kexRaw = false;
    let clientEncap = false;
    if (enc.kex !== NID_UNDEF) {
      kex = kexInfo(enc.kex);
      if (!kex) fail('ECRYPT', `unknown key exchange NID ${enc.kex}`);
      if (!cipherInfo(enc.cipher)) fail('ECRYPT', `invalid cipher NID ${enc.cipher}`);
      if (isKem(kex)) {
        kexRaw = isHybrid(kex);
        if (enc.kemMode === 'client') {
          clientEncap = true;
          if (!cfg.serverKemPublicKey) fail('ECRYPT', `no static KEM public key of ${cfg.name}`);
          const pk = cfg.serverKemPublicKey(kexRaw);
          const e = kemEncapsulate(pk, kexRaw, enc.kdf);
          if (e.algo.nid !== kex.nid) fail('ECRYPT', `static KEM key of ${cfg.name} is ${e.algo.name}, configured ${kex.name}`);
          kexData = e.ciphertext;
          encapKey = e.key;
        } else {
          keyPair = generateKexKeyPair(kex);
          kexData = keyPair.publicKey;
        }
      } else {
        keyPair = generateKexKeyPair(kex);
        kexData = keyPair.publicKey;
      }
    }
    const request = checkSize(
      ctx,
      encodeOapHeader(
        {
          id,
          timestamp: nowNs(ctx),
          cipherNid: enc.cipher,
          kdfNid: enc.kdf,
          mdNid: enc.digest,
          crt: cfg.credentials?.certificate.der,
          kex: kexData,
          kexRaw: kexData !== undefined && kexRaw,
          kexClientEncap: kexData !== undefined && clientEncap,
          data,
        },
        signer(cfg.credentials, enc.digest),
      ),
      'request',
    );
    const reqMdNid = reqDigest(enc.digest);
    return { request, id, name: cfg.name, enc, reqMdNid, reqHash: digest(reqMdNid, request), kex, keyPair, encapKey };
  });
}

/** Completes the client side from the server's response. Throws ECRYPT. */
export function oapClientComplete(ctx: OapContext, st: OapClientState, response: Uint8Array): FlowSecurity {
  return as('ECRYPT', `OAP response from ${st.name}`, () => {
    const hdr = decodeOapHeader(response, st.reqMdNid);
    if (typeof hdr === 'string') fail('ECRYPT', hdr);
    if (!hdr.id.equals(st.id)) fail('ECRYPT', 'response id does not match the request');
    const peerName = authenticatePeer(ctx, hdr);
    if (hdr.reqHash.length === 0 || !hdr.reqHash.equals(st.reqHash)) fail('ECRYPT', 'response does not hash the request');
    if (peerName !== undefined && peerName !== st.name) fail('ECRYPT', `server certificate is for "${peerName}", not "${st.name}"`);
    const data = Buffer.from(hdr.data);
    if (!st.kex) return { cipherNid: NID_UNDEF, key: undefined, data, peerName };

    if (hdr.cipherNid === NID_UNDEF || !cipherInfo(hdr.cipherNid)) fail('ECRYPT', 'server did not choose a cipher');
    if (cipherRank(hdr.cipherNid) < cipherRank(st.enc.cipher)) fail('ECRYPT', `server cipher ${cipherInfo(hdr.cipherNid)!.name} is weaker than ours`);
    let kdf = st.enc.kdf;
    const clientEncap = isClientEncap(st.enc);
    if (!clientEncap && hdr.kdfNid !== NID_UNDEF) {
      if (digestRank(hdr.kdfNid) < digestRank(kdf)) fail('ECRYPT', 'server KDF is weaker than ours');
      kdf = hdr.kdfNid;
    }
    let key: Buffer;
    if (clientEncap) {
      key = st.encapKey!;
    } else if (isKem(st.kex)) {
      if (hdr.kex.length === 0) fail('ECRYPT', 'server sent no KEM ciphertext');
      key = kemDecapsulate(st.keyPair!, hdr.kex, kdf);
    } else {
      if (hdr.kex.length === 0) fail('ECRYPT', 'server sent no public key');
      key = dheDerive(st.keyPair!, hdr.kex, kdf);
    }
    return { cipherNid: hdr.cipherNid, key, data, peerName };
  });
}

// ---- server -----------------------------------------------------------------------------------

interface Negotiated {
  cipherNid: number;
  kdfNid: number;
  key: Buffer | undefined;
  kex: Buffer | undefined;
  kexRaw: boolean;
}

function serverKex(cfg: OapServerConfig, hdr: OapHeader): Negotiated {
  const enc = cfg.enc;
  if (hdr.kex.length === 0) {
    if (enc.kex !== NID_UNDEF) fail('ECRYPT', `${cfg.name} requires encryption, the client offers none`);
    return { cipherNid: enc.cipher, kdfNid: enc.kdf, key: undefined, kex: undefined, kexRaw: false };
  }

  const cliCipher = cipherRank(hdr.cipherNid);
  if (cliCipher < 0) fail('ECRYPT', `unsupported cipher NID ${hdr.cipherNid}`);
  const srvCipher = cipherRank(enc.cipher);
  let cipherNid: number;
  if (cliCipher > srvCipher) cipherNid = hdr.cipherNid;
  else if (srvCipher > 0) cipherNid = enc.cipher;
  else fail('ECRYPT', 'encryption requested without a cipher');

  if (hdr.kdfNid !== NID_UNDEF && digestRank(hdr.kdfNid) < 0) fail('ECRYPT', `unsupported KDF NID ${hdr.kdfNid}`);
  const cliKdf = digestRank(hdr.kdfNid);
  const srvKdf = digestRank(enc.kdf);
  let kdfNid = enc.kdf;
  if (hdr.kexClientEncap) {
    if (srvKdf > cliKdf) fail('ECRYPT', 'client KDF is weaker than ours');
    kdfNid = hdr.kdfNid;
  } else if (cliKdf > srvKdf) {
    kdfNid = hdr.kdfNid;
  }

  if (hdr.kexClientEncap) {
    const own = kexInfo(enc.kex);
    if (!own || !isKem(own)) fail('ECRYPT', `${cfg.name} has no KEM configured for client encapsulation`);
    if (!cfg.staticKemKey) fail('ECRYPT', `${cfg.name} has no static KEM key`);
    const kp = cfg.staticKemKey(hdr.kexRaw);
    return { cipherNid, kdfNid, key: kemDecapsulate(kp, hdr.kex, kdfNid), kex: undefined, kexRaw: false };
  }

  const algo = kexAlgoOfPublicKey(hdr.kex, hdr.kexRaw);
  if (kexRank(algo.nid) < kexRank(enc.kex)) fail('ECRYPT', `client key exchange ${algo.name} is weaker than ${kexInfo(enc.kex)!.name}`);
  if (isKem(algo)) {
    const e = kemEncapsulate(hdr.kex, hdr.kexRaw, kdfNid);
    return { cipherNid, kdfNid, key: e.key, kex: e.ciphertext, kexRaw: isHybrid(algo) };
  }
  const kp = generateKexKeyPair(algo);
  return { cipherNid, kdfNid, key: dheDerive(kp, hdr.kex, kdfNid), kex: kp.publicKey, kexRaw: false };
}

/**
 * Processes a client's request for `cfg.name` and builds the response.
 * Throws EAUTH (malformed, stale/replayed, bad certificate or signature),
 * ECRYPT (no agreement on encryption) or EMSGSIZE.
 */
export function oapServerProcess(ctx: OapContext, cfg: OapServerConfig, request: Uint8Array, data?: Uint8Array): OapServerResult {
  const req = Buffer.from(request.buffer, request.byteOffset, request.length);
  const hdr = decodeOapHeader(req);
  if (typeof hdr === 'string') fail('EAUTH', `OAP request for ${cfg.name}: ${hdr}`);
  if (!ctx.replay) fail('EAUTH', 'OAP server without replay protection');
  const peerName = as('EAUTH', `OAP request for ${cfg.name}`, () => {
    ctx.replay!.checkFresh(hdr.id, hdr.timestamp, ctx.replayWindowMs);
    const who = authenticatePeer(ctx, hdr);
    ctx.replay!.remember(hdr.id, hdr.timestamp, ctx.replayWindowMs);
    return who;
  });

  const n = as('ECRYPT', `OAP key exchange for ${cfg.name}`, () => serverKex(cfg, hdr));
  const reqMdNid = reqDigest(hdr.mdNid);
  const response = as('EAUTH', `OAP response for ${cfg.name}`, () =>
    checkSize(
      ctx,
      encodeOapHeader(
        {
          id: hdr.id,
          timestamp: nowNs(ctx),
          cipherNid: n.key ? n.cipherNid : NID_UNDEF,
          kdfNid: n.kdfNid,
          mdNid: cfg.enc.digest,
          crt: cfg.credentials?.certificate.der,
          kex: n.kex,
          kexRaw: n.kex !== undefined && n.kexRaw,
          data,
          reqHash: digest(reqMdNid, req),
        },
        signer(cfg.credentials, cfg.enc.digest),
      ),
      'response',
    ),
  );
  if (n.key && n.key.length !== SYMM_KEY_LEN) fail('ECRYPT', 'derived key has the wrong length');
  return { response, cipherNid: n.key ? n.cipherNid : NID_UNDEF, key: n.key, data: Buffer.from(hdr.data), peerName };
}
