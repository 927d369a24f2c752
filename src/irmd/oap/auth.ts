/**
 * OAP authentication (WIRE.md §10.3-10.5, ARCHITECTURE.md §3.8):
 * certificates (PEM/DER X.509), private keys (PEM: PKCS#8, SEC1 EC, PKCS#1
 * RSA; ML-DSA PKCS#8 with seed and/or expanded key), a trust store of CA
 * certificates with chain verification, and the OAP signature: ECDSA/RSA
 * with the header's digest (0 = the key type's default, SHA-256), Ed25519 and
 * Ed448 pure (the digest is ignored), ML-DSA-44/65/87 pure with an empty
 * context (the digest is ignored).
 *
 * Node's X509Certificate cannot read ML-DSA keys, so certificates are
 * parsed here with a small DER reader; classical signatures are checked by
 * node:crypto, ML-DSA ones by @noble/post-quantum.
 *
 * Errors: EAUTH.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { fail, OuroborosError } from '../../common/errors.js';
import * as der from '../../lib/crypt/der.js';
import { digestInfo, NID_UNDEF } from '../../lib/crypt/nid.js';

type MlDsa = typeof ml_dsa65;

interface MlDsaParams {
  readonly name: string;
  readonly oid: string;
  readonly dsa: MlDsa;
  readonly pkLen: number;
  readonly skLen: number;
}

export const ML_DSA: Record<'ML-DSA-44' | 'ML-DSA-65' | 'ML-DSA-87', MlDsaParams> = {
  'ML-DSA-44': { name: 'ML-DSA-44', oid: '2.16.840.1.101.3.4.3.17', dsa: ml_dsa44, pkLen: 1312, skLen: 2560 },
  'ML-DSA-65': { name: 'ML-DSA-65', oid: '2.16.840.1.101.3.4.3.18', dsa: ml_dsa65, pkLen: 1952, skLen: 4032 },
  'ML-DSA-87': { name: 'ML-DSA-87', oid: '2.16.840.1.101.3.4.3.19', dsa: ml_dsa87, pkLen: 2592, skLen: 4896 },
};
const mlDsaByOid = (oid: string): MlDsaParams | undefined => Object.values(ML_DSA).find((p) => p.oid === oid);

const OID = {
  CN: '2.5.4.3',
  BASIC_CONSTRAINTS: '2.5.29.19',
  KEY_USAGE: '2.5.29.15',
  ED25519: '1.3.101.112',
  ED448: '1.3.101.113',
};

/** Certificate signature algorithms: OID → digest for node:crypto (null = none). */
const SIG_ALGS: Record<string, string | null> = {
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '2.16.840.1.101.3.4.3.10': 'sha3-256',
  '2.16.840.1.101.3.4.3.11': 'sha3-384',
  '2.16.840.1.101.3.4.3.12': 'sha3-512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  [OID.ED25519]: null,
  [OID.ED448]: null,
};

/** Extensions this verifier understands, so they may be critical. */
const KNOWN_CRITICAL = new Set([
  OID.BASIC_CONSTRAINTS,
  OID.KEY_USAGE,
  '2.5.29.37', // extKeyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.32', // certificatePolicies
]);

const KU_KEY_CERT_SIGN = 5;

// ---- public keys ----------------------------------------------------------------------------------

/** A key that verifies signatures: node:crypto's, or ML-DSA. */
export type VerifyKey =
  | { readonly type: 'node'; readonly key: KeyObject }
  | { readonly type: 'mldsa'; readonly params: MlDsaParams; readonly pk: Uint8Array };

