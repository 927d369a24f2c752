/**
 * Control messages byte for byte against the reference (WIRE.md §2, §3.5),
 * and round trips of ipcp_msg / ipcp_config_msg through src/common/convert.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { create, fromBinary, isFieldSet, toBinary } from '@bufbuild/protobuf';
import { irm_msgSchema, irm_msg_code } from '../../../src/proto/gen/irm_pb.js';
import { ipcp_msgSchema, ipcp_msg_code } from '../../../src/proto/gen/ipcp_pb.js';
import { ipcp_config_msgSchema } from '../../../src/proto/gen/ipcp_config_pb.js';
import { flow_info_msgSchema, qosspec_msgSchema } from '../../../src/proto/gen/model_pb.js';
import {
  flowInfoFromMsg,
  hostU32ToIpv4,
  ipcpConfigFromMsg,
  ipcpConfigToMsg,
  ipv4ToHostU32,
  qosFromMsg,
  qosToMsg,
} from '../../../src/common/convert.js';
import { timeoMsg } from '../../../src/lib/irm-conn.js';
import { qos } from '../../../src/lib/qos.js';
import { HashAlgo, hashName } from '../../../src/common/hash.js';
import { IpcpType, UNICAST_DEFAULTS, type IpcpConfig } from '../../../src/common/ipcp-types.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const bytes = (u: Uint8Array): string => Buffer.from(u).toString('hex');

/** WIRE.md §3.5: IRM_FLOW_ALLOC to "oping", qos_raw, n_pid 1234, no timeout. */
const FLOW_ALLOC_52 = hex(`
  08 14
  2a 29
    08 00 10 d2 09 18 00 20 00 28 00
    32 1a
      08 ff ff ff ff 0f 10 00 18 00 20 01 28 01 30 00 38 ff ff ff ff 0f 40 c0 a9 07
    38 00
  5a 05 6f 70 69 6e 67`);
const TIMEO_2_5 = hex('9a 01 08 08 02 10 80 ca b5 ee 01');

/** Built the way src/lib/process.ts builds a flow allocation. */
function flowAllocMsg(timeoutMs?: number) {
  return create(irm_msgSchema, {
    code: irm_msg_code.IRM_FLOW_ALLOC,
    dst: 'oping',
    flowInfo: create(flow_info_msgSchema, { id: 0, nPid: 1234, n1Pid: 0, mpl: 0, state: 0, uid: 0, qos: qosToMsg(qos.raw) }),
    ...(timeoutMs !== undefined ? { timeo: timeoMsg(timeoutMs) } : {}),
  });
}

