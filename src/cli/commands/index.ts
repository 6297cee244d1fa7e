/**
 * Every CLI command, in the order `spillway --help` lists them. A command module exports
 * `register(program: Command): void`; add one import and one entry per command.
 */
import type { Command } from 'commander';
import * as start from './start.js';
import * as bench from './bench.js';
import * as replayLlm from './replay-llm.js';
import * as monitor from './monitor.js';
import * as run from './run.js';
import * as produce from './produce.js';
import * as consume from './consume.js';
import * as topics from './topics.js';
import * as benchCache from './bench-cache.js';

interface CommandModule {
  register(program: Command): void;
}

const commands: CommandModule[] = [start, bench, replayLlm, monitor, run, produce, consume, topics, benchCache];

export function registerCommands(program: Command): void {
  for (const command of commands) command.register(program);
}
