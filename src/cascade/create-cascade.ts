/**
 * Builds a Cascade: selects the tfjs backend, loads pretrained word vectors for the mid model, and either
 * restores saved state from the models folder or starts fresh.
 */
import type { ModelsConfig } from '../config.js';
import { BudgetController } from './budget-controller.js';
import { Cascade, type CascadeOptions, type CascadeParts, type DeferralScorer } from './cascade.js';
import { DeferralPolicy } from './deferral-policy.js';
import { Featurizer } from './featurizer.js';
import { LogisticRegressor } from './logistic-regressor.js';
import { MidModel } from './mid-model.js';
import type * as tf from '@tensorflow/tfjs';
import { loadCascadeState, loadLayersModel, saveCascadeState, type SavedState } from './model-store.js';
import { Rng } from './rng.js';
import { LrStage, MidStage, type SmallStage } from './stages.js';
import { selectBackend } from './tf-backend.js';
import { ThresholdPolicy } from './threshold-policy.js';
import { loadWordVectors, type WordVectors } from './word-vectors.js';

export interface CreateCascadeOptions extends CascadeOptions {
  models: ModelsConfig;
  /** Restore state from `models.dir/<task>` when present. @defaultValue true */
  restore?: boolean;
  /** Pretrained vectors already loaded (benchmarks share one copy across cascades). */
  vectors?: WordVectors | null;
  /** Stored in the manifest of every save (shared learning: the label offset the state includes). */
  stateMeta?: () => Record<string, number>;
}

/** Where a task's state lives. */
export function modelStateDir(modelsDir: string, taskName: string): string {
  return `${modelsDir}/${taskName}`;
}

/** A cascade ready to process items, restored from disk when state exists. */
export async function createCascade(options: CreateCascadeOptions): Promise<Cascade> {
  const cfg = options.config;
  const log = options.logger.child({ module: 'cascade' });
  const K = options.task.labels.length;
  const needsMid = cfg.stages.includes('mid');
  if (needsMid) await selectBackend(options.models.backend, log);
  const vectors = !needsMid || !cfg.pretrainedVectors ? undefined : options.vectors === undefined ? loadWordVectors(100_000, log) : (options.vectors ?? undefined);
  const dir = modelStateDir(options.models.dir, options.task.name);
  const saved = options.restore === false ? undefined : await loadCascadeState(dir, { classes: K, featureDim: cfg.featureDim, stages: cfg.stages, labels: options.task.labels });
  const pretrainedMid = saved === undefined && needsMid && options.models.midModelPath !== undefined ? await loadLayersModel(options.models.midModelPath) : undefined;
  if (pretrainedMid !== undefined) log.info({ path: options.models.midModelPath }, 'mid model starts from a pretrained LayersModel');
  const parts = buildParts(options, K, vectors, saved, pretrainedMid);
  if (saved !== undefined) log.info({ dir, items: parts.budget.items, versions: Object.fromEntries(parts.stages.map((s) => [s.name, s.version])) }, 'model state restored');
  const stateMeta = options.stateMeta;
  return new Cascade(options, parts, (c) => saveCascadeState(dir, c, options.task, stateMeta?.()), options.models.saveEveryItems);
}

function buildParts(options: CreateCascadeOptions, K: number, vectors: WordVectors | undefined, saved: SavedState | undefined, pretrainedMid?: tf.LayersModel): CascadeParts {
  const cfg = options.config;
  const featurizer = new Featurizer({ dim: cfg.featureDim, maxTextChars: cfg.maxTextChars });
  const stages: SmallStage[] = cfg.stages.map((name) => {
    if (name === 'lr') return new LrStage(new LogisticRegressor({ dim: cfg.featureDim, classes: K, learningRate: 0.3 }, saved?.lr));
    const initial = saved?.mid ?? (pretrainedMid === undefined ? undefined : { model: pretrainedMid });
    return new MidStage(new MidModel({ classes: K, vectors, seed: cfg.seed }, initial), cfg.midCostUnits);
  });
  const policies: DeferralScorer[] = cfg.stages.map((name) =>
    cfg.policy === 'threshold' ? new ThresholdPolicy() : new DeferralPolicy({ classes: K }, saved?.policies[name]),
  );
  const budget = new BudgetController(
    {
      budget: cfg.llmBudget,
      horizonItems: cfg.horizonItems,
      warmupItems: cfg.warmupItems,
      minThreshold: cfg.deferralCostWeight * options.llm.costUnits,
    },
    saved?.budget,
  );
  const parts: CascadeParts = { featurizer, stages, policies, budget, rng: new Rng(saved?.rngState ?? cfg.seed) };
  if (options.multiplexer === true) {
    parts.multiplexer = cfg.stages.slice(0, -1).map((name) => new DeferralPolicy({ classes: K }, saved?.policies[`mux-${name}`]));
  }
  return parts;
}
