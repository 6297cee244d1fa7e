/**
 * A Kafka worker process without a model, for the broker-failure tests and `npm run bench:kafka -- --processor
 * echo`: the library's StreamWorker driven by the echo processor, wired as `spillway run` wires the cascade
 * (logs to stderr as JSON, SIGTERM/SIGINT stop it gracefully with exit 0, a worker that gives up exits 1).
 * It replaces the hidden `run --processor <module>` flag, which let any module path be imported.
 *
 *   node --import tsx tools/harness/echo-worker.ts <config file>
 */
import { hostname } from 'node:os';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import { buildCodecs, createKafka, StreamWorker } from '../../src/stream/index.js';
import { createProcessor } from './echo-processor.js';

const config = loadConfig({ file: process.argv[2] });
// JSON lines on stderr, as `spillway run` writes them when not on a terminal.
const logger = pino({ level: config.logLevel }, pino.destination({ fd: 2, sync: false }));
const pipeline = await createProcessor(config, logger);
const codecs = await buildCodecs(config.kafka);
const worker = new StreamWorker({
  kafka: createKafka(config.kafka, logger),
  config: config.kafka,
  transactionalId: config.kafka.transactionalId ?? `${config.kafka.groupId}-${hostname()}-echo`,
  decoder: codecs.itemDecoder,
  annotationEncoder: codecs.annotationEncoder,
  deadLetterEncoder: codecs.deadLetterEncoder,
  process: pipeline.process,
  logger,
});
const stop = (): void => void worker.stop().catch(() => undefined);
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
try {
  await worker.start();
  await worker.done;
} catch (err: unknown) {
  logger.error({ err }, 'echo worker failed');
  process.exitCode = 1;
}
await pipeline.close();
logger.flush();
// kafkajs may leave a handle open after a crash; exit anyway (unref'd: a clean exit is not delayed).
setTimeout(() => process.exit(), 3_000).unref();
