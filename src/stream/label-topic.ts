/**
 * The label topic (`spillway.labels`, schema topics/spillway.labels.avsc): every LLM answer that trains the
 * small stages becomes one record, a side record of its item. The worker writes it as soon as the item is
 * answered (`sharedLearning.labelDelivery: immediate`: the other workers learn it while the items around it
 * are still being decided; at least once) or commits it in the annotation's transaction (`with-annotation`:
 * a label exists exactly when its annotation does, but only once its partition's prefix is committed).
 */
import type { SideRecord } from './committer.js';
import type { RecordEncoder } from './record-codec.js';
import type { ItemAnswer, StreamItem } from './types.js';

/** One label as written to the label topic. */
export interface LabelRecord {
  id: string;
  task: string;
  text: string;
  labelId: number;
  label: string;
  teacherModel: string;
  workerId: string;
  modelVersions: Record<string, number>;
  producedAtMs: number;
}

/**
 * True when the answer is a label the cascade trains on: a fresh LLM call that named a label (the
 * cascade learns from exactly these inline; a cache hit repeats a label some worker already published).
 */
export function isTrainingLabel(answer: ItemAnswer): boolean {
  // A shared answer (another item's call for the same text) is that item's label already.
  return answer.llmSource === 'call' && answer.answeredBy === 'llm' && !answer.llmUnparseable && answer.llmFailed !== true && answer.reason !== 'shared';
}

/** What {@link LabelPublisher} stamps on every label. */
export interface LabelPublisherOptions {
  /** The label topic (kafka.topics.labels). */
  topic: string;
  /** The task's name. */
  task: string;
  /** The teacher (LLM) model name. */
  teacherModel: string;
  /** This worker's id (its transactional id). */
  workerId: string;
  encoder: RecordEncoder<LabelRecord>;
  /** Told of every label handed to the committer (the worker's own labels, already learned inline). */
  onPublish?: (id: string, labelId: number) => void;
}

/** Turns answered items into label records for the committer (use as the worker's `sideRecords`). */
export class LabelPublisher {
  private count = 0;

  constructor(private readonly options: LabelPublisherOptions) {}

  /** Labels handed to the committer so far (committed or not). */
  get produced(): number {
    return this.count;
  }

  /** The label record of an answered item, or none when its answer is no training label. */
  readonly sideRecords = (item: StreamItem, answer: ItemAnswer): SideRecord[] => {
    if (!isTrainingLabel(answer)) return [];
    this.options.onPublish?.(item.id, answer.labelId);
    const { topic, task, teacherModel, workerId, encoder } = this.options;
    const modelVersions: Record<string, number> = {};
    for (const [stage, v] of Object.entries(answer.modelVersions)) if (v !== undefined) modelVersions[stage] = v;
    const record: LabelRecord = {
      id: item.id,
      task,
      text: item.text,
      labelId: answer.labelId,
      label: answer.label,
      teacherModel,
      workerId,
      modelVersions,
      producedAtMs: Date.now(),
    };
    this.count++;
    return [{ topic, message: { key: item.id, value: encoder.encode(record) } }];
  };
}
