/**
 * Where a shared-learning worker's state comes from at start: the newest usable of its local models folder
 * and the snapshots on `kafka.topics.models`, else nothing (a replay of the label topic from its start).
 *
 * Nothing is trusted unchecked. A snapshot is used only when complete, its chunks' checksums match, its label
 * offset lies within the label topic, and its state checks out (state-check.ts: checksums, finite weights, fit
 * to this configuration, the same label offset); otherwise the one before it is tried, and each refused one is
 * dead-lettered with the reason. A local folder that fails the same checks, or claims a label offset past the
 * label topic's end, is set aside. `--reset-models` sets the local state aside and reads no snapshot: the
 * worker starts fresh from label offset 0, and says so.
 */
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import {
  checkCascadeArchive,
  checkStateFiles,
  modelStateDir,
  readStateFiles,
  readStateMeta,
  restoreCascadeArchive,
  type StateExpectation,
} from '../cascade/index.js';
import type { Config } from '../config.js';
import { ConfigError, ModelStateError } from '../errors.js';
import type { Task } from '../llm/index.js';
import { readUsableSnapshot, type DeadLetterWriter, type StreamCodecs } from '../stream/index.js';

/** Where a worker's learned state came from at start. */
export interface StartingState {
  source: 'snapshot' | 'local' | 'fresh';
  /** The next label to train on. */
  labelOffset: bigint;
  /** Labels the restored state was trained on. */
  labels: number;
  snapshotId?: string;
}

/** Options of {@link prepareSharedState}. */
export interface PrepareSharedStateOptions {
  /** Receives refused snapshot records and snapshots. */
  deadLetters: DeadLetterWriter;
  /** `--reset-models`: set the local state aside, restore nothing, train from label offset 0. */
  resetModels?: boolean;
  /** Snapshots found unusable after their checks (they did not load), by id, with why: refused again. */
  refused?: ReadonlyMap<string, string>;
}

/** Checks that the shared-learning topics exist (auto-creation is off on Spillway brokers); returns the label topic's first and end offsets. */
async function labelTopicRange(kafka: Kafka, config: Readonly<Config>): Promise<{ low: bigint; high: bigint }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = (['labels', 'models'] as const).filter((role) => !existing.has(config.kafka.topics[role]));
    if (missing.length > 0) {
      throw new ConfigError(
        missing.map((role) => ({
          key: `kafka.topics.${role}`,
          value: config.kafka.topics[role],
          message: `topic ${config.kafka.topics[role]} does not exist: run \`spillway topics create\`, or start with --no-shared-learning`,
        })),
      );
    }
    const [offsets] = await admin.fetchTopicOffsets(config.kafka.topics.labels);
    return { low: BigInt(offsets?.low ?? '0'), high: BigInt(offsets?.high ?? '0') };
  } finally {
    await admin.disconnect();
  }
}

