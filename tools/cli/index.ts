/**
 * The developer tools' commands (`bench`, `bench-cache`, `bench-live`, `replay-llm`), added to the `spillway` program by
 * bin/spillway.js when tools/ is present. Each command module holds only its flags and imports its
 * implementation when it runs, so registering them loads none of the benchmark or replay code.
 */
import type { Command } from 'commander';
import * as bench from './bench-command.js';
import * as benchCache from './bench-cache-command.js';
import * as benchLive from './bench-live-command.js';
import * as replayLlm from './replay-llm-command.js';

/** Adds the tools' commands to the program, after the product's. */
export function registerToolCommands(program: Command): void {
  for (const command of [bench, replayLlm, benchCache, benchLive]) command.register(program);
}
