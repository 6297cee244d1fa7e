/**
 * `spillway start`: the embedded mode. The cascade over a JSONL stream (a file or stdin) to JSONL (a file or
 * stdout), with no Kafka and no Redis; live counts and deferral rates on stderr; the monitoring endpoints on
 * --http-port. With no input it runs the built-in demo stream and its simulated teacher.
 *
 * Before reading, the LLM endpoint is checked (llm-check.ts). Lines longer than --max-line-bytes are rejected
 * without being held in memory. SIGINT/SIGTERM stop reading at once; in-flight items get
 * kafka.shutdownTimeoutMs, then their LLM calls are aborted (the small stages answer, flagged `llmFailed`),
 * and the process ends at the latest SHUTDOWN_MARGIN_MS later whatever is stuck.
 *
 * On a terminal (stdout a TTY, no --output) it is made for a person: annotations go to a file (its path
 * printed first, with the dashboard URL), info logs are quieted to warnings so the live line stays readable,
 * the demo is paced (--rate) so the dashboard's charts move, and the endpoints are served until Ctrl-C.
 * Piped, it writes JSONL to stdout and exits at the end of the input, as before.
 */
import { createReadStream, createWriteStream, fstatSync, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { createCache } from '../../cache/index.js';
import type { Annotation, Cascade, Item } from '../../cascade/index.js';
import { loadConfig } from '../../config.js';
import { demoItems, DEMO_TASK, SimulatedTeacher } from '../../demo/index.js';
import { createMonitor } from '../../monitor/index.js';
import { DEFAULT_MAX_LINE_BYTES, readJsonlItems, type JsonlEntry } from '../../stream/index.js';
import { buildCascade } from '../build-cascade.js';
import { checkLlm } from '../llm-check.js';
import { SHUTDOWN_MARGIN_MS } from './run.js';
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
  unordered?: boolean;
  resetModels?: boolean;
  maxLineBytes?: number;
  rate?: number;
}

