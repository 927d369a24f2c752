#!/usr/bin/env node
/** ipcpd-udp4: the IPC process of a UDP/IPv4 layer. Started by irmd. */
import { Ipcp, parseIpcpArgs, runIpcp } from '../common/ipcp.js';
import { udpOps } from '../udp/udp.js';
import { IpcpType } from '../../common/ipcp-types.js';
import { createLogger } from '../../common/log.js';

const { irmdPid, name, rundir } = parseIpcpArgs(process.argv.slice(2), 'ipcpd-udp4');
const log = createLogger({ prefix: 'ipcpd/udp4', out: process.stdout, color: process.stdout.isTTY });
const ipcp = new Ipcp({ type: IpcpType.UDP4, name, irmdPid, rundir, log });
await runIpcp(ipcp, udpOps(ipcp, 4));
