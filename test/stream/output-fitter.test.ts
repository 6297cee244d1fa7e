/**
 * OutputFitter without a broker: the same rules the poison-record test checks on the real broker,
 * in both output formats, plus side records (shared-learning labels), which have no broker test of their own.
 */
import pino from 'pino';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { buildCodecs, fitsTopic, toAnnotationRecord } from '../../src/stream/index.js';
import { OutputFitter } from '../../src/stream/output-fitter.js';
import { DEFAULTS } from '../../src/config.js';
import type { Annotation } from '../../src/types.js';
import { answerFor } from './helpers.js';

const LIMIT = 10_000;
const origin = { topic: 'in', partition: 0, offset: '7' };
const silent = pino({ level: 'silent' });

function input(key: string | Buffer, value: Buffer): KafkaMessage {
  return { key: Buffer.isBuffer(key) ? key : Buffer.from(key), value, offset: '7', timestamp: '0', attributes: 0, headers: {} } as unknown as KafkaMessage;
}

/** A confident answer (see answerFor) with this id and metadata. */
const answer = (id: string, metadata?: Record<string, string>): Annotation => answerFor(metadata === undefined ? { id } : { id, metadata });

for (const format of ['json', 'avro'] as const) {
  describe(`with ${format} records and a ${LIMIT}-byte limit`, async () => {
    const codecs = await buildCodecs({ ...DEFAULTS.kafka, outputFormat: format });
    const seen: string[] = [];
    const fitter = new OutputFitter({
      annotationEncoder: codecs.annotationEncoder,
      deadLetterEncoder: codecs.deadLetterEncoder,
      limits: { output: LIMIT, deadLetter: LIMIT },
      topics: { output: 'out', deadLetter: 'dlq' },
      logger: silent,
      deadLetterFormat: format,
      observer: { deadLetter: (k) => seen.push(`dead:${k}`), setConsumerLag: () => undefined, outputTruncated: (t) => seen.push(`cut:${t}`) },
    });

    it('keeps a small annotation whole and flags nothing', () => {
      const out = fitter.annotation(toAnnotationRecord(answer('a', { k: 'v' }), origin, 0), input('a', Buffer.from('{}')), origin);
      expect('output' in out && fitsTopic(out.output, LIMIT)).toBe(true);
    });

    it('drops the metadata of an annotation too large, then dead-letters one that still does not fit', () => {
      const cut = fitter.annotation(toAnnotationRecord(answer('b', { blob: 'x'.repeat(20_000) }), origin, 0), input('b', Buffer.from('{}')), origin);
      expect('output' in cut && fitsTopic(cut.output, LIMIT)).toBe(true);
      const id = 'i'.repeat(12_000);
      const dead = fitter.annotation(toAnnotationRecord(answer(id), origin, 0), input(id, Buffer.alloc(30_000, 1)), origin);
      expect('deadLetter' in dead && fitsTopic(dead.deadLetter, LIMIT)).toBe(true);
      expect('deadLetter' in dead && dead.deadLetter.headers).toMatchObject({ 'spillway-error-kind': 'oversize-output', 'spillway-truncated': 'true' });
      expect(seen).toEqual(expect.arrayContaining(['cut:output', 'dead:oversize-output', 'cut:dead-letter']));
    });

    it('leaves out a side record over Kafka’s default limit and keeps the others', () => {
      const small = { topic: 'labels', message: { key: 'k', value: Buffer.alloc(100) } };
      const huge = { topic: 'labels', message: { key: 'k', value: Buffer.alloc(2_000_000) } };
      expect(fitter.side([small, huge], origin)).toEqual([small]);
      expect(seen).toContain('cut:side');
    });
  });
}
