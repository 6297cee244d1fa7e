/**
 * `spillway monitor [--url U] [--once]`: a live terminal view of a running Spillway's /status, for a shell
 * over SSH where the browser dashboard is out of reach.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { createServiceContext, Lifecycle } from '../../app/index.js';
import { runTerminalMonitor } from '../../monitor/index.js';

function parseInterval(raw: string): number {
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 100) throw new InvalidArgumentError('an integer number of ms, at least 100');
  return ms;
}

/** Registers `spillway monitor`. */
export function register(program: Command): void {
  program
    .command('monitor')
    .description('Live terminal view of a running Spillway (per-stage deferral rates, LLM calls, cost saved, agreement). q quits.')
    .option('--url <url>', 'base URL of the monitor endpoints', 'http://127.0.0.1:9464')
    .option('--once', 'print one frame and exit')
    .option('--interval <ms>', 'redraw every this many ms', parseInterval, 1000)
    .option('--config <file>', 'configuration file: monitor.authToken (or SPILLWAY_MONITOR_AUTH_TOKEN) is sent as a bearer token')
    .action(async (opts: { url: string; once?: boolean; interval: number; config?: string }) => {
      const { config, logger } = createServiceContext({ file: opts.config, quietLevel: 'warn' });
      const { authToken } = config.monitor;
      // The one signal handler: SIGINT or SIGTERM ends the live view, as q does.
      const lifecycle = new Lifecycle({ logger, graceMs: 0 }).install();
      try {
        await runTerminalMonitor({
          url: opts.url,
          once: opts.once === true,
          intervalMs: opts.interval,
          signal: lifecycle.signal,
          ...(authToken === undefined ? {} : { authToken }),
        });
      } finally {
        await lifecycle.close();
      }
    });
}
