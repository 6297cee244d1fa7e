/**
 * Monitoring: Prometheus metrics, rolling-window status, the dashboard and the HTTP server behind them.
 *
 * The CLI wires one {@link Monitor} per process and hands its `observer` to the cascade:
 * ```ts
 * const monitor = createMonitor({ config: config.monitor, logger, llmCostUnits: config.llm.costUnits, health: () => consumer.isRunning() });
 * const cascade = await createCascade({ task, config, logger, observer: monitor.observer });
 * const { url } = await monitor.start();   // null when monitor.httpPort is 0
 * // the stream layer reports what only it knows:
 * monitor.metrics.setConsumerLag(partition, lag);
 * monitor.metrics.deadLetter(err.kind);
 * await monitor.close();
 * ```
 */
import { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { MonitorConfig } from '../config.js';
import { CascadeMetrics } from './cascade-metrics.js';
import type { SchedulerObserver } from '../types.js';
import type { ModelPrice } from './cascade-metrics.js';
import { MonitorServer, type HealthCheck, type HealthReport } from './http-server.js';
import { SpillwayMetrics } from './metrics.js';
import type { Clock } from './rolling-window.js';
import type { Status, WorkerStatus } from './status.js';
import { StatusHistory, historyPoint } from './status-history.js';

export type { ObservedAnnotation } from './cascade-observer.js';
export type { HealthCheck, HealthReport } from './http-server.js';
export { SpillwayMetrics, type LlmCallOutcome, type CacheTier, type StageOutcome } from './metrics.js';
export { CascadeMetrics, type ModelPrice } from './cascade-metrics.js';
export type { Status, WindowStatus, StageStatus, AgreementStatus, HistoryPoint, WorkerStatus } from './status.js';
export type { WindowName } from './rolling-window.js';
export { wilsonInterval, type WilsonInterval } from '../stats/index.js';
export { renderStatusFrame, type RenderOptions } from './terminal-view.js';
export { runTerminalMonitor, type TerminalMonitorOptions } from './terminal-monitor.js';

/** Options of {@link createMonitor}. */
export interface CreateMonitorOptions {
  /** `monitor` section of the configuration: `httpPort` (0 disables the server) and `httpHost`. */
  config: MonitorConfig;
  logger: Logger;
  /** /healthz answers 503 when this reports unhealthy (false, `{ ok: false }`, or throws). @defaultValue always healthy */
  health?: HealthCheck;
  /** Cost units of one LLM call (`llm.costUnits`), to price the LLM-only run savings are measured against. @defaultValue 1000 */
  llmCostUnits?: number;
  /** The configured LLM budget (`cascade.llmBudget`): the share of items the LLM may get, shown beside the share it gets. */
  llmBudget?: number;
  /** Dollars per million prompt / completion tokens (`llm.pricePerMillion…Tokens`), for the money figures. @defaultValue 0 */
  pricePerMillionInputTokens?: number;
  pricePerMillionOutputTokens?: number;
  /** Prices of particular models (`llm.tiers`), by model name. */
  modelPrices?: Readonly<Record<string, ModelPrice>>;
  /** Overrides `config.httpPort`; 'random' lets the OS pick a free port (tests, several instances). */
  port?: number | 'random';
  /** How often a chart point is sampled into the history, ms. @defaultValue 2000 */
  historyIntervalMs?: number;
  /** Chart points kept. @defaultValue 900 (30 min at the default interval) */
  historyCapacity?: number;
  /** Export Node's process metrics too. @defaultValue true */
  processMetrics?: boolean;
  /** @defaultValue Date.now */
  now?: Clock;
  /**
   * This worker's id (`spillway run`): every metric carries it as the `worker` label, so a Prometheus over
   * several workers can show one (`{worker="…"}`) or the group (`sum without (worker) (…)`).
   */
  workerId?: string;
  /** The `worker` part of /status. */
  workerStatus?: () => WorkerStatus;
  /** Whether the LLM answers now (the service's LLM health): `spillway_llm_up` is read from it at every scrape. */
  llmUp?: () => boolean;
}

/** One process's monitoring: give `observer` to the cascade, `metrics` to the stream layer, then `start()`. */
export interface Monitor {
  /** Pass to the cascade (createCascade's `observer` option): it fits the cascade's CascadeObserver (src/cascade/observer.ts) and takes the LLM scheduler's events. */
  readonly observer: CascadeMetrics & SchedulerObserver;
  /** For the stream layer: `setConsumerLag(partition, lag)`, `deadLetter(kind)`; and the registry. */
  readonly metrics: SpillwayMetrics;
  /** The /status snapshot, also without the server (e.g. for a final report). */
  status(): Status;
  /**
   * Serves /metrics, /status, /status/history, /healthz and the dashboard on `httpHost:httpPort`.
   * Resolves with the base URL, or `{ url: null }` when the port is 0 (disabled). Rejects when the port is taken.
   */
  start(): Promise<{ url: string | null }>;
  /** Stops the server and the history sampler. Idempotent. */
  close(): Promise<void>;
}

/** Creates the metrics registry, the cascade observer and (on start) the HTTP server. */
export function createMonitor(options: CreateMonitorOptions): Monitor {
  const now = options.now ?? Date.now;
  const registry = new Registry();
  if (options.workerId !== undefined) registry.setDefaultLabels({ worker: options.workerId });
  const metrics = new SpillwayMetrics(registry, { defaultMetrics: options.processMetrics ?? true });
  if (options.llmUp !== undefined) metrics.setLlmUpSource(options.llmUp);
  const observer = new CascadeMetrics({
    metrics,
    logger: options.logger,
    llmCostUnits: options.llmCostUnits,
    ...(options.llmBudget === undefined ? {} : { llmBudget: options.llmBudget }),
    now,
    pricePerMillionInputTokens: options.pricePerMillionInputTokens ?? 0,
    pricePerMillionOutputTokens: options.pricePerMillionOutputTokens ?? 0,
    ...(options.modelPrices === undefined ? {} : { modelPrices: options.modelPrices }),
  });
  const history = new StatusHistory(options.historyCapacity ?? 900);
  const intervalMs = options.historyIntervalMs ?? 2_000;
  const port = options.port === 'random' ? 0 : (options.port ?? options.config.httpPort);
  const enabled = options.port === 'random' || port !== 0;
  let server: MonitorServer | undefined;
  let timer: NodeJS.Timeout | undefined;
  const workerStatus = options.workerStatus;
  const status = (): Status => (workerStatus === undefined ? observer.status() : { ...observer.status(), worker: workerStatus() });
  const sample = (): void => history.push(historyPoint(observer.status(), now()));

  return {
    observer,
    metrics,
    status,
    async start() {
      if (!enabled) return { url: null };
      if (server !== undefined) throw new Error('monitor already started');
      const created = new MonitorServer({
        host: options.config.httpHost,
        port,
        logger: options.logger,
        metrics: () => metrics.text(),
        metricsContentType: registry.contentType,
        status,
        history: (sinceMs) => history.since(sinceMs),
        health: async (): Promise<HealthReport> => {
          const base = options.health === undefined ? true : await options.health();
          const report: HealthReport = typeof base === 'boolean' ? { ok: base } : base;
          const degraded = observer.degraded();
          return report.ok && degraded !== undefined ? { ...report, degraded } : report;
        },
        ...(options.config.authToken === undefined ? {} : { authToken: options.config.authToken }),
        ...(options.config.allowedHosts === undefined ? {} : { allowedHosts: options.config.allowedHosts }),
        ...(options.config.allowUnauthenticated === undefined ? {} : { allowUnauthenticated: options.config.allowUnauthenticated }),
      });
      const started = await created.start();
      server = created;
      sample();
      // The sampler must not keep a finished process alive.
      timer = setInterval(sample, intervalMs).unref();
      return started;
    },
    async close() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await server?.close();
      server = undefined;
    },
  };
}
