/**
 * Builds a Cascade: selects the tfjs backend, loads pretrained word vectors (or the sentence encoder) for the
 * mid model, and either restores saved state from the models folder or starts fresh.
 */
import { rename } from 'node:fs/promises';
import type { ModelsConfig } from '../config.js';
import { ModelStateError } from '../errors.js';
import { BudgetController } from './budget-controller.js';
import { Cascade, type CascadeOptions, type CascadeParts, type DeferralScorer } from './cascade.js';
import { DeferralPolicy } from './deferral-policy.js';
import { Featurizer } from './featurizer.js';
import { KnnMemory } from './knn-memory.js';
import { LabelMemory } from './label-memory.js';
import { LogisticRegressor } from './logistic-regressor.js';
import { LrEnsemble } from './lr-ensemble.js';
import { MidModel } from './mid-model.js';
import type * as tf from '@tensorflow/tfjs';
import { loadCascadeState, loadLayersModel, saveCascadeState, type SavedState } from './model-store.js';
import { Rng } from './rng.js';
import { LrStage, MidStage, type SmallStage } from './stages.js';
import { selectBackend } from './tf-backend.js';
import { ThresholdPolicy } from './threshold-policy.js';
import { AgreementPolicy } from './agreement-policy.js';
import { loadWordVectors, type WordVectors } from './word-vectors.js';
import { loadSentenceEncoder } from './load-encoder.js';
import type { SentenceEncoder } from './sentence-encoder.js';

export interface CreateCascadeOptions extends CascadeOptions {
  models: ModelsConfig;
  /** Restore state from `models.dir/<task>` when present. @defaultValue true */
  restore?: boolean;
  /** Pretrained vectors already loaded (benchmarks share one copy across cascades). */
  vectors?: WordVectors | null;
  /** A sentence encoder already loaded (benchmarks share one, and its cache, across cascades); its owner disposes it. */
  encoder?: SentenceEncoder;
  /** Stored in the manifest of every save (shared learning: the label offset the state includes). */
  stateMeta?: () => Record<string, number>;
  /**
   * When the saved state cannot be used (corrupt, non-finite, other labels), rename its folder to
   * `<dir>.reset-<time>` and start fresh instead of refusing to start (`--reset-models`). @defaultValue false
   */
  resetModels?: boolean;
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
  const useEncoder = needsMid && cfg.sentenceEncoder !== 'glove';
  const vectors =
    !needsMid || useEncoder || !cfg.pretrainedVectors
      ? undefined
      : options.vectors === undefined
        ? loadWordVectors(100_000, log)
        : (options.vectors ?? undefined);
  const encoder = !useEncoder ? undefined : (options.encoder ?? (await loadSentenceEncoder(cfg.sentenceEncoder, {}, log)));
  const dir = modelStateDir(options.models.dir, options.task.name);
  let saved: SavedState | undefined;
  try {
    saved =
      options.restore === false
        ? undefined
        : await loadCascadeState(dir, {
            classes: K,
            featureDim: cfg.featureDim,
            stages: cfg.stages,
            labels: options.task.labels,
            sentenceEncoder: cfg.sentenceEncoder,
          });
  } catch (err: unknown) {
    if (!(err instanceof ModelStateError) || options.resetModels !== true) throw err;
    const aside = `${dir}.reset-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await rename(dir, aside);
    log.warn({ dir, movedTo: aside, err }, 'saved model state is unusable: set aside (--reset-models), starting fresh');
  }
  const pretrainedMid =
    saved === undefined && needsMid && options.models.midModelPath !== undefined ? await loadLayersModel(options.models.midModelPath) : undefined;
  if (pretrainedMid !== undefined) log.info({ path: options.models.midModelPath }, 'mid model starts from a pretrained LayersModel');
  const parts = buildParts(options, K, vectors, encoder, saved, pretrainedMid);
  if (encoder !== undefined) {
    parts.encoder = encoder;
    parts.ownsEncoder = options.encoder === undefined;
  }
  if (saved !== undefined)
    log.info({ dir, savedItems: saved.budget.items, versions: Object.fromEntries(parts.stages.map((s) => [s.name, s.version])) }, 'model state restored');
  const stateMeta = options.stateMeta;
  return new Cascade(options, parts, (c) => saveCascadeState(dir, c, options.task, stateMeta?.()), options.models.saveEveryItems, options.models.saveEveryMs);
}

function buildParts(
  options: CreateCascadeOptions,
  K: number,
  vectors: WordVectors | undefined,
  encoder: SentenceEncoder | undefined,
  saved: SavedState | undefined,
  pretrainedMid?: tf.LayersModel,
): CascadeParts {
  const cfg = options.config;
  const featurizer = new Featurizer({ dim: cfg.featureDim, maxTextChars: cfg.maxTextChars });
  const stages: SmallStage[] = cfg.stages.map((name) => {
    if (name === 'lr') {
      const options = { dim: cfg.featureDim, classes: K, learningRate: 0.3 };
      const lr = new LogisticRegressor(options, saved?.lr);
      // Saved members beyond the configured size are dropped; missing ones start fresh.
      const members = Array.from({ length: cfg.ensembleSize - 1 }, (_, m) => new LogisticRegressor(options, saved?.lrMembers?.[m]));
      const ensemble = members.length === 0 ? undefined : new LrEnsemble(cfg.featureDim, K, members);
      const rehearsal =
        cfg.lrReplays === 0 ? undefined : { memory: new LabelMemory(cfg.labelMemoryItems, cfg.seed + 1, saved?.labelMemory), replays: cfg.lrReplays };
      return new LrStage(lr, rehearsal, ensemble);
    }
    const initial = saved?.mid ?? (pretrainedMid === undefined ? undefined : { model: pretrainedMid });
    const mid = new MidModel(
      {
        classes: K,
        vectors,
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
  });
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
      budget: cfg.llmBudget,
      horizonItems: cfg.horizonItems,
      warmupItems: saved === undefined ? cfg.warmupItems : 0,
      minThreshold: cfg.deferralCostWeight * options.llm.costUnits,
      // Nor a front-load: labels are worth most while the models are young, and these are not.
      frontLoadItems: saved === undefined ? cfg.frontLoadItems : 0,
    },
    saved === undefined ? undefined : { items: 0, calls: 0, threshold: saved.budget.threshold },
  );
  const parts: CascadeParts = { featurizer, stages, policies, budget, rng: new Rng(saved?.rngState ?? cfg.seed) };
  if (options.multiplexer === true) {
    parts.multiplexer = cfg.stages.slice(0, -1).map((name) => new DeferralPolicy({ classes: K }, saved?.policies[`mux-${name}`]));
  }
  return parts;
}
