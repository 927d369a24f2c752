/**
 * Secure flows between two systems over udp4 (issue #6): OAP on the real
 * wire, encryption with every key exchange and cipher, refusals (no
 * encryption offered, bad certificates, a replayed request), watched
 * through a UDP tap that relays between the two systems and keeps every
 * datagram (test/helpers/udp-tap.ts).
 *
 * Client: a library process in this test on system a; server: `oping -l`
 * on system b, reached through the tap. The configuration is edited
 * between rows: irmd reads it for every allocation.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendFileSync } from 'node:fs';
import { TestNetwork } from '../helpers/network.js';
import { BIN, type Child } from '../helpers/system.js';
import { UdpTap } from '../helpers/udp-tap.js';
import type { Process } from '../../src/lib/index.js';
import { OuroborosError } from '../../src/common/errors.js';
import { createTestCa, writeCredentials, writeEncConf, writeServerKemKey, type Issued, type TestCa } from '../../src/irmd/oap/testca.js';
import { decodeOapHeader } from '../../src/irmd/oap/header.js';
import { kexAlgoOfPublicKey } from '../../src/lib/crypt/kex.js';
import { CIPHERS, KEXES, cipherByName, isHybrid, isKem } from '../../src/lib/crypt/nid.js';
import { ECHO_REPLY, ECHO_REQUEST, decodeMsg, encodeMsg } from '../../src/tools/oping/msg.js';
import { qos as QOS, type QosSpec } from '../../src/lib/qos.js';
import { crc32 } from 'node:zlib';

const NAME = 'srv.sec';
const MARKER = Buffer.from('o7s-plaintext-marker:attack-at-dawn');
/** FLOW_REQ = 47-byte header, 16-byte name hash, then the OAP request (WIRE.md §13). */
const OAP_OFFSET = 47 + 16;

