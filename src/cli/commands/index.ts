/**
 * Every product CLI command, in the order `spillway --help` lists them. A command module exports
 * `register(program: Command): void`; add one import and one entry per command. The developer tools'
 * commands (bench, bench-cache, replay-llm) are registered from tools/cli by bin/spillway.js.
 */
import type { Command } from 'commander';
import * as start from './start.js';
import * as monitor from './monitor.js';
import * as run from './run.js';
import * as produce from './produce.js';
import * as consume from './consume.js';
import * as topics from './topics.js';
import * as encoder from './encoder.js';

interface CommandModule {
  register(program: Command): void;
}

const commands: CommandModule[] = [start, monitor, run, produce, consume, topics, encoder];

export function registerCommands(program: Command): void {
  for (const command of commands) command.register(program);
}
