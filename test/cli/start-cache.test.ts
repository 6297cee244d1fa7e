/** `spillway start` honours `cache.enabled`: a repeated text is answered from the cache, not the LLM. */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLabelledStream } from '../../tools/bench/index.js';
import { startReplayServer, type ReplayServer } from '../../tools/replay/index.js';
import { EMOTIONS, REPO_ROOT } from '../helpers/paths.js';

const TEACHER = 'gpt-3.5-turbo-1106';
let server: ReplayServer;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spillway-start-cache-'));
  server = await startReplayServer({ dataset: EMOTIONS, teacher: TEACHER, port: 0 });
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function start(config: string, input: string, output: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const args = [
      'bin/spillway.js',
      'start',
      '--config',
      config,
      '--input',
      input,
      '--output',
      output,
      '--task',
      EMOTIONS.replace(/\.jsonl$/, '.task.json'),
      '--http-port',
      '0',
      '--no-save',
    ];
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, SPILLWAY_LLM_BASE_URL: server.url, SPILLWAY_LLM_MODEL: TEACHER, SPILLWAY_MODELS_DIR: join(dir, 'models') },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    child.on('error', reject);
    child.on('close', resolve);
  });
}

describe('spillway start with cache.enabled', () => {
  it('answers a text seen before from the in-process cache instead of calling the LLM again', async () => {
    // The warm-up sends every item to the LLM: the second pass over the same texts can only be cached answers.
    const rows = readLabelledStream(EMOTIONS).slice(0, 10);
    const lines = [...rows, ...rows].map((r, i) => JSON.stringify({ id: `${r.id}-${i}`, text: r.text }));
    const input = join(dir, 'items.jsonl');
    await writeFile(input, `${lines.join('\n')}\n`);
    const run = async (enabled: boolean): Promise<Array<{ llmSource: string; llmCalled: boolean; reason: string }>> => {
      const config = join(dir, `config-${enabled}.json`);
      await writeFile(config, JSON.stringify({ cache: { enabled, redisTier: false }, cascade: { warmupItems: 100 }, pipeline: { maxInFlight: 1 } }));
      const output = join(dir, `out-${enabled}.jsonl`);
      expect(await start(config, input, output)).toBe(0);
      return (await readFile(output, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { llmSource: string; llmCalled: boolean; reason: string });
    };
    const cached = await run(true);
    expect(cached.slice(0, 10).every((a) => a.llmSource === 'call' && a.llmCalled)).toBe(true);
    expect(cached.slice(10).every((a) => a.llmSource === 'cache-l1' && !a.llmCalled && a.reason === 'cache')).toBe(true);
    // The same run without the cache asks the LLM for every line.
    const uncached = await run(false);
    expect(uncached.every((a) => a.llmSource === 'call')).toBe(true);
  });
});
