/**
 * The snapshot topic (`spillway.models`, compacted, schema topics/spillway.models.avsc): learned-state
 * snapshots as chunks, each carrying the label offset the snapshot includes and the SHA-256 of its stage.
 * Chunks are keyed `<task>/<slot>/<stage>/<chunk>`, the slot alternating between consecutive snapshots, so
 * compaction (the newest record per key) keeps the two newest snapshots: when the newest is unusable (a
 * publisher killed half-way, a damaged record) the one before it is still there. A reader checks every
 * chunk (snapshot-chunks.ts), takes the complete snapshots newest first and uses the first that its caller's
 * check accepts; what it refuses is dead-lettered with the reason.
 */
import { createHash, randomUUID } from 'node:crypto';
import type avro from 'avsc';
import type { Kafka, Message, Producer } from 'kafkajs';
import { InvalidSharedRecordError } from '../errors.js';
import { checkChunk, decodeChunk, type ChunkRecord, SnapshotAssembler } from './snapshot-chunks.js';
import { readTopic } from './topic-reader.js';
import type { RecordOrigin } from './types.js';

/** One snapshot: its parts' bytes (opaque here) and the label offset it includes. */
export interface ModelSnapshot {
  task: string;
  snapshotId: string;
  /** The next label offset: the state includes every label before it. */
  labelOffset: bigint;
  /** Labels the state was trained on, in total. */
  labels: number;
  workerId: string;
  createdAtMs: number;
  /** Parts by name (stage or `manifest`). */
  parts: Map<string, Buffer>;
  /** Where its first chunk was read (absent for a snapshot being published). */
  origin?: RecordOrigin;
}

/** What a publish wrote. */
export interface PublishedSnapshot {
  snapshotId: string;
  chunks: number;
  bytes: number;
}

/**
 * The chunk records of a snapshot, `chunkBytes` of payload at most each, keyed in `slot` (0 or 1: alternate
 * it between consecutive snapshots).
 */
export function snapshotMessages(
  snapshot: Omit<ModelSnapshot, 'snapshotId'> & { snapshotId?: string },
  chunkType: avro.Type,
  chunkBytes: number,
  slot = 0,
): { snapshotId: string; messages: Message[] } {
  const snapshotId = snapshot.snapshotId ?? randomUUID();
  const stages = [...snapshot.parts.keys()];
  const messages: Message[] = [];
  for (const [stage, bytes] of snapshot.parts) {
    const chunks = Math.max(1, Math.ceil(bytes.length / chunkBytes));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    for (let chunk = 0; chunk < chunks; chunk++) {
      const record: ChunkRecord = {
        task: snapshot.task,
        stage,
        snapshotId,
        stages,
        chunk,
        chunks,
        labelOffset: Number(snapshot.labelOffset),
        labels: snapshot.labels,
        workerId: snapshot.workerId,
        createdAtMs: snapshot.createdAtMs,
        data: bytes.subarray(chunk * chunkBytes, (chunk + 1) * chunkBytes),
        sha256,
      };
      messages.push({ key: `${snapshot.task}/${slot}/${stage}/${chunk}`, value: chunkType.toBuffer(record) });
    }
  }
  return { snapshotId, messages };
}

