/**
 * Hardening at the command line, as users run it: a misconfigured LLM stops `start` and `run` before they
 * consume, with one line naming the setting and never the key; `run` refuses to start without an LLM unless
 * --no-llm; a stalled LLM does not keep `start` from stopping on SIGTERM; BOM and oversize lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLabelledStream } from '../../tools/bench/index.js';
import { startReplayServer, type ReplayServer } from '../../tools/replay/index.js';
import { EMOTIONS, REPO_ROOT } from '../helpers/paths.js';
import { startStandInLlm, type StandInLlm } from '../helpers/stand-in-llm.js';

const TEACHER = 'gpt-3.5-turbo-1106';
const TASK = EMOTIONS.replace(/\.jsonl$/, '.task.json');
const KEY = 'sk-hardening-0123456789abcdefSECRET';
let replay: ReplayServer;
let llm: StandInLlm;
let dir: string;

interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  stderr(): string;
}

function spillway(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['bin/spillway.js', ...args], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      SPILLWAY_LOG_LEVEL: 'info',
      SPILLWAY_MODELS_DIR: join(dir, `models-${randomUUID()}`),
      SPILLWAY_LLM_API_KEY: KEY,
      SPILLWAY_LLM_MODEL: TEACHER,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done, stderr: () => stderr };
}

/** The `spillway: …` line main prints for a typed error. */
function errorLine(stderr: string): string {
  return stderr.split('\n').find((l) => l.startsWith('spillway: ')) ?? '';
}

async function itemsFile(count: number, name = 'items.jsonl'): Promise<string> {
  const rows = readLabelledStream(EMOTIONS).slice(0, count);
  const file = join(dir, name);
  await writeFile(file, `${rows.map((r) => JSON.stringify({ id: r.id, text: r.text })).join('\n')}\n`);
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spillway-hardening-'));
  replay = await startReplayServer({ dataset: EMOTIONS, teacher: TEACHER, port: 0 });
  llm = await startStandInLlm(replay.url);
});

afterAll(async () => {
  await llm.close();
  await replay.close();
  await rm(dir, { recursive: true, force: true });
});

describe('spillway start with a misconfigured LLM', () => {
  it('exits 1 before reading when the key is refused, naming SPILLWAY_LLM_API_KEY and never printing the key', async () => {
    llm.mode = 'unauthorized';
    const input = await itemsFile(20);
    const output = join(dir, 'out-401.jsonl');
    const result = await spillway(['start', '--input', input, '--output', output, '--task', TASK, '--http-port', '0'], { SPILLWAY_LLM_BASE_URL: llm.url }).done;
    expect(result.code).toBe(1);
    expect(errorLine(result.stderr)).toMatch(/refused the API key \(HTTP 401 invalid_api_key\); check SPILLWAY_LLM_API_KEY$/);
    expect(result.stderr + result.stdout).not.toContain('0123456789abcdef');
    expect(llm.chats.unauthorized).toBe(0); // the models list said it: no chat call was made
    expect(existsSync(output)).toBe(false); // nothing was read, nothing written
  });

  it('exits 1 before reading when the model is unknown, naming SPILLWAY_LLM_MODEL', async () => {
    llm.mode = 'unknown-model';
    const input = await itemsFile(20);
    const result = await spillway(['start', '--input', input, '--output', join(dir, 'out-404.jsonl'), '--task', TASK, '--http-port', '0'], {
      SPILLWAY_LLM_BASE_URL: llm.url,
    }).done;
    expect(result.code).toBe(1);
    expect(errorLine(result.stderr)).toMatch(/does not know the model "gpt-3.5-turbo-1106" \(HTTP 404 model_not_found\); check SPILLWAY_LLM_MODEL$/);
  });

  it('exits 1 naming SPILLWAY_LLM_BASE_URL when the host name does not resolve', async () => {
    const input = await itemsFile(5);
    const result = await spillway(['start', '--input', input, '--output', join(dir, 'out-dns.jsonl'), '--task', TASK, '--http-port', '0'], {
      SPILLWAY_LLM_BASE_URL: 'http://no-such-host.invalid/v1',
    }).done;
    expect(result.code).toBe(1);
    expect(errorLine(result.stderr)).toMatch(/ENOTFOUND.*check SPILLWAY_LLM_BASE_URL$/);
  });
});