function verifyKeyFromSpki(spki: Buffer): VerifyKey {
  const top = der.parseOne(spki, der.Tag.SEQUENCE);
  const [alg, bits] = der.children(spki, top);
  const oidT = der.children(spki, der.expect(alg, der.Tag.SEQUENCE, 'SPKI algorithm'))[0];
  const algOid = der.decodeOid(der.expect(oidT, der.Tag.OID, 'SPKI OID').content);
  const ml = mlDsaByOid(algOid);
  if (ml) {
    const pk = der.bitStringBytes(der.expect(bits, der.Tag.BIT_STRING, 'SPKI key'));
    if (pk.length !== ml.pkLen) throw new der.DerError(`${ml.name} public key of ${pk.length} bytes`);
    return { type: 'mldsa', params: ml, pk: Uint8Array.from(pk) };
  }
  return { type: 'node', key: createPublicKey({ key: spki, format: 'der', type: 'spki' }) };
}

// ---- certificates -----------------------------------------------------------------------------------

export interface Certificate {
  readonly der: Buffer;
  readonly tbs: Buffer;
  readonly sigAlgOid: string;
  readonly signature: Buffer;
  readonly issuer: Buffer;
  readonly subject: Buffer;
  /** The subject's first common name, or '' when it has none. */
  readonly subjectCN: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCA: boolean;
  /** basicConstraints pathLenConstraint, when present. */
  readonly pathLen: number | undefined;
  /** keyUsage bits (bit 0 = digitalSignature), when present. */
  readonly keyUsage: number | undefined;
  readonly version: number;
  readonly spki: Buffer;
  readonly publicKey: VerifyKey;
  /** Critical extensions not understood here. */
  readonly unknownCritical: string[];
}

function nameCN(buf: Buffer, name: der.Tlv): string {
  for (const rdn of der.children(buf, name)) {
    for (const atv of der.children(buf, rdn)) {
      const [t, v] = der.children(buf, atv);
      if (t && v && t.tag === der.Tag.OID && der.decodeOid(t.content) === OID.CN) {
        return v.content.toString(v.tag === 0x1e ? 'utf16le' : 'utf8');
      }
    }
  }
  return '';
}

function bitsToNumber(t: der.Tlv): number {
  const c = t.content;
  let v = 0;
  for (let i = 1; i < c.length && i < 4; i++) {
    for (let bit = 0; bit < 8; bit++) if (c[i]! & (0x80 >> bit)) v |= 1 << ((i - 1) * 8 + bit);
  }
  return v;
}

/**
 * Certificates parsed lately, by a digest of their DER: a peer sends the
 * same certificate with every allocation, and parsing costs its public key
 * import (OpenSSL's decoders: 150-300 µs for an EC key). A Certificate is
 * immutable and owns a copy of its bytes, so sharing it is safe.
 */
const parsed = new Map<string, Certificate>();
const PARSED_MAX = 256;

/** Parses a DER X.509 certificate; throws EAUTH when it is malformed. */
export function parseCertificate(input: Uint8Array): Certificate {
  const id = createHash('sha256').update(input).digest('base64');
  const hit = parsed.get(id);
  if (hit) {
    parsed.delete(id);
    parsed.set(id, hit);
    return hit;
  }
  const cert = parseCertificateBytes(Buffer.from(input));
  if (parsed.size >= PARSED_MAX) parsed.delete(parsed.keys().next().value!);
  parsed.set(id, cert);
  return cert;
}

