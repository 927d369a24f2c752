#!/usr/bin/env node
/** ocbr: sends at a constant bit rate to an ocbr server, or runs one (`-l`) that reports what arrives. */
import { toolMain } from '../common/main.js';
import { runOcbrClient } from './client.js';
import { OCBR_USAGE, parseOcbrArgs } from './options.js';
import { runOcbrServer } from './server.js';

process.exit(await toolMain({ prog: 'ocbr', usage: OCBR_USAGE, parse: parseOcbrArgs, server: runOcbrServer, client: runOcbrClient }));
