/**
 * The package as a user gets it: `npm pack` (which builds), a global install of the tarball into a scratch
 * prefix, and the installed `spillway` run from a folder outside any checkout. `--version` and `--help`
 * work; `start` annotates a JSONL file with the default sentence encoder, e5-small, fetched on that first
 * start into an empty cache folder; `run` serves a topic of the suites' broker. The install runs no script
 * that downloads (npm's cache serves the tarballs; nothing but the npm registry is asked).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLabelledStream } from '../../tools/bench/index.js';
import { startReplayServer, type ReplayServer } from '../../tools/replay/index.js';
import { EMOTIONS, REPO_ROOT } from '../helpers/paths.js';
import { withDefaultEncoder } from '../helpers/test-config.js';
import { logLines, readJsonRecords, useKafkaSuite, waitFor, BROKERS } from '../stream/helpers.js';

const exec = promisify(execFile);
const TEACHER = 'gpt-3.5-turbo-1106';
const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const scratch = mkdtempSync(path.join(tmpdir(), 'spillway-package-'));
const prefix = path.join(scratch, 'prefix');
/** Where the installed CLI runs: no package.json, no node_modules, nothing of the checkout. */
const elsewhere = path.join(scratch, 'elsewhere');
const bin = path.join(prefix, 'bin', 'spillway');
const suite = useKafkaSuite();
let server: ReplayServer;
let tarball: string;

/** The environment of the installed CLI: the suite's, less npm's run variables and the tests' encoder pin. */
function userEnv(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && k !== 'INIT_CWD'));
  return withDefaultEncoder({ ...base, ...env });
}

/** The installed CLI, run from `elsewhere`. */
function installed(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: elsewhere, env: userEnv(env), stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  const packed = await exec('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 });
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = path.join(scratch, path.basename(info?.filename ?? ''));
  // Tarballs come from npm's cache where it has them; the registry is the only server asked otherwise.
  await exec('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], {
    cwd: scratch,
    maxBuffer: 64 * 1024 * 1024,
  });
  mkdirSync(elsewhere);
  server = await startReplayServer({ dataset: EMOTIONS, teacher: TEACHER, port: 0 });
}, 600_000);

afterAll(async () => {
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds the built CLI and no sources, tests or tools', async () => {
    const listing = (await exec('tar', ['-tzf', tarball])).stdout.split('\n');
    expect(listing).toContain('package/bin/spillway.js');
    expect(listing).toContain('package/dist/cli/main.js');
    expect(listing).toContain('package/dist/monitor/dashboard/index.html');
    expect(listing).toContain('package/topics/topics.yaml');
    expect(listing).toContain('package/monitoring/alerts.yml');
    expect(listing.filter((f) => /^package\/(src|test|tools|scripts)\//.test(f))).toEqual([]);
  });
});

describe('spillway installed globally from the tarball, outside any checkout', () => {
  it('prints its version and its commands', async () => {
    const version = await installed(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    const help = await installed(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['start', 'run', 'produce', 'consume', 'topics', 'monitor', 'encoder']) expect(help.stdout).toContain(command);
    // The developer tools are not part of the package.
    expect(help.stdout).not.toContain('replay-llm');
  });

  it('annotates a JSONL file with e5-small, fetched on this first start into an empty cache folder', async () => {
    const rows = readLabelledStream(EMOTIONS).slice(0, 30);
    const input = path.join(elsewhere, 'items.jsonl');
    const output = path.join(elsewhere, 'out.jsonl');
    writeFileSync(input, rows.map((r) => JSON.stringify({ id: r.id, text: r.text })).join('\n'));
    const task = path.join(elsewhere, 'task.json');
    writeFileSync(task, readFileSync(EMOTIONS.replace(/\.jsonl$/, '.task.json')));
    const result = await installed(['start', '--input', input, '--output', output, '--task', task, '--http-port', '0'], {
      SPILLWAY_LOG_LEVEL: 'info',
      SPILLWAY_LLM_BASE_URL: server.url,
      SPILLWAY_LLM_MODEL: TEACHER,
      SPILLWAY_MODELS_CACHE_DIR: path.join(scratch, 'cache'),
      SPILLWAY_MODELS_DIR: path.join(scratch, 'models'),
    });
    expect(result.code, result.stderr).toBe(0);
    const logs = logLines(result.stderr);
    expect(logs.find((l) => l.msg === 'e5-small sentence encoder fetched and verified')).toBeDefined();
    expect(logs.find((l) => l.msg === 'sentence encoder loaded')).toMatchObject({ encoder: 'e5-small' });
    const ids = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids).toEqual(rows.map((r) => r.id));
  });

  it('serves a Kafka topic with `run` and stops cleanly on SIGTERM', { timeout: 180_000 }, async () => {
    const t = await suite.topics('pkg', 1);
    const config = path.join(elsewhere, 'run.json');
    const task = path.join(elsewhere, 'run.task.json');
    writeFileSync(task, readFileSync(EMOTIONS.replace(/\.jsonl$/, '.task.json')));
    writeFileSync(
      config,
      JSON.stringify({
        task,
        monitor: { httpPort: 0 },
        models: { dir: path.join(scratch, 'run-models') },
        cascade: { stages: ['lr'] },
        kafka: { brokers: BROKERS, groupId: t.groupId, topics: { input: t.input, output: t.output, deadLetter: t.deadLetter } },
      }),
    );
    const producer = suite.kafka.producer();
    await producer.connect();
    const rows = readLabelledStream(EMOTIONS).slice(0, 10);
    await producer.send({ topic: t.input, messages: rows.map((r) => ({ key: r.id, value: JSON.stringify({ id: r.id, text: r.text }) })) });
    await producer.disconnect();
    const child = spawn(bin, ['run', '--config', config, '--no-llm', '--no-shared-learning'], {
      cwd: elsewhere,
      env: userEnv({ SPILLWAY_LOG_LEVEL: 'info' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      // A worker that exits early fails the test at once.
      const gone = exited.then((code) => Promise.reject(new Error(`spillway run exited with ${String(code)}`)));
      gone.catch(() => undefined);
      await Promise.race([waitFor('ten annotations', async () => (await readJsonRecords(suite.kafka, t.output)).length >= 10, 90_000, 250), gone]);
    } catch (err: unknown) {
      throw new Error(`worker log:\n${stderr}`, { cause: err });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    const ids = (await readJsonRecords(suite.kafka, t.output)).map((a) => String(a.id));
    expect(ids.sort()).toEqual(rows.map((r) => r.id).sort());
  });
});
