/**
 * Every Prometheus metric Spillway exports, declared on an injected registry (never prom-client's global one,
 * so tests and several monitors in one process do not collide). Names: prefix `spillway_`, counters end in
 * `_total`, durations in `_seconds`. Labels are bounded (stage, outcome, tier, kind, partition), never ids.
 *
 * Label values are bound once: per-stage series are created the first time a stage is seen and cached, and
 * the fixed label sets (LLM outcomes, cache tiers) are bound in the constructor. Per-item counters are
 * {@link Tally}s: a plain addition on the hot path, handed to prom-client when Prometheus scrapes.
 */
import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import type { WilsonInterval } from '../stats/index.js';

/** What happened to an item at one stage. */
export type StageOutcome = 'answered' | 'deferred';
/** How an LLM call ended: a parsed answer, an answer naming no label, a failure after retries, or an audit of a small stage. */
export type LlmCallOutcome = 'ok' | 'unparseable' | 'error' | 'audit';
/** Which cache tier served an LLM answer. */
export type CacheTier = 'l1' | 'redis' | 'near';
/** Agreement with the LLM on audited items only (unbiased for kept answers), or on every item both labelled. */
export type AgreementKind = 'audited' | 'overall';

const LLM_OUTCOMES: readonly LlmCallOutcome[] = ['ok', 'unparseable', 'error', 'audit'];
const CACHE_TIERS: readonly CacheTier[] = ['l1', 'redis', 'near'];
const AGREEMENT_KINDS: readonly AgreementKind[] = ['audited', 'overall'];

/** Values derived from rolling windows, computed only when Prometheus scrapes (never per item). */
export interface LiveValues {
  /** Each stage's deferral rate over the last minute. */
  deferralRates(): Iterable<readonly [stage: string, rate: number]>;
  /** Each annotation reason's share of the items over a window ('1m', '15m'). */
  reasonShares(): Iterable<readonly [reason: string, window: string, share: number]>;
  /** Each stage's agreement with the LLM since start, with its Wilson band. */
  agreements(): Iterable<{ stage: string; kind: AgreementKind; interval: WilsonInterval }>;
}

/**
 * One counter series incremented by plain addition; the total reaches prom-client in the metric's collect(),
 * when Prometheus scrapes. Why: a bound prom-client child re-hashes and re-validates its label set on every
 * inc(), measured at 0.5 µs per call here, several calls per item.
 */
export class Tally {
  private value = 0;
  private reported = 0;

  constructor(private readonly series: { inc(n: number): void }) {
    // Export the series at 0 from the start, so Prometheus' rate() sees its first increment.
    series.inc(0);
  }

  /** Adds `n` (≥ 0). */
  inc(n = 1): void {
    this.value += n;
  }

  /** Hands prom-client what was added since the last flush. */
  flush(): void {
    const delta = this.value - this.reported;
    if (delta > 0) {
      this.series.inc(delta);
      this.reported = this.value;
    }
  }
}

/** A prom-client counter whose series are {@link Tally}s, flushed at scrape time. */
class TalliedCounter<L extends string> {
  readonly counter: Counter<L>;
  private readonly tallies: Tally[] = [];

  constructor(config: { name: string; help: string; labelNames?: readonly L[]; registers: Registry[] }) {
    const tallies = this.tallies;
    this.counter = new Counter<L>({
      ...config,
      collect() {
        for (const tally of tallies) tally.flush();
      },
    });
  }

  /** The series of these label values (in labelNames order), or the unlabelled one. */
  tally(...values: string[]): Tally {
    const tally = new Tally(values.length === 0 ? this.counter : this.counter.labels(...values));
    this.tallies.push(tally);
    return tally;
  }
}

/** The series of one stage's label value. */
export interface StageMetrics {
  readonly answered: Tally;
  readonly deferred: Tally;
  /** Items whose final answer came from this stage. */
  readonly answers: Tally;
  readonly itemSeconds: Histogram.Internal<string>;
  readonly modelUpdates: Tally;
  readonly modelVersion: Gauge.Internal<string>;
  readonly checks: Record<AgreementKind, { agree: Tally; disagree: Tally }>;
}

