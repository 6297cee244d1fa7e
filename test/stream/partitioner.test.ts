/**
 * The producers' partitioner: the same partition as Kafka's default partitioner (kafkajs' and the Java
 * client's murmur2) for every key, in linear time, so a huge key cannot freeze a worker.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { KEY_HASH_PARTITIONER, murmur2, partitionOfKey } from '../../src/stream/partitioner.js';

// kafkajs' own murmur2 (not exported by its index): the reference the partitions must agree with.
const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer | string) => number;

describe('murmur2', () => {
  it('equals kafkajs’ murmur2 for keys of every length up to 2 KB', () => {
    for (let length = 0; length < 70; length++) {
      const key = randomBytes(length);
      expect(murmur2(key)).toBe(kafkajsMurmur2(key));
    }
    for (const length of [255, 256, 257, 1_000, 2_048]) {
      const key = randomBytes(length);
      expect(murmur2(key)).toBe(kafkajsMurmur2(key));
    }
  });

  it('matches the Java client on its own test vectors', () => {
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2
    const cases: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ];
    for (const [key, hash] of cases) expect(murmur2(Buffer.from(key))).toBe(hash);
  });
});

describe('the key-hash partitioner', () => {
  const metadata = (n: number): Array<{ partitionId: number; leader: number; replicas: number[]; isr: number[]; partitionErrorCode: number }> =>
    Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));

  it('puts a keyed record where Kafka’s default partitioner does, and honours an explicit partition', () => {
    const partition = KEY_HASH_PARTITIONER();
    for (let i = 0; i < 50; i++) {
      const key = `item-${i}`;
      const expected = (kafkajsMurmur2(key) & 0x7fffffff) % 6;
      expect(partition({ topic: 't', partitionMetadata: metadata(6), message: { key, value: 'v' } })).toBe(expected);
      expect(partitionOfKey(key, 6)).toBe(expected);
    }
    expect(partition({ topic: 't', partitionMetadata: metadata(6), message: { key: 'k', value: 'v', partition: 4 } })).toBe(4);
  });

  it('spreads records without a key over the partitions in turn', () => {
    const partition = KEY_HASH_PARTITIONER();
    const seen = Array.from({ length: 12 }, () => partition({ topic: 't', partitionMetadata: metadata(3), message: { value: 'v' } }));
    expect(new Set(seen)).toEqual(new Set([0, 1, 2]));
    expect(seen.slice(3)).toEqual(seen.slice(0, 9));
  });

  it('hashes a 300 KB key (a poisoned id) to a partition', () => {
    const key = Buffer.alloc(300_000, 0x78);
    expect(partitionOfKey(key, 6)).toBeGreaterThanOrEqual(0);
    expect(partitionOfKey(key, 6)).toBeLessThan(6);
  });
});
