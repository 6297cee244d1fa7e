/**
 * What `spillway start` leaves behind and says with its exit code: the previous output file survives a run
 * that is stopped before its first annotation (and that run exits 130, as Ctrl-C does in a shell); a run that
 * answers replaces it whole; and piped, as the README shows it, the annotations reach the reader.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLabelledStream } from '../../tools/bench/index.js';
import { startReplayServer, type ReplayServer } from '../../tools/replay/index.js';
import { waitFor } from '../../tools/harness/index.js';
import { EMOTIONS, REPO_ROOT } from '../helpers/paths.js';

const TEACHER = 'gpt-3.5-turbo-1106';
const TASK = EMOTIONS.replace(/\.jsonl$/, '.task.json');
const PREVIOUS = '{"id":"from-the-last-run"}\n';
let server: ReplayServer;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spillway-start-output-'));
  server = await startReplayServer({ dataset: EMOTIONS, teacher: TEACHER, port: 0 });
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  stderr: () => string;
  done: Promise<{ code: number | null; stdout: string }>;
}

/** `spillway start` reading its stdin from a pipe the test holds open. */
function startOnPipe(output: string): Run {
  const child = spawn(process.execPath, ['bin/spillway.js', 'start', '--output', output, '--task', TASK, '--http-port', '0', '--no-save'], {
    cwd: REPO_ROOT,
    env: { ...process.env, SPILLWAY_LOG_LEVEL: 'info', SPILLWAY_LLM_BASE_URL: server.url, SPILLWAY_LLM_MODEL: TEACHER },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout })));
  return { child, stderr: () => stderr, done };
}

describe('spillway start --output', () => {
  it('keeps the previous output when stopped before its first annotation, and exits 130 on Ctrl-C', async () => {
    const output = join(dir, 'kept.jsonl');
    await writeFile(output, PREVIOUS);
    const run = startOnPipe(output);
    // The LLM check passed: the signal handler is installed and the run waits for input.
    await waitFor('the LLM check', () => run.stderr().includes('LLM endpoint'), 60_000, 50);
    run.child.kill('SIGINT');
    const { code } = await run.done;
    expect(code).toBe(130);
    expect(await readFile(output, 'utf8')).toBe(PREVIOUS);
    expect(await readdir(dir)).not.toContainEqual(expect.stringMatching(/\.part$/));
  });

  it('replaces the previous output once it answers, and exits 0 at the end of its input', async () => {
    const output = join(dir, 'replaced.jsonl');
    await writeFile(output, PREVIOUS);
    const rows = readLabelledStream(EMOTIONS).slice(0, 20);
    const run = startOnPipe(output);
    run.child.stdin?.end(rows.map((r) => JSON.stringify({ id: r.id, text: r.text })).join('\n'));
    const { code } = await run.done;
    expect(code).toBe(0);
    const ids = (await readFile(output, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids).toEqual(rows.map((r) => r.id));
  });
});

describe('piped, as the README shows it', () => {
  // The demo stream through jq and head: head's exit closes the pipe, which spillway takes as the end.
  it.each(['npm start --silent | jq -c . | head', 'npx spillway start | jq -c . | head'])('`%s` prints annotations', async (command) => {
    const child = spawn('sh', ['-c', command], { cwd: REPO_ROOT, env: { ...process.env, SPILLWAY_HTTP_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(10);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ id: expect.any(String), label: expect.any(String), answeredBy: expect.any(String) });
  });
});
