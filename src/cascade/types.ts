/**
 * The data the cascade takes and gives. Plain objects: the CLI maps stream records to Items and
 * Annotations back to records, so the cascade never sees Kafka or files.
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
  /** True when an LLM answer was obtained for this item (call or cache). */
  llmCalled: boolean;
  /** Where the LLM answer came from ('none' when the LLM was not reached). */
  llmSource: LlmSource;
  /** True when the LLM answered but its answer named no label (never used as a training label). */
  llmUnparseable: boolean;
  /** True when the LLM call failed after retries (the deepest small stage answered instead). */
  llmFailed: boolean;
  /** True when the item was sent to the LLM only as an audit of a small stage's answer. */
  audited: boolean;
  /** The multiplexer's route when it is enabled (stages the item was sent through). */
  route?: StageName[];
  /** Cost units spent on this item (LR 1, mid `midCostUnits`, LLM `llm.costUnits`; cache hits cost 0 LLM units). */
  costUnits: number;
  /** Wall time from process() to answer, ms. */
  latencyMs: number;
  /** Versions (update counts) of the models that answered, by stage. */
  modelVersions: Partial<Record<StageName, number>>;
  /** Passed through from the item. */
  metadata?: Record<string, string>;
}