describe('spillway start with an LLM that never finishes its body', () => {
  it('stops on SIGTERM within kafka.shutdownTimeoutMs plus the margin, writing what it answered', async () => {
    llm.mode = 'ok';
    const input = await itemsFile(50);
    const output = join(dir, 'out-drip.jsonl');
    const config = join(dir, 'drip.yaml');
    await writeFile(config, 'kafka:\n  shutdownTimeoutMs: 1000\n');
    const run = spillway(['start', '--config', config, '--input', input, '--output', output, '--task', TASK, '--http-port', '0'], {
      SPILLWAY_LLM_BASE_URL: llm.url,
    });
    // The startup probe passes (models list), then every chat call drips forever.
    llm.mode = 'drip';
    const started = Date.now();
    while (llm.chats.drip === 0) {
      if (Date.now() - started > 60_000) throw new Error('no chat call reached the stand-in');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const signalledAt = Date.now();
    run.child.kill('SIGTERM');
    const result = await run.done;
    const tookMs = Date.now() - signalledAt;
    llm.mode = 'ok';
    expect(tookMs).toBeLessThan(1_000 + 5_000 + 3_000);
    // Stopped before the end of its input: 128 + SIGTERM, as a shell reports it.
    expect(result.code).toBe(143);
    const written = (await readFile(output, 'utf8'))
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { llmFailed: boolean });
    // The items whose calls were stalled were answered by the small stage, flagged, not dropped or stuck.
    expect(written.length).toBeGreaterThan(0);
    expect(written.some((a) => a.llmFailed)).toBe(true);
  });
});

describe('spillway start input edges', () => {
  it('reads a file that starts with a BOM and rejects an oversize line without losing the lines after it', async () => {
    llm.mode = 'ok';
    const rows = readLabelledStream(EMOTIONS).slice(0, 6);
    const lines = rows.map((r) => JSON.stringify({ id: r.id, text: r.text }));
    const huge = JSON.stringify({ id: 'huge', text: 'x'.repeat(3 * 2 ** 20) });
    const input = join(dir, 'edges.jsonl');
    await writeFile(input, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${[...lines.slice(0, 3), huge, ...lines.slice(3)].join('\n')}\n`)]));
    const output = join(dir, 'out-edges.jsonl');
    const result = await spillway(['start', '--input', input, '--output', output, '--task', TASK, '--http-port', '0', '--max-line-bytes', String(2 ** 20)], {
      SPILLWAY_LLM_BASE_URL: llm.url,
    }).done;
    expect(result.code).toBe(0);
    const ids = (await readFile(output, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids).toEqual(rows.map((r) => r.id));
    const rejects = (await readFile(`${output}.rejects.jsonl`, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; kind: string; reason: string });
    expect(rejects).toHaveLength(1);
    expect(rejects[0]).toMatchObject({ line: 4, kind: 'oversize' });
    expect(rejects[0]?.reason).toContain(`${Buffer.byteLength(huge)} bytes`);
  });
});

describe('spillway start when the model state cannot be saved', () => {
  it('exits 1 saying what failed, not "unexpected error"', async () => {
    llm.mode = 'ok';
    const input = await itemsFile(10, 'save.jsonl');
    // A file where the models folder should be: the save fails as it would on a read-only disk (tests run as root).
    const blocker = join(dir, 'not-a-folder');
    await writeFile(blocker, 'x');
    const result = await spillway(['start', '--input', input, '--output', join(dir, 'out-save.jsonl'), '--task', TASK, '--http-port', '0'], {
      SPILLWAY_LLM_BASE_URL: llm.url,
      SPILLWAY_MODELS_DIR: join(blocker, 'models'),
    }).done;
    expect(result.code).toBe(1);
    expect(errorLine(result.stderr)).toMatch(/^spillway: cannot save model state to .*not-a-folder\/models\/emotions: ENOTDIR/);
    expect(result.stderr).not.toContain('unexpected error');
  });
});

describe('spillway run', () => {
  const kafkaEnv = (): Record<string, string> => ({ SPILLWAY_KAFKA_GROUP_ID: `hardening-${randomUUID()}`, SPILLWAY_HTTP_PORT: '0' });

  it('refuses to start without an LLM unless --no-llm is given, naming SPILLWAY_LLM_BASE_URL', async () => {
    const result = await spillway(['run', '--task', TASK, '--no-shared-learning'], { ...kafkaEnv(), SPILLWAY_LLM_BASE_URL: '' }).done;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('SPILLWAY_LLM_BASE_URL');
    expect(result.stderr).toContain('--no-llm');
  });

  it('exits 1 before consuming when the key is refused, naming SPILLWAY_LLM_API_KEY', async () => {
    llm.mode = 'unauthorized';
    const result = await spillway(['run', '--task', TASK, '--no-shared-learning'], { ...kafkaEnv(), SPILLWAY_LLM_BASE_URL: llm.url }).done;
    llm.mode = 'ok';
    expect(result.code).toBe(1);
    expect(errorLine(result.stderr)).toMatch(/check SPILLWAY_LLM_API_KEY$/);
    expect(result.stderr).not.toContain('0123456789abcdef');
    expect(result.stderr).not.toContain('worker started');
  });
});
