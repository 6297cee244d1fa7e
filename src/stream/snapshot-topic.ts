/**
 * The snapshot topic (`spillway.models`, compacted, schema topics/spillway.models.avsc): learned-state
 * snapshots as chunks keyed `<task>/<stage>/<chunk>`, each carrying the label offset the snapshot
 * includes. A reader takes the newest snapshot whose every chunk is present; chunks left behind by an
 * older snapshot under the same keys (compaction keeps the newest record per key) are told apart by
 * their snapshotId.
 */
import { randomUUID } from 'node:crypto';
import type avro from 'avsc';
import type { Kafka, Message, Producer } from 'kafkajs';
import { readTopic } from './topic-reader.js';

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
}

/** One chunk as the Avro schema has it. */
interface ChunkRecord {
  task: string;
  stage: string;
  snapshotId: string;
  stages: string[];
  chunk: number;
  chunks: number;
  labelOffset: number;
  labels: number;
  workerId: string;
  createdAtMs: number;
  data: Buffer;
}

/** What a publish wrote. */
export interface PublishedSnapshot {
  snapshotId: string;
  chunks: number;
  bytes: number;
}

/** The chunk records of a snapshot, `chunkBytes` of payload at most each. */
export function snapshotMessages(
  snapshot: Omit<ModelSnapshot, 'snapshotId'> & { snapshotId?: string },
  chunkType: avro.Type,
  chunkBytes: number,
): { snapshotId: string; messages: Message[] } {
  const snapshotId = snapshot.snapshotId ?? randomUUID();
  const stages = [...snapshot.parts.keys()];
  const messages: Message[] = [];
  for (const [stage, bytes] of snapshot.parts) {
    const chunks = Math.max(1, Math.ceil(bytes.length / chunkBytes));
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
      };
      messages.push({ key: `${snapshot.task}/${stage}/${chunk}`, value: chunkType.toBuffer(record) });
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

  async publish(snapshot: Omit<ModelSnapshot, 'snapshotId'>): Promise<PublishedSnapshot> {
    const { snapshotId, messages } = snapshotMessages(snapshot, this.chunkType, this.chunkBytes);
    // One chunk per request: each is close to the broker's request limit on its own.
    for (const m of messages) await this.producer.send({ topic: this.topic, acks: -1, messages: [m] });
    const bytes = messages.reduce((sum, m) => sum + (m.value as Buffer).length, 0);
    return { snapshotId, chunks: messages.length, bytes };
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

interface Pending {
  meta: ChunkRecord;
  /** Chunks per stage, by index. */
  chunks: Map<string, Array<Buffer | undefined>>;
}

function complete(p: Pending): boolean {
  return p.meta.stages.every((stage) => {
    const list = p.chunks.get(stage);
    return list !== undefined && list.length > 0 && list.every((c) => c !== undefined);
  });
}

/**
 * Reads the snapshot topic to its end and returns the newest complete snapshot of `task` (highest label
 * offset, then newest), or undefined when there is none. Older snapshots are dropped as newer ones
 * complete, so memory stays near two snapshots.
 */
export async function readLatestSnapshot(kafka: Kafka, topic: string, task: string, chunkType: avro.Type): Promise<ModelSnapshot | undefined> {
  const pending = new Map<string, Pending>();
  let best: Pending | undefined;
  const newer = (a: ChunkRecord, b: ChunkRecord | undefined): boolean =>
    b === undefined || a.labelOffset > b.labelOffset || (a.labelOffset === b.labelOffset && a.createdAtMs > b.createdAtMs);
  await readTopic({
    kafka,
    topic,
    exitAtEnd: true,
    onRecord: (message) => {
      if (message.value === null) return; // a tombstone
      const record = chunkType.fromBuffer(message.value) as ChunkRecord;
      if (record.task !== task || !newer(record, best?.meta)) return;
      let p = pending.get(record.snapshotId);
      if (p === undefined) {
        p = { meta: record, chunks: new Map() };
        pending.set(record.snapshotId, p);
      }
      const list = p.chunks.get(record.stage) ?? new Array<Buffer | undefined>(record.chunks).fill(undefined);
      list[record.chunk] = Buffer.from(record.data);
      p.chunks.set(record.stage, list);
      if (complete(p)) {
        best = p;
        for (const [id, other] of pending) if (!newer(other.meta, best.meta)) pending.delete(id);
      }
    },
  });
  if (best === undefined) return undefined;
  const { meta, chunks } = best;
  return {
    task: meta.task,
    snapshotId: meta.snapshotId,
    labelOffset: BigInt(meta.labelOffset),
    labels: meta.labels,
    workerId: meta.workerId,
    createdAtMs: meta.createdAtMs,
    parts: new Map([...chunks].map(([stage, list]) => [stage, Buffer.concat(list as Buffer[])])),
  };
}
