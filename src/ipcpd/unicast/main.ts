#!/usr/bin/env node
/** ipcpd-unicast: the IPC process of a unicast layer. Started by irmd. */
import { Ipcp, parseIpcpArgs, runIpcp } from '../common/ipcp.js';
import { unicastOps } from './unicast.js';
import { IpcpType } from '../../common/ipcp-types.js';
import { createLogger } from '../../common/log.js';

const { irmdPid, name, rundir } = parseIpcpArgs(process.argv.slice(2), 'ipcpd-unicast');
const log = createLogger({ prefix: 'ipcpd/unicast', out: process.stdout, color: process.stdout.isTTY });
const ipcp = new Ipcp({ type: IpcpType.UNICAST, name, irmdPid, rundir, log });
await runIpcp(ipcp, unicastOps(ipcp));