/** Where annotations go when stdout is a terminal and no --output is given. */
export const TTY_OUTPUT_FILE = 'spillway-annotations.jsonl';
/** Demo items per second on a terminal: 3,000 items take a minute, long enough to watch the charts. */
const TTY_DEMO_RATE = 50;

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
    .option('--unordered', 'write each annotation as soon as it is ready instead of in input order')
    .option('--no-save', 'do not save the learned state to the models folder at the end')
    .option('--reset-models', 'set corrupt or unusable saved model state aside (renamed) and start fresh')
    .option(
      '--max-line-bytes <n>',
      'longest input line accepted, bytes; longer lines are rejected (oversize) and skipped (default: max(1 MiB, 8 × kafka.maxTextBytes))',
      parseInteger,
    )
    .option('--rate <n>', `items per second at most (default: as fast as possible; the demo on a terminal: ${TTY_DEMO_RATE})`, parseNumber)
    .action(async (flags: StartFlags) => {
      const config = loadConfig({
        file: flags.config,
        flags: { task: flags.task, cascade: { llmBudget: flags.llmBudget }, monitor: { httpPort: flags.httpPort } },
      });
      // A person at a terminal: annotations to a file, quieter logs, the live line and the URL first.
      const tty = process.stdout.isTTY === true && flags.output === undefined;
      const logger = createRootLogger(tty && config.logLevel === 'info' ? 'warn' : config.logLevel, { secrets: [config.llm.apiKey] });
      const demo = flags.input === undefined && !stdinHasData();
      const outputPath = flags.output ?? (tty ? TTY_OUTPUT_FILE : undefined);
      const rate = flags.rate ?? (tty && demo ? TTY_DEMO_RATE : undefined);
      const monitor = createMonitor({
        config: config.monitor,
        logger,
        llmCostUnits: config.llm.costUnits,
        pricePerMillionInputTokens: config.llm.pricePerMillionInputTokens,
        pricePerMillionOutputTokens: config.llm.pricePerMillionOutputTokens,
      });
      // cache.enabled applies here as in `run` (L1 in process; the Redis tier too unless cache.redisTier is false).
      const cache = config.cache.enabled ? createCache(config, logger) : undefined;
      const built = await buildCascade(config, logger, {
        observer: monitor.observer,
        ...(cache === undefined ? {} : { cache }),
        allowNoLlm: true,
        resetModels: flags.resetModels === true,
        ...(demo ? { teacher: new SimulatedTeacher(), task: DEMO_TASK, restore: false } : {}),
      });
      if (demo)
        logger.info(
          { items: flags.demoItems, teacher: 'simulated keyword rule, not an LLM' },
          'no input given: running the built-in demo stream with a SIMULATED teacher',
        );
      const { url } = await monitor.start();
      if (url !== null) logger.info({ url }, 'dashboard and metrics served');
      if (tty)
        process.stderr.write(
          ttyHeader({ demo, items: flags.demoItems, url, outputPath: outputPath as string, authToken: config.monitor.authToken !== undefined }),
        );

      const stopping = new AbortController();
      const timers: NodeJS.Timeout[] = [];
      const onSignal = (signal: NodeJS.Signals): void => {
        if (stopping.signal.aborted) {
          logger.warn({ signal }, 'second signal: exiting now');
          process.exit(130);
        }
        logger.info({ signal }, 'stopping: no more input is read');
        stopping.abort();
        const graceMs = config.kafka.shutdownTimeoutMs;
        // In-flight items get the grace period; then their LLM calls are aborted (the small stages answer).
        timers.push(setTimeout(() => built.cascade.stop(), graceMs).unref());
        timers.push(
          setTimeout(() => {
            logger.error({ shutdownTimeoutMs: graceMs }, 'shutdown did not finish in time; exiting');
            logger.flush();
            process.exit(1);
          }, graceMs + SHUTDOWN_MARGIN_MS).unref(),
        );
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      if (!demo) await checkLlm(built.teacher, config.llm, logger, stopping.signal);
      const output: Writable = outputPath === undefined ? process.stdout : createWriteStream(outputPath);
      const rejectsPath = flags.rejects ?? (outputPath === undefined ? 'spillway-rejects.jsonl' : `${outputPath}.rejects.jsonl`);
      const input = demo
        ? demoEntries(flags.demoItems)
        : readJsonlItems(
            flags.input === undefined || flags.input === '-' ? process.stdin : createReadStream(flags.input),
            config.kafka.maxTextBytes,
            flags.maxLineBytes ?? Math.max(DEFAULT_MAX_LINE_BYTES, 8 * config.kafka.maxTextBytes),
            stopping.signal,
          );
      const source = rate === undefined ? input : paced(input, rate, stopping.signal);
      const live = new LiveLine(built.cascade, process.stderr);
      const summary = await runEmbedded(built.cascade, source, {
        output,
        rejectsPath,
        logger,
        live,
        signal: stopping.signal,
        window: config.pipeline.maxInFlight,
        ordered: flags.unordered !== true,
      });
      live.stop();
      if (output !== process.stdout) await new Promise<void>((resolve) => (output as WriteStream).end(resolve));
      if (flags.save && !demo) await built.cascade.save();
      logger.info({ ...summary, budget: built.cascade.budgetStatus, rejectsFile: summary.rejected > 0 ? rejectsPath : undefined }, 'stream done');
      if ((flags.serve ?? tty) && url !== null && !stopping.signal.aborted) {
        logger.info({ url }, 'input ended; still serving the endpoints (Ctrl-C to stop)');
        if (tty) process.stderr.write(`input done (${summary.items} items → ${outputPath as string}); the dashboard stays at ${url} until Ctrl-C\n`);
        await new Promise<void>((resolve) => stopping.signal.addEventListener('abort', () => resolve(), { once: true }));
      }
      await monitor.close();
      await cache?.close();
      for (const timer of timers) clearTimeout(timer);
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

/** The first lines a person sees on a terminal. */
function ttyHeader(o: { demo: boolean; items: number; url: string | null; outputPath: string; authToken: boolean }): string {
  const lines = [
    o.demo ? `Spillway demo: ${o.items} synthetic reviews, a SIMULATED teacher (a keyword rule, not an LLM)` : 'Spillway: the cascade over your JSONL stream',
    `  dashboard    ${o.url === null ? 'off (--http-port 0)' : `${o.url}/${o.authToken ? '?token=<monitor.authToken>' : ''}`}`,
    `  annotations  ${o.outputPath}`,
    '  Ctrl-C stops; logs below are warnings only (set logLevel: debug for more)',
    '',
  ];
  return `${lines.join('\n')}\n`;
}

/** Passes entries on at most `perSecond`, paced over the whole run (short stalls are caught up). */
async function* paced<T>(source: AsyncIterable<T>, perSecond: number, signal: AbortSignal): AsyncGenerator<T> {
  const startMs = Date.now();
  let n = 0;
  for await (const entry of source) {
    const aheadMs = (n / perSecond) * 1000 - (Date.now() - startMs);
    if (aheadMs > 0 && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, aheadMs));
    n++;
    yield entry;
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
  /** Items in flight at once (`pipeline.maxInFlight`): a memory bound, not the LLM's concurrency. */
  window: number;
  /** Write annotations in input order (an LLM-bound item holds back the ones after it, not their processing). @defaultValue true */
  ordered?: boolean;
}

/**
 * Streams entries through the cascade, writing annotations (in input order unless `ordered` is false) and
 * rejected lines to the rejects file. Up to `window` items are in flight: the small stages answer most of
 * them at once while LLM-bound ones wait for the scheduler.
 */
export async function runEmbedded(cascade: Cascade, source: AsyncIterable<JsonlEntry>, options: EmbeddedOptions): Promise<{ items: number; rejected: number }> {
  if (options.ordered === false) return runUnordered(cascade, source, options);
  const pending: Array<Promise<Annotation>> = [];
  let items = 0;
  const write = async (a: Annotation): Promise<void> => {
    if (!options.output.write(`${JSON.stringify(a)}\n`)) await new Promise((resolve) => options.output.once('drain', resolve));
  };
  const reject = rejecter(options);
  for await (const entry of source) {
    if (options.signal.aborted) break;
    if ('error' in entry) {
      reject(entry);
      continue;
    }
    const item: Item = entry.item;
    pending.push(cascade.process(item));
    items++;
    // Only the head is awaited: items behind it keep being processed, up to the window.
    if (pending.length >= options.window) await write(await (pending.shift() as Promise<Annotation>));
  }
  for (const p of pending) await write(await p);
  return { items, rejected: await reject.close() };
}

/** As runEmbedded, each annotation written when it is ready. */
async function runUnordered(cascade: Cascade, source: AsyncIterable<JsonlEntry>, options: EmbeddedOptions): Promise<{ items: number; rejected: number }> {
  let items = 0;
  let inFlight = 0;
  let freed: (() => void) | undefined;
  let writing: Promise<void> = Promise.resolve();
  const write = (a: Annotation): void => {
    // Writes are chained so that backpressure from the output is honoured in order.
    writing = writing.then(() =>
      options.output.write(`${JSON.stringify(a)}\n`) ? undefined : new Promise((resolve) => options.output.once('drain', resolve)),
    );
  };
  const done = (a: Annotation): void => {
    write(a);
    inFlight--;
    freed?.();
  };
  const reject = rejecter(options);
  let failure: unknown;
  for await (const entry of source) {
    if (options.signal.aborted || failure !== undefined) break;
    if ('error' in entry) {
      reject(entry);
      continue;
    }
    inFlight++;
    items++;
    cascade.process(entry.item).then(done, (err: unknown) => {
      failure ??= err;
      inFlight--;
      freed?.();
    });
    while (inFlight >= options.window) await new Promise<void>((resolve) => (freed = resolve));
  }
  while (inFlight > 0) await new Promise<void>((resolve) => (freed = resolve));
  await writing;
  if (failure !== undefined) throw failure;
  return { items, rejected: await reject.close() };
}

/** Writes rejected lines to the rejects file (opened on the first one) and counts them. */
function rejecter(options: EmbeddedOptions): ((entry: Extract<JsonlEntry, { error: unknown }>) => void) & { close(): Promise<number> } {
  let rejects: WriteStream | undefined;
  let rejected = 0;
  const reject = (entry: Extract<JsonlEntry, { error: unknown }>): void => {
    rejected++;
    options.logger.warn({ line: entry.line, kind: entry.error.kind, reason: entry.error.message }, 'line rejected');
    rejects ??= createWriteStream(options.rejectsPath, { flags: 'a' });
    rejects.write(`${JSON.stringify({ line: entry.line, kind: entry.error.kind, reason: entry.error.message, raw: entry.raw })}\n`);
    options.live.rejected = rejected;
  };
  return Object.assign(reject, {
    close: async (): Promise<number> => {
      if (rejects !== undefined) await new Promise<void>((resolve) => (rejects as WriteStream).end(resolve));
      return rejected;
    },
  });
}
