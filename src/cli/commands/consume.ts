/**
 * `spillway consume --topic T [--from-beginning] [--max N] [--exit-at-end] [--json]`: prints the records
 * of a Spillway topic with isolation read_committed (only committed transactions). A readable table by
 * default; one JSON object per line with --json. --exit-at-end stops at the end of every partition.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { Config } from '../../config.js';
import { assertTopicsExist, buildCodecs, createKafka, readTopic, type StreamCodecs } from '../../stream/index.js';
import { createServiceContext } from '../../app/index.js';

interface ConsumeFlags {
  topic?: string;
  fromBeginning: boolean;
  max?: number;
  exitAtEnd: boolean;
  json: boolean;
  config?: string;
}

type Row = Record<string, unknown>;
interface View {
  decode: StreamCodecs['annotationDecoder'];
  columns: Array<[header: string, cell: (r: Row) => unknown, width: number]>;
}

function count(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function short(value: unknown, width: number): string {
  const text = typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(3) : String(value ?? '');
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

/** How each topic role is decoded and shown; unknown topics are read as annotations. */
function viewFor(topic: string, config: Config, codecs: StreamCodecs): View {
  if (topic === config.kafka.topics.deadLetter) {
    return {
      decode: codecs.deadLetterDecoder,
      columns: [
        ['from', (r) => `${String(r.topic)}/${String(r.partition)}@${String(r.offset)}`, 28],
        ['kind', (r) => r.errorKind, 13],
        ['message', (r) => r.errorMessage, 60],
      ],
    };
  }
  if (topic === config.kafka.topics.input) {
    return {
      decode: codecs.annotationDecoder,
      columns: [
        ['id', (r) => r.id, 16],
        ['text', (r) => r.text, 70],
      ],
    };
  }
  return {
    decode: codecs.annotationDecoder,
    columns: [
      ['id', (r) => r.id, 16],
      ['label', (r) => r.label, 12],
      ['by', (r) => r.answeredBy, 4],
      ['conf', (r) => r.confidence, 6],
      ['llm', (r) => r.llmSource, 11],
      // Why: confident, deferred, warmup, exploration, audit, deadline, budget, llm-failed, cache, cold, shared.
      ['reason', (r) => r.reason, 11],
      ['cost', (r) => r.costUnits, 6],
    ],
  };
}

export function register(program: Command): void {
  program
    .command('consume')
    .description('Print the committed records of a topic (annotations by default), as a table or JSON lines.')
    .option('--topic <topic>', 'topic (default: kafka.topics.output)')
    .option('--from-beginning', 'start at the earliest offset instead of new records only', false)
    .option('--max <n>', 'stop after n records', count)
    .option('--exit-at-end', 'stop once caught up with the end of every partition', false)
    .option('--json', 'one JSON object per line instead of a table', false)
    .option('--config <file>', 'configuration file (YAML or JSON)')
    .action(async (flags: ConsumeFlags) => {
      const { config, logger } = createServiceContext({ file: flags.config });
      const topic = flags.topic ?? config.kafka.topics.output;
      const kafka = createKafka(config.kafka, logger);
      const admin = kafka.admin();
      try {
        await admin.connect();
        await assertTopicsExist(admin, [{ topic }]);
      } finally {
        await admin.disconnect();
      }
      const codecs = await buildCodecs(config.kafka);
      // Input records are items: decode them with the item decoder's format.
      const view = viewFor(topic, config, codecs);
      const decode =
        topic === config.kafka.topics.input
          ? async (value: Buffer | null, origin: { topic: string; partition: number; offset: string }): Promise<Row> => ({
              ...(await codecs.itemDecoder.decode(value, null, origin)),
            })
          : (value: Buffer | null, origin: { topic: string; partition: number; offset: string }): Promise<Row> => view.decode.decode(value, origin);
      const out = process.stdout;
      if (!flags.json) out.write(`${[short('part', 4), short('offset', 6), ...view.columns.map(([h, , w]) => short(h, w))].join('  ').trimEnd()}\n`);
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const read = await readTopic({
        kafka,
        topic,
        fromBeginning: flags.fromBeginning,
        exitAtEnd: flags.exitAtEnd,
        signal: controller.signal,
        ...(flags.max === undefined ? {} : { max: flags.max }),
        onRecord: async (message, partition) => {
          const row = await decode(message.value, { topic, partition, offset: message.offset });
          if (flags.json)
            out.write(`${JSON.stringify({ partition, offset: message.offset, key: message.key?.toString('utf8') ?? null, value: row }, bytesAsBase64)}\n`);
          else
            out.write(`${[short(partition, 4), short(message.offset, 6), ...view.columns.map(([, cell, w]) => short(cell(row), w))].join('  ').trimEnd()}\n`);
        },
      });
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      logger.info({ topic, read }, 'consume finished');
      logger.flush();
    });
}

/** Dead-letter byte fields decoded from Avro are Buffers: print them as base64. */
function bytesAsBase64(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return Buffer.from((value as { data: number[] }).data).toString('base64');
  }
  return value;
}
