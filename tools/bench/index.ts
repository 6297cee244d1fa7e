/**
 * The benchmark harness: the cascade benchmark against recorded LLM answers (`spillway bench`) and the cache
 * benchmark (`spillway bench-cache`). The scripts beside it (cascade-throughput, kafka-throughput,
 * monitor-observer-bench) are run directly by `npm run bench:*`. A developer tool: the product never imports it.
 */
export {
  runCascadeBench,
  benchRuns,
  scoreAnnotations,
  type BenchReport,
  type CascadeBenchOptions,
  type BenchMode,
  type HorizonMode,
  type Strategy,
  type StrategyResult,
  type BenchQuality,
} from './cascade-bench.js';
export { runServiceCascade, AnnotationSink, type Arrival, type ServiceFacts } from './service-run.js';
export { runSeededBench, type SeededBenchOptions } from './seeded-bench.js';
export { summarizeSeeds, type SeedSummaryReport, type SummaryRow, type PairedDifference, type Interval } from './seed-summary.js';
export { meanInterval, pairedDifference, tQuantile975, type MeanInterval } from './confidence-interval.js';
export { rocAuc, agreementAfterDeferring, fitLogistic, recallFrontier, type LogisticFitOptions, type RecallPoint } from './deferral-signal.js';
export { registerStrategy, benchStrategy, strategyNames, BASELINE_STRATEGY, type BenchStrategy } from './strategies.js';
export { classificationReport, type ClassificationReport } from './classification-report.js';
export { readLabelledStream, sampleStream, type LabelledItem } from './labelled-stream.js';
export { paperPoint, PAPER_RESULTS, type PaperPoint } from './paper-results.js';
export {
  runCacheBench,
  type BenchAnnotation,
  type BenchRunner,
  type CacheBenchOptions,
  type CacheBenchReport,
  type CacheBenchResult,
  type RunSetup,
  type TraceBenchResult,
} from './cache-bench.js';
export { measureReuse, type ReuseStats } from './cache-near-duplicates.js';
export { readDataset, seededRandom, zipfStream, type DatasetRow } from './cache-stream.js';
export { simulateTrace, type TraceResult, type TraceStep } from './cache-trace.js';
export { runLiveSetting, liveSettings, instantSetting, type LiveSetting, type LiveResult, type LiveBenchOptions } from './live-bench.js';
export { arrivalTimes, type ArrivalOptions } from './arrivals.js';
export { orderStream, heldBackLabels, STREAM_ORDERS, type StreamOrder } from './stream-orders.js';
export { judgeQuality, hindsightShare, type Judged, type QualityReport } from './quality-windows.js';