describe('irm_msg against the reference bytes (WIRE.md §3.5)', () => {
  it('IRM_FLOW_ALLOC to "oping", qos_raw, n_pid 1234 is the 52-byte vector', () => {
    assert.equal(FLOW_ALLOC_52.length, 52);
    assert.equal(bytes(toBinary(irm_msgSchema, flowAllocMsg())), bytes(FLOW_ALLOC_52));
  });

  it('with timeo 2.5 s appends field 19 {tv_sec 2, tv_nsec 500000000}', () => {
    assert.deepEqual(timeoMsg(2500), { tvSec: 2n, tvNsec: 500_000_000 });
    const want = Buffer.concat([FLOW_ALLOC_52, TIMEO_2_5]);
    assert.equal(bytes(toBinary(irm_msgSchema, flowAllocMsg(2500))), bytes(want));
  });

  it('the 52 bytes decode to the same request', () => {
    const m = fromBinary(irm_msgSchema, FLOW_ALLOC_52);
    assert.equal(m.code, irm_msg_code.IRM_FLOW_ALLOC);
    assert.equal(m.dst, 'oping');
    assert.equal(m.timeo, undefined);
    assert.ok(m.flowInfo);
    const fi = flowInfoFromMsg(m.flowInfo);
    assert.deepEqual(fi, { id: 0, nPid: 1234, n1Pid: 0, mpl: 0, state: 0, uid: 0, qos: { ...qos.raw } });
    assert.equal(fi.qos.delay, 0xffffffff);
    assert.equal(fi.qos.maxGap, 0xffffffff);
    assert.equal(fi.qos.timeout, 120000);
    assert.equal(isFieldSet(m, irm_msgSchema.field.pid), false);
    assert.equal(isFieldSet(m, irm_msgSchema.field.result), false);
  });

  it('the timeo variant decodes tv_sec as a 64-bit value', () => {
    const m = fromBinary(irm_msgSchema, Buffer.concat([FLOW_ALLOC_52, TIMEO_2_5]));
    assert.equal(m.timeo?.tvSec, 2n);
    assert.equal(m.timeo?.tvNsec, 500_000_000);
  });

  it('IRM_REPLY with result -1006 (EFLOWPEER, sint32) is 08 1b c8 01 db 0f', () => {
    const m = create(irm_msgSchema, { code: irm_msg_code.IRM_REPLY, result: -1006 });
    assert.equal(bytes(toBinary(irm_msgSchema, m)), '081bc801db0f');
    const back = fromBinary(irm_msgSchema, hex('08 1b c8 01 db 0f'));
    assert.equal(back.code, irm_msg_code.IRM_REPLY);
    assert.equal(back.result, -1006);
  });

  it('IRM_REPLY with result 0 still carries the result field', () => {
    const m = create(irm_msgSchema, { code: irm_msg_code.IRM_REPLY, result: 0 });
    assert.equal(bytes(toBinary(irm_msgSchema, m)), '081bc80100');
  });

  it('pid is a zig-zag sint32: IRM_PROC_ANNOUNCE pid 1234 prog "oping"', () => {
    const m = create(irm_msgSchema, { code: irm_msg_code.IRM_PROC_ANNOUNCE, pid: 1234, prog: 'oping' });
    assert.equal(bytes(toBinary(irm_msgSchema, m)), bytes(hex('08 0b 12 05 6f70696e67 18 a4 13')));
  });

  it('the message codes are the reference numbers', () => {
    const want: Record<string, number> = {
      IRM_CREATE_IPCP: 1, IPCP_CREATE_R: 2, IRM_DESTROY_IPCP: 3, IRM_LIST_IPCPS: 4, IRM_BOOTSTRAP_IPCP: 5,
      IRM_ENROLL_IPCP: 6, IRM_CONNECT_IPCP: 7, IRM_DISCONNECT_IPCP: 8, IRM_BIND_PROGRAM: 9, IRM_UNBIND_PROGRAM: 10,
      IRM_PROC_ANNOUNCE: 11, IRM_PROC_EXIT: 12, IRM_BIND_PROCESS: 13, IRM_UNBIND_PROCESS: 14, IRM_CREATE_NAME: 15,
      IRM_DESTROY_NAME: 16, IRM_LIST_NAMES: 17, IRM_REG_NAME: 18, IRM_UNREG_NAME: 19, IRM_FLOW_ALLOC: 20,
      IRM_FLOW_ACCEPT: 21, IRM_FLOW_JOIN: 22, IRM_FLOW_DEALLOC: 23, IPCP_FLOW_DEALLOC: 24, IPCP_FLOW_REQ_ARR: 25,
      IPCP_FLOW_ALLOC_REPLY: 26, IRM_REPLY: 27,
    };
    for (const [k, v] of Object.entries(want)) assert.equal((irm_msg_code as unknown as Record<string, number>)[k], v, k);
    const ipcpWant: Record<string, number> = {
      IPCP_BOOTSTRAP: 1, IPCP_ENROLL: 2, IPCP_REG: 3, IPCP_UNREG: 4, IPCP_QUERY: 5, IPCP_FLOW_ALLOC: 6,
      IPCP_FLOW_JOIN: 7, IPCP_FLOW_ALLOC_RESP: 8, IPCP_FLOW_DEALLOC: 9, IPCP_CONNECT: 10, IPCP_DISCONNECT: 11, IPCP_REPLY: 12,
    };
    for (const [k, v] of Object.entries(ipcpWant)) assert.equal((ipcp_msg_code as unknown as Record<string, number>)[k], v, k);
  });

  it('ignores unknown fields on unpack (WIRE.md §2)', () => {
    // 52-byte request + field 99 (varint 7) + field 98 (bytes "xy")
    const m = fromBinary(irm_msgSchema, Buffer.concat([FLOW_ALLOC_52, hex('98 06 07 92 06 02 78 79')]));
    assert.equal(m.code, irm_msg_code.IRM_FLOW_ALLOC);
    assert.equal(m.dst, 'oping');
  });
});

describe('QoS conversion', () => {
  it('qos_raw encodes as the 26 bytes of the reference', () => {
    assert.equal(
      bytes(toBinary(qosspec_msgSchema, qosToMsg(qos.raw))),
      bytes(hex('08 ff ff ff ff 0f 10 00 18 00 20 01 28 01 30 00 38 ff ff ff ff 0f 40 c0 a9 07')),
    );
  });

  it('round-trips every predefined cube', () => {
    for (const [name, q] of Object.entries(qos)) {
      const back = qosFromMsg(fromBinary(qosspec_msgSchema, toBinary(qosspec_msgSchema, qosToMsg(q))));
      assert.deepEqual(back, { ...q }, name);
    }
  });

  it('keeps a 64-bit bandwidth', () => {
    const back = qosFromMsg(fromBinary(qosspec_msgSchema, toBinary(qosspec_msgSchema, qosToMsg(qos.video))));
    assert.equal(back.bandwidth, 0xffffffffffffffffn);
  });
});

