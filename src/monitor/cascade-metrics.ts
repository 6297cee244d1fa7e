/**
 * The monitor's cascade observer (it fits src/cascade/observer.ts structurally): turns each cascade event into Prometheus metrics and rolling-window
 * counts, and builds the /status snapshot from those counts. Per item it increments pre-bound counters and a
 * handful of windowed counters with one clock read; everything derived (rates, Wilson bands) is computed when
 * somebody asks.
 */
import type { Logger } from 'pino';
import { LlmHttpError, LlmTimeoutError, RetriesExhaustedError } from '../errors.js';
import { cacheTierOf, llmLabelOf } from '../types.js';
import type { SchedulerObserver } from '../types.js';
import type { ObservedAnnotation } from './cascade-observer.js';
import type { AgreementKind, CacheTier, LiveValues, SpillwayMetrics } from './metrics.js';
import { WINDOWS, WindowedCounter, type Clock, type WindowName } from './rolling-window.js';
import type { AgreementStatus, Status, StageStatus, WindowStatus } from './status.js';
import { wilsonInterval, type WilsonInterval } from '../stats/index.js';
import type { QualityStatus } from '../quality/index.js';
import { QualityMetrics } from './quality-metrics.js';

/** Dollars per million prompt and completion tokens of one model. */
export interface ModelPrice {
  pricePerMillionInputTokens: number;
  pricePerMillionOutputTokens: number;
}

/** Options of {@link CascadeMetrics}. */
export interface CascadeMetricsOptions {
  metrics: SpillwayMetrics;
  logger: Logger;
  /** Cost units of one LLM call, to price the LLM-only run. @defaultValue 1000 (as `llm.costUnits`) */
  llmCostUnits?: number;
  /** The configured LLM budget (`cascade.llmBudget`), a share of items; unknown when absent. */
  llmBudget?: number;
  /** Dollars per million prompt tokens (`llm.pricePerMillionInputTokens`). @defaultValue 0 */
  pricePerMillionInputTokens?: number;
  /** Dollars per million completion tokens. @defaultValue 0 */
  pricePerMillionOutputTokens?: number;
  /** Prices of particular models (`llm.tiers`), by model name; other models cost the prices above. */
  modelPrices?: Readonly<Record<string, ModelPrice>>;
  /** @defaultValue Date.now */
  now?: Clock;
}

const WINDOW_SECONDS: Record<WindowName, number> = { '1m': 60, '15m': 900, all: Number.POSITIVE_INFINITY };
/** Log a model's version at info on its first update and every this many; the rest at debug (models learn per item). */
const MODEL_LOG_EVERY = 1_000;
/** Log a budget change at info when the threshold moved at least this much since the last logged value. */
const BUDGET_LOG_STEP = 0.05;

interface StageCounters {
  reached: WindowedCounter;
  deferred: WindowedCounter;
  checks: Record<AgreementKind, { agree: WindowedCounter; n: WindowedCounter }>;
}

/** Observes the cascade: Prometheus metrics plus the windowed counts behind /status. */
export class CascadeMetrics implements SchedulerObserver, LiveValues {
  readonly startedAtMs: number;
  private readonly metrics: SpillwayMetrics;
  private readonly log: Logger;
  private readonly now: Clock;
  private readonly llmCostUnits: number;
  private readonly stages = new Map<string, StageCounters>();
  private readonly items: WindowedCounter;
  private readonly llmCalls: WindowedCounter;
  private readonly llmAnswers: WindowedCounter;
  private readonly audits: WindowedCounter;
  private readonly unparseable: WindowedCounter;
  private readonly llmErrors: WindowedCounter;
  private readonly cacheHits: WindowedCounter;
  private readonly cost: WindowedCounter;
  private readonly llmOnlyCost: WindowedCounter;
  private readonly promptTokens: WindowedCounter;
  private readonly completionTokens: WindowedCounter;
  private readonly dollars: WindowedCounter;
  private readonly deadlineMisses: WindowedCounter;
  private readonly inputPrice: number;
  private readonly outputPrice: number;
  private readonly modelPrices: Readonly<Record<string, ModelPrice>>;
  private readonly reasonChildren = new Map<string, { inc(): void }>();
  /** Annotations by reason, windowed: where the answers came from (an operator sees `cold` or `deadline` at once). */
  private readonly reasons = new Map<string, WindowedCounter>();
  private readonly modelVersions: Record<string, number> = {};
  private budget: Status['budget'];
  private lastLoggedThreshold = Number.NaN;
  /** The quality targets' gauges and standing (created at the first report: only with targets). */
  private quality: QualityMetrics | undefined;

