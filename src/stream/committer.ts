/**
 * What the batch handler needs to commit a partition's finished prefix: its outputs, its dead letters and
 * its next offset, atomically (exactly-once, {@link TransactionalCommitter}) or output-first
 * (at-least-once, {@link AtLeastOnceCommitter}).
 */
import type { Message, TopicMessages } from 'kafkajs';
import { BATCH_HEADER_BYTES, messageBytes, type OutputLimits } from './topic-limits.js';

/** A record for a topic other than the output and dead-letter ones, committed with its item (a label). */
export interface SideRecord {
  topic: string;
  message: Message;
}

/** One partition's contribution to a commit. */
export interface PartitionCommit {
  topic: string;
  partition: number;
  /** The next offset to consume: last handled offset + 1, as a decimal string. */
  nextOffset: string;
  /** Records for the output topic, in input offset order. */
  outputs: Message[];
  /** Records for the dead-letter topic, in input offset order. */
  deadLetters: Message[];
  /** Other records the items produced (shared learning's labels), in input offset order; same transaction. */
  side?: SideRecord[];
}

/** Commits partition prefixes; `commit` resolves once the outputs and offset are durable. */
export interface Committer {
  commit(entry: PartitionCommit): Promise<void>;
  /**
   * Commits that failed so far. A failed commit's outcome is unknown to the worker (the broker may have
   * committed it before the connection broke), so after one every partition's position must be re-read
   * from the broker, after {@link recover}.
   */
  readonly failures: number;
  /** Makes the committer usable after a failure and waits until the failed commit is settled on the broker. */
  recover(): Promise<void>;
  /** Connects (and for transactions, fences any earlier incarnation of this worker). */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The two topics a committer writes, and the largest record batch each accepts (max.message.bytes). */
export interface OutputTopics {
  output: string;
  deadLetter: string;
  /** @defaultValue Kafka's default limit for both */
  limits?: OutputLimits;
}

/**
 * Bytes of record payload per produce request. The broker refuses a record batch over the topic's
 * max.message.bytes (1 MiB by default) and kafkajs sends one batch per partition per request, so a large
 * commit is split into several sends (all inside the same transaction), each under the topic's limit.
 */
const MAX_REQUEST_BYTES = 512 * 1024;

/** Side records grouped by topic, order kept within each topic. */
function sideByTopic(entries: readonly PartitionCommit[]): Array<[string, Message[]]> {
  const byTopic = new Map<string, Message[]>();
  for (const e of entries) {
    for (const r of e.side ?? []) {
      const list = byTopic.get(r.topic) ?? [];
      list.push(r.message);
      byTopic.set(r.topic, list);
    }
  }
  return [...byTopic];
}

/**
 * The outputs, dead letters and side records of `entries`, as produce requests of at most ~MAX_REQUEST_BYTES
 * (and the topic's max.message.bytes, when known) each.
 */
export function produceRequests(entries: readonly PartitionCommit[], topics: OutputTopics): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  const groups: Array<readonly [string, Message[], number | undefined]> = [
    [topics.output, entries.flatMap((e) => e.outputs), topics.limits?.output],
    [topics.deadLetter, entries.flatMap((e) => e.deadLetters), topics.limits?.deadLetter],
    ...sideByTopic(entries).map(([topic, messages]) => [topic, messages, undefined] as const),
  ];
  for (const [topic, messages, limit] of groups) {
    const maxBytes = Math.min(MAX_REQUEST_BYTES, (limit ?? Number.POSITIVE_INFINITY) - BATCH_HEADER_BYTES);
    let chunk: Message[] = [];
    let bytes = 0;
    for (const m of messages) {
      const size = messageBytes(m);
      if (chunk.length > 0 && bytes + size > maxBytes) {
        requests.push([{ topic, messages: chunk }]);
        chunk = [];
        bytes = 0;
      }
      chunk.push(m);
      bytes += size;
    }
    if (chunk.length > 0) requests.push([{ topic, messages: chunk }]);
  }
  return requests;
}

/** The next offsets of `entries`, grouped by topic as kafkajs' sendOffsets wants them. */
export function offsetsByTopic(entries: readonly PartitionCommit[]): Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> {
  const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
  for (const e of entries) {
    const list = byTopic.get(e.topic) ?? [];
    list.push({ partition: e.partition, offset: e.nextOffset });
    byTopic.set(e.topic, list);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}
