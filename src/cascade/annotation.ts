/** Builds the record the cascade reports for one answered item. */
import type { Task } from '../llm/index.js';
import type { SmallStage } from './stages.js';
import type { Annotation, AnnotationReason, Item, LlmSource, StageName, StageTrace } from './types.js';

/** The LLM's part in an item's answer: a fresh call or a cached answer. */
export interface LlmOutcome {
  /** Parsed label, or null (unparseable answer, or a failed call). */
  labelId: number | null;
  source: LlmSource;
  failed: boolean;
  probability?: number;
}

export interface AnnotationInput {
  item: Item;
  task: Task;
  stages: readonly SmallStage[];
  /** The small stages the item reached, in order (the LLM's trace is appended here). */
  traces: StageTrace[];
  /** Index of the stage that answered, or -1 when the item reached the LLM gate. */
  exitAt: number;
  llm?: LlmOutcome;
  audited: boolean;
  reason: AnnotationReason;
  costUnits: number;
  startedMs: number;
  route?: StageName[];
  /** The LLM tier whose answer `llm` is (`llm.tiers` only). */
  llmTier?: number;
}

/**
 * The answer is the LLM's when it gave a usable one, else the deepest small stage reached (there is
 * always one: the stages run before any LLM decision).
 */
export function buildAnnotation(input: AnnotationInput): Annotation {
  const { item, task, traces, exitAt, llm } = input;
  const lastTrace = traces[exitAt >= 0 ? exitAt : traces.length - 1];
  const llmLabel = llm?.labelId ?? null;
  const labelId = llmLabel ?? (lastTrace as StageTrace).labelId;
  const answeredBy: StageName = llmLabel !== null ? 'llm' : (lastTrace as StageTrace).stage;
  if (llm !== undefined) {
    traces.push({ stage: 'llm', labelId: llm.labelId ?? -1, confidence: llm.probability ?? (llm.labelId === null ? 0 : 1), pDefer: 0, deferred: false });
  }
  const pDefer: Partial<Record<StageName, number>> = {};
  const modelVersions: Partial<Record<StageName, number>> = {};
  for (const t of traces) if (t.stage !== 'llm') pDefer[t.stage] = t.pDefer;
  for (const s of input.stages) modelVersions[s.name] = s.version;
  return {
    id: item.id,
    labelId,
    label: task.labels[labelId] ?? String(labelId),
    confidence: llmLabel !== null ? (llm?.probability ?? 1) : (lastTrace as StageTrace).confidence,
    answeredBy,
    stages: traces,
    pDefer,
    llmCalled: llm !== undefined && llm.source === 'call',
    llmSource: llm?.source ?? 'none',
    llmUnparseable: llm !== undefined && !llm.failed && llm.labelId === null,
    llmFailed: llm?.failed ?? false,
    audited: input.audited,
    reason: input.reason,
    costUnits: input.costUnits,
    latencyMs: performance.now() - input.startedMs,
    modelVersions,
    ...(input.route === undefined ? {} : { route: input.route }),
    ...(input.llmTier === undefined || llmLabel === null ? {} : { llmTier: input.llmTier }),
    ...(item.metadata === undefined ? {} : { metadata: item.metadata }),
  };
}
