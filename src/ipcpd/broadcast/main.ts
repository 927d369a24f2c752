#!/usr/bin/env node
/** ipcpd-broadcast: the IPC process of a broadcast layer. Started by irmd. */
import { Ipcp, parseIpcpArgs, runIpcp } from '../common/ipcp.js';
import { broadcastOps } from './broadcast.js';
import { IpcpType } from '../../common/ipcp-types.js';
import { createLogger } from '../../common/log.js';

const { irmdPid, name, rundir } = parseIpcpArgs(process.argv.slice(2), 'ipcpd-broadcast');
const log = createLogger({ prefix: 'ipcpd/broadcast', out: process.stdout, color: process.stdout.isTTY });
const ipcp = new Ipcp({ type: IpcpType.BROADCAST, name, irmdPid, rundir, log });
await runIpcp(ipcp, broadcastOps(ipcp));
