/**
 * `spillway produce --topic T --file items.jsonl [--rate N]`: publishes a JSONL file of items
 * (id, text, optional task, metadata, eventTimeMs; other fields are ignored) as input records, keyed by
 * item id, encoded per kafka.inputFormat. Invalid lines are skipped with a warning. Progress goes to
 * stderr; a summary line to stdout.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { InvalidArgumentError, type Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import type { Message } from 'kafkajs';
import { loadConfig } from '../../config.js';
import { buildCodecs, createKafka, PARTITIONER, readJsonlItems } from '../../stream/index.js';
import { createRootLogger } from '../logger.js';

interface ProduceFlags {
  topic?: string;
  file: string;
  rate?: number;
  config?: string;
  progress: boolean;
}

/** Records sent per request: big enough to amortise round trips, small enough to pace --rate smoothly. */
const BATCH = 500;

function positive(raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

async function countLines(file: string): Promise<number> {
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) if (line.trim() !== '') n++;
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
      const config = loadConfig(flags.config === undefined ? {} : { file: flags.config });
      const logger = createRootLogger(config.logLevel);
      const topic = flags.topic ?? config.kafka.topics.input;
      const { itemEncoder } = await buildCodecs(config.kafka);
      const total = await countLines(flags.file);
      const bar = new SingleBar({ stream: process.stderr, format: 'produce |{bar}| {value}/{total} items | {rate}/s | eta {eta}s', hideCursor: true }, Presets.shades_classic);
      const showBar = flags.progress && process.stderr.isTTY === true;
      if (showBar) bar.start(total, 0, { rate: 0 });

      const producer = createKafka(config.kafka, logger).producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: PARTITIONER });
      await producer.connect();
      const startMs = Date.now();
      let sent = 0;
      let skipped = 0;
      let batch: Message[] = [];
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return;
        await producer.send({ topic, messages: batch, acks: -1 });
        sent += batch.length;
        batch = [];
        if (flags.rate !== undefined) {
          // Pace by the whole run, not per batch, so short stalls are caught up.
          const aheadMs = (sent / flags.rate) * 1000 - (Date.now() - startMs);
          if (aheadMs > 0) await new Promise((resolve) => setTimeout(resolve, aheadMs));
        }
        if (showBar) bar.update(sent, { rate: Math.round(sent / Math.max(0.001, (Date.now() - startMs) / 1000)) });
      };
      try {
        for await (const entry of readJsonlItems(createReadStream(flags.file), config.kafka.maxTextBytes)) {
          if ('error' in entry) {
            skipped++;
            logger.warn({ file: flags.file, line: entry.line, kind: entry.error.kind }, 'line skipped');
            continue;
          }
          batch.push({ key: entry.item.id, value: itemEncoder.encode(entry.item) });
          if (batch.length >= BATCH || (flags.rate !== undefined && batch.length >= Math.max(1, Math.ceil(flags.rate / 20)))) await flush();
        }
        await flush();
      } finally {
        if (showBar) bar.stop();
        await producer.disconnect();
      }
      const seconds = (Date.now() - startMs) / 1000;
      process.stdout.write(`produced ${sent} items to ${topic} in ${seconds.toFixed(1)} s${skipped > 0 ? ` (${skipped} invalid lines skipped)` : ''}\n`);
    });
}
