/**
 * The replay LLM server: an OpenAI-compatible endpoint answering from recorded LLM answers, for tests and
 * benchmarks (`spillway replay-llm`). A developer tool: the product never imports it.
 */
export { startReplayServer, type ReplayServer, type ReplayServerOptions, type ReplayStats } from './replay-server.js';
export { loadRecordedAnswers, type RecordedAnswers } from './replay-dataset.js';
