/**
 * Helpers shared by the tests and the benchmarks: repository paths, polling waits, the `spillway` CLI as a
 * child process, the replay LLM as a child process, Kafka clients, random topics and reading them, config
 * files. A developer tool: the product never imports it.
 */
export { REPO_ROOT, DATASETS_DIR, DATASETS_ENV, datasetFile } from './paths.js';
export { waitFor } from './wait-for.js';
export { spawnCli, spawnEchoWorker, type CliProcess } from './cli-process.js';
export { startReplayLlm, type ReplayLlm } from './replay-llm-process.js';
export { KAFKA_BROKERS, kafkaClient, randomName, committedCount, createTopicSet, eachJsonRecord, readJsonRecords, type TopicSet } from './kafka.js';
export { writeConfig } from './config-file.js';
export { startOutageLlm, gaps, type OutageLlm } from './outage-llm.js';
