/** Quality targets with a guarantee: the targets, the controller that keeps them, their configuration. */
export { parseQualityTargets, lossOf, metricFromLoss, type QualityMetric, type QualityTarget } from './targets.js';
export { QualityController, type QualityOptions, type QualitySample, type QualityStatus, type QualityTargetStatus } from './quality-controller.js';
export { qualitySchema } from './quality-schema.js';