  constructor(options: CascadeMetricsOptions) {
    this.metrics = options.metrics;
    this.log = options.logger.child({ module: 'monitor' });
    this.now = options.now ?? Date.now;
    this.llmCostUnits = options.llmCostUnits ?? 1000;
    this.startedAtMs = this.now();
    this.items = this.counter();
    this.llmCalls = this.counter();
    this.llmAnswers = this.counter();
    this.audits = this.counter();
    this.unparseable = this.counter();
    this.llmErrors = this.counter();
    this.cacheHits = this.counter();
    this.cost = this.counter();
    this.llmOnlyCost = this.counter();
    this.promptTokens = this.counter();
    this.completionTokens = this.counter();
    this.dollars = this.counter();
    this.deadlineMisses = this.counter();
    this.inputPrice = (options.pricePerMillionInputTokens ?? 0) / 1e6;
    this.outputPrice = (options.pricePerMillionOutputTokens ?? 0) / 1e6;
    this.modelPrices = options.modelPrices ?? {};
    this.budget = { target: options.llmBudget ?? null, threshold: null, llmShare: null };
    if (options.llmBudget !== undefined) this.metrics.budgetTargetShare.set(options.llmBudget);
    this.metrics.bindLiveValues(this);
  }

  onAnnotation(a: ObservedAnnotation): void {
    const t = this.now();
    const m = this.metrics;
    this.items.add(1, t);
    const llmLabel = llmLabelOf(a) ?? -1;
    // An audit checks the answer of the first small stage that kept the item (the one that would have answered).
    let auditPending = a.audited;
    for (const trace of a.stages) {
      const children = m.stage(trace.stage);
      const counters = this.stageCounters(trace.stage);
      counters.reached.add(1, t);
      if (trace.deferred) {
        children.deferred.inc();
        counters.deferred.add(1, t);
      } else {
        children.answered.inc();
      }
      if (trace.stage === 'llm' || llmLabel < 0 || trace.labelId < 0) continue;
      const agree = trace.labelId === llmLabel;
      this.check(trace.stage, 'overall', agree, t);
      if (auditPending && !trace.deferred) {
        auditPending = false;
        this.check(trace.stage, 'audited', agree, t);
      }
    }
    const answering = m.stage(a.answeredBy);
    answering.answers.inc();
    answering.itemSeconds.observe(a.latencyMs / 1000);
    if (a.llmCalled) {
      // A failed call was counted as an 'error' outcome by onLlmError.
      if (a.llmFailed !== true) m.llmCalls[a.audited ? 'audit' : a.llmUnparseable ? 'unparseable' : 'ok'].inc();
      m.cacheMisses.inc();
      this.llmCalls.add(1, t);
      if (a.audited) this.audits.add(1, t);
      if (a.llmUnparseable) this.unparseable.add(1, t);
    } else {
      const tier: CacheTier | undefined = cacheTierOf(a.llmSource);
      if (tier !== undefined) {
        m.cacheHits[tier].inc();
        this.cacheHits.add(1, t);
      }
    }
    if (a.llmSource !== 'none' && a.llmFailed !== true) this.llmAnswers.add(1, t);
    if (a.reason !== undefined) {
      this.reasonChild(a.reason).inc();
      this.reasonCounter(a.reason).add(1, t);
    }
    m.costUnits.inc(a.costUnits);
    m.llmOnlyCostUnits.inc(this.llmCostUnits);
    this.cost.add(a.costUnits, t);
    this.llmOnlyCost.add(this.llmCostUnits, t);
  }

  onModelUpdate(stage: string, version: number): void {
    const children = this.metrics.stage(stage);
    children.modelUpdates.inc();
    children.modelVersion.set(version);
    const first = this.modelVersions[stage] === undefined;
    this.modelVersions[stage] = version;
    if (first || version % MODEL_LOG_EVERY === 0) this.log.info({ stage, version }, 'model updated');
    else if (this.log.isLevelEnabled('debug')) this.log.debug({ stage, version }, 'model updated');
  }

  onQualityStatus(status: QualityStatus): void {
    this.quality ??= new QualityMetrics(this.metrics.registry, this.log);
    this.quality.onStatus(status);
  }

  /** Why the service is degraded though healthy (a quality target not held), or undefined. */
  degraded(): string | undefined {
    return this.quality?.degraded();
  }

  onBudgetChange(threshold: number, llmShare: number): void {
    this.metrics.budgetThreshold.set(threshold);
    this.metrics.budgetLlmShare.set(llmShare);
    this.budget = { ...this.budget, threshold, llmShare };
    if (!(Math.abs(threshold - this.lastLoggedThreshold) < BUDGET_LOG_STEP)) {
      this.lastLoggedThreshold = threshold;
      this.log.info({ threshold, llmShare }, 'budget threshold changed');
    }
  }

