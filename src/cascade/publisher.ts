/**
 * Publishing an item's answer: the annotation built from its route and walk, a cold stage's confidence capped
 * at its measured agreement (an answer we cannot stand behind never goes out as a confident one), the counters,
 * the observer (the monitor), and the budget's figures whenever they moved.
 */
import type { Task } from '../llm/index.js';
import { buildAnnotation, type AnnotationInput, type LlmOutcome } from './annotation.js';
import type { BudgetController } from './budget-controller.js';
import { countAnnotation, type CascadeCounters } from './counters.js';
import type { CascadeObserver } from './observer.js';
import type { ItemRoute } from './route.js';
import type { SmallStage } from './stages.js';
import type { StageWarmth } from './stage-warmth.js';
import type { Annotation, StageName, StageTrace } from './types.js';

/** What an item's annotation is built from: its facts and its settled route. */
export type PublishInput = Omit<AnnotationInput, 'task' | 'stages' | 'reason' | 'route'> & { route: ItemRoute };

export interface PublisherOptions {
  task: Task;
  stages: readonly SmallStage[];
  budget: BudgetController;
  /** With the multiplexer, annotations carry the stages each item was sent through. */
  multiplexed: boolean;
  warmth: StageWarmth;
  counters: CascadeCounters;
  observer?: CascadeObserver;
}

export class Publisher {
  private reported = { threshold: Number.NaN, share: Number.NaN };

  constructor(private readonly options: PublisherOptions) {}

  /** The annotation of an item whose route is settled; counted and told to the observer. */
  publish(input: PublishInput): Annotation {
    const { task, stages, warmth, counters, observer } = this.options;
    const { route, ...rest } = input;
    const multiplexed = !this.options.multiplexed || route.reason === 'cache' ? undefined : routeOf(rest.traces, rest.llm);
    const annotation = buildAnnotation({ ...rest, reason: route.reason, task, stages, ...(multiplexed === undefined ? {} : { route: multiplexed }) });
    if (annotation.answeredBy !== 'llm') {
      // Capped at how often the stage has been seen to agree with the LLM (Wilson lower bound; 0 before any label).
      const at = stages.findIndex((s) => s.name === annotation.answeredBy);
      if (at >= 0 && !warmth.isWarm(at)) annotation.confidence = Math.min(annotation.confidence, warmth.standing(at).lowerBound);
    }
    countAnnotation(counters, annotation);
    observer?.onAnnotation(annotation);
    return annotation;
  }

  /** Tells the observer the budget's threshold and LLM share whenever either changed (/status, /metrics, dashboard). */
  reportBudget(): void {
    const { observer, budget } = this.options;
    const share = budget.llmShare;
    if (observer === undefined || (budget.threshold === this.reported.threshold && share === this.reported.share)) return;
    this.reported = { threshold: budget.threshold, share };
    observer.onBudgetChange(budget.threshold, share);
  }
}

/** With the multiplexer: the stages the item was sent through, and the LLM when it answered. */
function routeOf(traces: readonly StageTrace[], llm: LlmOutcome | undefined): StageName[] {
  return [...traces.map((t) => t.stage), ...(llm === undefined ? [] : (['llm'] as const))];
}
