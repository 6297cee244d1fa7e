/**
 * A stage's learned deferral policy: P(defer) = σ(w · φ(stage output)), learned online by imitation of
 * the LLM expert (Nie et al., ICML 2024, "Online Cascade Learning for Efficient Inference over Streams").
 *
 * The expert's action on an item the LLM labelled is "defer" when the stage's answer disagrees with the
 * LLM and "answer" otherwise; the cost of deferring (μ × the next stage's cost) enters at decision time
 * as the threshold P(defer) must pass (see BudgetController), so the learned probability stays a
 * calibrated estimate of disagreement that one threshold can trade against cost.
 * Training data are the items the LLM labelled, on the states the current policy visits (warm-up,
 * exploration and audits keep that sample from collapsing onto the items already deferred): DAgger's
 * aggregation, done online.
 */

/** What the policy sees of one stage's output on one item. */
export interface StageSignal {
  /** The stage's class probabilities. */
  probs: Float32Array;
  /** Training steps the stage's model has taken (its maturity). */
  modelUpdates: number;
  /** Share of the item's features the stage has never been trained on, 0..1. */
  novelty: number;
  /** Number of word tokens in the item. */
  tokens: number;
  /** The previous stage's probabilities, when there is one. */
  previousProbs?: Float32Array;
  /** Share of the stage's voters (ensemble members, …) that agree with its answer, 0..1; absent: 1. */
  agreement?: number;
}

export interface DeferralPolicyOptions {
  classes: number;
  /** AdaGrad learning rate. @defaultValue 0.2 */
  learningRate?: number;
}

export interface DeferralPolicyState {
  classes: number;
  updates: number;
  weights: Float32Array;
  gradSquares: Float32Array;
}

/**
 * Number of features φ has for K classes. (Tried and dropped: the sorted probability profile. The predicted
 * class one-hot stays: on hatespeech it raised accuracy by 0.8–1.9 points, since a stage errs far more on
 * one class than the other; on isear it changed nothing beyond seed noise.)
 */
export function policyFeatureCount(classes: number): number {
  return 11 + classes;
}

/** φ's size before the agreement feature: saved policies of that size load with its weight at 0. */
export function legacyPolicyFeatureCount(classes: number): number {
  return 10 + classes;
}

const L2_TO_PRIOR = 1e-3;

export class DeferralPolicy {
  readonly classes: number;
  private readonly learningRate: number;
  private readonly weights: Float32Array;
  private readonly gradSquares: Float32Array;
  private readonly phi: Float32Array;
  private readonly prior: Float32Array;
  /** Training steps taken: the policy's version. */
  updates = 0;

  constructor(options: DeferralPolicyOptions, state?: DeferralPolicyState) {
    this.classes = options.classes;
    this.learningRate = options.learningRate ?? 0.2;
    const n = policyFeatureCount(this.classes);
    if (state !== undefined && state.weights.length !== n && state.weights.length !== legacyPolicyFeatureCount(this.classes)) {
      throw new RangeError(`a deferral policy for ${this.classes} classes has ${n} weights, the saved one ${state.weights.length}`);
    }
    // A policy saved before the agreement feature: the new weight starts at 0 (no effect until learned).
    this.weights = state === undefined ? new Float32Array(n) : padded(state.weights, n, 0);
    this.gradSquares = state === undefined ? new Float32Array(n).fill(1e-2) : padded(state.gradSquares, n, 1e-2);
    this.updates = state?.updates ?? 0;
    // Prior: σ(logit(1 − max p)) = 1 − max p, the confidence-threshold signal. Learning moves away from it
    // only as far as the LLM's labels show it should (the L2 pull is toward this prior, not toward 0).
    this.prior = new Float32Array(n);
    this.prior[1] = 1;
    if (state === undefined) this.weights.set(this.prior);
    this.phi = new Float32Array(n);
  }

  /** P(defer) for one stage output. */
  pDefer(signal: StageSignal): number {
    const phi = this.features(signal);
    return sigmoid(dot(this.weights, phi));
  }

  /**
   * One imitation step: the expert deferred (`disagreed` = the stage's answer differs from the LLM's).
   * `weight` scales the step (importance weight of explored items).
   */
  update(signal: StageSignal, disagreed: boolean, weight = 1): void {
    const phi = this.features(signal);
    const p = sigmoid(dot(this.weights, phi));
    const err = weight * (p - (disagreed ? 1 : 0));
    const w = this.weights;
    const g2 = this.gradSquares;
    for (let j = 0; j < phi.length; j++) {
      const g = err * (phi[j] as number) + L2_TO_PRIOR * ((w[j] as number) - (this.prior[j] as number));
      const acc = (g2[j] as number) + g * g;
      g2[j] = acc;
      w[j] = (w[j] as number) - (this.learningRate * g) / Math.sqrt(acc);
    }
    this.updates++;
  }

  state(): DeferralPolicyState {
    return { classes: this.classes, updates: this.updates, weights: this.weights, gradSquares: this.gradSquares };
  }

  /**
   * φ: bias, logit(1 − max probability), margin between the top two, normalised entropy, maturity,
   * novelty, length, agreement with the previous stage, the previous stage's confidence, its probability
   * for this stage's answer, the answer itself (one-hot: errors concentrate on some classes), and the share
   * of the stage's voters (ensemble members) that disagree with it.
   */
  private features(s: StageSignal): Float32Array {
    const K = this.classes;
    const p = s.probs;
    const phi = this.phi;
    let top = 0;
    let first = -1;
    let second = -1;
    let entropy = 0;
    for (let k = 0; k < K; k++) {
      const v = p[k] as number;
      if (v > first) {
        second = first;
        first = v;
        top = k;
      } else if (v > second) second = v;
      if (v > 0) entropy -= v * Math.log(v);
    }
    phi.fill(0);
    phi[0] = 1;
    phi[1] = logit(1 - first);
    phi[2] = first - Math.max(second, 0);
    phi[3] = entropy / Math.log(K);
    phi[4] = 1 / Math.sqrt(1 + s.modelUpdates / 50);
    phi[5] = s.novelty;
    phi[6] = Math.log1p(s.tokens) / 5;
    if (s.previousProbs !== undefined) {
      let prevTop = 0;
      for (let k = 1; k < K; k++) if ((s.previousProbs[k] as number) > (s.previousProbs[prevTop] as number)) prevTop = k;
      phi[7] = prevTop === top ? 1 : 0;
      phi[8] = s.previousProbs[prevTop] as number;
      phi[9] = s.previousProbs[top] as number;
    }
    phi[10 + top] = 1;
    phi[10 + K] = 1 - (s.agreement ?? 1);
    return phi;
  }
}

function padded(a: Float32Array, n: number, fill: number): Float32Array {
  if (a.length === n) return a;
  const out = new Float32Array(n).fill(fill);
  out.set(a);
  return out;
}

function logit(p: number): number {
  const q = Math.min(Math.max(p, 1e-4), 1 - 1e-4);
  return Math.log(q / (1 - q));
}

function dot(w: Float32Array, x: Float32Array): number {
  let s = 0;
  for (let j = 0; j < w.length; j++) s += (w[j] as number) * (x[j] as number);
  return s;
}

export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}