function parseCertificateBytes(buf: Buffer): Certificate {
  try {
    const top = der.parseOne(buf, der.Tag.SEQUENCE);
    const [tbsT, algT, sigT] = der.children(buf, top);
    der.expect(tbsT, der.Tag.SEQUENCE, 'tbsCertificate');
    const sigAlgOid = der.decodeOid(der.expect(der.children(buf, der.expect(algT, der.Tag.SEQUENCE, 'signatureAlgorithm'))[0], der.Tag.OID, 'OID').content);
    const signature = der.bitStringBytes(der.expect(sigT, der.Tag.BIT_STRING, 'signature'));
    const f = der.children(buf, tbsT!);
    let i = 0;
    let version = 1;
    if (f[0]?.tag === 0xa0) {
      const v = der.children(buf, f[0])[0];
      version = Number(der.expect(v, der.Tag.INTEGER, 'version').content.readUIntBE(0, Math.min(v!.content.length, 6))) + 1;
      i++;
    }
    der.expect(f[i++], der.Tag.INTEGER, 'serialNumber');
    der.expect(f[i++], der.Tag.SEQUENCE, 'signature');
    const issuer = der.expect(f[i++], der.Tag.SEQUENCE, 'issuer');
    const validity = der.expect(f[i++], der.Tag.SEQUENCE, 'validity');
    const subject = der.expect(f[i++], der.Tag.SEQUENCE, 'subject');
    const spki = der.expect(f[i++], der.Tag.SEQUENCE, 'subjectPublicKeyInfo');
    const [nb, na] = der.children(buf, validity);
    let isCA = false;
    let pathLen: number | undefined;
    let keyUsage: number | undefined;
    const unknownCritical: string[] = [];
    for (; i < f.length; i++) {
      if (f[i]!.tag !== 0xa3) continue;
      const exts = der.expect(der.children(buf, f[i]!)[0], der.Tag.SEQUENCE, 'extensions');
      for (const ext of der.children(buf, exts)) {
        const parts = der.children(buf, ext);
        const extOid = der.decodeOid(der.expect(parts[0], der.Tag.OID, 'extnID').content);
        const critical = parts[1]?.tag === der.Tag.BOOLEAN && parts[1].content[0] !== 0;
        const value = der.expect(parts[parts.length - 1], der.Tag.OCTET_STRING, 'extnValue').content;
        if (extOid === OID.BASIC_CONSTRAINTS) {
          const bc = der.parseOne(value, der.Tag.SEQUENCE);
          for (const e of der.children(value, bc)) {
            if (e.tag === der.Tag.BOOLEAN) isCA = e.content[0] !== 0;
            else if (e.tag === der.Tag.INTEGER) pathLen = e.content.readUIntBE(0, Math.min(e.content.length, 6));
          }
        } else if (extOid === OID.KEY_USAGE) {
          keyUsage = bitsToNumber(der.parseOne(value, der.Tag.BIT_STRING));
        } else if (critical && !KNOWN_CRITICAL.has(extOid)) {
          unknownCritical.push(extOid);
        }
      }
    }
    return {
      der: buf,
      tbs: tbsT!.raw,
      sigAlgOid,
      signature,
      issuer: issuer.raw,
      subject: subject.raw,
      subjectCN: nameCN(buf, subject),
      notBefore: der.decodeTime(nb!),
      notAfter: der.decodeTime(na!),
      isCA,
      pathLen,
      keyUsage,
      version,
      spki: spki.raw,
      publicKey: verifyKeyFromSpki(spki.raw),
      unknownCritical,
    };
  } catch (e) {
    if (e instanceof OuroborosError) throw e;
    fail('EAUTH', `bad certificate: ${(e as Error).message}`);
  }
}

/** The certificates in a PEM text (or a single DER certificate). */
export function parseCertificates(data: Uint8Array | string): Certificate[] {
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('latin1');
  const blocks = der.pemBlocks(text).filter((b) => b.label === 'CERTIFICATE');
  if (blocks.length === 0) {
    if (typeof data !== 'string' && data[0] === der.Tag.SEQUENCE) return [parseCertificate(data)];
    fail('EAUTH', 'no PEM CERTIFICATE block');
  }
  return blocks.map((b) => parseCertificate(b.der));
}

/** Verifies `sig` over `msg` by a certificate's issuer key, with the certificate's signature algorithm. */
function verifyCertSignature(cert: Certificate, issuerKey: VerifyKey): boolean {
  try {
    const ml = mlDsaByOid(cert.sigAlgOid);
    if (ml) return issuerKey.type === 'mldsa' && issuerKey.params === ml && ml.dsa.verify(cert.signature, cert.tbs, issuerKey.pk);
    if (!(cert.sigAlgOid in SIG_ALGS) || issuerKey.type !== 'node') return false;
    return nodeVerify(SIG_ALGS[cert.sigAlgOid]!, cert.tbs, issuerKey.key, cert.signature);
  } catch {
    return false;
  }
}