async function setAside(dir: string, why: string): Promise<string> {
  const aside = `${dir}.${why}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(dir, aside);
  return aside;
}

/** The local state when it is usable (checked, with a plausible label offset); set aside when it is not. */
async function usableLocalState(
  dir: string,
  expect: StateExpectation,
  labelEnd: bigint,
  log: Logger,
): Promise<{ labelOffset: bigint; labels: number } | undefined> {
  if (!existsSync(`${dir}/manifest.json`)) return undefined;
  let problem: string;
  try {
    const meta = await readStateMeta(dir);
    const offset = meta?.labelOffset;
    if (offset === undefined) {
      // Saved without shared learning: it cannot be lined up with the labels, and must not be trained twice.
      log.warn({ dir, movedTo: await setAside(dir, 'unshared') }, 'local state has no label offset (saved without shared learning); moved aside');
      return undefined;
    }
    if (!Number.isSafeInteger(offset) || offset < 0 || BigInt(offset) > labelEnd) {
      problem = `it claims label offset ${offset}, but the label topic ends at ${labelEnd}`;
    } else {
      checkStateFiles(dir, await readStateFiles(dir), expect, BigInt(offset));
      return { labelOffset: BigInt(offset), labels: meta?.labels ?? 0 };
    }
  } catch (err: unknown) {
    if (!(err instanceof ModelStateError)) throw err;
    problem = err.message;
  }
  log.warn({ dir, movedTo: await setAside(dir, 'unusable'), reason: problem }, 'local state is unusable; moved aside');
  return undefined;
}

/**
 * Before the cascade is built: picks the newest usable state (see the module's comment) and, for a snapshot,
 * writes it into the models folder (the local cache), where the cascade then restores it from.
 */
export async function prepareSharedState(
  kafka: Kafka,
  config: Readonly<Config>,
  codecs: StreamCodecs,
  task: Task,
  logger: Logger,
  options: PrepareSharedStateOptions,
): Promise<StartingState> {
  const range = await labelTopicRange(kafka, config);
  const labelEnd = range.high;
  const log = logger.child({ module: 'shared-learning' });
  const start = await chooseState(kafka, config, codecs, task, log, options, labelEnd);
  // Retention may have deleted labels the state never saw: it goes on without them, and says so.
  if (start.labelOffset < range.low)
    log.warn(
      { labelOffset: start.labelOffset.toString(), firstKept: range.low.toString() },
      'labels before the first one kept were deleted by retention; they are not learned',
    );
  return start;
}

async function chooseState(
  kafka: Kafka,
  config: Readonly<Config>,
  codecs: StreamCodecs,
  task: Task,
  log: Logger,
  options: PrepareSharedStateOptions,
  labelEnd: bigint,
): Promise<StartingState> {
  const dir = modelStateDir(config.models.dir, task.name);
  if (options.resetModels === true) {
    const movedTo = existsSync(dir) ? await setAside(dir, 'reset') : undefined;
    log.warn({ dir, movedTo }, '--reset-models: no saved state or snapshot is restored; training on the label topic from its start');
    return { source: 'fresh', labelOffset: 0n, labels: 0 };
  }
  const started = Date.now();
  const expect: StateExpectation = {
    labels: task.labels,
    featureDim: config.cascade.featureDim,
    stages: config.cascade.stages,
    sentenceEncoder: config.cascade.sentenceEncoder,
  };
  const local = await usableLocalState(dir, expect, labelEnd, log);
  const snapshot = await readUsableSnapshot({
    kafka,
    topic: config.kafka.topics.models,
    task: task.name,
    chunkType: codecs.schemas.modelChunk,
    maxLabelOffset: labelEnd,
    refuse: (record, origin, err) => options.deadLetters.write('models', record, origin, err),
    check: async (s) => {
      const failed = options.refused?.get(s.snapshotId);
      if (failed !== undefined) throw new ModelStateError(`snapshot ${s.snapshotId}`, `it did not load: ${failed}`);
      checkCascadeArchive(s.parts, `snapshot ${s.snapshotId}`, expect, s.labelOffset);
    },
    ...(local === undefined ? {} : { newerThan: local.labelOffset }),
  });
  if (snapshot === undefined) {
    if (local !== undefined) {
      log.info({ dir, labelOffset: local.labelOffset.toString() }, 'local state is the newest; replaying the labels after it');
      return { source: 'local', ...local };
    }
    log.info('no usable snapshot; training on the label topic from its start');
    return { source: 'fresh', labelOffset: 0n, labels: 0 };
  }
  await restoreCascadeArchive(snapshot.parts, dir);
  const bytes = [...snapshot.parts.values()].reduce((s, b) => s + b.length, 0);
  const { snapshotId, labelOffset, labels, workerId } = snapshot;
  log.info(
    { snapshotId, labelOffset: labelOffset.toString(), labels, bytes, ms: Date.now() - started, from: workerId },
    'snapshot restored from the models topic',
  );
  return { source: 'snapshot', labelOffset, labels, snapshotId };
}

/** Times a restored state that passed its checks may fail to load before the worker gives up. */
const MAX_LOAD_ATTEMPTS = 3;

/**
 * Prepares the starting state and builds the cascade on it (`build`). A state that passed its checks but does
 * not load (ModelStateError: a model file tfjs refuses) is set aside, a snapshot also refused and dead-lettered,
 * and the next usable state is tried; a fresh start that fails is no data problem and is thrown.
 */
export async function buildOnSharedState<T>(
  prepare: (refused: ReadonlyMap<string, string>) => Promise<StartingState>,
  build: (start: StartingState) => Promise<T>,
  dir: string,
  logger: Logger,
): Promise<{ start: StartingState; built: T }> {
  const refused = new Map<string, string>();
  for (let attempt = 1; ; attempt++) {
    const start = await prepare(refused);
    try {
      return { start, built: await build(start) };
    } catch (err: unknown) {
      if (!(err instanceof ModelStateError) || start.source === 'fresh' || attempt >= MAX_LOAD_ATTEMPTS) throw err;
      if (start.snapshotId !== undefined) refused.set(start.snapshotId, err.message);
      const movedTo = existsSync(dir) ? await setAside(dir, 'unloadable') : undefined;
      logger.warn({ source: start.source, snapshotId: start.snapshotId, movedTo, err }, 'restored state does not load; trying the state before it');
    }
  }
}