/** Options of {@link SpillwayMetrics}. */
export interface SpillwayMetricsOptions {
  /** Also export Node's process metrics (CPU, memory, event-loop lag) under `spillway_`. @defaultValue false */
  defaultMetrics?: boolean;
}

/**
 * Spillway's metrics on one registry. The cascade's observer ({@link CascadeMetrics}) drives most of them; the
 * stream layer calls {@link setConsumerLag} and {@link deadLetter}.
 */
export class SpillwayMetrics {
  readonly registry: Registry;
  /** Cost units spent by the cascade. */
  readonly costUnits: Tally;
  /** Cost units an LLM-only run would have spent on the same items (items × llm.costUnits): savings = this − spent. */
  readonly llmOnlyCostUnits: Tally;
  readonly llmCalls: Readonly<Record<LlmCallOutcome, Tally>>;
  readonly llmSeconds: Histogram;
  readonly cacheHits: Readonly<Record<CacheTier, Tally>>;
  readonly cacheMisses: Tally;
  readonly budgetThreshold: Gauge;
  readonly budgetLlmShare: Gauge;
  readonly budgetTargetShare: Gauge;
  /** Model-state saves by outcome (`ok`, `failed`); a failed save is an error someone must act on. */
  readonly modelSaves: Readonly<Record<'ok' | 'failed', Counter.Internal>>;
  /** Unix time of the last successful model-state save, seconds. */
  readonly modelLastSave: Gauge;
  /** 1 while the LLM answers, 0 while it is failing or stalled. */
  readonly llmUp: Gauge;
  /** LLM tokens by kind (prompt, completion), from the API's `usage`. */
  readonly llmTokens: Readonly<Record<'prompt' | 'completion', Counter.Internal>>;
  /** Money spent on LLM tokens (llm.pricePerMillion…Tokens), dollars. */
  readonly llmDollars: Counter;
  /** The LLM scheduler: concurrency limit, its adjustments, throttles, deadline misses, queue, requests. */
  readonly llmConcurrency: Gauge;
  readonly llmConcurrencyAdjustments: Counter<'reason'>;
  readonly llmThrottled: Counter;
  readonly llmDeadlineMisses: Counter<'where'>;
  readonly llmQueueItems: Gauge;
  readonly llmRequests: Counter;
  readonly llmRequestItems: Counter;
  readonly llmHedges: Counter<'event'>;
  /** With LLM tiers (`llm.tiers`): calls by tier index and model (bounded: the configured tiers). */
  readonly llmTierCalls: Counter<'tier' | 'model'>;
  readonly coldHeldItems: Counter;
  readonly coldHeldSeconds: Counter;
  /** Annotations by reason (why the LLM was or was not asked). */
  readonly annotationReasons: Counter<'reason'>;

  private readonly items: TalliedCounter<'stage' | 'outcome'>;
  private readonly answersByStage: TalliedCounter<'stage'>;
  private readonly itemDuration: Histogram<'stage'>;
  private readonly modelUpdates: TalliedCounter<'stage'>;
  private readonly modelVersion: Gauge<'stage'>;
  private readonly agreementChecks: TalliedCounter<'stage' | 'kind' | 'outcome'>;
  private readonly llmErrors: Counter<'kind'>;
  private readonly consumerLag: Gauge<'partition'>;
  private readonly deadLetters: Counter<'kind'>;
  private readonly outputsTruncated: Counter<'topic'>;
  private readonly sharedRejected: Counter<'topic' | 'kind'>;
  private readonly sharedLabelDelaySeconds: Histogram;
  private readonly stages = new Map<string, StageMetrics>();
  private readonly errorKinds = new Map<string, Counter.Internal>();
  private live: LiveValues | undefined;
  private llmUpSource: (() => boolean) | undefined;

