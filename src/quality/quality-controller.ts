/**
 * Sets the LLM gate's threshold from quality targets instead of a budget: the most permissive threshold whose
 * anytime-valid bound meets every target, from a random sample of items answered by the LLM.
 *
 * The sample: items sent to the LLM whatever their content (audits, exploration, the warm-up; while nothing is
 * certified, every item), walked through every stage. For each such item the controller replays the
 * cascade's routing at every candidate threshold (which stage would have answered, or the LLM) and scores the
 * answer each would have published against the LLM's: one observation per target and candidate, fed to an
 * upper confidence sequence on the mean loss (targets.ts). Candidates are tested from the most conservative
 * up and the first failure stops the climb (fixed-sequence testing: no split of δ across candidates); δ is
 * split across targets.
 *
 * Evidence is kept per epoch, and only recent evidence counts: the small stages and their deferral scores keep
 * learning, so what a score meant a thousand audits ago is not what it means now. A younger epoch starts
 * once the one in use has ROLL_SAMPLES samples and replaces it when it has as many. A new epoch starts at
 * once — nothing certified, every item to the LLM — when the evidence shifts: the LLM gives a label it never
 * gave before, the teacher changes, or the window's sample is confidently worse than what was certified. It
 * relaxes again only as the new epoch's evidence accrues. A threshold is chosen only where the sample has
 * seen the small stages answer (MIN_SUPPORT items), never on evidence of LLM answers alone; and audits are
 * denser while an epoch is young (AUDIT_BOOST / samples), so a shift is caught sooner. `certifyOnce` is the baseline of systems that certify one table (BARGAIN, LOTUS): certify after
 * the first window, then freeze, with no audits and no re-checks.
 */
import { ExceedanceTest, UpperConfidenceSequence } from '../stats/index.js';
import { lossOf, metricFromLoss, type QualityTarget } from './targets.js';

export interface QualityOptions {
  targets: readonly QualityTarget[];
  /** Allowed probability that a certified threshold misses a target. */
  delta: number;
  /** Items per judged window: the drift check's horizon and the certify-once baseline's table. */
  window: number;
  /** Share of items the small stages answer that are audited once a threshold is certified. */
  auditShare: number;
  certifyOnce: boolean;
  /** The walker's routing rule: stage i (not the last) answers when warm and pDefer ≤ τ × earlyExitFactor + exitBias[i]. */
  earlyExitFactor: number;
  exitBias: readonly number[];
}

/** One sampled item: every stage's answer and score, and the LLM's answer. */
export interface QualitySample {
  pDefer: readonly number[];
  labelIds: readonly number[];
  llmLabelId: number;
}

/** One target's standing, as /status, /metrics and the monitor show it. */
export interface QualityTargetStatus {
  target: string;
  /** The target is certified at the threshold in use, or every item it covers goes to the LLM. */
  met: boolean;
  certified: boolean;
  /** Lower confidence bound of the metric at the threshold in use (null before any evidence). */
  lowerBound: number | null;
  /** Point estimate of the metric at the threshold in use, from the sample (null before any evidence). */
  estimate: number | null;
}

export interface QualityStatus {
  targets: QualityTargetStatus[];
  /** The gate threshold the targets allow (null: nothing certified, every item to the LLM). */
  threshold: number | null;
  /** Sampled items (with the LLM's answer) behind the current epoch's bounds. */
  audits: number;
  /** Epochs begun (1 + shifts detected). */
  epochs: number;
  delta: number;
  window: number;
  /** True when the LLM budget's cap refused calls the targets asked for in the last window. */
  capBinding: boolean;
}

