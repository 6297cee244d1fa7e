/**
 * Reads a batch answer: JSON, either `{"answers": [...]}` (what the prompt asks for; also any object whose
 * first array holds the answers) or a bare array, with entries `{"id": n, "label": "..."}` or, only when the
 * array has exactly one entry per text, bare label strings in order. Each label goes through the task's
 * AnswerParser, so the same constraints hold as for one text.
 *
 * Never mislabels: an item is left undefined (asked again alone) when its id is missing, out of range or
 * given twice with different labels, when its label does not parse, or when the whole answer is not JSON.
 */
import type { AnswerParser } from './answer-parser.js';

/** The raw label string per item (undefined: not covered) and the parsed label id. */
export interface BatchItemAnswer {
  raw: string;
  labelId: number;
}

const FENCE = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/i;

function parseJson(raw: string): unknown {
  const body = FENCE.exec(raw)?.[1] ?? raw;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function entriesOf(json: unknown): unknown[] | undefined {
  if (Array.isArray(json)) return json;
  if (typeof json !== 'object' || json === null) return undefined;
  const record = json as Record<string, unknown>;
  if (Array.isArray(record.answers)) return record.answers;
  return Object.values(record).find((v): v is unknown[] => Array.isArray(v));
}

/** Per text (in order), its answer or undefined. */
export function parseBatchAnswer(raw: string, count: number, parser: AnswerParser): Array<BatchItemAnswer | undefined> {
  const out = new Array<BatchItemAnswer | undefined>(count).fill(undefined);
  const entries = entriesOf(parseJson(raw));
  if (entries === undefined) return out;
  const labels = new Map<number, string>();
  const conflicting = new Set<number>();
  const positional = entries.length === count && entries.every((e) => typeof e === 'string');
  entries.forEach((entry, index) => {
    let id: number | undefined;
    let label: unknown;
    if (positional) {
      id = index + 1;
      label = entry;
    } else if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) {
      const e = entry as Record<string, unknown>;
      id = typeof e.id === 'number' ? e.id : typeof e.id === 'string' && /^\d+$/.test(e.id.trim()) ? Number(e.id) : undefined;
      label = e.label ?? e.answer;
    }
    if (id === undefined || !Number.isInteger(id) || id < 1 || id > count || typeof label !== 'string') return;
    const seen = labels.get(id);
    if (seen !== undefined && seen !== label) conflicting.add(id);
    labels.set(id, label);
  });
  for (const [id, label] of labels) {
    if (conflicting.has(id)) continue;
    const labelId = parser.parse(label);
    if (labelId !== null) out[id - 1] = { raw: label, labelId };
  }
  return out;
}
