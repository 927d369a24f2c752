/**
 * Key exchange for OAP (WIRE.md §10.3-10.6): ephemeral Diffie-Hellman over
 * EC P-256/384/521, X25519, X448 and the RFC 7919 FFDHE groups, and KEMs
 * (ML-KEM-512/768/1024 and the hybrids X25519MLKEM768, X448MLKEM1024).
 *
 * Public keys are encoded as the reference puts them on the wire: X.509
 * SubjectPublicKeyInfo DER for everything but the hybrids, which travel as
 * raw concatenations (ML-KEM part first, then the X25519/X448 part). All
 * derived keys are 32 bytes, from HKDF with the negotiated KDF.
 *
 * Errors: malformed or unusable peer data throws ECRYPT.
 */
import {
  createECDH,
  createPrivateKey,
  type ECDH,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { ml_kem1024, ml_kem512, ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { fail, OuroborosError } from '../../common/errors.js';
import * as der from './der.js';
import { dheSalt, hkdf, INFO_DHE, INFO_ENCAP, kemSalt, SYMM_KEY_LEN } from './kdf.js';
import { kexByName, type KexInfo, type KexName } from './nid.js';

// ---- algorithm parameters ---------------------------------------------------------------------

const OID_EC = '1.2.840.10045.2.1';
const OID_DH = '1.2.840.113549.1.3.1';
const OID_X25519 = '1.3.101.110';
const OID_X448 = '1.3.101.111';

/** SubjectPublicKeyInfo DER before an uncompressed point, per curve (id-ecPublicKey, named curve). */
const EC_SPKI_PREFIX: Record<string, Buffer> = {
  prime256v1: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
  secp384r1: Buffer.from('3076301006072a8648ce3d020106052b81040022036200', 'hex'),
  secp521r1: Buffer.from('30819b301006072a8648ce3d020106052b8104002303818600', 'hex'),
};

const EC_CURVES: Record<string, { oid: string; node: string }> = {
  prime256v1: { oid: '1.2.840.10045.3.1.7', node: 'prime256v1' },
  secp384r1: { oid: '1.3.132.0.34', node: 'secp384r1' },
  secp521r1: { oid: '1.3.132.0.35', node: 'secp521r1' },
};

const ECX: Record<string, { oid: string; node: 'x25519' | 'x448'; len: number }> = {
  X25519: { oid: OID_X25519, node: 'x25519', len: 32 },
  X448: { oid: OID_X448, node: 'x448', len: 56 },
};

/** RFC 7919 primes (generator 2). */
const FFDHE_P_HEX: Record<string, string> = {
  ffdhe2048:
    'ffffffffffffffffadf85458a2bb4a9aafdc5620273d3cf1d8b9c583ce2d3695a9e13641146433fbcc939dce249b3ef9' +
    '7d2fe363630c75d8f681b202aec4617ad3df1ed5d5fd65612433f51f5f066ed0856365553ded1af3b557135e7f57c935' +
    '984f0c70e0e68b77e2a689daf3efe8721df158a136ade73530acca4f483a797abc0ab182b324fb61d108a94bb2c8e3fb' +
    'b96adab760d7f4681d4f42a3de394df4ae56ede76372bb190b07a7c8ee0a6d709e02fce1cdf7e2ecc03404cd28342f61' +
    '9172fe9ce98583ff8e4f1232eef28183c3fe3b1b4c6fad733bb5fcbc2ec22005c58ef1837d1683b2c6f34a26c1b2effa' +
    '886b423861285c97ffffffffffffffff',
  ffdhe3072:
    'ffffffffffffffffadf85458a2bb4a9aafdc5620273d3cf1d8b9c583ce2d3695a9e13641146433fbcc939dce249b3ef9' +
    '7d2fe363630c75d8f681b202aec4617ad3df1ed5d5fd65612433f51f5f066ed0856365553ded1af3b557135e7f57c935' +
    '984f0c70e0e68b77e2a689daf3efe8721df158a136ade73530acca4f483a797abc0ab182b324fb61d108a94bb2c8e3fb' +
    'b96adab760d7f4681d4f42a3de394df4ae56ede76372bb190b07a7c8ee0a6d709e02fce1cdf7e2ecc03404cd28342f61' +
    '9172fe9ce98583ff8e4f1232eef28183c3fe3b1b4c6fad733bb5fcbc2ec22005c58ef1837d1683b2c6f34a26c1b2effa' +
    '886b4238611fcfdcde355b3b6519035bbc34f4def99c023861b46fc9d6e6c9077ad91d2691f7f7ee598cb0fac186d91c' +
    'aefe130985139270b4130c93bc437944f4fd4452e2d74dd364f2e21e71f54bff5cae82ab9c9df69ee86d2bc522363a0d' +
    'abc521979b0deada1dbf9a42d5c4484e0abcd06bfa53ddef3c1b20ee3fd59d7c25e41d2b66c62e37ffffffffffffffff',
  ffdhe4096:
    'ffffffffffffffffadf85458a2bb4a9aafdc5620273d3cf1d8b9c583ce2d3695a9e13641146433fbcc939dce249b3ef9' +
    '7d2fe363630c75d8f681b202aec4617ad3df1ed5d5fd65612433f51f5f066ed0856365553ded1af3b557135e7f57c935' +
    '984f0c70e0e68b77e2a689daf3efe8721df158a136ade73530acca4f483a797abc0ab182b324fb61d108a94bb2c8e3fb' +
    'b96adab760d7f4681d4f42a3de394df4ae56ede76372bb190b07a7c8ee0a6d709e02fce1cdf7e2ecc03404cd28342f61' +
    '9172fe9ce98583ff8e4f1232eef28183c3fe3b1b4c6fad733bb5fcbc2ec22005c58ef1837d1683b2c6f34a26c1b2effa' +
    '886b4238611fcfdcde355b3b6519035bbc34f4def99c023861b46fc9d6e6c9077ad91d2691f7f7ee598cb0fac186d91c' +
    'aefe130985139270b4130c93bc437944f4fd4452e2d74dd364f2e21e71f54bff5cae82ab9c9df69ee86d2bc522363a0d' +
    'abc521979b0deada1dbf9a42d5c4484e0abcd06bfa53ddef3c1b20ee3fd59d7c25e41d2b669e1ef16e6f52c3164df4fb' +
    '7930e9e4e58857b6ac7d5f42d69f6d187763cf1d5503400487f55ba57e31cc7a7135c886efb4318aed6a1e012d9e6832' +
    'a907600a918130c46dc778f971ad0038092999a333cb8b7a1a1db93d7140003c2a4ecea9f98d0acc0a8291cdcec97dcf' +
    '8ec9b55a7f88a46b4db5a851f44182e1c68a007e5e655f6affffffffffffffff',
};

const FFDHE_P: Record<string, Buffer> = Object.fromEntries(
  Object.entries(FFDHE_P_HEX).map(([k, v]) => [k, Buffer.from(v, 'hex')]),
);

type MlKem = typeof ml_kem768;

interface MlKemParams {
  readonly oid: string;
  readonly kem: MlKem;
  readonly pkLen: number;
  readonly skLen: number;
  readonly ctLen: number;
}

const MLKEM: Record<string, MlKemParams> = {
  'ML-KEM-512': { oid: '2.16.840.1.101.3.4.4.1', kem: ml_kem512, pkLen: 800, skLen: 1632, ctLen: 768 },
  'ML-KEM-768': { oid: '2.16.840.1.101.3.4.4.2', kem: ml_kem768, pkLen: 1184, skLen: 2400, ctLen: 1088 },
  'ML-KEM-1024': { oid: '2.16.840.1.101.3.4.4.3', kem: ml_kem1024, pkLen: 1568, skLen: 3168, ctLen: 1568 },
};

interface HybridParams {
  readonly mlkem: MlKemParams;
  readonly ecx: (typeof ECX)[string];
}

const HYBRID: Record<string, HybridParams> = {
  X25519MLKEM768: { mlkem: MLKEM['ML-KEM-768']!, ecx: ECX.X25519! },
  X448MLKEM1024: { mlkem: MLKEM['ML-KEM-1024']!, ecx: ECX.X448! },
};

/** Raw sizes of the hybrid encodings (public key, ciphertext, private key). */
export const HYBRID_SIZES = {
  X25519MLKEM768: { publicKey: 1216, ciphertext: 1120, privateKey: 2432 },
  X448MLKEM1024: { publicKey: 1624, ciphertext: 1624, privateKey: 3224 },
} as const;

// ---- small helpers ----------------------------------------------------------------------------

function kexOf(algo: KexName | KexInfo): KexInfo {
  const info = typeof algo === 'string' ? kexByName(algo) : algo;
  if (!info) fail('ECRYPT', `unknown key exchange ${String(algo)}`);
  return info;
}

/** Runs `fn`, turning any failure that is not already an OuroborosError into ECRYPT. */
function crypt<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof OuroborosError) throw e;
    fail('ECRYPT', `${what}: ${(e as Error).message}`);
  }
}