// Candidate thresholds on P(defer): 0, 0.01, …, 1 (index 0 is −∞: every item to the LLM, always safe).
const GRID = Array.from({ length: 101 }, (_, i) => i / 100);
// Samples an epoch is used for before a younger one, started when it reached this many, replaces it; for a
// recall or precision target, samples of its label (a rare label needs a longer memory).
const ROLL_SAMPLES = 300;
const ROLL_LABEL_SAMPLES = 100;
// Sampled items a chosen threshold must have seen answered by a small stage.
const MIN_SUPPORT = 20;
// While an epoch is young the audit share is at least AUDIT_BOOST / samples (10 % at 200 samples).
const AUDIT_BOOST = 20;
// The drift check's level, a tenth of δ: a false alarm costs calls (a new epoch), never quality.
const DRIFT_SHARE = 0.1;

interface Epoch {
  /** [target][candidate]: upper confidence sequences of the mean loss. */
  bounds: UpperConfidenceSequence[][];
  /** [candidate]: sampled items whose published label at that candidate was each target's label (precision's share). */
  published: number[][];
  /** Sampled items whose LLM answer was each target's label (recall's share). */
  llmHits: number[];
  /** [candidate]: sampled items a small stage would have answered at that candidate. */
  support: number[];
  samples: number;
}

