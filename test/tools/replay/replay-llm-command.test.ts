import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { OpenAiTeacher, defaultTaskPath, loadTask } from '../../../src/llm/index.js';
import { GPT, EMOTIONS, readRows, repoRoot } from '../../llm/helpers.js';

let child: ChildProcess | undefined;
afterEach(() => {
  if (child?.exitCode === null) child.kill('SIGKILL');
  child = undefined;
});

/** Resolves with the first stdout line, or rejects if the process exits first. */
function firstLine(proc: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    proc.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    proc.once('exit', (code) => reject(new Error(`exited with ${String(code)} before printing a URL: ${err}`)));
  });
}

describe('spillway replay-llm', () => {
  it('prints a base URL that answers with recorded labels, and stops on SIGTERM', async () => {
    child = spawn(process.execPath, ['bin/spillway.js', 'replay-llm', '--dataset', EMOTIONS, '--teacher', GPT, '--port', '0'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SPILLWAY_LOG_LEVEL: 'warn' },
    });
    const url = await firstLine(child);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);

    const task = loadTask(defaultTaskPath(EMOTIONS));
    const row = readRows(EMOTIONS).find((r) => (r.llm[GPT] ?? -1) >= 0);
    const teacher = new OpenAiTeacher({ task, baseUrl: url, model: GPT, timeoutMs: 5_000, maxRetries: 0, retryBaseMs: 1, retryMaxMs: 1 });
    expect((await teacher.classify(row?.text ?? '')).labelId).toBe(row?.llm[GPT]);

    const exited = new Promise<number | null>((resolve) => child?.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('exits non-zero naming the models present when the teacher is unknown', async () => {
    child = spawn(process.execPath, ['bin/spillway.js', 'replay-llm', '--dataset', EMOTIONS, '--teacher', 'nope', '--port', '0'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child?.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain(`models present: ${GPT}`);
  });
});