  constructor(registry: Registry, options: SpillwayMetricsOptions = {}) {
    this.registry = registry;
    const registers = [registry];
    this.items = new TalliedCounter({
      name: 'spillway_items_total',
      help: 'Items that reached a stage, by what the stage did with them.',
      labelNames: ['stage', 'outcome'],
      registers,
    });
    this.answersByStage = new TalliedCounter({
      name: 'spillway_answers_total',
      help: 'Items whose final answer came from the stage.',
      labelNames: ['stage'],
      registers,
    });
    this.itemDuration = new Histogram({
      name: 'spillway_item_duration_seconds',
      help: 'Time from cascade entry to answer, by answering stage.',
      labelNames: ['stage'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const live = (): LiveValues | undefined => this.live;
    new Gauge({
      name: 'spillway_deferral_rate',
      help: 'Share of the items reaching a stage that it deferred, over the last minute.',
      labelNames: ['stage'],
      registers,
      collect() {
        for (const [stage, rate] of live()?.deferralRates() ?? []) this.labels(stage).set(rate);
      },
    });
    new Gauge({
      name: 'spillway_reason_share',
      help: 'Share of the annotations by reason over the last minute and quarter hour (window 1m, 15m): where the answers come from (cold, deadline, budget … included).',
      labelNames: ['reason', 'window'],
      registers,
      collect() {
        for (const [reason, window, share] of live()?.reasonShares() ?? []) this.labels(reason, window).set(share);
      },
    });
    const llmCalls = new TalliedCounter({
      name: 'spillway_llm_calls_total',
      help: 'LLM calls by outcome (audit: sent only to check a small stage).',
      labelNames: ['outcome'],
      registers,
    });
    this.llmCalls = bindAll(LLM_OUTCOMES, (o) => llmCalls.tally(o));
    this.llmSeconds = new Histogram({
      name: 'spillway_llm_request_duration_seconds',
      help: 'Wall time of one LLM call, retries included.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32],
      registers,
    });
    this.llmErrors = new Counter({
      name: 'spillway_llm_errors_total',
      help: 'LLM calls that failed after retries, by error kind.',
      labelNames: ['kind'],
      registers,
    });
    const cacheHits = new TalliedCounter({
      name: 'spillway_cache_hits_total',
      help: 'LLM answers served from the cache, by tier.',
      labelNames: ['tier'],
      registers,
    });
    this.cacheHits = bindAll(CACHE_TIERS, (t) => cacheHits.tally(t));
    this.cacheMisses = new TalliedCounter({ name: 'spillway_cache_misses_total', help: 'LLM answers that needed a call.', registers }).tally();
    this.costUnits = new TalliedCounter({
      name: 'spillway_cost_units_total',
      help: 'Cost units spent (LR 1, mid model midCostUnits, LLM call llm.costUnits).',
      registers,
    }).tally();
    this.llmOnlyCostUnits = new TalliedCounter({
      name: 'spillway_llm_only_cost_units_total',
      help: 'Cost units an LLM-only run would have spent on the same items.',
      registers,
    }).tally();
    this.consumerLag = new Gauge({ name: 'spillway_consumer_lag', help: 'Records behind the partition high watermark.', labelNames: ['partition'], registers });
    this.modelUpdates = new TalliedCounter({ name: 'spillway_model_updates_total', help: 'Training steps taken, by stage.', labelNames: ['stage'], registers });
    this.modelVersion = new Gauge({
      name: 'spillway_model_version',
      help: 'Current model version (update count), by stage.',
      labelNames: ['stage'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'spillway_dead_letter_total',
      help: 'Records sent to the dead-letter topic, by reason.',
      labelNames: ['kind'],
      registers,
    });
    this.outputsTruncated = new Counter({
      name: 'spillway_outputs_truncated_total',
      help: "Records cut to fit their topic's max.message.bytes (output: metadata dropped; dead-letter: key/value cut; side: a label left out).",
      labelNames: ['topic'],
      registers,
    });
    this.sharedRejected = new Counter({
      name: 'spillway_shared_records_rejected_total',
      help: 'Records of the label and snapshot topics refused (dead-lettered and skipped, never learned from), by topic role (labels, models) and reason.',
      labelNames: ['topic', 'kind'],
      registers,
    });
    this.sharedLabelDelaySeconds = new Histogram({
      name: 'spillway_shared_label_delay_seconds',
      help: "Shared learning: time from another worker's LLM answer to this worker learning its label (the staleness sharing adds to the stages).",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.budgetThreshold = new Gauge({ name: 'spillway_budget_threshold', help: "The budget controller's current deferral threshold.", registers });
    this.budgetLlmShare = new Gauge({
      name: 'spillway_budget_llm_share',
      help: 'Share of items sent to the LLM in this run, as the budget controller counts it (updated on every item).',
      registers,
    });
    this.budgetTargetShare = new Gauge({
      name: 'spillway_budget_target_share',
      help: 'The configured LLM budget (cascade.llmBudget): the share of items the LLM may get; compare spillway_budget_llm_share.',
      registers,
    });
    const saves = new Counter({ name: 'spillway_model_saves_total', help: 'Model-state saves, by outcome (ok, failed).', labelNames: ['outcome'], registers });
    this.modelSaves = { ok: saves.labels('ok'), failed: saves.labels('failed') };
    this.modelLastSave = new Gauge({
      name: 'spillway_model_last_save_timestamp_seconds',
      help: 'Unix time of the last successful model-state save.',
      registers,
    });
    const self = this;
    this.llmUp = new Gauge({
      name: 'spillway_llm_up',
      help: '1 while the LLM answers, 0 while it is failing or stalled (in every llm.onUnavailable mode).',
      registers,
      collect() {
        const up = self.llmUpSource?.();
        if (up !== undefined) this.set(up ? 1 : 0);
      },
    });
    this.llmUp.set(1);
    const tokens = new Counter({
      name: 'spillway_llm_tokens_total',
      help: "LLM tokens by kind (prompt, completion), from the API's usage.",
      labelNames: ['kind'],
      registers,
    });
    this.llmTokens = { prompt: tokens.labels('prompt'), completion: tokens.labels('completion') };
    this.llmDollars = new Counter({
      name: 'spillway_llm_cost_dollars_total',
      help: 'Money spent on LLM tokens at llm.pricePerMillionInputTokens / llm.pricePerMillionOutputTokens.',
      registers,
    });
    this.llmConcurrency = new Gauge({ name: 'spillway_llm_concurrency', help: 'LLM requests allowed in flight now (AIMD).', registers });
    this.llmConcurrencyAdjustments = new Counter({
      name: 'spillway_llm_concurrency_adjustments_total',
      help: 'AIMD changes of the LLM concurrency, by reason (increase, throttled, slow, failed).',
      labelNames: ['reason'],
      registers,
    });
    this.llmThrottled = new Counter({ name: 'spillway_llm_throttled_total', help: 'LLM requests the endpoint throttled (HTTP 429/503).', registers });
    this.llmDeadlineMisses = new Counter({
      name: 'spillway_llm_deadline_misses_total',
      help: 'Items answered by a small stage because the LLM could not answer before llm.deadlineMs (where: queued, in-flight).',
      labelNames: ['where'],
      registers,
    });
    this.llmQueueItems = new Gauge({ name: 'spillway_llm_queue_items', help: 'LLM-bound items waiting in the scheduler.', registers });
    this.llmRequests = new Counter({ name: 'spillway_llm_requests_total', help: 'LLM requests sent (a batch request carries several items).', registers });
    this.llmRequestItems = new Counter({ name: 'spillway_llm_request_items_total', help: 'Items carried by LLM requests.', registers });
    this.llmHedges = new Counter({
      name: 'spillway_llm_hedged_requests_total',
      help: 'Slow LLM requests sent a second time (llm.hedgeShare), by event: sent, won (the second answer came first). Counted in spillway_llm_requests_total too.',
      labelNames: ['event'],
      registers,
    });
    this.llmTierCalls = new Counter({
      name: 'spillway_llm_tier_calls_total',
      help: 'With llm.tiers: LLM calls by tier (0: the cheapest; a call to tier 1 or above is an escalation) and model.',
      labelNames: ['tier', 'model'],
      registers,
    });
    this.coldHeldItems = new Counter({
      name: 'spillway_cold_held_items_total',
      help: 'Items held at the cold gate (no budget left, their stage cold) while LLM labels warmed the stage; the input pauses meanwhile.',
      registers,
    });
    this.coldHeldSeconds = new Counter({ name: 'spillway_cold_held_seconds_total', help: 'Time items spent held at the cold gate, summed.', registers });
    this.annotationReasons = new Counter({
      name: 'spillway_annotation_reasons_total',
      help: 'Annotations by reason (confident, deferred, warmup, exploration, audit, deadline, budget, llm-failed, cache, cold, shared).',
      labelNames: ['reason'],
      registers,
    });
    this.agreementChecks = new TalliedCounter({
      name: 'spillway_agreement_checks_total',
      help: "Comparisons of a stage's label with the LLM's (kind audited: audit samples; overall: every item both labelled).",
      labelNames: ['stage', 'kind', 'outcome'],
      registers,
    });
    new Gauge({
      name: 'spillway_agreement_ratio',
      help: "A stage's agreement with the LLM since start, with its 95% Wilson band (bound: estimate, lower, upper).",
      labelNames: ['stage', 'kind', 'bound'],
      registers,
      collect() {
        for (const { stage, kind, interval } of live()?.agreements() ?? []) {
          this.labels(stage, kind, 'estimate').set(interval.estimate);
          this.labels(stage, kind, 'lower').set(interval.lower);
          this.labels(stage, kind, 'upper').set(interval.upper);
        }
      },
    });
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: registry, prefix: 'spillway_' });
  }

  /** Installs the source of the scrape-time gauges (deferral rate, agreement). */
  bindLiveValues(values: LiveValues): void {
    this.live = values;
  }

  /** The children of one stage, bound on first use. */
  stage(name: string): StageMetrics {
    let children = this.stages.get(name);
    if (children === undefined) {
      const check = (kind: AgreementKind) => ({
        agree: this.agreementChecks.tally(name, kind, 'agree'),
        disagree: this.agreementChecks.tally(name, kind, 'disagree'),
      });
      children = {
        answered: this.items.tally(name, 'answered'),
        deferred: this.items.tally(name, 'deferred'),
        answers: this.answersByStage.tally(name),
        itemSeconds: this.itemDuration.labels(name),
        modelUpdates: this.modelUpdates.tally(name),
        modelVersion: this.modelVersion.labels(name),
        checks: bindAll(AGREEMENT_KINDS, check),
      };
      this.stages.set(name, children);
    }
    return children;
  }

  /** Counts one LLM failure; `kind` is a short, bounded error class name (http, timeout, other). */
  llmError(kind: string): void {
    let child = this.errorKinds.get(kind);
    if (child === undefined) {
      child = this.llmErrors.labels(kind);
      this.errorKinds.set(kind, child);
    }
    child.inc();
    this.llmCalls.error.inc();
  }

  /** Called by the stream layer: records behind the high watermark on one input partition. */
  setConsumerLag(partition: number, lag: number): void {
    this.consumerLag.labels(String(partition)).set(lag);
  }

  /** Called by the stream layer: one record dead-lettered; `kind` is the InvalidItemError kind. */
  deadLetter(kind: string): void {
    this.deadLetters.labels(kind).inc();
  }

  /** Called by the stream layer: one record cut to fit its topic's size limit (`output`, `dead-letter`) or left out (`side`). */
  outputTruncated(topic: 'output' | 'dead-letter' | 'side'): void {
    this.outputsTruncated.labels(topic).inc();
  }

  /** Reads `spillway_llm_up` from `source` at every scrape (the service's LLM health), instead of from events. */
  setLlmUpSource(source: () => boolean): void {
    this.llmUpSource = source;
  }

  /** Called by shared learning: one record of the label (`labels`) or snapshot (`models`) topic refused. */
  sharedRecordRejected(topic: 'labels' | 'models', kind: string): void {
    this.sharedRejected.labels(topic, kind).inc();
  }

  /** Called by shared learning: another worker's label was learned `seconds` after its LLM answer. */
  sharedLabelDelay(seconds: number): void {
    this.sharedLabelDelaySeconds.observe(seconds);
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

function bindAll<K extends string, V>(keys: readonly K[], bind: (key: K) => V): Record<K, V> {
  return Object.fromEntries(keys.map((k) => [k, bind(k)])) as Record<K, V>;
}
