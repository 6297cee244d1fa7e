/** Builders of observed annotations and a parser of Prometheus text, shared by the monitor tests. */
import pino from 'pino';
import type { ObservedAnnotation } from '../../src/monitor/index.js';
import type { LlmSource, StageName } from '../../src/types.js';

/** A silent logger for code under test. */
export const silentLogger = pino({ level: 'silent' });

type Trace = ObservedAnnotation['stages'][number];

const trace = (stage: StageName, labelId: number, deferred: boolean): Trace => ({ stage, labelId, confidence: 0.8, deferred, pDefer: deferred ? 0.9 : 0.1 });

/** LR answered (kept) the item with `label`. */
export function lrAnswer(label: number): ObservedAnnotation {
  return {
    answeredBy: 'lr',
    stages: [trace('lr', label, false)],
    labelId: label,
    llmCalled: false,
    llmSource: 'none',
    llmUnparseable: false,
    audited: false,
    costUnits: 1,
    latencyMs: 1,
  };
}

/** LR deferred, mid answered. */
export function midAnswer(lrLabel: number, midLabel: number): ObservedAnnotation {
  return {
    answeredBy: 'mid',
    stages: [trace('lr', lrLabel, true), trace('mid', midLabel, false)],
    labelId: midLabel,
    llmCalled: false,
    llmSource: 'none',
    llmUnparseable: false,
    audited: false,
    costUnits: 11,
    latencyMs: 5,
  };
}

/** Both small stages deferred and the LLM answered `llmLabel` (by a call unless `source` says a cache tier). */
export function llmAnswer(lrLabel: number, midLabel: number, llmLabel: number, source: LlmSource = 'call'): ObservedAnnotation {
  const unparseable = llmLabel < 0;
  return {
    answeredBy: 'llm',
    stages: [trace('lr', lrLabel, true), trace('mid', midLabel, true), trace('llm', llmLabel, false)],
    labelId: unparseable ? midLabel : llmLabel,
    llmCalled: source === 'call',
    llmSource: source,
    llmUnparseable: unparseable,
    audited: false,
    costUnits: source === 'call' ? 1011 : 11,
    latencyMs: 300,
  };
}

/** LR kept `lrLabel` but the item was audited: the LLM said `llmLabel`, which becomes the answer. */
export function lrAudit(lrLabel: number, llmLabel: number): ObservedAnnotation {
  return {
    answeredBy: 'llm',
    stages: [trace('lr', lrLabel, false), trace('llm', llmLabel, false)],
    labelId: llmLabel,
    llmCalled: true,
    llmSource: 'call',
    llmUnparseable: false,
    audited: true,
    costUnits: 1001,
    latencyMs: 250,
  };
}

/** Parses Prometheus text into `name{labels}` → value, labels sorted by name. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`unparseable metric line: ${line}`);
    const [, name, labels = '', value = ''] = match;
    const sorted = [...labels.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)]
      .map(([, k, v]) => `${k}="${v}"`)
      .sort()
      .join(',');
    out.set(sorted === '' ? `${name}` : `${name}{${sorted}}`, Number(value));
  }
  return out;
}

/** Polls `condition` every 20 ms until it holds or `timeoutMs` passes. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
