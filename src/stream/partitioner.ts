/**
 * The partitioner of every Spillway producer: Kafka's default (Java-compatible) choice of partition, murmur2 of
 * the record key modulo the partition count, round-robin for records without a key.
 *
 * kafkajs' own murmur2 works on arbitrary-precision integers that are never truncated while it loops, so its
 * cost grows with the square of the key's length: 11 s for a 300 KB key on the development machine, enough to
 * freeze a worker past its session timeout. This one uses 32-bit arithmetic (Math.imul) and returns the same
 * value for every key (`Utils.murmur2` of the Java client), so records land in the partitions they always did.
 */
import { randomInt } from 'node:crypto';
import type { ICustomPartitioner, PartitionerArgs } from 'kafkajs';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 hash of `data` (as `org.apache.kafka.common.utils.Utils.murmur2`), a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = (data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= (data[whole + 2] as number) << 16;
  if (rest >= 2) h ^= (data[whole + 1] as number) << 8;
  if (rest >= 1) {
    h ^= data[whole] as number;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a keyed record among `partitions` (Kafka's `toPositive(murmur2(key)) % partitions`). */
export function partitionOfKey(key: Uint8Array | string, partitions: number): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  return (murmur2(bytes) & 0x7fffffff) % partitions;
}

/**
 * A kafkajs partitioner factory: a record's own `partition` when set, else the key's murmur2 partition, else
 * round-robin over the partitions that have a leader (from a random start per topic).
 */
export const KEY_HASH_PARTITIONER: ICustomPartitioner = () => {
  const counters = new Map<string, number>();
  return ({ topic, partitionMetadata, message }: PartitionerArgs): number => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    const key = message.key;
    if (key !== null && key !== undefined) return partitionOfKey(typeof key === 'string' ? key : Buffer.from(key), partitionMetadata.length);
    const next = (counters.get(topic) ?? randomInt(0x7fffffff)) + 1;
    counters.set(topic, next);
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    if (available.length > 0) return (available[next % available.length] as (typeof available)[number]).partitionId;
    return next % partitionMetadata.length;
  };
};
