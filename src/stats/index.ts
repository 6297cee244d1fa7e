/** Small statistics shared by the monitor, the cascade and the quality targets: the Wilson interval, anytime-valid bounds. */
export { wilsonInterval, Z_95, type WilsonInterval } from './wilson.js';
/** Anytime-valid bounds for quality targets: an upper confidence sequence and a sequential exceedance test. */
export { ExceedanceTest, UpperConfidenceSequence } from './confidence-sequence.js';
