/**
 * Reading the snapshot topic's chunks safely: each record is decoded (the current schema, else version 1) and
 * checked (sizes, counts, finite numbers, a label offset within the label topic) before it is kept; chunks are
 * gathered per snapshot, and a complete snapshot is kept only when every chunk agrees with the others and
 * each stage's bytes match their SHA-256. What fails is refused with its reason (the caller dead-letters it).
 * Memory stays bounded: a few complete snapshots, a few incomplete ones.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type avro from 'avsc';
import { InvalidSharedRecordError } from '../errors.js';
import { loadAvroType, TOPICS_DIR } from './schemas.js';
import type { RecordOrigin } from './types.js';

/** One chunk as the Avro schema has it (version 1 chunks have an empty sha256). */
export interface ChunkRecord {
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
  sha256: string;
}

/** Largest chunk payload read, bytes: the models topic's max.message.bytes (1 MiB) bounds what a publisher writes. */
export const MAX_CHUNK_BYTES = 1_048_576;
/** Most chunks of one stage (4 GiB at the largest chunk): more is no snapshot Spillway wrote. */
const MAX_CHUNKS = 4096;
const MAX_STAGES = 32;
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const SHA256 = /^[0-9a-f]{64}$/;

const resolvers = new WeakMap<avro.Type, avro.Resolver>();

/** Decodes a chunk written with the current schema or version 1; a record that is neither is refused. */
export function decodeChunk(value: Buffer, chunkType: avro.Type): ChunkRecord {
  try {
    return chunkType.fromBuffer(value) as ChunkRecord;
  } catch (current: unknown) {
    let resolver = resolvers.get(chunkType);
    if (resolver === undefined) {
      resolver = chunkType.createResolver(loadAvroType(path.join(TOPICS_DIR, 'history/spillway.models.v1.avsc')));
      resolvers.set(chunkType, resolver);
    }
    try {
      return chunkType.fromBuffer(value, resolver) as ChunkRecord;
    } catch {
      const why = current instanceof Error ? current.message : String(current);
      throw new InvalidSharedRecordError('snapshot-chunk-undecodable', `not a snapshot chunk (${why})`, { cause: current });
    }
  }
}

function malformed(message: string): InvalidSharedRecordError {
  return new InvalidSharedRecordError('snapshot-chunk-malformed', message);
}

function count(value: number, what: string, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw malformed(`${what} is ${value}, not an integer in [${min}, ${max}]`);
}

/**
 * Checks one decoded chunk on its own.
 * @param maxLabelOffset the label topic's end offset: a snapshot cannot include labels that do not exist.
 */
export function checkChunk(c: ChunkRecord, maxLabelOffset: bigint): void {
  if (c.task === '' || c.task.length > 256) throw malformed(`task name of ${c.task.length} characters`);
  if (c.snapshotId === '' || c.snapshotId.length > 128) throw malformed(`snapshot id of ${c.snapshotId.length} characters`);
  if (!NAME.test(c.stage)) throw malformed(`stage ${JSON.stringify(c.stage.slice(0, 80))} is not a part name`);
  if (c.stages.length === 0 || c.stages.length > MAX_STAGES || !c.stages.every((s) => NAME.test(s)) || new Set(c.stages).size !== c.stages.length)
    throw malformed(`stage list [${c.stages.slice(0, 8).join(', ')}] is not a list of distinct part names`);
  if (!c.stages.includes(c.stage)) throw malformed(`stage ${c.stage} is not in the snapshot's stage list`);
  count(c.chunks, 'chunk count', 1, MAX_CHUNKS);
  count(c.chunk, 'chunk index', 0, c.chunks - 1);
  count(c.labels, 'label count', 0, Number.MAX_SAFE_INTEGER);
  if (!Number.isFinite(c.createdAtMs) || c.createdAtMs < 0) throw malformed(`createdAtMs is ${c.createdAtMs}`);
  if (c.sha256 !== '' && !SHA256.test(c.sha256)) throw malformed('sha256 is not a hex SHA-256');
  if (c.data.length > MAX_CHUNK_BYTES)
    throw new InvalidSharedRecordError('snapshot-chunk-oversize', `chunk of ${c.data.length} bytes, over the ${MAX_CHUNK_BYTES}-byte limit`);
  if (!Number.isSafeInteger(c.labelOffset) || c.labelOffset < 0 || BigInt(c.labelOffset) > maxLabelOffset)
    throw new InvalidSharedRecordError(
      'snapshot-offset',
      `snapshot ${c.snapshotId} claims label offset ${c.labelOffset}, but the label topic ends at ${maxLabelOffset}: it cannot include labels that do not exist`,
    );
}

/** A complete, checked snapshot's chunks joined per part, and where its first chunk was read. */
export interface AssembledSnapshot {
  meta: ChunkRecord;
  parts: Map<string, Buffer>;
  origin: RecordOrigin;
}

interface Pending {
  meta: ChunkRecord;
  origin: RecordOrigin;
  /** Chunks per stage, by index. */
  chunks: Map<string, Array<Buffer | undefined>>;
  /** The SHA-256 each stage's chunks name (version 2). */
  sums: Map<string, Set<string>>;
}

