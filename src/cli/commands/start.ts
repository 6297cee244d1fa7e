/**
 * `spillway start`: the embedded mode (src/app/embedded-service.ts). The cascade over a JSONL stream (a file or
 * stdin) to JSONL (a file or stdout), with no Kafka and no Redis; live counts and deferral rates on stderr; the monitoring endpoints on
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
import { fstatSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Command } from 'commander';
import { createServiceContext, createEmbeddedService, Lifecycle } from '../../app/index.js';
import { llmTotals } from '../../cascade/index.js';
import { ReplacingFile } from '../../stream/index.js';
import { terminalFetchProgress } from '../fetch-progress.js';
import { LiveLine } from '../live-line.js';
import { parseInteger, parseNumber, parseQualityFlag, parseShare, QUALITY_HELP } from './options.js';

interface StartFlags {
  input?: string;
  output?: string;
  rejects?: string;
  task?: string;
  config?: string;
  llmBudget?: number;
  quality?: string[];
  qualityDelta?: number;
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
    .option('--llm-budget <share>', 'target share of items sent to the LLM (with --quality: a cap)', parseNumber)
    .option('--quality <targets>', QUALITY_HELP, parseQualityFlag)
    .option('--quality-delta <d>', 'allowed probability of a window that misses a quality target (default 0.05)', parseShare)
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
      // A person at a terminal: annotations to a file, quieter logs, the live line and the URL first.
      const tty = process.stdout.isTTY === true && flags.output === undefined;
      const context = createServiceContext({
        file: flags.config,
        flags: {
          task: flags.task,
          cascade: { llmBudget: flags.llmBudget },
          quality: { targets: flags.quality, delta: flags.qualityDelta },
          monitor: { httpPort: flags.httpPort },
        },
        ...(tty ? { quietLevel: 'warn' as const } : {}),
      });
      const { config, logger } = context;
      const demo = flags.input === undefined && !stdinHasData();
      const outputPath = flags.output ?? (tty ? TTY_OUTPUT_FILE : undefined);
      const lifecycle = new Lifecycle({ logger, graceMs: config.kafka.shutdownTimeoutMs });
      try {
        const service = await createEmbeddedService({
          context,
          lifecycle,
          demo,
          resetModels: flags.resetModels === true,
          onEncoderFetch: terminalFetchProgress('the e5-small sentence encoder (once)'),
        });
        const url = await service.serve();
        if (tty)
          process.stderr.write(
            ttyHeader({ demo, items: flags.demoItems, url, outputPath: outputPath as string, authToken: config.monitor.authToken !== undefined }),
          );
        lifecycle.install();
        await service.checkLlm();
        // The previous output file stays until this run has an annotation to write (then it is replaced whole).
        const output: Writable = outputPath === undefined ? process.stdout : new ReplacingFile(outputPath);
        const rejectsPath = flags.rejects ?? (outputPath === undefined ? 'spillway-rejects.jsonl' : `${outputPath}.rejects.jsonl`);
        const rate = flags.rate ?? (tty && demo ? TTY_DEMO_RATE : undefined);
        const source = service.entries({ file: flags.input, demoItems: flags.demoItems, maxLineBytes: flags.maxLineBytes, rate });
        const live = new LiveLine(service.cascade, process.stderr);
        const summary = await service.run(source, {
          output,
          rejectsPath,
          onRejected: (n) => (live.rejected = n),
          ordered: flags.unordered !== true,
        });
        // A signal before the input ended: the run is incomplete, and says so in its exit code (130 for Ctrl-C).
        const interruptedBy = lifecycle.stoppedBy;
        live.stop();
        if (output instanceof ReplacingFile) {
          output.keepPreviousIfEmpty = interruptedBy !== undefined;
          output.end();
          await finished(output);
        }
        if (flags.save) await service.save();
        logger.info(
          {
            ...summary,
            budget: service.cascade.budgetStatus,
            llm: llmTotals(service.cascade.counters),
            rejectsFile: summary.rejected > 0 ? rejectsPath : undefined,
          },
          'stream done',
        );
        if (interruptedBy !== undefined) {
          process.exitCode = interruptedExitCode(interruptedBy);
          logger.warn(
            { signal: interruptedBy, items: summary.items, exitCode: process.exitCode },
            'interrupted before the end of the input: the output holds the items answered so far',
          );
        }
        if ((flags.serve ?? tty) && url !== null && !lifecycle.stopping) {
          logger.info({ url }, 'input ended; still serving the endpoints (Ctrl-C to stop)');
          if (tty) process.stderr.write(`input done (${summary.items} items → ${outputPath as string}); the dashboard stays at ${url} until Ctrl-C\n`);
          await lifecycle.stopped();
        }
      } finally {
        await lifecycle.close();
      }
    });
}

/** The shell's code for a run a signal ended: 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM). */
function interruptedExitCode(signal: NodeJS.Signals | 'stop'): number {
  return signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 1;
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
