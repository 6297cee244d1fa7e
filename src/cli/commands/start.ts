/**
 * `spillway start`: the embedded mode. The cascade over a JSONL stream (a file or stdin) to JSONL (a file or
 * stdout), with no Kafka and no Redis; live counts and deferral rates on stderr; the monitoring endpoints on
 * --http-port. With no input it runs the built-in demo stream and its simulated teacher.
 */
import { createReadStream, createWriteStream, fstatSync, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { Annotation, Cascade, Item } from '../../cascade/index.js';
import { loadConfig } from '../../config.js';
import { demoItems, DEMO_TASK, SimulatedTeacher } from '../../demo/demo-stream.js';
import { createMonitor } from '../../monitor/index.js';
import { readJsonlItems, type JsonlEntry } from '../../stream/index.js';
import { buildCascade } from '../build-cascade.js';
import { createRootLogger, type Logger } from '../logger.js';
import { LiveLine } from '../live-line.js';
import { parseInteger, parseNumber } from './options.js';

interface StartFlags {
  input?: string;
  output?: string;
  rejects?: string;
  task?: string;
  config?: string;
  llmBudget?: number;
  httpPort?: number;
  serve?: boolean;
  demoItems: number;
  save: boolean;
}

export function register(program: Command): void {
  program
    .command('start')
    .description('run the cascade over a JSONL stream (file or stdin) to JSONL, without Kafka or Redis; no input: a built-in demo')
    .option('-i, --input <file>', 'JSONL items ({"id","text"} per line); "-" for stdin')
    .option('-o, --output <file>', 'where annotations go (default: stdout)')
    .option('--rejects <file>', 'where rejected lines go (default: <output>.rejects.jsonl, or spillway-rejects.jsonl)')
    .option('--task <file>', 'task file: labels and prompt')
    .option('--config <file>', 'config file (YAML or JSON)')
    .option('--llm-budget <share>', 'target share of items sent to the LLM', parseNumber)
    .option('--http-port <port>', 'port of /metrics, /status, /healthz and the dashboard (0: off)', parseInteger)
    .option('--serve', 'keep serving the endpoints after the input ends, until Ctrl-C')
    .option('--demo-items <n>', 'items in the built-in demo stream', parseInteger, 3000)
    .option('--no-save', 'do not save the learned state to the models folder at the end')
    .action(async (flags: StartFlags) => {
      const config = loadConfig({ file: flags.config, flags: { task: flags.task, cascade: { llmBudget: flags.llmBudget }, monitor: { httpPort: flags.httpPort } } });
      const logger = createRootLogger(config.logLevel);
      const demo = flags.input === undefined && !stdinHasData();
      const monitor = createMonitor({ config: config.monitor, logger: logger.child({ module: 'monitor' }), llmCostUnits: config.llm.costUnits });
      const built = await buildCascade(config, logger, {
        observer: monitor.observer,
        ...(demo ? { teacher: new SimulatedTeacher(), task: DEMO_TASK, restore: false } : {}),
      });
      if (demo) logger.info({ items: flags.demoItems, teacher: 'simulated keyword rule, not an LLM' }, 'no input given: running the built-in demo stream with a SIMULATED teacher');
      const { url } = await monitor.start();
      if (url !== null) logger.info({ url }, 'dashboard and metrics served');

      const stopping = new AbortController();
      const onSignal = (): void => stopping.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const output: Writable = flags.output === undefined ? process.stdout : createWriteStream(flags.output);
      const rejectsPath = flags.rejects ?? (flags.output === undefined ? 'spillway-rejects.jsonl' : `${flags.output}.rejects.jsonl`);
      const source = demo ? demoEntries(flags.demoItems) : readJsonlItems(flags.input === undefined || flags.input === '-' ? process.stdin : createReadStream(flags.input), config.kafka.maxTextBytes);
      const live = new LiveLine(built.cascade, process.stderr);
      const summary = await runEmbedded(built.cascade, source, { output, rejectsPath, logger, live, signal: stopping.signal, window: config.llm.concurrency });
      live.stop();
      if (output !== process.stdout) await new Promise<void>((resolve) => (output as WriteStream).end(resolve));
      if (flags.save && !demo) await built.cascade.save();
      logger.info({ ...summary, budget: built.cascade.budgetStatus, rejectsFile: summary.rejected > 0 ? rejectsPath : undefined }, 'stream done');
      if (flags.serve === true && url !== null && !stopping.signal.aborted) {
        logger.info({ url }, 'input ended; still serving the endpoints (Ctrl-C to stop)');
        await new Promise<void>((resolve) => stopping.signal.addEventListener('abort', () => resolve(), { once: true }));
      }
      await monitor.close();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
}

/** True when stdin is a pipe or a file (data to read), not a terminal or /dev/null. */
function stdinHasData(): boolean {
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isFile() || st.isSocket();
  } catch {
    return false;
  }
}

async function* demoEntries(count: number): AsyncGenerator<JsonlEntry> {
  let line = 0;
  for (const item of demoItems(count)) yield { line: ++line, item };
}

interface EmbeddedOptions {
  output: Writable;
  rejectsPath: string;
  logger: Logger;
  live: LiveLine;
  signal: AbortSignal;
  /** Items in flight at once; annotations are still written in input order. */
  window: number;
}

/** Streams entries through the cascade, writing annotations in order and rejected lines to the rejects file. */
export async function runEmbedded(cascade: Cascade, source: AsyncIterable<JsonlEntry>, options: EmbeddedOptions): Promise<{ items: number; rejected: number }> {
  const pending: Array<Promise<Annotation>> = [];
  let rejects: WriteStream | undefined;
  let items = 0;
  let rejected = 0;
  const write = async (a: Annotation): Promise<void> => {
    if (!options.output.write(`${JSON.stringify(a)}\n`)) await new Promise((resolve) => options.output.once('drain', resolve));
  };
  for await (const entry of source) {
    if (options.signal.aborted) break;
    if ('error' in entry) {
      rejected++;
      options.logger.warn({ line: entry.line, kind: entry.error.kind, reason: entry.error.message }, 'line rejected');
      rejects ??= createWriteStream(options.rejectsPath, { flags: 'a' });
      rejects.write(`${JSON.stringify({ line: entry.line, kind: entry.error.kind, reason: entry.error.message, raw: entry.raw })}\n`);
      options.live.rejected = rejected;
      continue;
    }
    const item: Item = entry.item;
    pending.push(cascade.process(item));
    items++;
    if (pending.length >= options.window) await write(await (pending.shift() as Promise<Annotation>));
  }
  for (const p of pending) await write(await p);
  if (rejects !== undefined) await new Promise<void>((resolve) => (rejects as WriteStream).end(resolve));
  return { items, rejected };
}
