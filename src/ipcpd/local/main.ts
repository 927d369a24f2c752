#!/usr/bin/env node
/** ipcpd-local: the IPC process of a local (loopback) layer. Started by irmd. */
import { Ipcp, parseIpcpArgs, runIpcp } from '../common/ipcp.js';
import { localOps } from './local.js';
import { IpcpType } from '../../common/ipcp-types.js';
import { createLogger } from '../../common/log.js';

const { irmdPid, name, rundir } = parseIpcpArgs(process.argv.slice(2), 'ipcpd-local');
const log = createLogger({ prefix: 'ipcpd/local', out: process.stdout, color: process.stdout.isTTY });
const ipcp = new Ipcp({ type: IpcpType.LOCAL, name, irmdPid, rundir, log });
await runIpcp(ipcp, localOps(ipcp));
