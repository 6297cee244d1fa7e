import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DatasetError } from '../../../src/errors.js';
import { defaultTaskPath, loadTask, renderMessages } from '../../../src/llm/index.js';
import { loadRecordedAnswers, startReplayServer, type ReplayServer } from '../../../tools/replay/index.js';
import { GPT, LLAMA, MODERATION, EMOTIONS, readRows } from '../../llm/helpers.js';

const task = loadTask(defaultTaskPath(EMOTIONS));
const dir = mkdtempSync(path.join(tmpdir(), 'spillway-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let server: ReplayServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('startReplayServer', () => {
  it('serves an OpenAI-shaped chat completion with the recorded label name', async () => {
    server = await startReplayServer({ dataset: EMOTIONS, teacher: GPT });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const row = readRows(EMOTIONS).find((r) => r.llm[GPT] === 2);
    const { status, json } = await post(server.url, { model: GPT, messages: renderMessages(task, row?.text ?? '') });
    expect(status).toBe(200);
    expect(json).toMatchObject({
      object: 'chat.completion',
      model: GPT,
      choices: [{ index: 0, message: { role: 'assistant', content: 'anger' }, finish_reason: 'stop' }],
    });
  });

  it('lists the teacher under GET /v1/models', async () => {
    server = await startReplayServer({ dataset: EMOTIONS, teacher: LLAMA });
    const res = await fetch(`${server.url}/models`);
    expect(await res.json()).toMatchObject({ object: 'list', data: [{ id: LLAMA, object: 'model' }] });
  });

  it('answers malformed requests and unknown routes with OpenAI-shaped errors', async () => {
    server = await startReplayServer({ dataset: EMOTIONS, teacher: GPT });
    const badJson = await post(server.url, '{"model":');
    expect(badJson.status).toBe(400);
    expect(badJson.json).toMatchObject({ error: { type: 'invalid_request_error' } });
    const route = await fetch(`${server.url}/embeddings`, { method: 'POST', body: '{}' });
    expect(route.status).toBe(404);
    expect(await route.json()).toMatchObject({ error: { code: 'unknown_url' } });
    expect(server.stats().badRequests).toBe(2);
  });

  it('injects the same errors for the same seed', async () => {
    const pattern = async (): Promise<number[]> => {
      const s = await startReplayServer({ dataset: EMOTIONS, teacher: GPT, errorRate: 0.5, seed: 3 });
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await post(s.url, { model: GPT, messages: renderMessages(task, 'x') })).status);
      await s.close();
      return statuses;
    };
    const first = await pattern();
    expect(first).toEqual(await pattern());
    expect(first).toContain(500);
    expect(first).toContain(200);
  });

  it('delays each answer by latencyMs', async () => {
    server = await startReplayServer({ dataset: EMOTIONS, teacher: GPT, latencyMs: 80 });
    const started = performance.now();
    await post(server.url, { model: GPT, messages: renderMessages(task, 'x') });
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
  });

  it('refuses an unknown teacher, listing the models present', async () => {
    await expect(startReplayServer({ dataset: EMOTIONS, teacher: 'gpt-5' })).rejects.toThrow(
      new RegExp(`no answers recorded for teacher "gpt-5" \\(models present: ${GPT}, ${LLAMA}\\)`),
    );
  });
});

describe('loadRecordedAnswers', () => {
  it('loads every line of the moderation stream, each text once', () => {
    const recorded = loadRecordedAnswers(MODERATION, GPT, 2);
    expect(recorded.lines).toBe(2_000);
    expect(recorded.byText.size).toBe(2_000);
  });

  it('serves the first recording of a text that occurs twice with different answers', () => {
    const file = path.join(dir, 'dup.jsonl');
    writeFileSync(file, ['{"text":"a","llm":{"m":1}}', '{"text":"a","llm":{"m":0}}', ''].join('\n'));
    const recorded = loadRecordedAnswers(file, 'm', 2);
    expect(recorded.byText.get('a')).toBe(1);
    expect(recorded.conflictingDuplicates).toBe(1);
  });

  it.each([
    ['not JSON', '{"text":"a","llm":{"m":1}}\nnope\n', /dup\.jsonl:2: line is not a JSON object/],
    ['no text', '{"llm":{"m":1}}\n', /:1: line has no "text" string/],
    ['an answer outside the label set', '{"text":"a","llm":{"m":2}}\n', /:1: llm\.m must be -1 or a label id below 2/],
  ])('throws a DatasetError with the line for %s', (_what, content, message) => {
    const file = path.join(dir, 'dup.jsonl');
    writeFileSync(file, content);
    expect(() => loadRecordedAnswers(file, 'm', 2)).toThrow(DatasetError);
    expect(() => loadRecordedAnswers(file, 'm', 2)).toThrow(message);
  });
});
