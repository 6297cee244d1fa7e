/**
 * The LLM stage's public surface: tasks, prompts, answer parsing, the OpenAI-compatible teacher,
 * and the retry helper. (The replay server used by tests and benchmarks is a tool: tools/replay.)
 */
export type { Task, Teacher, LlmAnswer, TokenUsage, CallHooks, BatchAnswer, Objective } from './types.js';
export { parseObjective, formatObjective, DEFAULT_RECALL_FLOOR } from './objective.js';
export { loadTask, parseTask, defaultTaskPath } from './task.js';
export { renderMessages, extractText, fenceText, unfenceText, systemMessage, FENCE_NOTICE, type ChatMessage } from './prompt.js';
export { guardedFetch, type GuardedFetchOptions } from './guarded-fetch.js';
export { renderBatchMessages, extractBatchTexts, DEFAULT_BATCH_USER_TEMPLATE } from './batch-prompt.js';
export { parseBatchAnswer, type BatchItemAnswer } from './batch-answer-parser.js';
export { AnswerParser, parseAnswer, type AnswerParserOptions } from './answer-parser.js';
export { OpenAiTeacher, DEFAULT_MAX_RESPONSE_BYTES, type OpenAiTeacherOptions } from './openai-teacher.js';
export { withRetry, isRetriable, backoffMs, type RetryOptions } from './retry.js';
export { LlmScheduler, type LlmSchedulerOptions, type ScheduledOutcome, type SchedulerObserver, type SchedulerStats } from './llm-scheduler.js';
export { AimdController, type AimdOptions, type AimdReason } from './aimd-controller.js';
export { RateLimiter, TokenBucket, type RateLimits } from './rate-limiter.js';
export { PriorityQueue } from './priority-queue.js';
export { isLlmUnavailable, isLlmMisconfigured, describeLlmFailure } from './llm-health.js';
export { LlmBreaker, combinedHealth, type LlmBreakerOptions, type BreakerPermit, type LlmHealthReport, type CallOutcome } from './llm-breaker.js';
export { llmEndpoints, type LlmEndpoints, type LlmEndpointTier } from './llm-endpoints.js';