const SPKI_PREFIX: Record<string, Buffer> = {
  x25519: Buffer.from('302a300506032b656e032100', 'hex'),
  x448: Buffer.from('3042300506032b656f033900', 'hex'),
};
const PKCS8_PREFIX: Record<string, Buffer> = {
  x25519: Buffer.from('302e020100300506032b656e04220420', 'hex'),
  x448: Buffer.from('3046020100300506032b656f043a0438', 'hex'),
};

function ecxPublicFromRaw(node: 'x25519' | 'x448', raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX[node]!, raw]), format: 'der', type: 'spki' });
}

function ecxPrivateFromRaw(node: 'x25519' | 'x448', raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX[node]!, raw]), format: 'der', type: 'pkcs8' });
}

function ecxRawPublic(k: KeyObject, len: number): Buffer {
  const d = k.export({ type: 'spki', format: 'der' });
  return d.subarray(d.length - len);
}

function ecxRawPrivate(k: KeyObject, len: number): Buffer {
  const d = k.export({ type: 'pkcs8', format: 'der' });
  return d.subarray(d.length - len);
}

function mlkemSpki(p: MlKemParams, pk: Uint8Array): Buffer {
  return der.seq(der.seq(der.oid(p.oid)), der.bitString(pk));
}

/** Stripped of leading zero bytes, as OpenSSL's default (unpadded) finite-field DH secret. */
function unpad(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/** Node supports 'dh' key pairs with explicit parameters; its typings lack the overload. */
const generateDh = generateKeyPairSync as unknown as (
  type: 'dh',
  opts: { prime: Buffer; generator: number },
) => { publicKey: KeyObject; privateKey: KeyObject };

// ---- key pairs ----------------------------------------------------------------------------------

type Secret =
  | { readonly type: 'node'; readonly key: KeyObject }
  | { readonly type: 'ecdh'; readonly ecdh: ECDH }
  | { readonly type: 'mlkem'; readonly sk: Uint8Array; readonly seed?: Uint8Array }
  | { readonly type: 'hybrid'; readonly sk: Uint8Array; readonly x: KeyObject };

/** A key-exchange key pair: an ephemeral one, or a server's static KEM key. */
export interface KexKeyPair {
  readonly algo: KexInfo;
  /** The public key as it goes on the wire: SPKI DER, or the raw encoding for hybrids. */
  readonly publicKey: Buffer;
  /** @internal */
  readonly secret: Secret;
}

/** Generates a fresh key pair (DHE ephemeral, or a KEM key to be encapsulated to). */
export function generateKexKeyPair(algo: KexName | KexInfo): KexKeyPair {
  const info = kexOf(algo);
  switch (info.kind) {
    case 'ec': {
      // ECDH objects skip OpenSSL's key encoders and decoders (about 150 µs each for P-256).
      const ecdh = createECDH(EC_CURVES[info.name]!.node);
      const point = ecdh.generateKeys();
      return { algo: info, publicKey: Buffer.concat([EC_SPKI_PREFIX[info.name]!, point]), secret: { type: 'ecdh', ecdh } };
    }
    case 'ecx': {
      const e = ECX[info.name]!;
      const kp = e.node === 'x25519' ? generateKeyPairSync('x25519') : generateKeyPairSync('x448');
      return { algo: info, publicKey: kp.publicKey.export({ type: 'spki', format: 'der' }), secret: { type: 'node', key: kp.privateKey } };
    }
    case 'dh': {
      const kp = generateDh('dh', { prime: FFDHE_P[info.name]!, generator: 2 });
      return { algo: info, publicKey: kp.publicKey.export({ type: 'spki', format: 'der' }), secret: { type: 'node', key: kp.privateKey } };
    }
    case 'mlkem': {
      const p = MLKEM[info.name]!;
      const { publicKey, secretKey } = p.kem.keygen();
      return { algo: info, publicKey: mlkemSpki(p, publicKey), secret: { type: 'mlkem', sk: secretKey } };
    }
    case 'hybrid': {
      const h = HYBRID[info.name]!;
      const m = h.mlkem.kem.keygen();
      const x = h.ecx.node === 'x25519' ? generateKeyPairSync('x25519') : generateKeyPairSync('x448');
      const publicKey = Buffer.concat([m.publicKey, ecxRawPublic(x.publicKey, h.ecx.len)]);
      return { algo: info, publicKey, secret: { type: 'hybrid', sk: m.secretKey, x: x.privateKey } };
    }
  }
}

// ---- recognising a peer's public key ----------------------------------------------------------

interface ParsedSpki {
  algOid: string;
  params: der.Tlv | undefined;
  key: Buffer;
}

function parseSpki(b: Buffer): ParsedSpki {
  const top = der.parseOne(b, der.Tag.SEQUENCE);
  const [alg, bits] = der.children(b, top);
  der.expect(alg, der.Tag.SEQUENCE, 'SubjectPublicKeyInfo algorithm');
  const [oidT, params] = der.children(b, alg);
  const algOid = der.decodeOid(der.expect(oidT, der.Tag.OID, 'algorithm OID').content);
  return { algOid, params, key: der.bitStringBytes(der.expect(bits, der.Tag.BIT_STRING, 'subjectPublicKey')) };
}

/**
 * The key-exchange algorithm of a peer's public key (or, for hybrids, of
 * a raw key/ciphertext by its length), as the server reads it from a
 * request. ECRYPT when it is not one of ours.
 */
export function kexAlgoOfPublicKey(pub: Uint8Array, raw: boolean): KexInfo {
  if (raw) {
    switch (pub.length) {
      case HYBRID_SIZES.X25519MLKEM768.publicKey:
      case HYBRID_SIZES.X25519MLKEM768.ciphertext:
        return kexOf('X25519MLKEM768');
      case HYBRID_SIZES.X448MLKEM1024.publicKey:
        return kexOf('X448MLKEM1024');
      default:
        fail('ECRYPT', `no hybrid KEM has a ${pub.length}-byte raw key`);
    }
  }
  const s = crypt('peer public key', () => parseSpki(Buffer.from(pub)));
  if (s.algOid === OID_EC) {
    const curveOid = s.params?.tag === der.Tag.OID ? der.decodeOid(s.params.content) : '';
    const name = Object.keys(EC_CURVES).find((k) => EC_CURVES[k]!.oid === curveOid);
    if (!name) fail('ECRYPT', `unsupported EC curve ${curveOid || '(explicit parameters)'}`);
    return kexOf(name as KexName);
  }
  if (s.algOid === OID_X25519) return kexOf('X25519');
  if (s.algOid === OID_X448) return kexOf('X448');
  if (s.algOid === OID_DH) {
    const name = crypt('DH parameters', () => {
      const params = der.expect(s.params, der.Tag.SEQUENCE, 'DH parameters');
      const [p, g] = der.children(Buffer.from(pub), params);
      const pb = der.uintBytes(der.expect(p, der.Tag.INTEGER, 'DH prime'));
      const gb = der.uintBytes(der.expect(g, der.Tag.INTEGER, 'DH generator'));
      if (gb.length !== 1 || gb[0] !== 2) return undefined;
      return Object.keys(FFDHE_P).find((k) => FFDHE_P[k]!.equals(pb));
    });
    if (!name) fail('ECRYPT', 'DH public key is not in an FFDHE group');
    return kexOf(name as KexName);
  }
  const ml = Object.keys(MLKEM).find((k) => MLKEM[k]!.oid === s.algOid);
  if (ml) {
    if (s.key.length !== MLKEM[ml]!.pkLen) fail('ECRYPT', `${ml} public key of ${s.key.length} bytes`);
    return kexOf(ml as KexName);
  }
  fail('ECRYPT', `unsupported public key algorithm ${s.algOid}`);
}

// ---- DHE ------------------------------------------------------------------------------------------

/**
 * Derives the 32-byte key from our ephemeral key pair and the peer's
 * public key (SPKI DER): HKDF(kdf, shared secret, salt of both public keys,
 * "o7s-ossl-dhe").
 */
export function dheDerive(own: KexKeyPair, peerPublic: Uint8Array, kdfNid: number): Buffer {
  const own2 = own.secret;
  if (own2.type !== 'node' && own2.type !== 'ecdh') fail('ECRYPT', `${own.algo.name} is not a Diffie-Hellman key exchange`);
  const peerAlgo = kexAlgoOfPublicKey(peerPublic, false);
  if (peerAlgo.nid !== own.algo.nid) fail('ECRYPT', `peer key is ${peerAlgo.name}, expected ${own.algo.name}`);
  let secret: Buffer = crypt('DH derive', () => {
    if (own2.type === 'ecdh') return own2.ecdh.computeSecret(parseSpki(Buffer.from(peerPublic)).key);
    const publicKey = createPublicKey({ key: Buffer.from(peerPublic), format: 'der', type: 'spki' });
    return diffieHellman({ privateKey: own2.key, publicKey });
  });
  if (own.algo.kind === 'dh') secret = unpad(secret);
  if (secret.length < SYMM_KEY_LEN) fail('ECRYPT', `shared secret of ${secret.length} bytes is too short`);
  return hkdf(kdfNid, secret, dheSalt(own.publicKey, peerPublic), INFO_DHE);
}

// ---- KEM ------------------------------------------------------------------------------------------

export interface Encapsulation {
  readonly algo: KexInfo;
  /** What goes to the key holder: an ML-KEM ciphertext, or ML-KEM ciphertext ‖ X25519/X448 public key. */
  readonly ciphertext: Buffer;
  /** The derived 32-byte key. */
  readonly key: Buffer;
}

/**
 * Encapsulates to a peer's KEM public key: SPKI DER for ML-KEM
 * (`raw` false) or the raw hybrid encoding (`raw` true). The key is
 * HKDF(kdf, shared secret, SHA-256(public key bytes), "o7s-ossl-encap").
 */
export function kemEncapsulate(peerPublic: Uint8Array, raw: boolean, kdfNid: number): Encapsulation {
  const algo = kexAlgoOfPublicKey(peerPublic, raw);
  const salt = kemSalt(peerPublic);
  if (!raw) {
    const p = MLKEM[algo.name];
    if (!p) fail('ECRYPT', `${algo.name} is not a KEM`);
    const pk = parseSpki(Buffer.from(peerPublic)).key;
    const { cipherText, sharedSecret } = crypt('ML-KEM encapsulation', () => p.kem.encapsulate(pk));
    return { algo, ciphertext: Buffer.from(cipherText), key: hkdf(kdfNid, sharedSecret, salt, INFO_ENCAP) };
  }
  const h = HYBRID[algo.name]!;
  if (peerPublic.length !== h.mlkem.pkLen + h.ecx.len) fail('ECRYPT', `${peerPublic.length}-byte ${algo.name} public key`);
  return crypt(`${algo.name} encapsulation`, () => {
    const mpk = peerPublic.subarray(0, h.mlkem.pkLen);
    const xpk = ecxPublicFromRaw(h.ecx.node, peerPublic.subarray(h.mlkem.pkLen));
    const m = h.mlkem.kem.encapsulate(mpk);
    const eph = h.ecx.node === 'x25519' ? generateKeyPairSync('x25519') : generateKeyPairSync('x448');
    const xss = diffieHellman({ privateKey: eph.privateKey, publicKey: xpk });
    const ciphertext = Buffer.concat([m.cipherText, ecxRawPublic(eph.publicKey, h.ecx.len)]);
    const ss = Buffer.concat([m.sharedSecret, xss]);
    return { algo, ciphertext, key: hkdf(kdfNid, ss, salt, INFO_ENCAP) };
  });
}

/** Decapsulates a ciphertext with our KEM key pair; the salt comes from our own public key. */
export function kemDecapsulate(own: KexKeyPair, ciphertext: Uint8Array, kdfNid: number): Buffer {
  const salt = kemSalt(own.publicKey);
  const s = own.secret;
  if (s.type === 'mlkem') {
    const p = MLKEM[own.algo.name]!;
    if (ciphertext.length !== p.ctLen) fail('ECRYPT', `${ciphertext.length}-byte ciphertext for ${own.algo.name}`);
    const ss = crypt('ML-KEM decapsulation', () => p.kem.decapsulate(ciphertext, s.sk));
    return hkdf(kdfNid, ss, salt, INFO_ENCAP);
  }
  if (s.type === 'hybrid') {
    const h = HYBRID[own.algo.name]!;
    if (ciphertext.length !== h.mlkem.ctLen + h.ecx.len) fail('ECRYPT', `${ciphertext.length}-byte ciphertext for ${own.algo.name}`);
    return crypt(`${own.algo.name} decapsulation`, () => {
      const mss = h.mlkem.kem.decapsulate(ciphertext.subarray(0, h.mlkem.ctLen), s.sk);
      const eph = ecxPublicFromRaw(h.ecx.node, ciphertext.subarray(h.mlkem.ctLen));
      const xss = diffieHellman({ privateKey: s.x, publicKey: eph });
      return hkdf(kdfNid, Buffer.concat([mss, xss]), salt, INFO_ENCAP);
    });
  }
  fail('ECRYPT', `${own.algo.name} is not a KEM`);
}

// ---- static KEM keys in files (client-encapsulation mode) ----------------------------------------

/** File extension of a static KEM key: PEM for ML-KEM, raw bytes for the hybrids. */
export function kemKeyFileExt(algo: KexName | KexInfo): 'pem' | 'raw' {
  const info = kexOf(algo);
  if (info.kind === 'hybrid') return 'raw';
  if (info.kind === 'mlkem') return 'pem';
  fail('ECRYPT', `${info.name} is not a KEM`);
}

function mlkemFromSecret(name: string, p: MlKemParams, seed: Uint8Array | undefined, expanded: Uint8Array | undefined): KexKeyPair {
  let sk: Uint8Array;
  let pk: Uint8Array;
  if (seed) {
    if (seed.length !== 64) fail('ECRYPT', `${name} seed of ${seed.length} bytes`);
    const kp = p.kem.keygen(seed);
    if (expanded && !Buffer.from(expanded).equals(Buffer.from(kp.secretKey))) fail('ECRYPT', `${name} seed and expanded key disagree`);
    sk = kp.secretKey;
    pk = kp.publicKey;
  } else {
    if (!expanded || expanded.length !== p.skLen) fail('ECRYPT', `${name} private key of ${expanded?.length ?? 0} bytes`);
    sk = Uint8Array.from(expanded);
    pk = p.kem.getPublicKey(sk);
  }
  const secret: Secret = seed ? { type: 'mlkem', sk, seed: Uint8Array.from(seed) } : { type: 'mlkem', sk };
  return { algo: kexOf(name as KexName), publicKey: mlkemSpki(p, pk), secret };
}

/**
 * Loads a server's static KEM key: `kex.key.pem` (PKCS#8 ML-KEM: seed,
 * expanded key or both) or `kex.key.raw` (hybrid: ML-KEM decapsulation key
 * ‖ X25519/X448 private key, the algorithm told by the length).
 */
export function loadKemPrivateKey(data: Uint8Array, raw: boolean): KexKeyPair {
  const buf = Buffer.from(data);
  if (raw) {
    const name = (Object.keys(HYBRID_SIZES) as (keyof typeof HYBRID_SIZES)[]).find((k) => HYBRID_SIZES[k].privateKey === buf.length);
    if (!name) fail('ECRYPT', `no hybrid KEM has a ${buf.length}-byte private key`);
    const h = HYBRID[name]!;
    return crypt(`${name} private key`, () => {
      const sk = Uint8Array.from(buf.subarray(0, h.mlkem.skLen));
      const x = ecxPrivateFromRaw(h.ecx.node, buf.subarray(h.mlkem.skLen));
      const mpk = h.mlkem.kem.getPublicKey(sk);
      const publicKey = Buffer.concat([mpk, ecxRawPublic(createPublicKey(x), h.ecx.len)]);
      return { algo: kexOf(name), publicKey, secret: { type: 'hybrid', sk, x } };
    });
  }
  return crypt('ML-KEM private key', () => {
    const block = der.pemBlocks(buf.toString('latin1')).find((b) => b.label === 'PRIVATE KEY');
    if (!block) throw new Error('no PEM PRIVATE KEY block');
    const top = der.parseOne(block.der, der.Tag.SEQUENCE);
    const [, alg, inner] = der.children(block.der, top);
    const algOid = der.decodeOid(der.expect(der.children(block.der, der.expect(alg, der.Tag.SEQUENCE, 'algorithm'))[0], der.Tag.OID, 'OID').content);
    const name = Object.keys(MLKEM).find((k) => MLKEM[k]!.oid === algOid);
    if (!name) throw new Error(`not an ML-KEM key (${algOid})`);
    const body = der.expect(inner, der.Tag.OCTET_STRING, 'privateKey').content;
    const choice = der.parseOne(body);
    if (choice.tag === 0x80) return mlkemFromSecret(name, MLKEM[name]!, choice.content, undefined);
    if (choice.tag === der.Tag.OCTET_STRING) return mlkemFromSecret(name, MLKEM[name]!, undefined, choice.content);
    if (choice.tag === der.Tag.SEQUENCE) {
      const [seed, exp] = der.children(body, choice);
      return mlkemFromSecret(name, MLKEM[name]!, der.expect(seed, der.Tag.OCTET_STRING, 'seed').content, der.expect(exp, der.Tag.OCTET_STRING, 'expandedKey').content);
    }
    throw new Error('unknown ML-KEM private key format');
  });
}

/**
 * Loads the cached static KEM public key of a server (`kex.srv.pub.pem`:
 * SPKI PEM, returned as DER; `kex.srv.pub.raw`: the raw hybrid encoding).
 */
export function loadKemPublicKey(data: Uint8Array, raw: boolean): Buffer {
  const buf = Buffer.from(data);
  if (raw) {
    kexAlgoOfPublicKey(buf, true);
    if (buf.length !== HYBRID_SIZES.X25519MLKEM768.publicKey && buf.length !== HYBRID_SIZES.X448MLKEM1024.publicKey) {
      fail('ECRYPT', `${buf.length}-byte raw KEM public key`);
    }
    return buf;
  }
  const block = der.pemBlocks(buf.toString('latin1')).find((b) => b.label === 'PUBLIC KEY');
  if (!block) fail('ECRYPT', 'no PEM PUBLIC KEY block');
  const algo = kexAlgoOfPublicKey(block.der, false);
  if (algo.kind !== 'mlkem') fail('ECRYPT', `${algo.name} is not an ML-KEM key`);
  return mlkemSpki(MLKEM[algo.name]!, parseSpki(block.der).key);
}

/** The files of a static KEM key pair, as {@link loadKemPrivateKey} and {@link loadKemPublicKey} read them. */
export function exportKemKeyFiles(kp: KexKeyPair): { ext: 'pem' | 'raw'; privateKey: Buffer; publicKey: Buffer } {
  const s = kp.secret;
  if (s.type === 'hybrid') {
    const h = HYBRID[kp.algo.name]!;
    return { ext: 'raw', privateKey: Buffer.concat([s.sk, ecxRawPrivate(s.x, h.ecx.len)]), publicKey: Buffer.from(kp.publicKey) };
  }
  if (s.type === 'mlkem') {
    const p = MLKEM[kp.algo.name]!;
    const inner = s.seed ? der.seq(der.octets(s.seed), der.octets(s.sk)) : der.octets(s.sk);
    const pkcs8 = der.seq(der.uint(0), der.seq(der.oid(p.oid)), der.octets(inner));
    return { ext: 'pem', privateKey: Buffer.from(der.toPem('PRIVATE KEY', pkcs8)), publicKey: Buffer.from(der.toPem('PUBLIC KEY', kp.publicKey)) };
  }
  fail('ECRYPT', `${kp.algo.name} is not a KEM`);
}

/** A static KEM key pair for a server (client-encapsulation mode); ML-KEM keys keep their seed. */
export function generateKemStaticKey(algo: KexName | KexInfo): KexKeyPair {
  const info = kexOf(algo);
  if (info.kind === 'mlkem') {
    const p = MLKEM[info.name]!;
    const seed = new Uint8Array(64);
    globalThis.crypto.getRandomValues(seed);
    return mlkemFromSecret(info.name, p, seed, undefined);
  }
  if (info.kind === 'hybrid') return generateKexKeyPair(info);
  fail('ECRYPT', `${info.name} is not a KEM`);
}