// ---- private keys --------------------------------------------------------------------------------

/** A key that signs OAP headers. */
export type SigningKey =
  | { readonly type: 'node'; readonly key: KeyObject; readonly publicKey: KeyObject }
  | { readonly type: 'mldsa'; readonly params: MlDsaParams; readonly sk: Uint8Array; readonly pk: Uint8Array; readonly seed?: Uint8Array };

function mlDsaFromPkcs8(p: MlDsaParams, body: Buffer): SigningKey {
  const choice = der.parseOne(body);
  let seed: Buffer | undefined;
  let expanded: Buffer | undefined;
  if (choice.tag === 0x80) seed = choice.content;
  else if (choice.tag === der.Tag.OCTET_STRING) expanded = choice.content;
  else if (choice.tag === der.Tag.SEQUENCE) {
    const [s, e] = der.children(body, choice);
    seed = der.expect(s, der.Tag.OCTET_STRING, 'seed').content;
    expanded = der.expect(e, der.Tag.OCTET_STRING, 'expandedKey').content;
  } else throw new der.DerError(`unknown ${p.name} private key format`);
  if (seed) {
    if (seed.length !== 32) throw new der.DerError(`${p.name} seed of ${seed.length} bytes`);
    const kp = p.dsa.keygen(seed);
    if (expanded && !expanded.equals(Buffer.from(kp.secretKey))) throw new der.DerError(`${p.name} seed and expanded key disagree`);
    return { type: 'mldsa', params: p, sk: kp.secretKey, pk: kp.publicKey, seed: Uint8Array.from(seed) };
  }
  if (expanded!.length !== p.skLen) throw new der.DerError(`${p.name} private key of ${expanded!.length} bytes`);
  const sk = Uint8Array.from(expanded!);
  return { type: 'mldsa', params: p, sk, pk: p.dsa.getPublicKey(sk) };
}

/** Parses a PEM private key (unencrypted); throws EAUTH. */
export function parsePrivateKey(data: Uint8Array | string): SigningKey {
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('latin1');
  try {
    const block = der.pemBlocks(text).find((b) => /PRIVATE KEY$/.test(b.label));
    if (!block) throw new Error('no PEM private key block');
    if (block.label === 'PRIVATE KEY') {
      const top = der.parseOne(block.der, der.Tag.SEQUENCE);
      const [, alg, inner] = der.children(block.der, top);
      const algOid = der.decodeOid(der.expect(der.children(block.der, der.expect(alg, der.Tag.SEQUENCE, 'algorithm'))[0], der.Tag.OID, 'OID').content);
      const ml = mlDsaByOid(algOid);
      if (ml) return mlDsaFromPkcs8(ml, der.expect(inner, der.Tag.OCTET_STRING, 'privateKey').content);
    }
    const key = createPrivateKey({ key: text, format: 'pem' });
    return { type: 'node', key, publicKey: createPublicKey(key) };
  } catch (e) {
    fail('EAUTH', `bad private key: ${(e as Error).message}`);
  }
}

/** A private key as PKCS#8 PEM (ML-DSA: seed and expanded key, as OpenSSL writes them). */
export function privateKeyPem(k: SigningKey): string {
  if (k.type === 'node') return k.key.export({ type: 'pkcs8', format: 'pem' }).toString();
  const inner = k.seed ? der.seq(der.octets(k.seed), der.octets(k.sk)) : der.octets(k.sk);
  return der.toPem('PRIVATE KEY', der.seq(der.uint(0), der.seq(der.oid(k.params.oid)), der.octets(inner)));
}

/** The SubjectPublicKeyInfo DER of a signing key's public half. */
export function signingKeySpki(k: SigningKey): Buffer {
  if (k.type === 'node') return k.publicKey.export({ type: 'spki', format: 'der' });
  return der.seq(der.seq(der.oid(k.params.oid)), der.bitString(k.pk));
}

