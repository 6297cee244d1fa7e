/**
 * The Docker image runs the CLI. Without a Docker daemon, the test lays out exactly the files the
 * Dockerfile's stages copy: the build stage's files, built with its `npm run build`; then the runtime stage's
 * COPY lines into an empty folder, where the stage's own `npm ci` lines run, with `--prefer-offline`: npm's
 * cache serves what it holds, the npm registry the rest, and no install script may download from anywhere
 * else (there is no route to anywhere else here). From there
 * `spillway --help` and `spillway start` on a small input must work, with no TypeScript source, no tools/ and
 * no devDependency (tsx, typescript) present.
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLabelledStream } from '../../tools/bench/index.js';
import { startReplayServer, type ReplayServer } from '../../tools/replay/index.js';
import { EMOTIONS, REPO_ROOT } from '../helpers/paths.js';

const run = promisify(execFile);
const TEACHER = 'gpt-3.5-turbo-1106';

interface Stage {
  name: string | undefined;
  workdir: string;
  copies: Array<{ from: string | undefined; sources: string[]; dest: string }>;
  runs: string[];
}

/** The Dockerfile's stages: WORKDIR, COPY and RUN instructions (continuation lines joined). */
function dockerStages(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const line of lines) {
    const [op = '', ...args] = line.split(/\s+/);
    const stage = stages.at(-1);
    if (op === 'FROM') stages.push({ name: /\sAS\s+(\S+)/i.exec(line)?.[1], workdir: '/', copies: [], runs: [] });
    else if (stage === undefined) continue;
    else if (op === 'WORKDIR') stage.workdir = args[0] ?? '/';
    else if (op === 'RUN') stage.runs.push(args.join(' '));
    else if (op === 'COPY') {
      const from = args[0]?.startsWith('--from=') ? args.shift()?.slice('--from='.length) : undefined;
      const dest = args.pop() ?? '';
      stage.copies.push({ from, sources: args, dest });
    }
  }
  return stages;
}

/** Carries out a stage's COPY lines into `root` (the stage's WORKDIR), sources from the repo or an earlier stage. */
function copyInto(stage: Stage, root: string, stageRoots: Map<string, { workdir: string; root: string }>): void {
  for (const copy of stage.copies) {
    const target = path.join(root, path.relative(stage.workdir, path.resolve(stage.workdir, copy.dest)));
    for (const source of copy.sources) {
      const origin = copy.from === undefined ? path.join(REPO_ROOT, source) : fromStage(stageRoots, copy.from, source);
      const into = copy.sources.length > 1 || copy.dest.endsWith('/') ? path.join(target, path.basename(source)) : target;
      mkdirSync(path.dirname(into), { recursive: true });
      cpSync(origin, into, { recursive: true });
    }
  }
}

function fromStage(stageRoots: Map<string, { workdir: string; root: string }>, name: string, source: string): string {
  const stage = stageRoots.get(name);
  if (stage === undefined) throw new Error(`COPY --from=${name}: no such stage`);
  return path.join(stage.root, path.relative(stage.workdir, source));
}

/** The `npm ci …` commands of a stage's RUN lines (other commands chained with && are the image's business). */
function npmInstalls(stage: Stage): string[] {
  return stage.runs.flatMap((r) => r.split('&&').map((c) => c.trim())).filter((c) => /^npm ci\b/.test(c));
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.name === 'node_modules' ? [] : e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

function spillway(cwd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/spillway.js', ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const stages = dockerStages(readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const dir = mkdtempSync(path.join(tmpdir(), 'spillway-image-'));
const app = path.join(dir, 'app');
let server: ReplayServer;

beforeAll(async () => {
  const stageRoots = new Map<string, { workdir: string; root: string }>();
  for (const [i, stage] of stages.slice(0, -1).entries()) {
    const root = path.join(dir, `stage-${i}`);
    mkdirSync(root, { recursive: true });
    copyInto(stage, root, stageRoots);
    // A build stage installs everything (npm ci) and runs `npm run build`.
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
    for (const command of stage.runs.filter((r) => r.startsWith('npm run '))) await run('sh', ['-c', command], { cwd: root });
    if (stage.name !== undefined) stageRoots.set(stage.name, { workdir: stage.workdir, root });
  }
  const runtime = stages.at(-1) as Stage;
  mkdirSync(app, { recursive: true });
  copyInto(runtime, app, stageRoots);
  // The runtime stage's install, on exactly the files it copied, with no network.
  for (const command of npmInstalls(runtime)) await run('sh', ['-c', `${command} --prefer-offline`], { cwd: app, maxBuffer: 16 * 1024 * 1024 });
  server = await startReplayServer({ dataset: EMOTIONS, teacher: TEACHER, port: 0 });
}, 300_000);

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the Docker image', () => {
  it('installs without devDependencies and holds the built product only: no TypeScript, no tools', () => {
    const runtime = stages.at(-1) as Stage;
    expect(npmInstalls(runtime).some((c) => /--omit=dev/.test(c))).toBe(true);
    expect(existsSync(path.join(app, 'node_modules', 'onnxruntime-node'))).toBe(true);
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx');
    expect(Object.keys(pkg.dependencies)).not.toContain('typescript');
    const files = listFiles(app);
    expect(files).toContain('bin/spillway.js');
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('dist/monitor/dashboard/index.html');
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
    expect(files.filter((f) => /^(src|tools|test)\//.test(f))).toEqual([]);
    expect(existsSync(path.join(app, 'node_modules', 'tsx'))).toBe(false);
  });

  it('runs `spillway --help`, listing the product commands and none of the tools', async () => {
    const result = await spillway(app, ['--help']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const command of ['start', 'run', 'produce', 'consume', 'topics', 'monitor']) expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    for (const tool of ['bench', 'bench-cache', 'replay-llm']) expect(result.stdout).not.toMatch(new RegExp(`^  ${tool}\\b`, 'm'));
  });

  it('runs `spillway start` over a small JSONL file against an LLM endpoint and annotates every line in order', async () => {
    const rows = readLabelledStream(EMOTIONS).slice(0, 30);
    const input = path.join(dir, 'items.jsonl');
    const output = path.join(dir, 'out.jsonl');
    writeFileSync(input, `${rows.map((r) => JSON.stringify({ id: r.id, text: r.text })).join('\n')}\n`);
    const env = { SPILLWAY_LLM_BASE_URL: server.url, SPILLWAY_LLM_MODEL: TEACHER, SPILLWAY_LOG_LEVEL: 'info' };
    const result = await spillway(
      app,
      ['start', '--input', input, '--output', output, '--task', EMOTIONS.replace(/\.jsonl$/, '.task.json'), '--http-port', '0', '--no-save'],
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    const annotations = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; llmCalled: boolean; label: string });
    expect(annotations.map((a) => a.id)).toEqual(rows.map((r) => r.id));
    // The warm-up asks the LLM: the image's client reached the endpoint and used its answers.
    expect(annotations.filter((a) => a.llmCalled).length).toBeGreaterThan(0);
    expect(server.stats().answered).toBeGreaterThan(0);
  });
});
