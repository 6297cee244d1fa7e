/**
 * `spillway produce --topic T --file items.jsonl [--rate N]`: publishes a JSONL file of items
 * (id, text, optional task, metadata, eventTimeMs; other fields are ignored) as input records, keyed by
 * item id, encoded per kafka.inputFormat. Invalid lines are skipped with a warning. Progress goes to
 * stderr; a summary line to stdout.
 *
 * The file is checked before anything is sent: a missing topic, or a line whose record would exceed the
 * topic's max.message.bytes, stops it with nothing produced. A failure while sending (broker down) says
 * exactly which lines landed (records go in file order; each batch is acknowledged before the next).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { createServiceContext, Lifecycle, publishFile } from '../../app/index.js';

interface ProduceFlags {
  topic?: string;
  file: string;
  rate?: number;
  config?: string;
  progress: boolean;
}

function positive(raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

export function register(program: Command): void {
  program
    .command('produce')
    .description('Publish a JSONL file of items to a topic (key = item id), with a progress bar.')
    .requiredOption('--file <file>', 'JSONL file, one item per line')
    .option('--topic <topic>', 'topic (default: kafka.topics.input)')
    .option('--rate <n>', 'items per second at most (default: as fast as possible)', positive)
    .option('--config <file>', 'configuration file (YAML or JSON)')
    .option('--no-progress', 'no progress bar')
    .action(async (flags: ProduceFlags) => {
      const context = createServiceContext({ file: flags.config });
      const lifecycle = new Lifecycle({ logger: context.logger, graceMs: 0 }).install();
      const bar = new SingleBar(
        { stream: process.stderr, format: 'produce |{bar}| {value}/{total} items | {rate}/s | eta {eta}s', hideCursor: true },
        Presets.shades_classic,
      );
      const showBar = flags.progress && process.stderr.isTTY === true;
      const started = Date.now();
      try {
        const published = await publishFile(context, {
          file: flags.file,
          ...(flags.topic === undefined ? {} : { topic: flags.topic }),
          ...(flags.rate === undefined ? {} : { rate: flags.rate }),
          signal: lifecycle.signal,
          onProgress: (sent, total) => {
            if (!showBar) return;
            if (sent === 0) bar.start(total, 0, { rate: 0 });
            else bar.update(sent, { rate: Math.round(sent / Math.max(0.001, (Date.now() - started) / 1000)) });
          },
        });
        if (showBar) bar.stop();
        const skipped = published.skipped > 0 ? ` (${published.skipped} invalid lines skipped)` : '';
        process.stdout.write(`produced ${published.sent} items to ${published.topic} in ${published.seconds.toFixed(1)} s${skipped}\n`);
      } finally {
        if (showBar) bar.stop();
        await lifecycle.close();
      }
    });
}
