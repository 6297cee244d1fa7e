/**
 * `spillway consume --topic T [--from-beginning] [--max N] [--exit-at-end] [--json]`: prints the records
 * of a Spillway topic with isolation read_committed (only committed transactions). A readable table by
 * default; one JSON object per line with --json. --exit-at-end stops at the end of every partition.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { createServiceContext, Lifecycle, readRecords, type DecodedRecord, type TopicRole } from '../../app/index.js';

interface ConsumeFlags {
  topic?: string;
  fromBeginning: boolean;
  max?: number;
  exitAtEnd: boolean;
  json: boolean;
  config?: string;
}

type Column = [header: string, cell: (r: DecodedRecord) => unknown, width: number];

function count(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function short(value: unknown, width: number): string {
  const text = typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(3) : String(value ?? '');
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

/** The table's columns for each kind of record. */
const COLUMNS: Record<TopicRole, Column[]> = {
  'dead-letters': [
    ['from', (r) => `${String(r.topic)}/${String(r.partition)}@${String(r.offset)}`, 28],
    ['kind', (r) => r.errorKind, 13],
    ['message', (r) => r.errorMessage, 60],
  ],
  items: [
    ['id', (r) => r.id, 16],
    ['text', (r) => r.text, 70],
  ],
  annotations: [
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
      const context = createServiceContext({ file: flags.config });
      // The one signal handler: the first SIGINT/SIGTERM stops reading; what was read is printed.
      const lifecycle = new Lifecycle({ logger: context.logger, graceMs: 0 }).install();
      const out = process.stdout;
      let columns: Column[] = COLUMNS.annotations;
      try {
        await readRecords(context, {
          ...(flags.topic === undefined ? {} : { topic: flags.topic }),
          fromBeginning: flags.fromBeginning,
          exitAtEnd: flags.exitAtEnd,
          ...(flags.max === undefined ? {} : { max: flags.max }),
          signal: lifecycle.signal,
          onStart: (_topic, role) => {
            columns = COLUMNS[role];
            if (!flags.json) out.write(`${[short('part', 4), short('offset', 6), ...columns.map(([h, , w]) => short(h, w))].join('  ').trimEnd()}\n`);
          },
          onRecord: ({ partition, offset, key, value }) => {
            if (flags.json) out.write(`${JSON.stringify({ partition, offset, key, value }, bytesAsBase64)}\n`);
            else out.write(`${[short(partition, 4), short(offset, 6), ...columns.map(([, cell, w]) => short(cell(value), w))].join('  ').trimEnd()}\n`);
          },
        });
      } finally {
        await lifecycle.close();
        context.logger.flush();
      }
    });
}

/** Dead-letter byte fields decoded from Avro are Buffers: print them as base64. */
function bytesAsBase64(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return Buffer.from((value as { data: number[] }).data).toString('base64');
  }
  return value;
}
