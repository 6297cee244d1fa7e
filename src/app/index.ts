/**
 * The application layer (composition root): builds a service from the configuration. One context (config and
 * logger), one lifecycle (signals, grace, close order), the embedded service (`start`) and the Kafka service
 * (`run`), and the configured task. Commands in src/cli parse flags and call these.
 */
export { createServiceContext, type ServiceContext, type ServiceContextOptions } from './service-context.js';
export { Lifecycle, SHUTDOWN_MARGIN_MS, type LifecycleOptions, type SignalSource } from './lifecycle.js';
export { createRootLogger, writeAfterLogs, type Logger, type RootLoggerOptions } from './logger.js';
export { configuredTask } from './task.js';
export { checkLlm } from './llm-check.js';
export { monitorFor } from './monitor-options.js';
export { createEmbeddedService, type EmbeddedService, type EmbeddedServiceOptions, type EmbeddedInput } from './embedded-service.js';
export { runEmbedded, paced, demoEntries, type EmbeddedOptions } from './embedded-pipeline.js';
export { runKafkaService, type KafkaServiceOptions } from './kafka-service.js';
export { SharedLearning } from './shared-learning.js';
export { buildOnSharedState, prepareSharedState, type StartingState, type PrepareSharedStateOptions } from './shared-state.js';
export { publishFile, type PublishFileOptions, type Published } from './publish-file.js';
export { readRecords, roleOf, type ReadRecordsOptions, type DecodedRecord, type TopicRole } from './read-records.js';
export { createTopics } from './create-topics.js';
