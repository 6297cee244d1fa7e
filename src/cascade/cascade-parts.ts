/**
 * The models and controllers a cascade learns (its saved state): the featurizer, the small stages (LR, mid),
 * their deferral policies, the budget controller, the random generator and the multiplexer, fresh or restored.
 */
import type * as tf from '@tensorflow/tfjs';
import type { CascadeConfig } from '../config.js';
import { AgreementPolicy } from './agreement-policy.js';
import { BudgetController } from './budget-controller.js';
import type { CascadeParts } from './cascade.js';
import { DeferralPolicy } from './deferral-policy.js';
import { Featurizer } from './featurizer.js';
import { KnnMemory } from './knn-memory.js';
import { LabelMemory } from './label-memory.js';
import { LogisticRegressor } from './logistic-regressor.js';
import { LrEnsemble } from './lr-ensemble.js';
import { MidModel } from './mid-model.js';
import type { SavedState } from './model-store.js';
import { Rng } from './rng.js';
import type { SentenceEncoder } from './sentence-encoder.js';
import type { DeferralScorer } from './stage-walker.js';
import { LrStage, MidStage, type SmallStage } from './stages.js';
import { ThresholdPolicy } from './threshold-policy.js';
import type { WordVectors } from './word-vectors.js';

/** What the parts are built from. */
export interface PartsSources {
  cascade: Readonly<CascadeConfig>;
  /** The budget's share (llmBudgetOf: the configured one, or its default with or without quality targets). */
  llmBudget: number;
  /** Classes of the task. */
  classes: number;
  /** Cost units of one LLM call (μ × it is the budget's floor). */
  llmCostUnits: number;
  multiplexer: boolean;
  vectors?: WordVectors;
  encoder?: SentenceEncoder;
  saved?: SavedState;
  /** A pretrained LayersModel for the mid model's dense layers, when no state is saved. */
  pretrainedMid?: tf.LayersModel;
}

/** The parts, from the saved state when there is one. */
export function buildParts(sources: PartsSources): CascadeParts {
  const { cascade: cfg, classes: K, saved } = sources;
  const featurizer = new Featurizer({ dim: cfg.featureDim, maxTextChars: cfg.maxTextChars });
  const stages: SmallStage[] = cfg.stages.map((name) => (name === 'lr' ? lrStage(cfg, K, saved) : midStage(sources)));
  const policies: DeferralScorer[] = cfg.stages.map((name) =>
    cfg.policy === 'threshold'
      ? new ThresholdPolicy()
      : cfg.policy === 'agreement'
        ? new AgreementPolicy()
        : new DeferralPolicy({ classes: K }, saved?.policies[name]),
  );
  // A restored cascade keeps what it learned, not the last run's spend: the budget counts items and calls
  // from this run (restoring them started a run at "20.7 % of a 20 % budget" and made no LLM call), only the
  // threshold carries over; and models that already learned need no warm-up.
  const budget = new BudgetController(
    {
      budget: sources.llmBudget,
      horizonItems: cfg.horizonItems,
      warmupItems: saved === undefined ? cfg.warmupItems : 0,
      minThreshold: cfg.deferralCostWeight * sources.llmCostUnits,
      // Nor a front-load: labels are worth most while the models are young, and these are not.
      frontLoadItems: saved === undefined ? cfg.frontLoadItems : 0,
    },
    saved === undefined ? undefined : { items: 0, calls: 0, threshold: saved.budget.threshold },
  );
  const parts: CascadeParts = { featurizer, stages, policies, budget, rng: new Rng(saved?.rngState ?? cfg.seed) };
  if (sources.multiplexer) parts.multiplexer = cfg.stages.slice(0, -1).map((name) => new DeferralPolicy({ classes: K }, saved?.policies[`mux-${name}`]));
  return parts;
}

function lrStage(cfg: Readonly<CascadeConfig>, K: number, saved: SavedState | undefined): LrStage {
  const options = { dim: cfg.featureDim, classes: K, learningRate: 0.3 };
  const lr = new LogisticRegressor(options, saved?.lr);
  // Saved members beyond the configured size are dropped; missing ones start fresh.
  const members = Array.from({ length: cfg.ensembleSize - 1 }, (_, m) => new LogisticRegressor(options, saved?.lrMembers?.[m]));
  const ensemble = members.length === 0 ? undefined : new LrEnsemble(cfg.featureDim, K, members);
  const rehearsal =
    cfg.lrReplays === 0 ? undefined : { memory: new LabelMemory(cfg.labelMemoryItems, cfg.seed + 1, saved?.labelMemory), replays: cfg.lrReplays };
  return new LrStage(lr, rehearsal, ensemble);
}

function midStage(sources: PartsSources): MidStage {
  const { cascade: cfg, classes: K, saved, encoder, pretrainedMid } = sources;
  const initial = saved?.mid ?? (pretrainedMid === undefined ? undefined : { model: pretrainedMid });
  const mid = new MidModel(
    {
      classes: K,
      vectors: sources.vectors,
      ...(encoder === undefined
        ? {}
        : { encoderDim: encoder.dimensions, centreEncoder: encoder.midInput?.centre === true, encoderScale: encoder.midInput?.scale ?? 1 }),
      seed: cfg.seed,
    },
    initial,
  );
  if (cfg.knnMemoryItems === 0 || mid.sentenceDim === 0) return new MidStage(mid, cfg.midCostUnits);
  const memory = new KnnMemory(
    { dim: mid.sentenceDim, classes: K, capacity: cfg.knnMemoryItems, neighbours: cfg.knnNeighbours, seed: cfg.seed + 2 },
    saved?.knnMemory,
  );
  return new MidStage(mid, cfg.midCostUnits, { memory, weight: cfg.knnWeight });
}
