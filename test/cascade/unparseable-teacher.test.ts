/**
 * Budget-aware deferral: with a teacher whose answers are partly unparseable (Llama-2 on the emotions stream,
 * plus every third answer blanked to -1 here), the cascade still spends its budget (with Llama as the teacher
 * the learned cascade used to send 10.8 % of the stream to the LLM at a 50 % budget), and an unparseable
 * answer teaches nothing: it is neither agreement nor disagreement for the deferral policies.
 * The LLM is the replay server over HTTP.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createCascade, DeferralPolicy } from '../../src/cascade/index.js';
import { OpenAiTeacher, defaultTaskPath, loadTask } from '../../src/llm/index.js';
import { startReplayServer } from '../../tools/replay/index.js';
import { EMOTIONS, LLAMA, readRows } from '../llm/helpers.js';
import { PLAIN_LLM } from '../helpers/cascade-sections.js';
import { testConfig } from '../helpers/test-config.js';

const task = loadTask(defaultTaskPath(EMOTIONS));
const dir = mkdtempSync(path.join(tmpdir(), 'spillway-unparseable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A temporary copy (never in the repository) of the first 2,000 emotions lines with a third of Llama's answers blanked.
const rows = readRows(EMOTIONS).slice(0, 2_000);
const dataset = path.join(dir, 'emotions-blanked.jsonl');
writeFileSync(dataset, rows.map((r, i) => JSON.stringify({ ...r, llm: { [LLAMA]: i % 3 === 0 ? -1 : (r.llm[LLAMA] ?? -1) } })).join('\n'));

describe('a teacher whose answers are partly unparseable', () => {
  it('gets its budget spent, and its unparseable answers train no policy', async () => {
    const server = await startReplayServer({ dataset, teacher: LLAMA, task });
    const teacher = new OpenAiTeacher({ task, baseUrl: server.url, model: LLAMA, timeoutMs: 20_000, maxRetries: 2, retryBaseMs: 1, retryMaxMs: 5 });
    const budget = 0.5;
    const config = testConfig({ cascade: { stages: ['lr', 'mid'], pretrainedVectors: false, llmBudget: budget, seed: 3 } });
    const cascade = await createCascade({
      task,
      teacher,
      config: { ...config, llm: { ...config.llm, ...PLAIN_LLM, concurrency: 1 }, models: { ...config.models, dir, saveEveryItems: 0 } },
      logger: pino({ level: 'silent' }),
      restore: false,
    });
    try {
      let parsed = 0;
      let unparseable = 0;
      for (const r of rows) {
        const a = await cascade.process({ id: r.id, text: r.text });
        if (a.llmCalled && a.llmUnparseable) unparseable++;
        else if (a.llmCalled) parsed++;
      }
      const share = (parsed + unparseable) / rows.length;
      expect(unparseable).toBeGreaterThan(0.25 * (parsed + unparseable));
      // The budget is spent: within 2 points under it, and never above the controller's allowance.
      expect(share).toBeGreaterThanOrEqual(budget - 0.02);
      expect(parsed + unparseable).toBeLessThanOrEqual(cascade.parts.budget.allowance(rows.length));
      // Each policy learned from every parsed answer and from nothing else.
      for (const policy of cascade.parts.policies) {
        expect(policy).toBeInstanceOf(DeferralPolicy);
        expect(policy.updates).toBe(parsed);
      }
      expect(cascade.counters.unparseable).toBe(unparseable);
    } finally {
      await cascade.close();
      await server.close();
    }
  });
});
