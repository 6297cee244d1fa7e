/** `spillway start`, the embedded mode, run as users run it: a child process over files and stdin. */
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

function spillway(
  args: string[],
  env: Record<string, string>,
  stdin: 'ignore' | string = 'ignore',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/spillway.js', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, SPILLWAY_LOG_LEVEL: 'info', SPILLWAY_MODELS_DIR: join(dir, 'models'), ...env },
      stdio: [stdin === 'ignore' ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    if (stdin !== 'ignore') child.stdin?.end(stdin);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spillway-start-'));
  server = await startReplayServer({ dataset: EMOTIONS, teacher: TEACHER, port: 0 });
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('spillway start', () => {
  it('annotates every good line in order and writes each bad line to the rejects file with its reason', async () => {
    const rows = readLabelledStream(EMOTIONS).slice(0, 40);
    const lines = rows.map((r) => JSON.stringify({ id: r.id, text: r.text }));
    lines.splice(5, 0, 'this is not json');
    lines.splice(12, 0, JSON.stringify({ id: 'no-text' }));
    lines.splice(20, 0, JSON.stringify({ id: 'blank', text: '   ' }));
    const input = join(dir, 'items.jsonl');
    const output = join(dir, 'out.jsonl');
    await writeFile(input, `${lines.join('\n')}\n`);
    const env = { SPILLWAY_LLM_BASE_URL: server.url, SPILLWAY_LLM_MODEL: TEACHER };
    const result = await spillway(
      ['start', '--input', input, '--output', output, '--task', EMOTIONS.replace(/\.jsonl$/, '.task.json'), '--http-port', '0'],
      env,
    );
    expect(result.code).toBe(0);
    const annotations = (await readFile(output, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; label: string; answeredBy: string; llmCalled: boolean });
    expect(annotations.map((a) => a.id)).toEqual(rows.map((r) => r.id));
    // The warm-up sends the first items to the LLM: their labels are the recorded answers.
    expect(annotations[0]?.llmCalled).toBe(true);
    const rejects = (await readFile(`${output}.rejects.jsonl`, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; kind: string });
    expect(rejects.map((r) => [r.line, r.kind])).toEqual([
      [6, 'not-json'],
      [13, 'missing-text'],
      [21, 'empty-text'],
    ]);
    expect(result.stderr).toMatch(/line rejected/);
    // The learned state was saved for the next run.
    const manifest = JSON.parse(await readFile(join(dir, 'models', 'emotions', 'manifest.json'), 'utf8')) as { budget: { items: number } };
    expect(manifest.budget.items).toBe(40);
  });

  it('reads items from stdin and writes annotations to stdout', async () => {
    const rows = readLabelledStream(EMOTIONS).slice(100, 110);
    const stdin = rows.map((r) => JSON.stringify({ id: r.id, text: r.text })).join('\n');
    const env = { SPILLWAY_LLM_BASE_URL: server.url, SPILLWAY_LLM_MODEL: TEACHER };
    const result = await spillway(['start', '--task', EMOTIONS.replace(/\.jsonl$/, '.task.json'), '--http-port', '0', '--no-save'], env, stdin);
    expect(result.code).toBe(0);
    expect(
      result.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id),
    ).toEqual(rows.map((r) => r.id));
  });

  it('runs the built-in demo with a simulated teacher when given no input', async () => {
    const result = await spillway(['start', '--demo-items', '400', '--http-port', '0'], {});
    expect(result.code).toBe(0);
    const out = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; answeredBy: string });
    expect(out).toHaveLength(400);
    expect(result.stderr).toMatch(/SIMULATED teacher/);
    // By the end the small stages answer most demo items.
    expect(out.slice(-100).filter((a) => a.answeredBy !== 'llm').length).toBeGreaterThan(70);
  });
});
