/**
 * The shapes the stream layer reads and writes. Items and annotations are the one record type of
 * src/types.ts (the cascade produces them, this layer encodes them); stream and cascade never import each other.
 */
import type { Annotation, Item, StageTrace } from '../types.js';

/** One input item, as decoded from an input record. */
export type StreamItem = Item;

/** What one cascade stage said about an item. */
export type StageTraceRecord = StageTrace;

/** The processor's answer for one item: an annotation. */
export type ItemAnswer = Annotation;

/** Where an input record came from. */
export interface RecordOrigin {
  topic: string;
  partition: number;
  /** Kafka offset, as kafkajs gives it (a decimal string). */
  offset: string;
}

/** An annotation as written to the output topic (schema topics/spillway.annotations.avsc). */
export interface AnnotationRecord extends Omit<ItemAnswer, 'pDefer' | 'modelVersions' | 'metadata' | 'route' | 'llmFailed' | 'reason' | 'llmTier'> {
  llmFailed: boolean;
  /** Empty when the processor gave none. */
  reason: string;
  pDefer: Record<string, number>;
  modelVersions: Record<string, number>;
  metadata: Record<string, string>;
  route: string[] | null;
  processedAtMs: number;
  processingMs: number;
  inputTopic: string;
  inputPartition: number;
  inputOffset: number;
  /** True when the record would not fit its topic's max.message.bytes and the item's metadata was dropped. */
  truncated: boolean;
  /** The LLM tier whose answer the LLM's is (`llm.tiers`); null without tiers or without an LLM answer. */
  llmTier: number | null;
}

/** A record written to the dead-letter topic (schema topics/spillway.dead-letter.avsc). */
export interface DeadLetterRecord {
  key: Buffer | null;
  value: Buffer | null;
  topic: string;
  partition: number;
  offset: number;
  errorKind: string;
  errorMessage: string;
  timeMs: number;
  /** True when `key` and/or `value` were cut so the dead letter fits its topic's max.message.bytes. */
  truncated: boolean;
}

/** Turns one item into its answer: the cascade's `process`, injected by the CLI. */
export type ItemProcessor = (item: StreamItem) => Promise<ItemAnswer>;

/** Metrics the stream layer reports; `SpillwayMetrics` from src/monitor fits. */
export interface StreamObserver {
  deadLetter(kind: string): void;
  setConsumerLag(partition: number, lag: number): void;
  /** One record cut to fit its topic's max.message.bytes. */
  outputTruncated?(topic: 'output' | 'dead-letter' | 'side'): void;
  /** One record of shared learning's label or snapshot topic refused (dead-lettered and skipped), by reason. */
  sharedRecordRejected?(topic: 'labels' | 'models', kind: string): void;
}
