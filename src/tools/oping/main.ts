#!/usr/bin/env node
/** oping: measures round-trip times to an oping server, or runs one (`-l`). */
import { toolMain } from '../common/main.js';
import { runOpingClient } from './client.js';
import { OPING_USAGE, parseOpingArgs } from './options.js';
import { runOpingServer } from './server.js';

process.exit(await toolMain({ prog: 'oping', usage: OPING_USAGE, parse: parseOpingArgs, server: runOpingServer, client: runOpingClient }));
