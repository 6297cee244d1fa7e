/**
 * The shapes the stream layer reads and writes. They mirror the cascade's `Item` and `Annotation`
 * structurally (the CLI passes one for the other) without importing the cascade: stream and
 * cascade never import each other.
 */

/** One input item, as decoded from an input record. */
export interface StreamItem {
  id: string;
  text: string;
  task?: string;
  metadata?: Record<string, string>;
  eventTimeMs?: number;
}

/** What one cascade stage said about an item (mirrors the cascade's StageTrace). */
export interface StageTraceRecord {
  stage: string;
  labelId: number;
  confidence: number;
  pDefer: number;
  deferred: boolean;
}

/** The processor's answer for one item: the cascade's Annotation, structurally. */
export interface ItemAnswer {
  id: string;
  labelId: number;
  label: string;
  confidence: number;
  answeredBy: string;
  stages: StageTraceRecord[];
  pDefer: Partial<Record<string, number>>;
  /** An LLM request was made for this item (not a cache answer): see the cascade's Annotation. */
  llmCalled: boolean;
  llmSource: string;
  llmUnparseable: boolean;
  /** True when the LLM call failed after retries and a small stage answered instead. */
  llmFailed?: boolean;
  audited: boolean;
  /** Why the LLM was or was not asked (the cascade's AnnotationReason); absent from processors that do not say. */
  reason?: string;
  route?: string[];
  costUnits: number;
  latencyMs: number;
  modelVersions: Partial<Record<string, number>>;
  metadata?: Record<string, string>;
}

/** Where an input record came from. */
export interface RecordOrigin {
  topic: string;
  partition: number;
  /** Kafka offset, as kafkajs gives it (a decimal string). */
  offset: string;
}

/** An annotation as written to the output topic (schema topics/spillway.annotations.avsc). */
export interface AnnotationRecord extends Omit<ItemAnswer, 'pDefer' | 'modelVersions' | 'metadata' | 'route' | 'llmFailed' | 'reason'> {
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
}

/** Turns one item into its answer: the cascade's `process`, injected by the CLI. */
export type ItemProcessor = (item: StreamItem) => Promise<ItemAnswer>;

/** Metrics the stream layer reports; `SpillwayMetrics` from src/monitor fits. */
export interface StreamObserver {
  deadLetter(kind: string): void;
  setConsumerLag(partition: number, lag: number): void;
}
