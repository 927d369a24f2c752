#!/usr/bin/env node
/** obc: a message to every member of a broadcast layer, or (`-l`) every message it carries. */
import { toolMain } from '../common/main.js';
import { OBC_USAGE, parseObcArgs, runObcReader, runObcWriter } from './obc.js';

process.exit(await toolMain({ prog: 'obc', usage: OBC_USAGE, parse: parseObcArgs, server: runObcReader, client: runObcWriter }));