describe('ipcp_msg', () => {
  it('IPCP_REPLY with result -22 uses a 10-byte varint for the negative int32', () => {
    const m = create(ipcp_msgSchema, { code: ipcp_msg_code.IPCP_REPLY, result: -22 });
    assert.equal(bytes(toBinary(ipcp_msgSchema, m)), bytes(hex('08 0c 70 ea ff ff ff ff ff ff ff ff 01')));
  });

  it('round-trips IPCP_FLOW_ALLOC with every field irmd sets', () => {
    const hash = hashName(HashAlgo.SHA3_256, 'oping');
    const m = create(ipcp_msgSchema, {
      code: ipcp_msg_code.IPCP_FLOW_ALLOC,
      flowId: 17,
      pid: 4321,
      uid: 1000,
      qosspec: qosToMsg(qos.voice),
      hash,
      pk: new Uint8Array([1, 2, 3]),
    });
    const wire = toBinary(ipcp_msgSchema, m);
    // field order and the first fields, by hand: code 6, hash (32 bytes), flow_id 17
    assert.equal(bytes(wire.subarray(0, 4)), '08061220');
    assert.equal(bytes(wire.subarray(4, 36)), bytes(hash));
    assert.equal(bytes(wire.subarray(36, 38)), '1811');
    const back = fromBinary(ipcp_msgSchema, wire);
    assert.equal(back.code, ipcp_msg_code.IPCP_FLOW_ALLOC);
    assert.equal(back.flowId, 17);
    assert.equal(back.pid, 4321);
    assert.equal(back.uid, 1000);
    assert.deepEqual(qosFromMsg(back.qosspec!), { ...qos.voice });
    assert.equal(bytes(back.hash), bytes(hash));
    assert.equal(bytes(back.pk), '010203');
    assert.equal(isFieldSet(back, ipcp_msgSchema.field.result), false);
    assert.equal(isFieldSet(back, ipcp_msgSchema.field.dst), false);
  });

  it('round-trips IPCP_FLOW_DEALLOC and IPCP_BOOTSTRAP replies with layer_info', () => {
    const d = fromBinary(ipcp_msgSchema, toBinary(ipcp_msgSchema, create(ipcp_msgSchema, { code: ipcp_msg_code.IPCP_FLOW_DEALLOC, flowId: 3, timeoSec: 2 })));
    assert.equal(d.flowId, 3);
    assert.equal(d.timeoSec, 2);
    const r = fromBinary(
      ipcp_msgSchema,
      toBinary(ipcp_msgSchema, create(ipcp_msgSchema, { code: ipcp_msg_code.IPCP_REPLY, result: 0, layerInfo: { name: 'lo', dirHashAlgo: HashAlgo.SHA3_256 } })),
    );
    assert.equal(r.result, 0);
    assert.equal(isFieldSet(r, ipcp_msgSchema.field.result), true);
    assert.deepEqual({ name: r.layerInfo?.name, algo: r.layerInfo?.dirHashAlgo }, { name: 'lo', algo: 1 });
  });

  it('negative flow ids and pids survive (int32 fields)', () => {
    const back = fromBinary(ipcp_msgSchema, toBinary(ipcp_msgSchema, create(ipcp_msgSchema, { code: ipcp_msg_code.IPCP_FLOW_ALLOC, flowId: -1, pid: -2147483648 })));
    assert.equal(back.flowId, -1);
    assert.equal(back.pid, -2147483648);
  });
});

