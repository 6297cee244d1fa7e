/**
 * A task's quality objective, as the task file names it:
 *  - `"accuracy"` (the default): every error costs the same;
 *  - `"macro_f1"`: every class counts the same, so errors on rare classes cost more;
 *  - `"recall:<label>>=<floor>"` (e.g. `"recall:yes>=0.8"`): that label's recall should reach the floor
 *    (0..1, default 0.8) at the best accuracy that allows. `<label>` is a label name (case-insensitive), a
 *    label id, or `positive` (the task's positive label). A separate `"recall_floor": 0.8` may give the floor.
 */
import type { Objective } from './types.js';

const RECALL = /^recall:(.+?)(?:\s*>=\s*([0-9.]+))?$/i;

/** Default floor of a `recall:` objective without one. */
export const DEFAULT_RECALL_FLOOR = 0.8;

/**
 * Parses an objective against the task's labels.
 * @returns the objective, or a message saying what is wrong.
 */
export function parseObjective(text: string, labels: readonly string[], positiveLabel: number | undefined, floor?: number): Objective | string {
  const t = text.trim();
  if (t === 'accuracy') return { kind: 'accuracy' };
  if (t === 'macro_f1') return { kind: 'macro_f1' };
  const m = RECALL.exec(t);
  if (m === null) return `expected accuracy, macro_f1 or recall:<label>>=<floor>, got "${text}"`;
  const name = (m[1] as string).trim().toLowerCase();
  let label = labels.findIndex((l) => l.toLowerCase() === name);
  if (label < 0 && name === 'positive' && positiveLabel !== undefined) label = positiveLabel;
  if (label < 0 && /^\d+$/.test(name) && Number(name) < labels.length) label = Number(name);
  if (label < 0) return `recall: "${m[1]}" is not a label (labels: ${labels.join(', ')})`;
  const inline = m[2] === undefined ? undefined : Number(m[2]);
  if (inline !== undefined && floor !== undefined && inline !== floor) return `two different floors: ${inline} and recall_floor ${floor}`;
  const f = inline ?? floor ?? DEFAULT_RECALL_FLOOR;
  if (!(f > 0 && f <= 1)) return `the recall floor must be in (0, 1], got ${f}`;
  return { kind: 'recall', label, floor: f };
}

/** The objective as the task file would write it (`recall:<label name>>=<floor>`). */
export function formatObjective(objective: Objective, labels: readonly string[]): string {
  return objective.kind === 'recall' ? `recall:${labels[objective.label] ?? objective.label}>=${objective.floor}` : objective.kind;
}
