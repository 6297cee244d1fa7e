/**
 * The LLM clients a configuration names (`llm.baseUrl`, or one per `llm.tiers` entry, each with the `llm` keys
 * it does not set), built once: the cascade asks them, and the service reads their breakers (llm-breaker.ts),
 * so /healthz and spillway_llm_up report an endpoint that fails or stalls in every `llm.onUnavailable` mode.
 */
import type { Logger } from 'pino';
import type { LlmConfig } from '../config.js';
import { combinedHealth, type LlmHealthReport } from './llm-breaker.js';
import { OpenAiTeacher } from './openai-teacher.js';
import type { Task, Teacher } from './types.js';

/** One endpoint of the tiers, cheapest first, and the cost units of one call to it. */
export interface LlmEndpointTier {
  teacher: Teacher;
  costUnits: number;
}

/** A configuration's LLM endpoints: one teacher, or tiers; neither without an endpoint. */
export interface LlmEndpoints {
  teacher?: Teacher;
  tiers?: LlmEndpointTier[];
  /** Every endpoint's health: down when any is failing or stalled; up when there is none. */
  health(): LlmHealthReport;
}

/** Builds the clients of `llm` for `task`. */
export function llmEndpoints(llm: Readonly<LlmConfig>, task: Task, logger?: Logger): LlmEndpoints {
  if (llm.baseUrl === undefined && llm.tiers === undefined) return { health: () => ({ up: true }) };
  if (llm.tiers === undefined) {
    const teacher = OpenAiTeacher.fromConfig(task, llm, logger);
    return { teacher, health: () => combinedHealth([teacher]) };
  }
  const clients = llm.tiers.map((tier) =>
    OpenAiTeacher.fromConfig(task, { ...llm, model: tier.model, baseUrl: tier.baseUrl ?? llm.baseUrl, apiKey: tier.apiKey ?? llm.apiKey }, logger),
  );
  const tiers = clients.map((teacher, i) => ({ teacher, costUnits: llm.tiers?.[i]?.costUnits ?? llm.costUnits }));
  return { tiers, health: () => combinedHealth(clients) };
}
