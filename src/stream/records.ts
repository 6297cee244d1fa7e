/** Builds the output and dead-letter records from what the worker knows about an input record. */
import type { AnnotationRecord, DeadLetterRecord, ItemAnswer, RecordOrigin } from './types.js';

function definedOnly<V>(map: Partial<Record<string, V>>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const [k, v] of Object.entries(map)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * The annotation record for one answered item: the answer plus where its input came from and when.
 * @param receivedAtMs when the worker received the input record (processingMs counts from there).
 */
export function toAnnotationRecord(answer: ItemAnswer, origin: RecordOrigin, receivedAtMs: number, nowMs: number = Date.now()): AnnotationRecord {
  return {
    id: answer.id,
    labelId: answer.labelId,
    label: answer.label,
    confidence: answer.confidence,
    answeredBy: answer.answeredBy,
    stages: answer.stages.map((s) => ({ stage: s.stage, labelId: s.labelId, confidence: s.confidence, pDefer: s.pDefer, deferred: s.deferred })),
    pDefer: definedOnly(answer.pDefer),
    llmCalled: answer.llmCalled,
    llmSource: answer.llmSource,
    llmUnparseable: answer.llmUnparseable,
    llmFailed: answer.llmFailed ?? false,
    audited: answer.audited,
    reason: answer.reason ?? '',
    route: answer.route ?? null,
    costUnits: answer.costUnits,
    latencyMs: answer.latencyMs,
    modelVersions: definedOnly(answer.modelVersions),
    metadata: answer.metadata ?? {},
    processedAtMs: nowMs,
    processingMs: nowMs - receivedAtMs,
    inputTopic: origin.topic,
    inputPartition: origin.partition,
    inputOffset: Number(origin.offset),
    truncated: false,
    llmTier: answer.llmTier ?? null,
  };
}

/** The dead-letter record of an input record that could not become an item. */
export function toDeadLetter(
  key: Buffer | null,
  value: Buffer | null,
  origin: RecordOrigin,
  errorKind: string,
  errorMessage: string,
  nowMs: number = Date.now(),
  truncated = false,
): DeadLetterRecord {
  return {
    key,
    value,
    topic: origin.topic,
    partition: origin.partition,
    offset: Number(origin.offset),
    errorKind,
    errorMessage,
    timeMs: nowMs,
    truncated,
  };
}
