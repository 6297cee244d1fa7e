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
import { createReadStream } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import type { Message } from 'kafkajs';
import { ProduceError } from '../../errors.js';
import {
  assertTopicsExist,
  buildCodecs,
  createKafka,
  explainKafkaError,
  fitsTopic,
  messageBytes,
  PARTITIONER,
  readJsonlItems,
  readMaxMessageBytes,
  type ItemEncoder,
} from '../../stream/index.js';
import { createServiceContext } from '../../app/index.js';

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

/** Oversized lines reported by name at most; the count says the rest. */
const MAX_LINES_NAMED = 10;

/**
 * The validation pass: counts the lines that will be sent and finds those whose record the topic would
 * refuse (over its max.message.bytes), before anything is sent.
 */
async function checkFile(
  file: string,
  encoder: ItemEncoder,
  maxTextBytes: number,
  limit: number,
): Promise<{ total: number; oversize: Array<{ line: number; bytes: number }> }> {
  let total = 0;
  const oversize: Array<{ line: number; bytes: number }> = [];
  for await (const entry of readJsonlItems(createReadStream(file), maxTextBytes)) {
    if ('error' in entry) continue;
    const message = { key: entry.item.id, value: encoder.encode(entry.item) };
    if (fitsTopic(message, limit)) total++;
    else oversize.push({ line: entry.line, bytes: messageBytes(message) });
  }
  return { total, oversize };
}

/** "lines 3–7" or "line 3". */
function lineRange(first: number, last: number): string {
  return first === last ? `line ${first}` : `lines ${first}–${last}`;
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
      const { config, logger } = createServiceContext({ file: flags.config });
      const topic = flags.topic ?? config.kafka.topics.input;
      const { itemEncoder } = await buildCodecs(config.kafka);
      const kafka = createKafka(config.kafka, logger);
      const admin = kafka.admin();
      let limit: number;
      try {
        await admin.connect();
        await assertTopicsExist(admin, [flags.topic === undefined ? { topic, role: 'input' } : { topic }]);
        limit = (await readMaxMessageBytes(admin, [topic], logger)).get(topic) as number;
      } finally {
        await admin.disconnect();
      }
      const { total, oversize } = await checkFile(flags.file, itemEncoder, config.kafka.maxTextBytes, limit);
      if (oversize.length > 0) {
        const named = oversize
          .slice(0, MAX_LINES_NAMED)
          .map((o) => `line ${o.line} (${o.bytes} bytes)`)
          .join(', ');
        const more = oversize.length > MAX_LINES_NAMED ? ` and ${oversize.length - MAX_LINES_NAMED} more` : '';
        throw new ProduceError(
          `${flags.file}: ${oversize.length} record(s) would exceed max.message.bytes ${limit} of topic ${topic}: ${named}${more}; nothing was produced`,
          0,
        );
      }
      const bar = new SingleBar(
        { stream: process.stderr, format: 'produce |{bar}| {value}/{total} items | {rate}/s | eta {eta}s', hideCursor: true },
        Presets.shades_classic,
      );
      const showBar = flags.progress && process.stderr.isTTY === true;
      if (showBar) bar.start(total, 0, { rate: 0 });

      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: PARTITIONER });
      await producer.connect();
      const startMs = Date.now();
      let sent = 0;
      let skipped = 0;
      let batch: Message[] = [];
      /** File lines of the batch being sent, and the last line acknowledged. */
      let batchLines = { first: 0, last: 0 };
      let landedUpTo = 0;
      // A send carries one record batch per partition and the broker refuses one over the topic's limit:
      // a batch of large records is sent before it could reach it.
      const maxBatchBytes = Math.min(512 * 1024, limit - 64);
      let batchBytes = 0;
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return;
        try {
          await producer.send({ topic, messages: batch, acks: -1 });
        } catch (err: unknown) {
          const landed = sent === 0 ? 'no line landed' : `every valid line up to line ${landedUpTo} landed`;
          throw new ProduceError(
            `produced ${sent} of ${total} items to ${topic} (${landed}); ${lineRange(batchLines.first, batchLines.last)} may be partly written: ${explainKafkaError(err, `writing to topic ${topic}`)}`,
            sent,
            { cause: err },
          );
        }
        sent += batch.length;
        landedUpTo = batchLines.last;
        batch = [];
        batchBytes = 0;
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
          const message = { key: entry.item.id, value: itemEncoder.encode(entry.item) };
          if (batch.length > 0 && batchBytes + messageBytes(message) > maxBatchBytes) await flush();
          if (batch.length === 0) batchLines = { first: entry.line, last: entry.line };
          batchLines.last = entry.line;
          batch.push(message);
          batchBytes += messageBytes(message);
          if (batch.length >= BATCH || (flags.rate !== undefined && batch.length >= Math.max(1, Math.ceil(flags.rate / 20)))) await flush();
        }
        await flush();
      } finally {
        if (showBar) bar.stop();
        await producer.disconnect().catch((err: unknown) => logger.debug({ err }, 'producer disconnect failed'));
      }
      const seconds = (Date.now() - startMs) / 1000;
      process.stdout.write(`produced ${sent} items to ${topic} in ${seconds.toFixed(1)} s${skipped > 0 ? ` (${skipped} invalid lines skipped)` : ''}\n`);
    });
}
