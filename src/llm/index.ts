/**
 * The LLM stage's public surface: tasks, prompts, answer parsing, the OpenAI-compatible teacher,
 * and the retry helper. (The replay server used by tests and benchmarks is a tool: tools/replay.)
 */
export type { Task, Teacher, LlmAnswer } from './types.js';
export { loadTask, parseTask, defaultTaskPath } from './task.js';
export { renderMessages, extractText, type ChatMessage } from './prompt.js';
export { AnswerParser, parseAnswer, type AnswerParserOptions } from './answer-parser.js';
export { OpenAiTeacher, type OpenAiTeacherOptions } from './openai-teacher.js';
export { withRetry, isRetriable, backoffMs, type RetryOptions } from './retry.js';