// ---- OAP signatures -------------------------------------------------------------------------------

/**
 * The digest node:crypto gets for an OAP signature: none for EdDSA (pure),
 * the header's md NID for ECDSA/RSA, or OpenSSL's default when it is 0.
 */
function oapDigest(key: KeyObject, mdNid: number): string | null {
  const t = key.asymmetricKeyType;
  if (t === 'ed25519' || t === 'ed448') return null;
  if (mdNid === NID_UNDEF) return null;
  const d = digestInfo(mdNid);
  if (!d) fail('EAUTH', `unknown signature digest NID ${mdNid}`);
  return d.name;
}

/** Signs an OAP header's signed region. */
export function oapSign(key: SigningKey, mdNid: number, msg: Uint8Array): Buffer {
  if (key.type === 'mldsa') return Buffer.from(key.params.dsa.sign(msg, key.sk));
  try {
    return nodeSign(oapDigest(key.key, mdNid), msg, key.key);
  } catch (e) {
    if (e instanceof OuroborosError) throw e;
    fail('EAUTH', `signing failed: ${(e as Error).message}`);
  }
}

/** Verifies an OAP signature with the key of the peer's certificate. */
export function oapVerify(key: VerifyKey, mdNid: number, msg: Uint8Array, sig: Uint8Array): boolean {
  try {
    if (key.type === 'mldsa') return sig.length === key.params.dsa.lengths.signature && key.params.dsa.verify(sig, msg, key.pk);
    return nodeVerify(oapDigest(key.key, mdNid), msg, key.key, sig);
  } catch {
    return false;
  }
}

// ---- credentials ----------------------------------------------------------------------------------

export interface Credentials {
  readonly certificate: Certificate;
  readonly key: SigningKey;
}

/** Pairs a certificate and its private key; EAUTH when the key is not the certificate's. */
export function makeCredentials(certificate: Certificate, key: SigningKey): Credentials {
  if (!signingKeySpki(key).equals(certificate.spki) && !sameNodeKey(key, certificate.publicKey)) {
    fail('EAUTH', `private key does not match the certificate of ${certificate.subjectCN || '(no CN)'}`);
  }
  return { certificate, key };
}

function sameNodeKey(k: SigningKey, v: VerifyKey): boolean {
  return k.type === 'node' && v.type === 'node' && k.publicKey.equals(v.key);
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * Loads a certificate (PEM) and its private key (PEM). Both files missing
 * (or either) means no credentials: undefined. A file that exists but does
 * not load is EAUTH.
 */
export function loadCredentials(crtPath: string, keyPath: string): Credentials | undefined {
  if (!exists(crtPath) || !exists(keyPath)) return undefined;
  let crtText: Buffer;
  let keyText: Buffer;
  try {
    crtText = readFileSync(crtPath);
    keyText = readFileSync(keyPath);
  } catch (e) {
    fail('EAUTH', `cannot read credentials: ${(e as Error).message}`);
  }
  const withPath = <T>(path: string, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      fail('EAUTH', `${path}: ${(e as Error).message}`);
    }
  };
  const cert = withPath(crtPath, () => parseCertificates(crtText)[0]!);
  const key = withPath(keyPath, () => parsePrivateKey(keyText));
  return withPath(keyPath, () => makeCredentials(cert, key));
}

// ---- trust store ------------------------------------------------------------------------------

const MAX_DEPTH = 10;

/**
 * CA certificates (roots and intermediates, as the reference loads both
 * cacert/ and untrusted/ into one store) and chain verification: every
 * certificate in the chain must be within its validity period, each
 * issuer must be a CA (basicConstraints cA, keyCertSign if keyUsage is
 * present, pathLen respected) whose key verifies the signature, no
 * critical extension may be unknown, and the chain must end at a
 * self-signed certificate of the store. Verified chains are cached by
 * certificate hash until the store changes.
 */