describe('secure flows over udp4', { timeout: 240_000 }, () => {
  let root: string;
  let secA: string; // client system's security directory
  let secB: string; // server system's
  let ca: TestCa;
  let net: TestNetwork;
  let tap: UdpTap;
  let server: Child;
  let client: Process;
  let seq = 0;

  const enc = (text: string | undefined, side: 'client' | 'server' | 'both' = 'both'): void => {
    for (const [dir, role] of [[secA, 'client'], [secB, 'server']] as const) {
      if (side !== 'both' && side !== role) continue;
      const path = join(dir, role, NAME, 'enc.conf');
      if (text === undefined) rmSync(path, { force: true });
      else writeEncConf(dir, role, NAME, text);
    }
  };

  const serverCert = (it: Issued): void => writeCredentials(secB, 'server', NAME, it);
  const clientCert = (it: Issued): void => writeCredentials(secA, 'client', NAME, it);
  let goodServer: Issued;
  let goodClient: Issued;

  /** One echo over a fresh flow; returns the flow's cipher. Rejects with the allocation's error. */
  async function echo(qos?: QosSpec, name = NAME): Promise<string | undefined> {
    const flow = await client.flowAlloc(name, { timeout: 10_000, ...(qos ? { qos } : {}) });
    try {
      flow.readTimeout = 5000;
      const id = ++seq;
      const req = encodeMsg({ type: ECHO_REQUEST, id, tvSec: 0n, tvNsec: 0n }, 256);
      MARKER.copy(req, 64);
      await flow.write(req);
      const rep = await flow.read();
      const m = decodeMsg(rep);
      assert.equal(m.type, ECHO_REPLY);
      assert.equal(m.id, id);
      assert.ok(rep.subarray(64, 64 + MARKER.length).equals(MARKER), 'the reply carries the payload back');
      return flow.cipher;
    } finally {
      await flow.dealloc();
    }
  }

  async function refused(code: string, name = NAME): Promise<OuroborosError> {
    const e = await echo(undefined, name).then(
      () => assert.fail(`the allocation succeeded; expected ${code}`),
      (err: unknown) => err,
    );
    assert.ok(e instanceof OuroborosError, String(e));
    assert.equal(e.code, code, e.message);
    return e;
  }

  /** The OAP request of the last flow request that crossed the wire. */
  function lastRequest() {
    const reqs = tap.management(1);
    assert.ok(reqs.length > 0, 'a flow request crossed the wire');
    const hdr = decodeOapHeader(reqs.at(-1)!.data.subarray(OAP_OFFSET));
    assert.ok(typeof hdr !== 'string', String(hdr));
    return hdr;
  }

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'o7s-sec-'));
    const cfgA = join(root, 'a');
    const cfgB = join(root, 'b');
    secA = join(cfgA, 'security');
    secB = join(cfgB, 'security');
    ca = createTestCa({ dir: secA });
    mkdirSync(join(secB, 'cacert'), { recursive: true });
    cpSync(join(secA, 'cacert'), join(secB, 'cacert'), { recursive: true });
    goodServer = ca.make(NAME);
    goodClient = ca.make('client.a');
    serverCert(goodServer);
    clientCert(goodClient);

    net = await TestNetwork.udp4(['a', 'b'], { system: (n) => ({ args: ['--config-dir', n === 'a' ? cfgA : cfgB] }) });
    const b = net.sys('b');
    await b.irm(['name', 'create', NAME]);
    await b.irm(['name', 'register', NAME, 'layer', net.layer]);
    await b.irm(['bind', 'program', BIN.oping, 'name', NAME]);
    server = b.spawn('oping', ['-l']);
    await server.waitFor(/server started/);

    // The tap takes the server's place in the hosts file, on an address of its own.
    const tapIp = net.addrs.get('b')!.replace(/\.\d+$/, '.250');
    tap = await UdpTap.start({ address: tapIp, port: net.port }, { address: net.addrs.get('b')!, port: net.port });
    appendFileSync(net.hostsFile, `${tapIp} ${NAME}\n`);
    client = await net.sys('a').connect('sec-client');
  });

  after(async () => {
    await client?.close();
    await tap?.close();
    await net?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('without enc.conf the flow is authenticated but in the clear: the tap sees the payload', async () => {
    enc(undefined);
    tap.clear();
    assert.equal(await echo(), undefined);
    assert.ok(tap.contains(MARKER), 'the capture works: plaintext is visible on an unencrypted flow');
    const hdr = lastRequest();
    assert.equal(hdr.cipherNid, 0);
    assert.ok(hdr.crt.length > 0, 'the request carries the client certificate');
    assert.ok(hdr.sig.length > 0, 'and is signed');
  });

  const rows: { what: string; conf: string; cipher: string; kex?: string }[] = [
    ...KEXES.map((k) => ({ what: `kex ${k.name}`, conf: `kex = ${k.name}\n`, cipher: 'aes-256-gcm', kex: k.name })),
    ...CIPHERS.filter((c) => c.name !== 'aes-256-gcm').map((c) => ({ what: `cipher ${c.name}`, conf: `cipher = ${c.name}\n`, cipher: c.name, kex: 'prime256v1' })),
    { what: 'kex ML-KEM-768, client encapsulation', conf: 'kex = ML-KEM-768\nkem_mode = client\n', cipher: 'aes-256-gcm' },
    { what: 'kex X25519MLKEM768, client encapsulation', conf: 'kex = X25519MLKEM768\nkem_mode = client\n', cipher: 'aes-256-gcm' },
  ];

  test(`encrypted echo for every key exchange and cipher (${rows.length} rows): no plaintext on the wire`, async (t) => {
    // Static server KEM keys for the client-encapsulation rows: the private key on b, its public key on a.
    for (const algo of ['ML-KEM-768', 'X25519MLKEM768'] as const) {
      const d = join(root, `kem-${algo}`);
      const { ext } = writeServerKemKey(d, NAME, algo);
      writeFileSync(join(secB, 'server', NAME, `kex.key.${ext}`), readFileSync(join(d, 'server', NAME, `kex.key.${ext}`)), { mode: 0o600 });
      writeFileSync(join(secA, 'client', NAME, `kex.srv.pub.${ext}`), readFileSync(join(d, 'client', NAME, `kex.srv.pub.${ext}`)));
    }
    for (const row of rows) {
      await t.test(row.what, async () => {
        enc(row.conf);
        tap.clear();
        assert.equal(await echo(), row.cipher);
        assert.ok(tap.data().length >= 2, 'data crossed the wire');
        assert.ok(!tap.contains(MARKER), 'no plaintext on the wire');
        const hdr = lastRequest();
        assert.equal(hdr.cipherNid, cipherByName(row.cipher)!.nid);
        if (row.kex) {
          const k = KEXES.find((x) => x.name === row.kex)!;
          assert.equal(kexAlgoOfPublicKey(hdr.kex, isKem(k) && isHybrid(k)).name, row.kex, 'the request offers the configured key exchange');
        } else {
          assert.ok(hdr.kexClientEncap, 'client encapsulation is flagged in the header');
        }
      });
    }
  });

  test('reliable flow with CRC: FRCT inside the encryption, the CRC outside it (the reference order)', async () => {
    enc('kex = X25519\n');
    tap.clear();
    assert.equal(await echo(QOS.data), 'aes-256-gcm');
    assert.ok(!tap.contains(MARKER));
    // eid ‖ IV(12) ‖ E(FRCT header(12) ‖ SDU(256)) ‖ tag(16) ‖ CRC(4)
    const sdus = tap.data().filter((d) => d.dir === 'c2s' && d.data.length === 4 + 12 + 12 + 256 + 16 + 4);
    assert.ok(sdus.length >= 1, `the request crossed as one encrypted FRCT PDU with a CRC (lengths: ${tap.data().map((d) => d.data.length)})`);
    for (const d of sdus) {
      const body = d.data.subarray(4, d.data.length - 4);
      assert.equal(crc32(body) >>> 0, d.data.readUInt32BE(d.data.length - 4), 'the CRC covers the ciphertext');
    }
    enc(undefined);
  });

  test('a real oping between the two systems is encrypted', async () => {
    enc('kex = X25519\ncipher = chacha20-poly1305\n');
    tap.clear();
    const r = await net.sys('a').run('oping', ['-n', NAME, '-c', '3', '-i', '10', '-s', '200']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /3 packets transmitted, 3 received/);
    // oping's payload is zeros after its header: no run of 32 zero bytes may cross in the clear.
    assert.ok(tap.data().length >= 6);
    assert.ok(!tap.data().some((d) => d.data.includes(Buffer.alloc(32))), 'only ciphertext on the wire');
    assert.match(net.sys('b').log, /OAP request processed for srv\.sec \(client client\.a\), encrypted/);
  });

  test('a server that requires encryption refuses a client that offers none: ECRYPT on both sides', async () => {
    enc('kex = X25519\n', 'server');
    enc(undefined, 'client');
    const from = server.out.length;
    await refused('ECRYPT');
    await server.waitFor(/Failed to accept flow: -1008/, 5000, from);
    // A client that turns encryption off explicitly fares no better.
    enc('none\n', 'client');
    await refused('ECRYPT');
    enc(undefined);
  });

  test('a client that requires encryption gets it from a server without enc.conf', async () => {
    enc(undefined, 'server');
    enc('kex = secp384r1\n', 'client');
    assert.equal(await echo(), 'aes-256-gcm');
    enc(undefined);
  });

  test('bad certificates are refused', async (t) => {
    enc('kex = X25519\n');
    const other = createTestCa({ dir: join(root, 'other-ca'), caName: 'evil.o7s' });
    const past = { notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) };
    try {
      await t.test('server certificate for another name: the client refuses (ECRYPT)', async () => {
        serverCert(ca.make('not-srv.sec'));
        await refused('ECRYPT');
        assert.match(net.sys('a').log, /OAP completion failed for srv\.sec: .*not "srv\.sec"/);
        serverCert(goodServer);
      });
      await t.test('expired server certificate: the client refuses (ECRYPT)', async () => {
        serverCert(ca.make(NAME, past));
        await refused('ECRYPT');
        assert.match(net.sys('a').log, /expired/);
        serverCert(goodServer);
      });
      for (const [what, bad] of [
        ['expired client certificate', () => ca.make('client.a', past)],
        ['client certificate from an untrusted CA', () => other.make('client.a')],
        ['client certificate with a bad signature', () => tamper(ca.make('client.a'))],
      ] as const) {
        await t.test(`${what}: the server refuses (EAUTH on both sides)`, async () => {
          clientCert(bad());
          const from = server.out.length;
          await refused('EAUTH');
          await server.waitFor(/Failed to accept flow: -1009/, 5000, from);
          clientCert(goodClient);
        });
      }
      await t.test('good certificates again: accepted', async () => {
        assert.equal(await echo(), 'aes-256-gcm');
      });
    } finally {
      serverCert(goodServer);
      clientCert(goodClient);
      enc(undefined);
    }
  });

  test('per-name files from `irm name create ... sencpath scrtpath skeypath`, re-read for every allocation', async () => {
    const other = 'srv.paths';
    const d = join(root, 'elsewhere');
    mkdirSync(d, { recursive: true });
    const it = ca.make(other);
    writeFileSync(join(d, 'my-enc.conf'), 'kex = X448\n');
    writeFileSync(join(d, 'my-crt.pem'), it.certPem);
    writeFileSync(join(d, 'my-key.pem'), it.keyPem, { mode: 0o600 });
    const b = net.sys('b');
    await b.irm(['name', 'create', other, 'sencpath', join(d, 'my-enc.conf'), 'scrtpath', join(d, 'my-crt.pem'), 'skeypath', join(d, 'my-key.pem')]);
    await b.irm(['name', 'register', other, 'layer', net.layer]);
    await b.irm(['bind', 'program', BIN.oping, 'name', other]);
    appendFileSync(net.hostsFile, `${net.addrs.get('b')} ${other}\n`);
    // The server side of the name requires encryption (its enc.conf is only at that path).
    await refused('ECRYPT', other);
    // Edited in place: taken at the next allocation.
    writeFileSync(join(d, 'my-enc.conf'), 'none\n');
    assert.equal(await echo(undefined, other), undefined);
    writeEncConf(secA, 'client', other, 'kex = X448\ncipher = aes-128-gcm\n');
    assert.equal(await echo(undefined, other), 'aes-128-gcm');
    // The server authenticated with the certificate at scrtpath: the client checked it is for srv.paths.
    assert.doesNotMatch(net.sys('a').log, /OAP completion failed for srv\.paths/);
    const expired = ca.make(other, { notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
    writeFileSync(join(d, 'my-crt.pem'), expired.certPem);
    writeFileSync(join(d, 'my-key.pem'), expired.keyPem);
    await refused('ECRYPT', other);
    assert.match(net.sys('a').log, /OAP completion failed for srv\.paths: .*expired/);
  });

  test('a replayed OAP request is refused (EAUTH in the flow reply)', async () => {
    enc('kex = X25519\n');
    tap.clear();
    assert.equal(await echo(), 'aes-256-gcm');
    const req = tap.management(1).at(-1)!.data;
    // The attacker resends the captured request from an address of its own.
    const sock = dgram.createSocket('udp4');
    try {
      await new Promise<void>((resolve) => sock.bind(0, net.addrs.get('a')!.replace(/\.\d+$/, '.251'), resolve));
      const from = server.out.length;
      const reply = new Promise<Buffer>((resolve) => sock.once('message', (m) => resolve(m)));
      sock.send(req, net.port, net.addrs.get('b')!);
      const m = await withDeadline(reply, 10_000, 'the flow reply to the replayed request');
      assert.equal(m.readUInt32BE(0), 0);
      assert.equal(m[44], 2, 'a FLOW_REPLY');
      assert.equal(m.readInt32BE(12), -1009, 'response -EAUTH');
      await server.waitFor(/Failed to accept flow: -1009/, 5000, from);
      assert.match(net.sys('b').log, /replayed/);
    } finally {
      sock.close();
      enc(undefined);
    }
  });
});

/** A copy of a certificate whose signature no longer verifies (one bit of it flipped). */
function tamper(it: Issued): Issued {
  const der = Buffer.from(it.certificate.der);
  der[der.length - 5]! ^= 0x01;
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return { ...it, certPem: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n` };
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}