export class QualityController {
  private readonly targets: readonly QualityTarget[];
  private epoch: Epoch;
  /** The younger epoch that will replace `epoch` (started once `epoch` has ROLL_SAMPLES samples). */
  private next: Epoch | undefined;
  private epochs = 1;
  /** Index into GRID of the certified threshold; −1: none. */
  private certifiedAt = -1;
  private frozen = false;
  private items = 0;
  private readonly seenLabels = new Set<number>();
  private teacher: string | undefined;
  /** Per target, since the window began (or the threshold last moved): is the loss at the certified threshold above what was certified? */
  private shiftTests: ExceedanceTest[] | undefined;
  private testedAt = -1;
  private windowStart = 0;
  private lastCapRefusal = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: QualityOptions) {
    if (options.targets.length === 0) throw new RangeError('a quality controller needs at least one target');
    this.targets = options.targets;
    this.epoch = this.newEpoch();
  }

  /** The threshold the gate uses: −∞ while nothing is certified (every item goes to the LLM). */
  get threshold(): number {
    return this.certifiedAt < 0 ? Number.NEGATIVE_INFINITY : (GRID[this.certifiedAt] as number);
  }

  get certified(): boolean {
    return this.certifiedAt >= 0;
  }

  /** Counts one decided item; rolls the drift window. */
  onItem(): void {
    this.items++;
    if (this.items - this.windowStart >= this.options.window) {
      this.windowStart = this.items;
      this.shiftTests = undefined;
    }
  }

  /**
   * Whether to send this item to the LLM as a sample whatever its score: every item while nothing is
   * certified (they go to the LLM anyway), a share `auditShare` after; none once the baseline has frozen.
   */
  drawAudit(uniform: number): boolean {
    if (this.frozen) return false;
    if (!this.certified) return true;
    return uniform < Math.max(this.options.auditShare, AUDIT_BOOST / (this.epoch.samples + 1));
  }

  /** Every LLM answer (sampled or not): a label never seen before or a new teacher starts a new epoch. */
  noteAnswer(labelId: number, teacher?: string): void {
    const newLabel = this.seenLabels.size > 0 && !this.seenLabels.has(labelId);
    this.seenLabels.add(labelId);
    const newTeacher = teacher !== undefined && this.teacher !== undefined && teacher !== this.teacher;
    if (teacher !== undefined) this.teacher = teacher;
    if ((newLabel || newTeacher) && !this.frozen) this.restart();
  }

  /** A sampled item: every candidate threshold's answer scored against the LLM's; the threshold re-derived. */
  observe(sample: QualitySample): void {
    if (this.frozen) return;
    if (this.next === undefined && this.mature(this.epoch) && !this.options.certifyOnce) this.next = this.newEpoch();
    for (const e of this.next === undefined ? [this.epoch] : [this.epoch, this.next]) this.record(e, sample);
    if (this.next !== undefined && this.mature(this.next)) {
      this.epoch = this.next;
      this.next = undefined;
      this.shiftTests = undefined;
    }
    if (this.shifted(sample)) {
      this.restart();
      return;
    }
    this.recertify();
    if (this.options.certifyOnce && this.items >= this.options.window) this.frozen = true;
  }

  /** Enough evidence to stand on its own: ROLL_SAMPLES samples, and ROLL_LABEL_SAMPLES of each target's label. */
  private mature(e: Epoch): boolean {
    return e.samples >= ROLL_SAMPLES && this.targets.every((t, k) => t.labelId === undefined || (e.llmHits[k] as number) >= ROLL_LABEL_SAMPLES);
  }

  private record(e: Epoch, sample: QualitySample): void {
    e.samples++;
    for (let k = 0; k < this.targets.length; k++) {
      const t = this.targets[k] as QualityTarget;
      if (t.labelId !== undefined && sample.llmLabelId === t.labelId) (e.llmHits[k] as number)++;
    }
    for (let j = 0; j < GRID.length + 1; j++) {
      const published = this.publishedAt(sample, j);
      if (j > 0 && !this.sentAt(sample, j)) (e.support[j] as number)++;
      for (let k = 0; k < this.targets.length; k++) {
        const t = this.targets[k] as QualityTarget;
        const loss = lossOf(t, published, sample.llmLabelId);
        (e.bounds[k] as UpperConfidenceSequence[])[j]?.push(loss);
        if (published === t.labelId) ((e.published[j] as number[])[k] as number)++;
      }
    }
  }

  /** The budget's cap refused a call the targets asked for: the targets are not held. */
  onCapRefusal(): void {
    this.lastCapRefusal = this.items;
  }

  /** Whether the targets asked for this score to reach the LLM. */
  wants(score: number): boolean {
    return score > this.threshold;
  }

  /** Whether the targets would have walked an item on from `stage` (not the last), where it answered with `pDefer`. */
  exitWanted(stage: number, pDefer: number): boolean {
    if (!this.certified) return true;
    return pDefer > this.threshold * this.options.earlyExitFactor + (this.options.exitBias[stage] ?? 0);
  }

  /** True when the LLM budget's cap refused calls the targets asked for within the last window. */
  get capBinding(): boolean {
    return this.items - this.lastCapRefusal < this.options.window;
  }

  status(): QualityStatus {
    const capBinding = this.capBinding;
    const j = this.certifiedAt + 1;
    const e = this.epoch;
    const targets = this.targets.map((t, k): QualityTargetStatus => {
      const cs = (e.bounds[k] as UpperConfidenceSequence[])[j] as UpperConfidenceSequence;
      const share =
        t.metric === 'recall' ? (e.llmHits[k] as number) / Math.max(1, e.samples) : ((e.published[j] as number[])[k] as number) / Math.max(1, e.samples);
      const evidence = cs.count > 0;
      const certified = this.certified;
      return {
        target: t.text,
        met: certified || !capBinding,
        certified,
        lowerBound: evidence ? metricFromLoss(t, Math.min(1, cs.upper), share) : null,
        estimate: evidence ? metricFromLoss(t, cs.mean, share) : null,
      };
    });
    return {
      targets,
      threshold: this.certified ? this.threshold : null,
      audits: e.samples,
      epochs: this.epochs,
      delta: this.options.delta,
      window: this.options.window,
      capBinding,
    };
  }

  /**
   * The label the cascade would publish for `sample` at candidate j (0: −∞, the LLM's), replaying the walker's
   * rule as if every stage were warm: a stage still cold when the sample was taken may be warm when the
   * threshold is used (replaying it as cold certified thresholds on evidence of LLM answers only), and a cold
   * stage in use only passes its items on, to a deeper stage or the LLM.
   */
  private publishedAt(sample: QualitySample, j: number): number {
    const stage = this.answeringStage(sample, j);
    return stage < 0 ? sample.llmLabelId : (sample.labelIds[stage] as number);
  }

  private sentAt(sample: QualitySample, j: number): boolean {
    return this.answeringStage(sample, j) < 0;
  }

  /** The stage that answers `sample` at candidate j, or -1 for the LLM. */
  private answeringStage(sample: QualitySample, j: number): number {
    if (j === 0) return -1;
    const t = GRID[j - 1] as number;
    const last = sample.pDefer.length - 1;
    for (let i = 0; i < last; i++) {
      if ((sample.pDefer[i] as number) <= t * this.options.earlyExitFactor + (this.options.exitBias[i] ?? 0)) return i;
    }
    return (sample.pDefer[last] as number) > t ? -1 : last;
  }

  /**
   * The most permissive candidate every target certifies, climbing from the most conservative, among those
   * the sample has seen small stages answer at.
   */
  private recertify(): void {
    let best = GRID.length - 1;
    for (let k = 0; k < this.targets.length; k++) {
      const limit = this.lossLimit(k);
      const bounds = this.epoch.bounds[k] as UpperConfidenceSequence[];
      let reach = -1;
      for (let j = 1; j <= GRID.length; j++) {
        if ((bounds[j] as UpperConfidenceSequence).upper > limit) break;
        reach = j - 1;
      }
      best = Math.min(best, reach);
    }
    while (best >= 0 && (this.epoch.support[best + 1] as number) < MIN_SUPPORT) best--;
    this.certifiedAt = best;
  }

  /**
   * The largest mean loss certified for target k: 1 − value, less the Bernstein margin of a window's mean
   * around its expectation (δ/2 of it). Without it a threshold certified at exactly the target would miss it
   * in about half the windows. The loss's variance: at most limit × (1 − limit) for agreement; for recall and
   * precision about share × value × (1 − value), the share of the label among the LLM's answers.
   */
  private lossLimit(k: number): number {
    const t = this.targets[k] as QualityTarget;
    const limit = 1 - t.value;
    const share = Math.max(0.01, (this.epoch.llmHits[k] as number) / Math.max(1, this.epoch.samples));
    const variance = t.metric === 'agreement' ? limit * (1 - limit) : share * t.value * (1 - t.value);
    const log = Math.log((2 * this.targets.length) / this.options.delta);
    const window = this.options.window;
    return limit - Math.sqrt((2 * variance * log) / window) - log / (3 * window);
  }

  /**
   * The window's sample at the certified threshold is confidently worse than the bound that certified it: a
   * sequential test per target against that bound, restarted with each window and each move of the threshold.
   */
  private shifted(sample: QualitySample): boolean {
    if (!this.certified || this.options.certifyOnce) return false;
    const j = this.certifiedAt + 1;
    if (this.shiftTests === undefined || this.testedAt !== j) {
      const alpha = (this.options.delta * DRIFT_SHARE) / this.targets.length;
      this.shiftTests = this.targets.map(
        (_, k) => new ExceedanceTest(((this.epoch.bounds[k] as UpperConfidenceSequence[])[j] as UpperConfidenceSequence).upper, alpha),
      );
      this.testedAt = j;
    }
    const published = this.publishedAt(sample, j);
    let shifted = false;
    this.targets.forEach((t, k) => {
      if ((this.shiftTests?.[k] as ExceedanceTest).push(lossOf(t, published, sample.llmLabelId))) shifted = true;
    });
    return shifted;
  }

  private restart(): void {
    this.epoch = this.newEpoch();
    this.next = undefined;
    this.epochs++;
    this.certifiedAt = -1;
    this.shiftTests = undefined;
  }

  private newEpoch(): Epoch {
    // Half of δ for the bound, half for a window's own luck (lossLimit).
    const alpha = this.options.delta / 2 / this.targets.length;
    return {
      bounds: this.targets.map(() => Array.from({ length: GRID.length + 1 }, () => new UpperConfidenceSequence(alpha))),
      published: Array.from({ length: GRID.length + 1 }, () => this.targets.map(() => 0)),
      llmHits: this.targets.map(() => 0),
      support: Array.from({ length: GRID.length + 1 }, () => 0),
      samples: 0,
    };
  }
}