/** Orders snapshots: the higher label offset first, then the newer. */
export function newerThan(a: ChunkRecord, b: ChunkRecord): boolean {
  return a.labelOffset > b.labelOffset || (a.labelOffset === b.labelOffset && a.createdAtMs > b.createdAtMs);
}

/** What a chunk must share with the first chunk of its snapshot. */
function disagreement(meta: ChunkRecord, c: ChunkRecord): string | undefined {
  if (c.task !== meta.task) return 'task';
  if (c.labelOffset !== meta.labelOffset || c.labels !== meta.labels) return 'label offset or count';
  if (c.workerId !== meta.workerId || c.createdAtMs !== meta.createdAtMs) return 'publisher or time';
  if (c.stages.join('\u0000') !== meta.stages.join('\u0000')) return 'stage list';
  return undefined;
}

/** Gathers checked chunks into snapshots; keeps the `keep` newest complete ones. */
export class SnapshotAssembler {
  private readonly pending = new Map<string, Pending>();
  private readonly complete: AssembledSnapshot[] = [];
  /** Snapshot ids refused already: their other chunks are skipped quietly. */
  private readonly refused = new Set<string>();

  constructor(
    private readonly keep: number,
    private readonly maxPending = 8,
  ) {}

  /**
   * Adds one checked chunk of the wanted task.
   * @throws InvalidSharedRecordError (`snapshot-inconsistent`, `snapshot-checksum`) when it makes its snapshot unusable.
   */
  add(c: ChunkRecord, origin: RecordOrigin): void {
    if (this.refused.has(c.snapshotId)) return;
    const oldest = this.complete.length >= this.keep ? this.complete[this.complete.length - 1] : undefined;
    if (oldest !== undefined && !newerThan(c, oldest.meta)) return; // older than every snapshot kept
    let p = this.pending.get(c.snapshotId);
    if (p === undefined) {
      p = { meta: c, origin, chunks: new Map(), sums: new Map() };
      this.pending.set(c.snapshotId, p);
      this.boundPending();
    }
    const differs = disagreement(p.meta, c);
    const list = p.chunks.get(c.stage) ?? new Array<Buffer | undefined>(c.chunks).fill(undefined);
    const clash = differs ?? (list.length !== c.chunks ? `chunk count of ${c.stage}` : undefined);
    if (clash !== undefined) this.refuse(c.snapshotId, 'snapshot-inconsistent', `chunks of snapshot ${c.snapshotId} disagree on their ${clash}`);
    list[c.chunk] = Buffer.from(c.data);
    p.chunks.set(c.stage, list);
    if (c.sha256 !== '') p.sums.set(c.stage, (p.sums.get(c.stage) ?? new Set()).add(c.sha256));
    const whole = (stage: string): boolean => (p.chunks.get(stage) ?? []).length > 0 && (p.chunks.get(stage) ?? []).every((x) => x !== undefined);
    if (p.meta.stages.every(whole)) this.finish(p);
  }

  /** The complete snapshots kept, newest first. */
  snapshots(): AssembledSnapshot[] {
    return [...this.complete];
  }

  private finish(p: Pending): void {
    this.pending.delete(p.meta.snapshotId);
    const parts = new Map<string, Buffer>();
    for (const stage of p.meta.stages) {
      const bytes = Buffer.concat(p.chunks.get(stage) as Buffer[]);
      const sums = [...(p.sums.get(stage) ?? [])];
      if (sums.length > 1)
        this.refuse(p.meta.snapshotId, 'snapshot-inconsistent', `chunks of snapshot ${p.meta.snapshotId} disagree on the SHA-256 of ${stage}`);
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (sums.length === 1 && sums[0] !== actual)
        this.refuse(
          p.meta.snapshotId,
          'snapshot-checksum',
          `part ${stage} of snapshot ${p.meta.snapshotId} does not match its SHA-256 (truncated or altered chunks)`,
        );
      parts.set(stage, bytes);
    }
    this.complete.push({ meta: p.meta, parts, origin: p.origin });
    this.complete.sort((a, b) => (newerThan(a.meta, b.meta) ? -1 : newerThan(b.meta, a.meta) ? 1 : 0));
    this.complete.splice(this.keep);
    const oldest = this.complete[this.complete.length - 1];
    if (this.complete.length >= this.keep && oldest !== undefined)
      for (const [id, other] of this.pending) if (!newerThan(other.meta, oldest.meta)) this.pending.delete(id);
  }

  private refuse(snapshotId: string, kind: 'snapshot-inconsistent' | 'snapshot-checksum', message: string): never {
    this.pending.delete(snapshotId);
    this.refused.add(snapshotId);
    throw new InvalidSharedRecordError(kind, message);
  }

  /** An attacker or a crashed publisher can leave many incomplete snapshots: only the newest few are kept. */
  private boundPending(): void {
    if (this.pending.size <= this.maxPending) return;
    let oldest: Pending | undefined;
    for (const p of this.pending.values()) if (oldest === undefined || newerThan(oldest.meta, p.meta)) oldest = p;
    if (oldest !== undefined) this.pending.delete(oldest.meta.snapshotId);
  }
}
