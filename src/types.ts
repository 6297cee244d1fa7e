/**
 * The records every layer shares: the item that comes in and the annotation that goes out. One definition:
 * the cascade produces them, the stream layer encodes them (topics/spillway.annotations.avsc is their wire
 * form), the monitor reads them, the CLI passes them between. Plain objects, so the cascade never sees Kafka
 * or files. What a field means is said here, and read through the helpers at the end, never re-derived
 * from strings elsewhere.
 */

/** One stream item to classify. */
export interface Item {
  /** Caller's id, unique within the stream; echoed in the annotation. */
  id: string;
  /** The text the task is asked of. */
  text: string;
  /** Task name, when a stream carries several; informational for now. */
  task?: string;
  /** Free-form string metadata, passed through untouched. */
  metadata?: Record<string, string>;
  /** Event time, ms since the epoch, when the source knows it. */
  eventTimeMs?: number;
}

/** Names of the stages, cheapest first; 'llm' is always last. */
export type StageName = 'lr' | 'mid' | 'llm';

/** What one stage said about one item. */
export interface StageTrace {
  stage: StageName;
  /** The stage's predicted label id (for the LLM: -1 when its answer was unparseable). */
  labelId: number;
  /** The stage's probability for its predicted label (LLM: from logprobs when asked, else 1). */
  confidence: number;
  /** The deferral policy's P(defer) for this stage (0 for the LLM). */
  pDefer: number;
  /** True when the item went on to the next stage. */
  deferred: boolean;
}

/** Where an LLM answer came from, when one was used. */
export type LlmSource = 'none' | 'call' | 'cache-l1' | 'cache-redis' | 'cache-near';

/**
 * Why the LLM was or was not asked about an item (the annotation's `reason`). Add new reasons at the end
 * of ANNOTATION_REASONS; the Avro schema carries it as a string, so readers need no new schema for one.
 * - `confident`: a small stage answered, its deferral score under the LLM gate's threshold;
 * - `deferred`: the policy deferred it and the budget granted the call; `warmup`, `exploration`, `audit`:
 *   sent to the LLM regardless of the policy, for that reason;
 * - `deadline`: granted, but the LLM could not answer within the latency bound the user set (`llm.deadlineMs`):
 *   the deepest small stage answered;
 * - `budget`: the policy deferred it but the budget refused the call;
 * - `llm-failed`: the call failed or its answer named no label: the deepest small stage answered;
 * - `cache`: a cached LLM answer;
 * - `cold`: the answering small stage has not yet earned its place (too few labels, or its agreement with the
 *   LLM not yet above the floor) and the warm-up allowance was spent: its answer, with its confidence capped
 *   at the stage's measured agreement, not a confident one;
 * - `shared`: the answer of an LLM call already on its way for the same (normalised) text when the item was
 *   decided: no call of its own, like a cache hit that had not landed yet;
 * - `uncertified`: quality targets (`quality.targets`) asked for the LLM but the budget's cap refused the
 *   call: a small stage answered, and no target is guaranteed for it.
 */
export const ANNOTATION_REASONS = [
  'confident',
  'deferred',
  'warmup',
  'exploration',
  'audit',
  'deadline',
  'budget',
  'llm-failed',
  'cache',
  'cold',
  'shared',
  'uncertified',
] as const;

/** One of {@link ANNOTATION_REASONS}. */
export type AnnotationReason = (typeof ANNOTATION_REASONS)[number];

/** Everything the cascade reports for one answered item. */
export interface Annotation {
  id: string;
  /** The answer: label id within the task's label list. */
  labelId: number;
  /** The answer's label name. */
  label: string;
  /** Confidence in the answer, 0..1. */
  confidence: number;
  /** The stage whose answer this is. */
  answeredBy: StageName;
  /** Each stage the item reached, in order. */
  stages: StageTrace[];
  /** The P(defer) of each small stage the item reached, by stage name (duplicated from `stages` for easy querying). */
  pDefer: Partial<Record<StageName, number>>;
  /**
   * True when an LLM request was made for this item: its own call, or (single-flight) a call for the same text
   * already in flight. False for a cached answer, which costs no call: `llmSource` then names the cache tier.
   */
  llmCalled: boolean;
  /** Where the LLM answer came from ('none' when the LLM was not reached). */
  llmSource: LlmSource;
  /** True when the LLM answered but its answer named no label (never used as a training label). */
  llmUnparseable: boolean;
  /** True when the LLM call failed after retries (the deepest small stage answered instead). */
  llmFailed: boolean;
  /** True when the item was sent to the LLM only as an audit of a small stage's answer. */
  audited: boolean;
  /** Why the LLM was or was not asked (see {@link AnnotationReason}). */
  reason: AnnotationReason;
  /** The multiplexer's route when it is enabled (stages the item was sent through). */
  route?: StageName[];
  /**
   * With LLM tiers (`llm.tiers`): the index of the tier whose answer the LLM's is (0: the cheapest; higher: the
   * item was escalated). Absent without tiers, and when no LLM answer was used.
   */
  llmTier?: number;
  /** Cost units spent on this item (LR 1, mid `midCostUnits`, LLM `llm.costUnits`, or each tier asked its own; cache hits cost 0 LLM units). */
  costUnits: number;
  /** Wall time from process() to answer, ms. */
  latencyMs: number;
  /** Versions (update counts) of the models that answered, by stage. */
  modelVersions: Partial<Record<StageName, number>>;
  /** Passed through from the item. */
  metadata?: Record<string, string>;
}

/** The cache tier an LLM answer came from, or undefined when it came from a call (or no LLM answer was used). */
export function cacheTierOf(source: LlmSource): 'l1' | 'redis' | 'near' | undefined {
  return source === 'cache-l1' ? 'l1' : source === 'cache-redis' ? 'redis' : source === 'cache-near' ? 'near' : undefined;
}

/**
 * The LLM's label for an item, or undefined when the LLM gave none (not reached, failed, or unparseable). An
 * audited item carries it as the `llm` stage trace, beside the audited small stage's own label.
 */
export function llmLabelOf(annotation: Pick<Annotation, 'stages' | 'answeredBy' | 'labelId' | 'llmUnparseable'>): number | undefined {
  if (annotation.llmUnparseable) return undefined;
  const trace = annotation.stages.find((s) => s.stage === 'llm');
  const label = trace?.labelId ?? (annotation.answeredBy === 'llm' ? annotation.labelId : -1);
  return label >= 0 ? label : undefined;
}

/** Why the LLM scheduler's adaptive concurrency limit moved (src/llm/aimd-controller.ts). */
export type AimdReason = 'increase' | 'throttled' | 'slow' | 'failed';

/**
 * What the LLM scheduler reports (src/llm/llm-scheduler.ts); the monitor's CascadeMetrics implements it. One
 * definition here, in the core, because the monitor does not import the LLM layer. All optional.
 */
export interface SchedulerObserver {
  /** The AIMD controller moved the concurrency limit. */
  onConcurrencyChange?(limit: number, reason: AimdReason): void;
  /** The endpoint throttled a request (HTTP 429/503). */
  onThrottle?(status: number): void;
  /** Items answered by a small stage because the LLM could not answer them in time. */
  onDeadline?(where: 'queued' | 'in-flight'): void;
  /** A request was sent with `items` items. */
  onRequest?(items: number): void;
  /** Items waiting now. */
  onQueueSize?(size: number): void;
  /** A slow request was sent a second time ('sent'), and the second answer came first ('won'). */
  onHedge?(event: 'sent' | 'won'): void;
}
