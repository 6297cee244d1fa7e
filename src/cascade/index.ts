/** The online cascade: public surface. */
export { Cascade, type CascadeParts } from './cascade.js';
export type { CascadeCounters } from './counters.js';
export { llmTotals } from './counters.js';
export type { DeferralScorer } from './stage-walker.js';
export type { LlmTier, SchedulingOverrides } from './llm-path.js';
export { createCascade, modelStateDir, type CreateCascadeOptions, type CascadeSections } from './create-cascade.js';
export { selectBackend, type BackendInfo, type BackendChoice } from './tf-backend.js';
export { loadWordVectors, WordVectors } from './word-vectors.js';
export { loadUseLite, UseLiteEncoder, BatchingEncoder, type SentenceEncoder, type UseLiteOptions, type EncoderOptions } from './sentence-encoder.js';
export { loadE5Small, E5SmallEncoder } from './onnx-encoder.js';
export { usableCores, type UsableCores } from './usable-cores.js';
export {
  fetchE5Small,
  defaultModelCacheDir,
  e5SmallDir,
  hasE5SmallFiles,
  E5_SMALL_ARTIFACT,
  type FetchProgress,
  type FetchEncoderOptions,
} from './encoder-files.js';
export { Featurizer, type Features, type SparseVector } from './featurizer.js';
export { LogisticRegressor } from './logistic-regressor.js';
export { MidModel } from './mid-model.js';
export { DeferralPolicy, type StageSignal } from './deferral-policy.js';
export { BudgetController } from './budget-controller.js';
export { Rng } from './rng.js';
export type { CascadeObserver } from './observer.js';
export { loadLayersModel, readStateMeta } from './model-store.js';
export { archiveCascadeState, checkCascadeArchive, restoreCascadeArchive, unpackCascadeArchive, type StateArchive } from './state-archive.js';
export { checkStateFiles, readStateFiles, type StateExpectation } from './state-check.js';
export type { Item, Annotation, AnnotationReason, StageTrace, StageName, LlmSource } from './types.js';
export { ANNOTATION_REASONS } from './types.js';
export { loadSentenceEncoder, type LoadEncoderOptions } from './load-encoder.js';
