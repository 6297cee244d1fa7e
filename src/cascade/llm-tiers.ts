/**
 * LLM tiers (`llm.tiers`): the cheapest endpoint answers first; while its answer disagrees with the deepest
 * small stage's (or names no label, or the call failed), the item is asked of the next, stronger tier within
 * what is left of its deadline. The last tier's answer is final; when it names no label, the latest answer
 * that does.
 */
import type { LlmScheduler, ScheduledOutcome, Teacher } from '../llm/index.js';
import type { LlmOutcome } from './annotation.js';
import type { CascadeCounters } from './counters.js';
import type { CascadeObserver } from './observer.js';
import type { Item } from './types.js';

/** One LLM tier as the cascade runs it: its teacher, its cost and its own scheduler (endpoint, limits, batches). */
export interface TierRuntime {
  teacher: Teacher;
  costUnits: number;
  scheduler: LlmScheduler;
}

/** What escalation reads and counts with. */
export interface EscalationContext {
  tiers: readonly TierRuntime[];
  counters: CascadeCounters;
  observer: CascadeObserver | undefined;
  /** Turns a tier's answer (or failure) into an outcome, counting it. */
  useOutcome(outcome: Exclude<ScheduledOutcome, { kind: 'deadline' }>): Promise<LlmOutcome>;
}

/** One item's escalation: tier 0's outcome and answer, the small stages' answer, and the item's deadline. */
export interface Escalation {
  item: Item;
  outcome: Exclude<ScheduledOutcome, { kind: 'deadline' }>;
  first: LlmOutcome;
  smallLabel: number;
  score: number;
  /** performance.now() time by which the final answer must be known. */
  deadlineAtMs: number;
}

/** The final answer, its tier and model, the LLM cost units beyond tier 0's call, and the item's whole LLM cost (for the cache). */
export interface EscalationResult {
  llm: LlmOutcome;
  tier: number;
  model: string;
  costUnits: number;
  itemCost: number;
}

/**
 * Asks stronger tiers (through `ask`, given a tier and the ms left) while the latest answer disagrees with the
 * small stages'. A stronger tier's answer that arrives after the deadline is counted and paid for, not used.
 */
export async function escalate(
  ctx: EscalationContext,
  esc: Escalation,
  ask: (tier: TierRuntime, leftMs: number) => Promise<ScheduledOutcome>,
): Promise<EscalationResult> {
  if (!esc.outcome.shared) countTierCall(ctx, 0);
  let latest = esc.first;
  let final = { llm: esc.first, tier: 0, model: ctx.tiers[0]?.teacher.model ?? '' };
  let costUnits = 0;
  let itemCost = esc.outcome.shared ? 0 : (ctx.tiers[0]?.costUnits ?? 0);
  for (let k = 1; k < ctx.tiers.length && !(latest.labelId !== null && latest.labelId === esc.smallLabel); k++) {
    const tier = ctx.tiers[k] as TierRuntime;
    const leftMs = esc.deadlineAtMs - performance.now();
    if (!(leftMs > 0)) break;
    if (k === 1) ctx.counters.escalations++;
    const next = await ask(tier, leftMs);
    if (next.kind === 'deadline') {
      if (next.late !== undefined) {
        costUnits += tier.costUnits;
        void next.late.then((answer) => {
          if (answer === undefined) return;
          ctx.counters.llmCalls++;
          const usage = answer.usage;
          if (usage !== undefined) {
            ctx.counters.promptTokens += usage.promptTokens;
            ctx.counters.completionTokens += usage.completionTokens;
            ctx.observer?.onLlmUsage?.(usage.promptTokens, usage.completionTokens, answer.model);
          }
          countTierCall(ctx, k);
        });
      }
      break;
    }
    if (!next.shared) {
      costUnits += tier.costUnits;
      itemCost += tier.costUnits;
      countTierCall(ctx, k);
    }
    latest = await ctx.useOutcome(next);
    if (latest.labelId !== null || final.llm.labelId === null) final = { llm: latest, tier: k, model: tier.teacher.model };
  }
  return { ...final, costUnits, itemCost };
}

function countTierCall(ctx: EscalationContext, tier: number): void {
  const calls = ctx.counters.tierCalls;
  calls[tier] = (calls[tier] ?? 0) + 1;
  ctx.observer?.onLlmTierCall?.(tier, ctx.tiers[tier]?.teacher.model ?? '');
}
