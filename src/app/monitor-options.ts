/** The monitor's options from the configuration: one place, so `start` and `run` price and serve alike. */
import { llmBudgetOf, type Config } from '../config.js';
import type { CreateMonitorOptions } from '../monitor/index.js';
import type { Logger } from './logger.js';

export function monitorFor(config: Readonly<Config>, logger: Logger, extra: Partial<CreateMonitorOptions> = {}): CreateMonitorOptions {
  const { llm } = config;
  // With tiers, each tier's tokens cost its own price (the llm section's where it names none).
  const modelPrices = Object.fromEntries(
    (llm.tiers ?? []).map((tier) => [
      tier.model,
      {
        pricePerMillionInputTokens: tier.pricePerMillionInputTokens ?? llm.pricePerMillionInputTokens,
        pricePerMillionOutputTokens: tier.pricePerMillionOutputTokens ?? llm.pricePerMillionOutputTokens,
      },
    ]),
  );
  return {
    config: config.monitor,
    logger,
    llmCostUnits: llm.costUnits,
    llmBudget: llmBudgetOf(config),
    pricePerMillionInputTokens: llm.pricePerMillionInputTokens,
    pricePerMillionOutputTokens: llm.pricePerMillionOutputTokens,
    modelPrices,
    ...extra,
  };
}
