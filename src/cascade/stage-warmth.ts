/**
 * When a small stage has earned the right to answer: it has trained on
 * enough LLM labels, and the lower bound of the Wilson interval of its agreement with the LLM, measured on
 * the last labelled items before it learned from them, is above a floor. Until then its answers are not
 * published as confident ones: the cascade sends them on (to the LLM within the warm-up allowance) or
 * flags them `cold`.
 */
import { wilsonInterval } from '../stats/index.js';

export interface StageWarmthOptions {
  /** LLM labels a stage must have trained on before it may answer. @defaultValue 50 */
  minLabels?: number;
  /** Floor of the Wilson 95 % lower bound of its agreement with the LLM, 0..1. @defaultValue 0.35 */
  agreementFloor?: number;
  /** Recent labelled items the agreement is measured over. @defaultValue 200 */
  window?: number;
}

/** A stage's standing, for logs and tests. */
export interface StageStanding {
  labels: number;
  /** Agreements among the last `window` labelled items. */
  agreed: number;
  seen: number;
  /** Wilson 95 % lower bound of the agreement (0 with no items). */
  lowerBound: number;
  warm: boolean;
}

export class StageWarmth {
  private readonly minLabels: number;
  private readonly floor: number;
  private readonly windowSize: number;
  private readonly rings: Uint8Array[];
  private readonly next: number[];
  private readonly seen: number[];
  private readonly agreed: number[];
  private readonly labels: number[];
  private readonly warm: boolean[];

  /** `labelsSoFar`: each stage's labels already trained on (a restored cascade starts warm if it earned it). */
  constructor(stages: number, options: StageWarmthOptions = {}, labelsSoFar: readonly number[] = []) {
    this.minLabels = options.minLabels ?? 50;
    this.floor = options.agreementFloor ?? 0.35;
    this.windowSize = options.window ?? 200;
    this.rings = Array.from({ length: stages }, () => new Uint8Array(this.windowSize));
    this.next = new Array<number>(stages).fill(0);
    this.seen = new Array<number>(stages).fill(0);
    this.agreed = new Array<number>(stages).fill(0);
    this.labels = Array.from({ length: stages }, (_, i) => labelsSoFar[i] ?? 0);
    // A restored stage that trained on far more than the minimum has earned its place before.
    this.warm = this.labels.map((n) => n >= 10 * this.minLabels);
  }

  /** Records a labelled item: whether stage `i`'s answer, given before it learned the label, agreed. */
  record(i: number, agreed: boolean): void {
    const ring = this.rings[i];
    if (ring === undefined) return;
    const slot = this.next[i] as number;
    if ((this.seen[i] as number) === this.windowSize) this.agreed[i] = (this.agreed[i] as number) - (ring[slot] as number);
    else this.seen[i] = (this.seen[i] as number) + 1;
    ring[slot] = agreed ? 1 : 0;
    this.agreed[i] = (this.agreed[i] as number) + (agreed ? 1 : 0);
    this.next[i] = (slot + 1) % this.windowSize;
    this.labels[i] = (this.labels[i] as number) + 1;
    // Sticky once earned: later labelled items are mostly the hard ones the policy deferred, whose lower
    // agreement says nothing about the items the stage answers.
    if (this.warm[i] !== true) this.warm[i] = (this.labels[i] as number) >= this.minLabels && this.lowerBound(i) >= this.floor;
  }

  /** True while some stage is warming up (see {@link warmingUp}). */
  get anyWarmingUp(): boolean {
    return this.warm.some((_, i) => this.warmingUp(i));
  }

  /**
   * True while stage `i` is cold but may still warm soon: it has had fewer than ten times the labels it needs.
   * A stage still cold beyond that is not worth holding the input for.
   */
  warmingUp(i: number): boolean {
    return this.warm[i] !== true && (this.labels[i] ?? 0) < 10 * this.minLabels;
  }

  /** True when stage `i` may publish its answers as confident ones. */
  isWarm(i: number): boolean {
    return this.warm[i] === true;
  }

  standing(i: number): StageStanding {
    return { labels: this.labels[i] ?? 0, agreed: this.agreed[i] ?? 0, seen: this.seen[i] ?? 0, lowerBound: this.lowerBound(i), warm: this.isWarm(i) };
  }

  private lowerBound(i: number): number {
    return wilsonInterval(this.agreed[i] ?? 0, this.seen[i] ?? 0)?.lower ?? 0;
  }
}