describe('ipcp_config_msg and convert.ts', () => {
  it('udp4 addresses are the host-order u32 of the in-memory s_addr', () => {
    assert.equal(ipv4ToHostU32('127.0.0.1'), 16777343);
    assert.equal(ipv4ToHostU32('127.0.0.1'), 0x0100007f);
    assert.equal(ipv4ToHostU32('10.0.0.1'), 0x0100000a);
    assert.equal(ipv4ToHostU32('192.168.1.2'), 0x0201a8c0);
    assert.equal(ipv4ToHostU32('255.255.255.255'), 0xffffffff);
    assert.equal(ipv4ToHostU32('0.0.0.0'), 0);
    assert.equal(hostU32ToIpv4(16777343), '127.0.0.1');
    assert.equal(hostU32ToIpv4(0x0201a8c0), '192.168.1.2');
    assert.equal(hostU32ToIpv4(0xffffffff), '255.255.255.255');
  });

  it('a udp4 configuration encodes 127.0.0.1 as 16777343 and round-trips', () => {
    const conf: IpcpConfig = { type: IpcpType.UDP4, layer: { name: 'layer', hashAlgo: HashAlgo.MD5 }, udp4: { ip: '127.0.0.1', port: 3435, dns: '' } };
    const msg = ipcpConfigToMsg(conf);
    assert.equal(msg.udp4?.ipAddr, 16777343);
    assert.equal(msg.udp4?.port, 3435);
    assert.equal(msg.udp4?.dnsAddr, 0);
    const wire = toBinary(ipcp_config_msgSchema, msg);
    assert.equal(
      bytes(wire),
      bytes(hex(`
        0a 09 0a 05 6c 61 79 65 72 10 05
        10 05
        22 0a 08 ff 80 80 08 10 eb 1a 18 00`)),
    );
    const back = ipcpConfigFromMsg(fromBinary(ipcp_config_msgSchema, wire));
    assert.deepEqual(back, conf);
  });

  it('a udp4 configuration with a DNS server round-trips', () => {
    const conf: IpcpConfig = { type: IpcpType.UDP4, layer: { name: 'u', hashAlgo: HashAlgo.MD5 }, udp4: { ip: '10.1.2.3', port: 9000, dns: '10.1.2.254' } };
    const msg = ipcpConfigToMsg(conf);
    assert.equal(msg.udp4?.dnsAddr, 0xfe02010a);
    assert.deepEqual(ipcpConfigFromMsg(fromBinary(ipcp_config_msgSchema, toBinary(ipcp_config_msgSchema, msg))), conf);
  });

  it('a local configuration carries only layer_info and the type', () => {
    const conf: IpcpConfig = { type: IpcpType.LOCAL, layer: { name: 'lo', hashAlgo: HashAlgo.SHA3_256 } };
    const wire = toBinary(ipcp_config_msgSchema, ipcpConfigToMsg(conf));
    assert.equal(bytes(wire), bytes(hex('0a 06 0a 02 6c 6f 10 01 10 00')));
    assert.deepEqual(ipcpConfigFromMsg(fromBinary(ipcp_config_msgSchema, wire)), conf);
  });

  it('a unicast configuration round-trips', () => {
    const conf: IpcpConfig = {
      type: IpcpType.UNICAST,
      layer: { name: 'net', hashAlgo: HashAlgo.SHA3_384 },
      unicast: { ...UNICAST_DEFAULTS, addrSize: 2, eidSize: 4, routing: 2, dhtK: 16, dhtTExpire: 123 },
    };
    const msg = ipcpConfigToMsg(conf);
    assert.equal(msg.unicast?.dt?.routing?.ls?.pol, 2);
    assert.deepEqual(ipcpConfigFromMsg(fromBinary(ipcp_config_msgSchema, toBinary(ipcp_config_msgSchema, msg))), conf);
  });

  it('an eth-dix configuration round-trips with its ethertype', () => {
    const conf: IpcpConfig = { type: IpcpType.ETH_DIX, layer: { name: 'eth', hashAlgo: HashAlgo.SHA3_256 }, eth: { dev: 'eth0', ethertype: 0xa000 } };
    const msg = ipcpConfigToMsg(conf);
    assert.equal(msg.eth?.ethertype, 40960);
    assert.deepEqual(ipcpConfigFromMsg(fromBinary(ipcp_config_msgSchema, toBinary(ipcp_config_msgSchema, msg))), conf);
  });

  it('o7s extra options round-trip', () => {
    const conf: IpcpConfig = { type: IpcpType.UDP4, layer: { name: 'u', hashAlgo: HashAlgo.MD5 }, udp4: { ip: '127.0.0.1', port: 1, dns: '' }, extra: { loss: '0.1', delay: '5' } };
    assert.deepEqual(ipcpConfigFromMsg(fromBinary(ipcp_config_msgSchema, toBinary(ipcp_config_msgSchema, ipcpConfigToMsg(conf)))), conf);
  });

  it('an ipcp_msg IPCP_BOOTSTRAP carries the configuration intact', () => {
    const conf: IpcpConfig = { type: IpcpType.UDP4, layer: { name: 'layer', hashAlgo: HashAlgo.MD5 }, udp4: { ip: '127.0.0.1', port: 3435, dns: '' } };
    const m = create(ipcp_msgSchema, { code: ipcp_msg_code.IPCP_BOOTSTRAP, conf: ipcpConfigToMsg(conf) });
    const back = fromBinary(ipcp_msgSchema, toBinary(ipcp_msgSchema, m));
    assert.equal(back.code, ipcp_msg_code.IPCP_BOOTSTRAP);
    assert.deepEqual(ipcpConfigFromMsg(back.conf!), conf);
    assert.equal(back.conf?.udp4?.ipAddr, 16777343);
  });
});
