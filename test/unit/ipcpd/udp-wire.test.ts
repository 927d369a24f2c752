import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMgmt, encodeFlowReply, encodeFlowReq, MGMT_LEN, MgmtCode } from '../../../src/ipcpd/udp/wire.js';
import { parseHosts } from '../../../src/ipcpd/udp/directory.js';
import { HashAlgo, hashName } from '../../../src/common/hash.js';
import { qos } from '../../../src/lib/qos.js';

const HASH = hashName(HashAlgo.MD5, 'oping'); // 7862c6fec5ecaef4aa2e3934725e23b3

test('FLOW_REQ: 47-byte header, big-endian fields, hash, piggyback', () => {
  const b = encodeFlowReq(65, qos.voice, HASH, Buffer.from([0xaa, 0xbb]));
  assert.equal(b.length, MGMT_LEN + 16 + 2);
  assert.equal(
    b.subarray(0, MGMT_LEN).toString('hex'),
    '00000000' + // eid 0: management
      '00000041' + // s_eid 65
      '00000000' + // d_eid
      '00000000' + // response
      '00000000000186a0' + // bandwidth 100000
      '00000032' + // delay 50
      '00000001' + // loss 1
      '00000000' + // ber 0
      '00000032' + // max_gap 50
      '0001d4c0' + // timeout 120000
      '01' + // FLOW_REQ
      '05' + // availability 5
      '01', // in_order 1
  );
  assert.equal(b.subarray(MGMT_LEN, MGMT_LEN + 16).toString('hex'), '7862c6fec5ecaef4aa2e3934725e23b3');
  assert.equal(b.subarray(MGMT_LEN + 16).toString('hex'), 'aabb');
  const m = decodeMgmt(b);
  assert.ok(typeof m !== 'string' && m.code === MgmtCode.FLOW_REQ);
  assert.equal(m.sEid, 65);
  assert.deepEqual(m.qos, { ...qos.voice });
  assert.equal(Buffer.from(m.hash).toString('hex'), '7862c6fec5ecaef4aa2e3934725e23b3');
  assert.equal(Buffer.from(m.pk).toString('hex'), 'aabb');
});

test('FLOW_REPLY: eids, signed response, zero QoS', () => {
  const b = encodeFlowReply(65, 7, -1007, new Uint8Array(0));
  assert.equal(b.length, MGMT_LEN);
  assert.equal(b.toString('hex'), '00000000' + '00000041' + '00000007' + 'fffffc11' + '00'.repeat(28) + '02' + '0000');
  const m = decodeMgmt(b);
  assert.ok(typeof m !== 'string' && m.code === MgmtCode.FLOW_REPLY);
  assert.deepEqual([m.sEid, m.dEid, m.response], [65, 7, -1007]);
});

test('malformed management messages are refused with a reason', () => {
  assert.equal(typeof decodeMgmt(Buffer.alloc(46)), 'string');
  const bad = encodeFlowReply(1, 2, 0, new Uint8Array(0));
  bad[44] = 9;
  assert.match(decodeMgmt(bad) as string, /unknown management code 9/);
  const short = encodeFlowReq(1, qos.raw, HASH, new Uint8Array(0)).subarray(0, MGMT_LEN + 5);
  assert.match(decodeMgmt(Buffer.from(short)) as string, /without a name hash/);
  assert.throws(() => encodeFlowReq(1, qos.raw, new Uint8Array(32), new Uint8Array(0)), /16 bytes/);
});

test('hosts files: service names or hash hex, comments, wrong family and bad lines', () => {
  const { map, bad } = parseHosts(
    ['# comment', '127.0.0.2 oping other  # trailing', '127.0.0.3 7862c6fec5ecaef4aa2e3934725e23b3', '::1 v6only', 'garbage', '', 'nothex oping'].join('\n'),
    4,
  );
  assert.equal(map.get('7862c6fec5ecaef4aa2e3934725e23b3'), '127.0.0.2', 'first entry wins');
  assert.equal(map.get(Buffer.from(hashName(HashAlgo.MD5, 'other')).toString('hex')), '127.0.0.2');
  assert.equal(map.size, 2);
  assert.deepEqual(bad, [5, 7]);
});
