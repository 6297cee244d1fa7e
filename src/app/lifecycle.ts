/**
 * One lifecycle per service: the single SIGINT/SIGTERM handler, the grace period, and the order things close.
 *
 * The first signal aborts `signal` (stop reading input) and runs the stop hooks (leave the consumer group).
 * In-flight work then has `graceMs`; when it ends the grace hooks run (abort the LLM calls still out, so the
 * small stages answer them, flagged). `marginMs` after that the process exits 1 whatever is stuck: a hung
 * dependency never keeps a stopped service alive. A second signal exits at once with 130, as shells expect.
 * `close()` closes the adopted resources in reverse order of adoption (the monitor before the cache it reads,
 * …), logs each failure, and removes the handlers.
 */
import type { Logger } from './logger.js';

/** Time allowed after the grace period to leave the group, disconnect and save, before a forced exit. */
export const SHUTDOWN_MARGIN_MS = 5_000;

/** What the lifecycle needs of `process`; a test passes an EventEmitter and a recording `exit`. */
export interface SignalSource {
  on(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): void;
}

export interface LifecycleOptions {
  logger: Logger;
  /** Time in-flight work gets after the first signal, ms (`kafka.shutdownTimeoutMs`). */
  graceMs: number;
  /** Time after the grace period before the forced exit, ms. @defaultValue SHUTDOWN_MARGIN_MS */
  marginMs?: number;
  /** @defaultValue process */
  signals?: SignalSource;
}

type Hook = () => unknown;

export class Lifecycle {
  private readonly controller = new AbortController();
  private readonly logger: Logger;
  private readonly graceMs: number;
  private readonly marginMs: number;
  private readonly signals: SignalSource;
  private readonly stopHooks: Hook[] = [];
  private readonly graceHooks: Hook[] = [];
  private readonly resources: Array<{ name: string; close: () => Promise<unknown> | unknown }> = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly onSignal = (signal: NodeJS.Signals): void => this.stop(signal);
  private installed = false;
  private reason: NodeJS.Signals | 'stop' | undefined;
  private closed = false;

  constructor(options: LifecycleOptions) {
    this.logger = options.logger;
    this.graceMs = options.graceMs;
    this.marginMs = options.marginMs ?? SHUTDOWN_MARGIN_MS;
    this.signals = options.signals ?? process;
  }

  /** Aborted on the first signal (or `stop()`): stop taking input. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopping(): boolean {
    return this.controller.signal.aborted;
  }

  /** What started the shutdown: the signal, `'stop'` for a call of {@link stop}, undefined while running. */
  get stoppedBy(): NodeJS.Signals | 'stop' | undefined {
    return this.reason;
  }

  /** Handles SIGINT and SIGTERM from now until `close()`. Idempotent. */
  install(): this {
    if (this.installed || this.closed) return this;
    this.installed = true;
    this.signals.on('SIGINT', this.onSignal);
    this.signals.on('SIGTERM', this.onSignal);
    return this;
  }

  /** Runs on the first signal, in registration order (runs at once if already stopping). */
  onStop(hook: Hook): void {
    if (this.stopping) void runHook(hook, this.logger, 'stop hook');
    else this.stopHooks.push(hook);
  }

  /** Runs when the grace period after the first signal ends and work is still in flight. */
  onGraceEnd(hook: Hook): void {
    this.graceHooks.push(hook);
  }

  /** A resource `close()` closes, after the ones adopted later. Returns it. */
  adopt<T>(name: string, resource: T, close: (resource: T) => Promise<unknown> | unknown): T {
    this.resources.push({ name, close: () => close(resource) });
    return resource;
  }

  /** Starts the shutdown as a signal would (a second call, or a second signal, exits 130). */
  stop(signal: NodeJS.Signals | 'stop' = 'stop'): void {
    if (this.stopping) {
      if (signal === 'stop') return;
      this.logger.warn({ signal }, 'second signal: exiting now');
      this.logger.flush();
      this.signals.exit(130);
      return;
    }
    this.logger.info({ signal }, 'stopping: no more input is read');
    this.reason = signal;
    this.controller.abort();
    for (const hook of this.stopHooks) void runHook(hook, this.logger, 'stop hook');
    this.timers.push(
      setTimeout(() => {
        for (const hook of this.graceHooks) void runHook(hook, this.logger, 'grace hook');
      }, this.graceMs).unref(),
      setTimeout(() => {
        this.logger.error({ shutdownTimeoutMs: this.graceMs }, 'shutdown did not finish in time; exiting');
        this.logger.flush();
        this.signals.exit(1);
      }, this.graceMs + this.marginMs).unref(),
    );
  }

  /** Resolves on the first signal (serving until Ctrl-C). */
  stopped(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => this.signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  /**
   * Closes the adopted resources, newest first, each once; returns the first failure (already logged) so the
   * command can exit non-zero. Then the timers and the signal handlers go.
   */
  async close(): Promise<unknown> {
    let failure: unknown;
    while (this.resources.length > 0) {
      const { name, close } = this.resources.pop() as (typeof this.resources)[number];
      try {
        await close();
      } catch (err: unknown) {
        this.logger.error({ err, resource: name }, `closing ${name} failed`);
        failure ??= err;
      }
    }
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    if (this.installed) {
      this.signals.off('SIGINT', this.onSignal);
      this.signals.off('SIGTERM', this.onSignal);
      this.installed = false;
    }
    this.logger.flush();
    return failure;
  }
}

async function runHook(hook: Hook, logger: Logger, what: string): Promise<void> {
  try {
    await hook();
  } catch (err: unknown) {
    logger.error({ err }, `${what} failed`);
  }
}
