/**
 * The strategies `spillway bench` can run, by name. A strategy is either a cascade built with its own
 * settings or the llm-only baseline; a new deferral scheme registers here and every part of the bench
 * (flags, paired seeds, differences against the threshold baseline, tables) picks it up.
 */
import type { CascadeConfig } from '../../src/config.js';

export interface BenchStrategy {
  /** The name `--strategies` and the report use. */
  readonly name: string;
  /** One line for `--help` and docs. */
  readonly description: string;
  /** 'cascade': the real cascade with `configure`'s settings; 'llm-only': a budget's share sent at random. */
  readonly kind: 'cascade' | 'llm-only';
  /** The cascade settings of this strategy, from the run's (budget and horizon already set). */
  readonly configure?: (cascade: CascadeConfig) => CascadeConfig;
  /** Runs with the bench's LLM tiers (`--tiers`, cheapest first) instead of the one teacher. @defaultValue false */
  readonly tiered?: boolean;
  /** The strategy its paired differences are taken against. @defaultValue BASELINE_STRATEGY */
  readonly baseline?: string;
}

/** The baseline every other cascade strategy is compared against, per seed and budget. */
export const BASELINE_STRATEGY = 'threshold';

const registry = new Map<string, BenchStrategy>();

/** Adds (or replaces) a strategy. */
export function registerStrategy(strategy: BenchStrategy): void {
  registry.set(strategy.name, strategy);
}

/** The strategy of that name, or undefined. */
export function benchStrategy(name: string): BenchStrategy | undefined {
  return registry.get(name);
}

/** Every registered strategy's name, in registration order. */
export function strategyNames(): string[] {
  return [...registry.keys()];
}

registerStrategy({
  name: 'learned',
  description: 'learned deferral policies (this project)',
  kind: 'cascade',
  configure: (c) => ({ ...c, policy: 'learned' }),
});
registerStrategy({
  name: 'threshold',
  description: 'same stages and training, deferring on 1 − max probability',
  kind: 'cascade',
  configure: (c) => ({ ...c, policy: 'threshold' }),
});
registerStrategy({
  name: 'agreement',
  description: "defer on the disagreement of the stages' voters (an LR ensemble of at least 3, the mid network, its neighbours), fixed (Kolawole et al.)",
  kind: 'cascade',
  configure: (c) => ({ ...c, policy: 'agreement', ensembleSize: Math.max(3, c.ensembleSize) }),
});
registerStrategy({
  name: 'tiered',
  description: 'learned deferral, the LLM as tiers (--tiers): the cheap one first, escalated on disagreement with the small stages; compared with learned',
  kind: 'cascade',
  configure: (c) => ({ ...c, policy: 'learned' }),
  tiered: true,
  baseline: 'learned',
});
registerStrategy({
  name: 'llm-only',
  description: "a budget's share sent to the LLM at random, the rest answered with its most frequent answer",
  kind: 'llm-only',
});
