/**
 * The `spillway` command line: the only place in the product that wires modules together.
 * Each command lives in src/cli/commands/<name>.ts and exports `register(program)`. The developer tools
 * (benchmarks, the replay LLM server) live in tools/ and are added by bin/spillway.js when present, so the
 * product never imports them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { writeAfterLogs } from '../app/index.js';
import { SpillwayError } from '../errors.js';
import { explainKafkaError, isKafkaError } from '../stream/index.js';
import { registerCommands } from './commands/index.js';

/** Adds commands to the program (the tools' registrar). */
export type CommandRegistrar = (program: Command) => void;

/** The package version, from the package.json above this file (src/cli in a checkout, dist/src/cli when built). */
export function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    const url = new URL(up, import.meta.url);
    if (!existsSync(url)) continue;
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'spillway' && pkg.version !== undefined) return pkg.version;
  }
  return 'unknown';
}

/**
 * A reader that went away (`spillway start | head -1`) is no error: exit quietly instead of an EPIPE stack.
 * Other stream errors are left to the default handling.
 */
function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}

/** The program with the product's commands and any extra ones, in `--help` order. */
export function createProgram(extensions: readonly CommandRegistrar[] = []): Command {
  const program = new Command('spillway')
    .description('Answer LLM queries over data streams at a fraction of the LLM cost, with an online cascade.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) });
  registerCommands(program);
  for (const extend of extensions) extend(program);
  return program;
}

/** Parses `argv` and runs the command; a failure becomes one line on stderr and exit code 1. */
export async function main(argv: readonly string[], extensions: readonly CommandRegistrar[] = []): Promise<void> {
  const program = createProgram(extensions);
  exitQuietlyOnClosedPipe();
  try {
    await program.parseAsync([...argv]);
  } catch (err: unknown) {
    // Typed errors carry a message written for the user; anything else is a bug and gets its stack. Either
    // way it is the last line on stderr, after the command's logs.
    if (err instanceof SpillwayError) {
      writeAfterLogs(`spillway: ${err.message}\n`);
    } else if (isKafkaError(err)) {
      // A dependency that stayed down, a missing topic, a refused login: say which, without a stack trace.
      writeAfterLogs(`spillway: ${explainKafkaError(err)}\n`);
    } else {
      writeAfterLogs(`spillway: unexpected error\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    process.exitCode = 1;
  }
}
