/** The monitor's options from the configuration: one place, so `start` and `run` price and serve alike. */
import type { Config } from '../config.js';
import type { CreateMonitorOptions } from '../monitor/index.js';
import type { Logger } from './logger.js';

export function monitorFor(config: Readonly<Config>, logger: Logger, extra: Partial<CreateMonitorOptions> = {}): CreateMonitorOptions {
  return {
    config: config.monitor,
    logger,
    llmCostUnits: config.llm.costUnits,
    pricePerMillionInputTokens: config.llm.pricePerMillionInputTokens,
    pricePerMillionOutputTokens: config.llm.pricePerMillionOutputTokens,
    ...extra,
  };
}
