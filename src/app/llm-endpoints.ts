/**
 * The LLM clients of a service (`llm.baseUrl`, or one per `llm.tiers` entry), built here and handed to
 * buildCascade, so that the service keeps each endpoint's breaker (llm-breaker.ts): /healthz and
 * spillway_llm_up report from them in every `llm.onUnavailable` mode, a stall included.
 */
import type { LlmTier } from '../cascade/index.js';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { combinedHealth, loadTask, OpenAiTeacher, type LlmHealthReport, type Task } from '../llm/index.js';
import type { BuildCascadeOptions } from './build-cascade.js';
import type { Logger } from './logger.js';

/** A service's LLM endpoints. */
export interface LlmEndpoints {
  /** For buildCascade: the teacher, or the tiers (none without an endpoint: buildCascade decides what that means). */
  cascadeOptions: Pick<BuildCascadeOptions, 'teacher' | 'tiers' | 'task'>;
  /** Every endpoint's health: down when any is failing or stalled; up when there is none. */
  health(): LlmHealthReport;
}

/** The configured task (buildCascade's rule: `task` is required). */
export function configuredTask(config: Readonly<Config>): Task {
  if (config.task === undefined)
    throw new ConfigError([{ key: 'task', message: 'no task file: pass --task F, set SPILLWAY_TASK, or `task:` in the config file' }]);
  return loadTask(config.task);
}

/** Builds the clients of `config.llm` for `task` (loaded from `config.task` when not given). */
export function llmEndpoints(config: Readonly<Config>, logger: Logger, given?: Task): LlmEndpoints {
  const { llm } = config;
  if (llm.baseUrl === undefined && llm.tiers === undefined) return { cascadeOptions: given === undefined ? {} : { task: given }, health: () => ({ up: true }) };
  const task = given ?? configuredTask(config);
  if (llm.tiers === undefined) {
    const teacher = OpenAiTeacher.fromConfig(task, llm, logger);
    return { cascadeOptions: { task, teacher }, health: () => combinedHealth([teacher]) };
  }
  const clients = llm.tiers.map((tier) =>
    OpenAiTeacher.fromConfig(task, { ...llm, model: tier.model, baseUrl: tier.baseUrl ?? llm.baseUrl, apiKey: tier.apiKey ?? llm.apiKey }, logger),
  );
  const tiers: LlmTier[] = clients.map((teacher, i) => ({ teacher, costUnits: llm.tiers?.[i]?.costUnits ?? llm.costUnits }));
  return { cascadeOptions: { task, tiers }, health: () => combinedHealth(clients) };
}
