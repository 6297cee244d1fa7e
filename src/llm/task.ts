/**
 * Task files: the label set and prompt template of one classification task, read and validated once at startup.
 * Format: the task files beside the benchmark streams and test/fixtures/streams/*.task.json.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { TaskError } from '../errors.js';
import { parseObjective } from './objective.js';
import type { Task } from './types.js';

const taskFileSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    labels: z
      .array(z.string().trim().min(1))
      .min(2)
      .refine((labels) => new Set(labels.map((l) => l.toLowerCase())).size === labels.length, 'label names must be distinct (case-insensitive)'),
    positive_label: z.number().int().min(0).optional(),
    /** accuracy (default), macro_f1, or recall:<label>>=<floor> (see objective.ts). */
    objective: z.string().optional(),
    /** Floor of a recall objective, 0..1, when not written inline. @defaultValue 0.8 */
    recall_floor: z.number().optional(),
    prompt: z.object({
      system: z.string(),
      user: z.string().refine((u) => u.split('{text}').length === 2, 'must contain {text} exactly once'),
      /** Template of a consolidated request (llm.batchSize > 1): `{items}` becomes the numbered list of texts. */
      batch_user: z
        .string()
        .refine((u) => u.split('{items}').length === 2, 'must contain {items} exactly once')
        .optional(),
      /** System prompt of a consolidated request. @defaultValue prompt.system */
      batch_system: z.string().optional(),
    }),
  })
  .refine((t) => t.positive_label === undefined || t.positive_label < t.labels.length, {
    message: 'must be the index of a label',
    path: ['positive_label'],
  });

/**
 * Reads and validates a task file.
 * @throws TaskError naming the path and the offending field when the file is missing, not JSON or not a task.
 */
export function loadTask(path: string): Task {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err: unknown) {
    throw new TaskError(path, 'cannot read the file', { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err: unknown) {
    throw new TaskError(path, 'is not valid JSON', { cause: err });
  }
  return parseTask(path, raw);
}

/**
 * Validates an already-parsed task object; `source` names it in errors.
 * @throws TaskError listing each bad field.
 */
export function parseTask(source: string, raw: unknown): Task {
  const result = taskFileSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new TaskError(source, `invalid task: ${problems.join('; ')}`);
  }
  const t = result.data;
  const objective = t.objective === undefined ? undefined : parseObjective(t.objective, t.labels, t.positive_label, t.recall_floor);
  if (typeof objective === 'string') throw new TaskError(source, `invalid task: objective: ${objective}`);
  if (objective === undefined && t.recall_floor !== undefined) throw new TaskError(source, 'invalid task: recall_floor: needs a recall:<label> objective');
  return {
    name: t.name,
    ...(t.description === undefined ? {} : { description: t.description }),
    labels: Object.freeze([...t.labels]),
    ...(t.positive_label === undefined ? {} : { positiveLabel: t.positive_label }),
    prompt: {
      system: t.prompt.system,
      user: t.prompt.user,
      ...(t.prompt.batch_user === undefined ? {} : { batchUser: t.prompt.batch_user }),
      ...(t.prompt.batch_system === undefined ? {} : { batchSystem: t.prompt.batch_system }),
    },
    ...(objective === undefined || objective.kind === 'accuracy' ? {} : { objective }),
  };
}

/** The task file that goes with a dataset: `<dataset without .jsonl>.task.json`, in the same folder. */
export function defaultTaskPath(datasetPath: string): string {
  return `${datasetPath.replace(/\.jsonl$/i, '')}.task.json`;
}
