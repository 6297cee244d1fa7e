/**
 * Checks one decoded record of the label topic before any worker trains on it: every worker of the group reads
 * every label, so one malformed record (a `text` that is a number, a label id past the task's labels, a
 * 300 KB id) would otherwise stop the learning of the whole group.
 */
import { InvalidSharedRecordError } from '../errors.js';
import { overBytes } from './item-validator.js';
import type { LabelRecord } from './label-topic.js';

/** What a label must fit: the size limits of items (kafka.maxIdBytes, kafka.maxTextBytes) and the worker's task. */
export interface LabelRules {
  maxIdBytes: number;
  maxTextBytes: number;
  /** The task the worker learns: its name and label list. Labels of other tasks are not checked against it. */
  task: { name: string; labels: readonly string[] };
}

/** A checked label, or one of another task (not this worker's to learn; not an error either). */
export type CheckedLabel = { kind: 'label'; label: LabelRecord } | { kind: 'other-task'; task: string };

function malformed(message: string): InvalidSharedRecordError {
  return new InvalidSharedRecordError('label-malformed', message);
}

function text(raw: Record<string, unknown>, field: string, options: { empty?: boolean } = {}): string {
  const value = raw[field];
  if (typeof value !== 'string') throw malformed(`"${field}" is ${value === null ? 'null' : typeof value}, not a string`);
  if (options.empty !== true && value.trim() === '') throw malformed(`"${field}" is empty`);
  return value;
}

function finite(raw: Record<string, unknown>, field: string): number {
  const value = raw[field];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw malformed(`"${field}" is ${String(value)}, not a finite number`);
  return value;
}

function versions(value: unknown): Record<string, number> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw malformed('"modelVersions" is not a map of numbers');
  const out: Record<string, number> = {};
  for (const [stage, v] of Object.entries(value)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw malformed(`"modelVersions.${stage}" is ${String(v)}, not a finite number`);
    out[stage] = v;
  }
  return out;
}

/**
 * The label of a decoded record, checked: the fields of topics/spillway.labels.avsc with their types, an id
 * and a text within the item limits, finite numbers, and (for the worker's own task) a label id within the
 * task's labels naming the same label.
 * @throws InvalidSharedRecordError (kind `label-malformed`, `label-oversize`, `label-out-of-range`, `label-mismatch`).
 */
export function checkLabel(raw: unknown, rules: LabelRules): CheckedLabel {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw malformed(`expected a record, got ${Array.isArray(raw) ? 'an array' : typeof raw}`);
  const record = raw as Record<string, unknown>;
  const id = text(record, 'id');
  if (overBytes(id, rules.maxIdBytes))
    throw new InvalidSharedRecordError('label-oversize', `id is ${Buffer.byteLength(id)} bytes, over the ${rules.maxIdBytes}-byte limit (kafka.maxIdBytes)`);
  const task = text(record, 'task');
  const body = text(record, 'text');
  if (overBytes(body, rules.maxTextBytes))
    throw new InvalidSharedRecordError(
      'label-oversize',
      `text of label ${id} is ${Buffer.byteLength(body)} bytes, over the ${rules.maxTextBytes}-byte limit (kafka.maxTextBytes)`,
    );
  const labelId = finite(record, 'labelId');
  if (!Number.isSafeInteger(labelId) || labelId < 0) throw malformed(`"labelId" of label ${id} is ${labelId}, not a label index`);
  const label = text(record, 'label', { empty: true });
  const checked: LabelRecord = {
    id,
    task,
    text: body,
    labelId,
    label,
    teacherModel: text(record, 'teacherModel', { empty: true }),
    workerId: text(record, 'workerId', { empty: true }),
    modelVersions: versions(record.modelVersions),
    producedAtMs: finite(record, 'producedAtMs'),
  };
  if (task !== rules.task.name) return { kind: 'other-task', task };
  const labels = rules.task.labels;
  if (labelId >= labels.length)
    throw new InvalidSharedRecordError('label-out-of-range', `label id ${labelId} of label ${id} is not one of the ${labels.length} labels of task ${task}`);
  if (label !== '' && label !== labels[labelId])
    throw new InvalidSharedRecordError(
      'label-mismatch',
      `label ${id} says label id ${labelId} is "${label}", but it is "${labels[labelId] ?? ''}" in this worker's task: written by a worker with another task file`,
    );
  return { kind: 'label', label: checked };
}