/** Publishes snapshots with an idempotent producer; a reader ignores a snapshot until all its chunks are in. */
export class SnapshotPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly chunkType: avro.Type,
    private readonly chunkBytes: number,
  ) {}

  async start(): Promise<void> {
    await this.producer.connect();
  }

  /** Writes the snapshot's chunks in `slot` (0 or 1), one request each. */
  async publish(snapshot: Omit<ModelSnapshot, 'snapshotId'>, slot = 0): Promise<PublishedSnapshot> {
    const { snapshotId, messages } = snapshotMessages(snapshot, this.chunkType, this.chunkBytes, slot);
    // One chunk per request: each is close to the broker's request limit on its own.
    for (const m of messages) await this.producer.send({ topic: this.topic, acks: -1, messages: [m] });
    const bytes = messages.reduce((sum, m) => sum + (m.value as Buffer).length, 0);
    return { snapshotId, chunks: messages.length, bytes };
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

/** A refused record or snapshot: its bytes (null for a whole snapshot), where it was read, and why. */
export type RefuseSnapshotRecord = (record: { key: Buffer | null; value: Buffer | null }, origin: RecordOrigin, err: InvalidSharedRecordError) => void;

/** Options of {@link readSnapshots}. */
export interface ReadSnapshotsOptions {
  kafka: Kafka;
  topic: string;
  task: string;
  chunkType: avro.Type;
  /** The label topic's end offset: a snapshot claiming more is refused. */
  maxLabelOffset: bigint;
  /** Told of every refused chunk and snapshot. */
  refuse: RefuseSnapshotRecord;
  /** Complete snapshots kept, newest first. @defaultValue 3 */
  keep?: number;
}

function toSnapshot(s: { meta: ChunkRecord; parts: Map<string, Buffer>; origin: RecordOrigin }): ModelSnapshot {
  const { meta } = s;
  return {
    task: meta.task,
    snapshotId: meta.snapshotId,
    labelOffset: BigInt(meta.labelOffset),
    labels: meta.labels,
    workerId: meta.workerId,
    createdAtMs: meta.createdAtMs,
    parts: s.parts,
    origin: s.origin,
  };
}

/**
 * Reads the snapshot topic to its end and returns the newest complete, checked snapshots of `task`, newest
 * (highest label offset, then latest) first. Records that cannot be decoded or checked are refused and skipped.
 */
export async function readSnapshots(options: ReadSnapshotsOptions): Promise<ModelSnapshot[]> {
  const assembler = new SnapshotAssembler(options.keep ?? 3);
  // Every chunk of a snapshot claiming a bad offset is refused; it is reported once.
  const reported = new Set<string>();
  await readTopic({
    kafka: options.kafka,
    topic: options.topic,
    exitAtEnd: true,
    onRecord: (message, partition) => {
      if (message.value === null) return; // a tombstone
      const origin: RecordOrigin = { topic: options.topic, partition, offset: message.offset };
      let chunk: ChunkRecord | undefined;
      try {
        chunk = decodeChunk(message.value, options.chunkType);
        if (chunk.task !== options.task) return;
        checkChunk(chunk, options.maxLabelOffset);
        assembler.add(chunk, origin);
      } catch (err: unknown) {
        if (!(err instanceof InvalidSharedRecordError)) throw err;
        const once = chunk === undefined ? undefined : `${chunk.snapshotId}|${err.kind}`;
        if (once !== undefined && reported.has(once)) return;
        if (once !== undefined) reported.add(once);
        options.refuse({ key: message.key, value: message.value }, origin, err);
      }
    },
  });
  return assembler.snapshots().map(toSnapshot);
}

/** Options of {@link readUsableSnapshot}. */
export interface ReadUsableSnapshotOptions extends ReadSnapshotsOptions {
  /** Refuses a snapshot by throwing (a state that does not unpack, a weight that is not finite). */
  check: (snapshot: ModelSnapshot) => Promise<void>;
  /** Only snapshots past this label offset are wanted (the caller has state that recent). */
  newerThan?: bigint;
}

/**
 * The newest snapshot of `task` that `check` accepts, trying older complete snapshots after a refused one;
 * undefined when none (past `newerThan`) is usable.
 */
export async function readUsableSnapshot(options: ReadUsableSnapshotOptions): Promise<ModelSnapshot | undefined> {
  for (const snapshot of await readSnapshots(options)) {
    if (options.newerThan !== undefined && snapshot.labelOffset <= options.newerThan) return undefined;
    try {
      await options.check(snapshot);
      return snapshot;
    } catch (err: unknown) {
      const why = err instanceof Error ? err.message : String(err);
      const refusal = new InvalidSharedRecordError(
        'snapshot-unusable',
        `snapshot ${snapshot.snapshotId} (label offset ${snapshot.labelOffset}) is unusable: ${why}`,
        {
          cause: err,
        },
      );
      const origin = snapshot.origin ?? { topic: options.topic, partition: 0, offset: '-1' };
      options.refuse({ key: Buffer.from(`${snapshot.task}/${snapshot.snapshotId}`), value: null }, origin, refusal);
    }
  }
  return undefined;
}
