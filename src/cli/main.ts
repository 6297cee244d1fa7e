/**
 * The `spillway` command line: the only place that wires modules together.
 * Each command lives in src/cli/commands/<name>.ts and exports `register(program)`.
 */
import { Command } from 'commander';
import { SpillwayError } from '../errors.js';
import { registerCommands } from './commands/index.js';

const program = new Command('spillway')
  .description('Answer LLM queries over data streams at a fraction of the LLM cost, with an online cascade.')
  .showHelpAfterError()
  .configureOutput({ outputError: (str, write) => write(str) });

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err: unknown) {
  // Typed errors carry a message written for the user; anything else is a bug and gets its stack.
  if (err instanceof SpillwayError) {
    process.stderr.write(`spillway: ${err.message}\n`);
  } else if (err instanceof Error && err.name.startsWith('KafkaJS')) {
    // A dependency that stayed down: say which, without a stack trace nobody needs.
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    process.stderr.write(`spillway: Kafka is unavailable (${err.name}${cause}); check SPILLWAY_KAFKA_BROKERS\n`);
  } else {
    process.stderr.write(`spillway: unexpected error\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exitCode = 1;
}
