/**
 * The parts a cascade is made of: the models and controllers it learns and saves (`CascadeParts`), and the
 * named parts that coordinate one item's route around them (`CascadeRuntime`), which createCascade() builds.
 */
import type { Logger } from 'pino';
import type { AnswerCache } from '../cache/index.js';
import type { Task, Teacher } from '../llm/index.js';
import type { BudgetController } from './budget-controller.js';
import type { CapacityGovernor } from './capacity-governor.js';
import type { ColdHold } from './cold-hold.js';
import type { CascadeCounters } from './counters.js';
import type { DeferralGate } from './deferral-gate.js';
import type { Featurizer } from './featurizer.js';
import type { LearningPace } from './learning-pace.js';
import type { Learner } from './learner.js';
import type { LlmPath } from './llm-path.js';
import type { CascadeObserver } from './observer.js';
import type { Publisher } from './publisher.js';
import type { Rng } from './rng.js';
import type { SentenceEncoder } from './sentence-encoder.js';
import type { DeferralScorer, StageWalker } from './stage-walker.js';
import type { SmallStage } from './stages.js';

/** The models and controllers a cascade learns and saves (fresh or restored; see model-store.ts). */
export interface CascadeParts {
  featurizer: Featurizer;
  stages: SmallStage[];
  policies: DeferralScorer[];
  budget: BudgetController;
  rng: Rng;
  /**
   * The multiplexer, when enabled: for each stage but the last, P(the next stage disagrees with the LLM),
   * predicted from this stage's output. It lets an item predicted hard skip a stage that cannot help.
   */
  multiplexer?: DeferralScorer[];
  /** The mid stage's pretrained sentence encoder (`cascade.sentenceEncoder` other than glove). */
  encoder?: SentenceEncoder;
  /** True when the cascade loaded the encoder itself (it is disposed with the cascade), not shared. */
  ownsEncoder?: boolean;
}

/** The parts a cascade coordinates; createCascade() builds them from the configuration. */
export interface CascadeRuntime {
  task: Task;
  parts: CascadeParts;
  walker: StageWalker;
  gate: DeferralGate;
  learner: Learner;
  counters: CascadeCounters;
  /** Absent without an LLM: the small stages answer everything and nothing is learned. */
  llm?: LlmPath;
  /** Lowers the granted share when the LLM cannot answer within its deadline (with a deadline only). */
  governor?: CapacityGovernor;
  /** Decides items in order, each once few enough labels are on their way (see learning-pace.ts). */
  pace: LearningPace;
  /** Holds a cold stage's item with no budget left while labels warm it (`llm.coldWaitMs`). */
  coldHold: ColdHold;
  /** Builds, counts and reports annotations. */
  publisher: Publisher;
  cache?: AnswerCache;
  observer?: CascadeObserver;
  logger: Logger;
  /** Learn from each LLM answer as it arrives; false when labels come back through {@link Cascade.learnFromLabel} only. */
  learnInline: boolean;
  /** Labels are shared with other workers (the label topic): a Redis hit is another worker's label, learned from there. */
  labelsShared: boolean;
  /** Persists the parts (absent: save() is a no-op); runs on its own every `saveEveryItems` items and `saveEveryMs`. */
  saver?: (parts: CascadeParts) => Promise<void>;
  saveEveryItems: number;
  saveEveryMs: number;
  /** The LLM as callers see it (with tiers: probing every tier, named by them all); absent without an LLM. */
  teacher?: Teacher;
}
