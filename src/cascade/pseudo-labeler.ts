/**
 * Self-training and co-training with audited safeguards: the small stages also learn from
 * answers of their own that the LLM never saw, when those answers are trustworthy by measurement.
 *
 * Trust is calibrated on LLM-labelled items: per stage (and, for co-training, for the two stages agreeing),
 * how often an answer in each confidence bin agreed with the LLM, before the stage learned the label. A bin
 * is trusted when the Wilson 95 % lower bound of that agreement reaches a precision floor. The labelled items
 * are mostly the hard ones the policy deferred, so the measure is conservative for the items kept. Counts
 * decay (half-life `halfLifeLabels`) as the stages improve. Not persisted: a restored cascade re-calibrates
 * before it pseudo-labels again.
 */
import { wilsonInterval } from '../stats/index.js';
import { argmax } from './stages.js';

/**
 * 'off': only LLM labels teach; 'self': the deepest small stage an item reached teaches every stage it
 * passed through its own trusted answer; 'co': when the two stages agree, trusted as a pair, both learn it.
 */
export type SelfTrainingMode = 'off' | 'co' | 'self';

/** How often answers of each confidence bin agreed with the LLM (decayed counts). */
export class ConfidenceCalibration {
  private readonly agreed: Float64Array;
  private readonly seen: Float64Array;
  private readonly decay: number;

  /** `bins` equal-width bins over [0, 1]; counts halve every `halfLifeLabels` records. */
  constructor(
    readonly bins = 10,
    halfLifeLabels = 1000,
  ) {
    this.agreed = new Float64Array(bins);
    this.seen = new Float64Array(bins);
    this.decay = Math.pow(0.5, 1 / halfLifeLabels);
  }

  /** One labelled answer of confidence `confidence` (0..1), agreeing with the LLM or not. */
  record(confidence: number, agreed: boolean): void {
    for (let b = 0; b < this.bins; b++) {
      this.agreed[b] = (this.agreed[b] as number) * this.decay;
      this.seen[b] = (this.seen[b] as number) * this.decay;
    }
    const b = this.binOf(confidence);
    this.seen[b] = (this.seen[b] as number) + 1;
    if (agreed) this.agreed[b] = (this.agreed[b] as number) + 1;
  }

  /** Wilson 95 % lower bound of the agreement of answers in `confidence`'s bin (0 with no items). */
  lowerBound(confidence: number): number {
    const b = this.binOf(confidence);
    const seen = this.seen[b] as number;
    // Decayed counts can drift a hair apart in floating point; the bound needs agreed ≤ seen.
    return wilsonInterval(Math.min(this.agreed[b] as number, seen), seen)?.lower ?? 0;
  }

  private binOf(confidence: number): number {
    return Math.max(0, Math.min(this.bins - 1, Math.floor(confidence * this.bins)));
  }
}

export interface PseudoLabelerOptions {
  mode: SelfTrainingMode;
  stages: number;
  /** Floor of the Wilson lower bound of a bin's agreement with the LLM for its answers to be learned. */
  precisionFloor: number;
  /** Pseudo-labelled items allowed per LLM label learned (the cap on their share). */
  perLabel: number;
  /** @defaultValue 10 */
  bins?: number;
  /** @defaultValue 1000 */
  halfLifeLabels?: number;
}

/** A pseudo-label: the label and the stages (indices) that may learn it. */
export interface PseudoLabel {
  label: number;
  learners: number[];
}

/** Decides which unlabelled items' answers are learned, from calibrations kept on the LLM's labels. */
export class PseudoLabeler {
  readonly mode: SelfTrainingMode;
  private readonly floor: number;
  private readonly perLabel: number;
  private readonly stages: ConfidenceCalibration[];
  /** The two stages agreeing, by the lower of their confidences (co-training). */
  private readonly pair: ConfidenceCalibration;
  /** LLM labels recorded. */
  labels = 0;
  /** Pseudo-labels granted. */
  granted = 0;

  constructor(options: PseudoLabelerOptions) {
    this.mode = options.mode;
    this.floor = options.precisionFloor;
    this.perLabel = options.perLabel;
    const make = (): ConfidenceCalibration => new ConfidenceCalibration(options.bins ?? 10, options.halfLifeLabels ?? 1000);
    this.stages = Array.from({ length: options.stages }, make);
    this.pair = make();
  }

  /** An LLM label: `probs` are the stages' probabilities before they learned it (index = stage). */
  record(probs: readonly Float32Array[], label: number): void {
    this.labels++;
    for (let i = 0; i < probs.length; i++) {
      const p = probs[i] as Float32Array;
      const k = argmax(p);
      this.stages[i]?.record(p[k] as number, k === label);
    }
    const pair = agreeingPair(probs);
    if (pair !== undefined) this.pair.record(pair.confidence, pair.label === label);
  }

  /**
   * The pseudo-label of an item no LLM answer reached, or undefined. `probs`: the stages it ran through, in
   * order; `warm(i)`: whether stage i has earned its place (a cold stage neither teaches nor learns).
   */
  judge(probs: readonly Float32Array[], warm: (i: number) => boolean): PseudoLabel | undefined {
    if (this.mode === 'off' || probs.length === 0 || this.granted >= this.perLabel * this.labels) return undefined;
    const learners: number[] = [];
    for (let i = 0; i < probs.length; i++) if (warm(i)) learners.push(i);
    if (learners.length < probs.length) return undefined;
    let label: number;
    if (this.mode === 'self') {
      const deepest = probs.length - 1;
      const p = probs[deepest] as Float32Array;
      label = argmax(p);
      if ((this.stages[deepest] as ConfidenceCalibration).lowerBound(p[label] as number) < this.floor) return undefined;
    } else {
      const pair = agreeingPair(probs);
      if (pair === undefined || this.pair.lowerBound(pair.confidence) < this.floor) return undefined;
      label = pair.label;
    }
    this.granted++;
    return { label, learners };
  }
}

/** The first two stages' shared answer and the lower of their confidences, when both ran and agree. */
function agreeingPair(probs: readonly Float32Array[]): { label: number; confidence: number } | undefined {
  const a = probs[0];
  const b = probs[1];
  if (a === undefined || b === undefined) return undefined;
  const k = argmax(a);
  if (argmax(b) !== k) return undefined;
  return { label: k, confidence: Math.min(a[k] as number, b[k] as number) };
}