  onLlmError(err: unknown): void {
    this.metrics.llmError(errorKind(err));
    this.llmErrors.add(1);
  }

  onModelSave(ok: boolean, err?: unknown): void {
    if (ok) {
      this.metrics.modelSaves.ok.inc();
      this.metrics.modelLastSave.set(this.now() / 1000);
    } else {
      this.metrics.modelSaves.failed.inc();
      // Logged at error by whoever asked for the save; here it is counted.
      if (this.log.isLevelEnabled('debug')) this.log.debug({ err }, 'model state save failed');
    }
  }

  onLlmAvailability(up: boolean): void {
    this.metrics.llmUp.set(up ? 1 : 0);
  }

  onLlmLatency(seconds: number): void {
    this.metrics.llmSeconds.observe(seconds);
  }

  onLlmUsage(promptTokens: number, completionTokens: number, model?: string): void {
    const t = this.now();
    const price = model === undefined ? undefined : this.priceOf(model);
    const dollars =
      price === undefined
        ? promptTokens * this.inputPrice + completionTokens * this.outputPrice
        : (promptTokens * price.pricePerMillionInputTokens + completionTokens * price.pricePerMillionOutputTokens) / 1e6;
    this.metrics.llmTokens.prompt.inc(promptTokens);
    this.metrics.llmTokens.completion.inc(completionTokens);
    if (dollars > 0) this.metrics.llmDollars.inc(dollars);
    this.promptTokens.add(promptTokens, t);
    this.completionTokens.add(completionTokens, t);
    this.dollars.add(dollars, t);
  }

  /**
   * The configured price of `model`: its own, else the longest configured name it starts with (an endpoint may
   * answer with a dated variant, `gpt-4o` → `gpt-4o-2024-08-06`).
   */
  private priceOf(model: string): ModelPrice | undefined {
    const exact = this.modelPrices[model];
    if (exact !== undefined) return exact;
    let best: string | undefined;
    for (const name of Object.keys(this.modelPrices)) if (model.startsWith(name) && name.length > (best?.length ?? 0)) best = name;
    return best === undefined ? undefined : this.modelPrices[best];
  }

  onLlmTierCall(tier: number, model: string): void {
    this.metrics.llmTierCalls.labels(String(tier), model).inc();
  }

  onColdHold(seconds: number): void {
    this.metrics.coldHeldItems.inc();
    this.metrics.coldHeldSeconds.inc(seconds);
  }

  onConcurrencyChange(limit: number, reason: string): void {
    this.metrics.llmConcurrency.set(limit);
    this.metrics.llmConcurrencyAdjustments.labels(reason).inc();
  }

  onThrottle(): void {
    this.metrics.llmThrottled.inc();
  }

  onDeadline(where: 'queued' | 'in-flight'): void {
    this.metrics.llmDeadlineMisses.labels(where).inc();
    this.deadlineMisses.add(1);
  }

  onRequest(items: number): void {
    this.metrics.llmRequests.inc();
    this.metrics.llmRequestItems.inc(items);
  }

  onHedge(event: 'sent' | 'won'): void {
    this.metrics.llmHedges.labels(event).inc();
  }

  onQueueSize(size: number): void {
    this.metrics.llmQueueItems.set(size);
  }

  private reasonChild(reason: string): { inc(): void } {
    let child = this.reasonChildren.get(reason);
    if (child === undefined) {
      child = this.metrics.annotationReasons.labels(reason);
      this.reasonChildren.set(reason, child);
    }
    return child;
  }

  /** LiveValues: deferral rate over the last minute, for the scrape-time gauge. */
  *deferralRates(): Iterable<readonly [string, number]> {
    const t = this.now();
    for (const [stage, c] of this.stages) {
      const reached = c.reached.sum('1m', t);
      if (reached > 0) yield [stage, c.deferred.sum('1m', t) / reached];
    }
  }

  /** LiveValues: each reason's share of the annotations over the last minute and quarter hour. */
  *reasonShares(): Iterable<readonly [reason: string, window: WindowName, share: number]> {
    const t = this.now();
    for (const w of ['1m', '15m'] as const) {
      const items = this.items.sum(w, t);
      if (items === 0) continue;
      for (const [reason, c] of this.reasons) yield [reason, w, c.sum(w, t) / items];
    }
  }

  /** LiveValues: agreement since start with its Wilson band, for the scrape-time gauge. */
  *agreements(): Iterable<{ stage: string; kind: AgreementKind; interval: WilsonInterval }> {
    for (const [stage, c] of this.stages) {
      for (const kind of ['audited', 'overall'] as const) {
        const interval = wilsonInterval(c.checks[kind].agree.sum('all'), c.checks[kind].n.sum('all'));
        if (interval !== null) yield { stage, kind, interval };
      }
    }
  }

