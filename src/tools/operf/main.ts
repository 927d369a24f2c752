#!/usr/bin/env node
/** operf: measures bandwidth, packet counts and loss between a client and an operf server (`-l`). */
import { toolMain } from '../common/main.js';
import { runOperfClient } from './client.js';
import { OPERF_USAGE, parseOperfArgs } from './options.js';
import { runOperfServer } from './server.js';

process.exit(await toolMain({ prog: 'operf', usage: OPERF_USAGE, parse: parseOperfArgs, server: runOperfServer, client: runOperfClient }));
