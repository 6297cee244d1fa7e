/**
 * Quality targets through the embedded pipeline (`spillway start`'s), the LLM over HTTP: without a budget the
 * gate sends the fewest items to the LLM that keep the target certified, and the published labels keep it;
 * with a budget cap too tight for the target, the items it cannot afford are published `uncertified`, the
 * target's gauge reads 0 and /healthz says degraded.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEmbedded } from '../../src/app/index.js';
import { createCascade, type Annotation } from '../../src/cascade/index.js';
import type { Config } from '../../src/config.js';
import { loadTask } from '../../src/llm/index.js';
import { createMonitor } from '../../src/monitor/index.js';
import type { JsonlEntry } from '../../src/stream/index.js';
import { AnnotationSink, readLabelledStream, type LabelledItem } from '../../tools/bench/index.js';
import { startReplayServer, type ReplayServer } from '../../tools/replay/index.js';
import { EMOTIONS } from '../helpers/paths.js';
import { testConfig } from '../helpers/test-config.js';

const TEACHER = 'gpt-3.5-turbo-1106';
const logger = pino({ level: 'silent' });
const rows: LabelledItem[] = readLabelledStream(EMOTIONS);
let server: ReplayServer;
let dir: string;

beforeAll(async () => {
  server = await startReplayServer({ dataset: EMOTIONS, teacher: TEACHER, port: 0 });
  dir = await mkdtemp(path.join(tmpdir(), 'spillway-quality-'));
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function run(sections: Record<string, unknown>, withMonitor = false): Promise<{ annotations: Annotation[]; monitor?: ReturnType<typeof createMonitor> }> {
  const config: Readonly<Config> = testConfig({
    llm: { baseUrl: server.url, model: TEACHER },
    models: { dir: path.join(dir, String(Math.random())), saveEveryItems: 0, saveEveryMs: 0 },
    cache: { redisTier: false, l1MaxBytes: 1 },
    ...sections,
  });
  const monitor = withMonitor ? createMonitor({ config: config.monitor, port: 'random', logger, processMetrics: false }) : undefined;
  const task = loadTask(EMOTIONS.replace(/\.jsonl$/, '.task.json'));
  const cascade = await createCascade({ task, config, logger, restore: false, ...(monitor === undefined ? {} : { observer: monitor.observer }) });
  const output = new AnnotationSink();
  const annotations = output.annotations;
  async function* stream(): AsyncGenerator<JsonlEntry> {
    for (const [i, r] of rows.entries()) yield { line: i + 1, item: { id: r.id, text: r.text } };
  }
  await runEmbedded(cascade, stream(), { output, rejectsPath: path.join(dir, 'rejects.jsonl'), logger, signal: new AbortController().signal, window: 256 });
  await cascade.close();
  return { annotations, ...(monitor === undefined ? {} : { monitor }) };
}

/** Share of published labels equal to the recorded LLM answer (items it could not parse left out). */
function agreement(annotations: readonly Annotation[]): number {
  const llm = new Map(rows.map((r) => [r.id, r.llm[TEACHER] ?? -1]));
  const judged = annotations.filter((a) => (llm.get(a.id) ?? -1) >= 0);
  return judged.filter((a) => a.labelId === llm.get(a.id)).length / judged.length;
}

describe('quality targets on the embedded pipeline', () => {
  it('keeps agreement ≥ 0.85 with the LLM while sending it only part of the stream', async () => {
    const { annotations } = await run({ quality: { targets: ['agreement>=0.85'], window: 600 } });
    expect(annotations).toHaveLength(rows.length);
    expect(agreement(annotations)).toBeGreaterThanOrEqual(0.85);
    // Each window of 600 items keeps it too (the promise is per window, not on average).
    for (let w = 0; w + 600 <= annotations.length; w += 600) expect(agreement(annotations.slice(w, w + 600))).toBeGreaterThanOrEqual(0.85);
    const llmShare = annotations.filter((a) => a.answeredBy === 'llm').length / annotations.length;
    expect(llmShare).toBeLessThan(0.9);
    // Small stages answered the rest, confidently: never `uncertified` without a cap.
    expect(annotations.some((a) => a.reason === 'confident')).toBe(true);
    expect(annotations.some((a) => a.reason === 'uncertified')).toBe(false);
  });

  it('under a budget cap too tight for the target: items published `uncertified`, the gauge at 0, /healthz degraded', async () => {
    const { annotations, monitor } = await run({ quality: { targets: ['agreement>=0.97'] }, cascade: { llmBudget: 0.1 } }, true);
    if (monitor === undefined) throw new Error('no monitor');
    expect(annotations).toHaveLength(rows.length);
    const uncertified = annotations.filter((a) => a.reason === 'uncertified');
    expect(uncertified.length).toBeGreaterThan(rows.length / 2);
    expect(uncertified.every((a) => a.answeredBy !== 'llm')).toBe(true);
    const status = monitor.status().quality;
    expect(status?.targets[0]).toMatchObject({ target: 'agreement>=0.97', met: false });
    const metrics = await monitor.metrics.text();
    expect(metrics).toMatch(/spillway_quality_target_met\{target="agreement>=0.97"\} 0/);
    const { url } = await monitor.start();
    try {
      const health = await fetch(`${url as string}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.text()).toContain('degraded: quality target not held');
    } finally {
      await monitor.close();
    }
  });
});