  /** The /status snapshot: every window, model versions, budget, uptime. */
  status(): Status {
    const t = this.now();
    const uptimeSeconds = Math.max(0, (t - this.startedAtMs) / 1000);
    const windows = {} as Record<WindowName, WindowStatus>;
    for (const w of WINDOWS) windows[w] = this.window(w, t, Math.min(WINDOW_SECONDS[w], uptimeSeconds));
    return {
      startedAt: new Date(this.startedAtMs).toISOString(),
      uptimeSeconds,
      stageOrder: [...this.stages.keys()],
      windows,
      models: { ...this.modelVersions },
      budget: { ...this.budget },
      ...this.qualitySnapshot(),
    };
  }

  private qualitySnapshot(): Pick<Status, 'quality'> {
    const quality = this.quality?.status();
    return quality === undefined ? {} : { quality: { ...quality, llmShare: this.budget.llmShare } };
  }

  private window(w: WindowName, t: number, spanSeconds: number): WindowStatus {
    const items = this.items.sum(w, t);
    const stages: Record<string, StageStatus> = {};
    for (const [stage, c] of this.stages) {
      const reached = c.reached.sum(w, t);
      const deferred = c.deferred.sum(w, t);
      const agreement = (kind: AgreementKind): AgreementStatus => {
        const agree = c.checks[kind].agree.sum(w, t);
        const n = c.checks[kind].n.sum(w, t);
        const interval = wilsonInterval(agree, n);
        return { agree, n, estimate: interval?.estimate ?? null, lower: interval?.lower ?? null, upper: interval?.upper ?? null };
      };
      stages[stage] = {
        reached,
        answered: reached - deferred,
        deferred,
        deferralRate: ratio(deferred, reached),
        agreement: { audited: agreement('audited'), overall: agreement('overall') },
      };
    }
    const calls = this.llmCalls.sum(w, t);
    const spent = this.cost.sum(w, t);
    const llmOnly = this.llmOnlyCost.sum(w, t);
    return {
      spanSeconds,
      items,
      stages,
      llm: {
        calls,
        audits: this.audits.sum(w, t),
        unparseable: this.unparseable.sum(w, t),
        errors: this.llmErrors.sum(w, t),
        cacheHits: this.cacheHits.sum(w, t),
        share: ratio(this.llmAnswers.sum(w, t), items),
        // Over at least a minute: extrapolating the first seconds of a run would show absurd spikes.
        callsPerMinute: calls / Math.max(1, spanSeconds / 60),
        promptTokens: this.promptTokens.sum(w, t),
        completionTokens: this.completionTokens.sum(w, t),
        dollars: this.dollars.sum(w, t),
        deadlineMisses: this.deadlineMisses.sum(w, t),
      },
      cost: { spent, llmOnly, saved: llmOnly - spent, savedRatio: ratio(llmOnly - spent, llmOnly) },
      reasons: Object.fromEntries([...this.reasons].map(([reason, c]) => [reason, c.sum(w, t)])),
    };
  }

  private reasonCounter(reason: string): WindowedCounter {
    let c = this.reasons.get(reason);
    if (c === undefined) {
      c = this.counter();
      this.reasons.set(reason, c);
    }
    return c;
  }

  private check(stage: string, kind: AgreementKind, agree: boolean, t: number): void {
    const children = this.metrics.stage(stage).checks[kind];
    (agree ? children.agree : children.disagree).inc();
    const counters = this.stageCounters(stage).checks[kind];
    counters.n.add(1, t);
    if (agree) counters.agree.add(1, t);
  }

  private counter(): WindowedCounter {
    return new WindowedCounter(this.now);
  }

  private stageCounters(stage: string): StageCounters {
    let c = this.stages.get(stage);
    if (c === undefined) {
      const pair = () => ({ agree: this.counter(), n: this.counter() });
      c = { reached: this.counter(), deferred: this.counter(), checks: { audited: pair(), overall: pair() } };
      this.stages.set(stage, c);
    }
    return c;
  }
}

function ratio(numerator: number, denominator: number): number | null {
  return denominator > 0 ? numerator / denominator : null;
}

/** A short, bounded label for an LLM failure. */
function errorKind(err: unknown): string {
  const root = err instanceof RetriesExhaustedError ? err.cause : err;
  if (root instanceof LlmTimeoutError) return 'timeout';
  if (root instanceof LlmHttpError) return 'http';
  return 'other';
}