export class TrustStore {
  private readonly certs: Certificate[] = [];
  private readonly cache = new Map<string, { notBefore: number; notAfter: number }>();

  get size(): number {
    return this.certs.length;
  }

  add(cert: Certificate): void {
    if (this.certs.some((c) => c.der.equals(cert.der))) return;
    this.certs.push(cert);
    this.cache.clear();
  }

  /** Adds every certificate of every regular file in `dir`; a missing directory adds nothing. */
  loadDir(dir: string): number {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      fail('EAUTH', `${dir}: ${(e as Error).message}`);
    }
    let n = 0;
    for (const name of names) {
      const path = join(dir, name);
      if (!statSync(path).isFile()) continue;
      let certs: Certificate[];
      try {
        certs = parseCertificates(readFileSync(path));
      } catch (e) {
        fail('EAUTH', `${path}: ${(e as Error).message}`);
      }
      for (const c of certs) this.add(c);
      n += certs.length;
    }
    return n;
  }

  /** Throws EAUTH unless `cert` chains to a self-signed certificate of the store at time `now`. */
  verify(cert: Certificate, now: Date = new Date()): void {
    const t = now.getTime();
    const key = createHash('sha256').update(cert.der).digest('hex');
    const hit = this.cache.get(key);
    if (hit && t >= hit.notBefore && t <= hit.notAfter) return;

    const chain: Certificate[] = [cert];
    let cur = cert;
    for (;;) {
      if (cur.unknownCritical.length) fail('EAUTH', `unhandled critical extension ${cur.unknownCritical[0]} in ${describe(cur)}`);
      if (t < cur.notBefore.getTime()) fail('EAUTH', `${describe(cur)} is not valid before ${cur.notBefore.toISOString()}`);
      if (t > cur.notAfter.getTime()) fail('EAUTH', `${describe(cur)} expired at ${cur.notAfter.toISOString()}`);
      const selfIssued = cur.issuer.equals(cur.subject);
      if (selfIssued && this.certs.some((c) => c.der.equals(cur.der))) break;
      if (chain.length > MAX_DEPTH) fail('EAUTH', `certificate chain longer than ${MAX_DEPTH}`);
      const issuer = this.certs.find((c) => c !== cur && c.subject.equals(cur.issuer) && !c.der.equals(cur.der) && verifyCertSignature(cur, c.publicKey));
      if (!issuer) {
        if (selfIssued) fail('EAUTH', `self-signed ${describe(cur)} is not trusted`);
        const known = this.certs.some((c) => c.subject.equals(cur.issuer));
        fail('EAUTH', known ? `bad signature on ${describe(cur)}` : `no trusted issuer for ${describe(cur)}`);
      }
      const below = chain.length - 1; // CA certificates below this issuer, leaf excluded
      if (!(issuer.isCA || (issuer.version === 1 && issuer.issuer.equals(issuer.subject)))) fail('EAUTH', `issuer ${describe(issuer)} is not a CA`);
      if (issuer.keyUsage !== undefined && !(issuer.keyUsage & (1 << KU_KEY_CERT_SIGN))) fail('EAUTH', `issuer ${describe(issuer)} may not sign certificates`);
      if (issuer.pathLen !== undefined && below > issuer.pathLen) fail('EAUTH', `path length constraint of ${describe(issuer)} exceeded`);
      chain.push(issuer);
      cur = issuer;
    }
    this.cache.set(key, {
      notBefore: Math.max(...chain.map((c) => c.notBefore.getTime())),
      notAfter: Math.min(...chain.map((c) => c.notAfter.getTime())),
    });
  }
}

function describe(c: Certificate): string {
  return `certificate "${c.subjectCN || '(no CN)'}"`;
}

/** Creates a store from the CA directories (cacert/, then untrusted/ intermediates). */
export function loadTrustStore(...dirs: string[]): TrustStore {
  const s = new TrustStore();
  for (const d of dirs) s.loadDir(d);
  return s;
}
