/**
 * The newcomer path and small CLI manners: `--version`; `spillway start | head -1` exits quietly
 * (it died with EPIPE and 40 KB of stack); no log line repeats the key `module`; no flag imports code
 * (`run --processor` is gone); `spillway start` on a terminal writes annotations to a file, shows its header
 * and the dashboard URL first, paces the demo and serves until Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';
import { freePort } from '../helpers/services.js';

const CLI = path.join(REPO_ROOT, 'bin/spillway.js');

/** Runs a command; stdin is /dev/null (so `start` runs its demo) unless `typing` (the pseudo-terminal's keyboard). */
function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; typing?: boolean } = {}) {
  const child = spawn(command, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: [options.typing === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, exit, out: () => out, err: () => err };
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('spillway --version', () => {
  it("prints package.json's version", async () => {
    const version = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const p = run(process.execPath, [CLI, '--version']);
    expect(await p.exit).toBe(0);
    expect(p.out().trim()).toBe(version);
  });
});

describe('when the reader of stdout goes away (spillway start | head -1)', () => {
  it('exits 0 without an EPIPE stack', async () => {
    const p = run('bash', ['-c', `set -o pipefail; "${process.execPath}" "${CLI}" start --demo-items 3000 --http-port 0 --no-save | head -1`], {
      env: { SPILLWAY_LOG_LEVEL: 'warn' },
    });
    expect(await p.exit, p.err()).toBe(0);
    expect(JSON.parse(p.out().trim())).toMatchObject({ id: 'demo-1' });
    expect(p.err()).not.toMatch(/EPIPE|Error:/);
  });
});

describe('the hidden run --processor flag', () => {
  it('is gone: no flag imports a module', async () => {
    const p = run(process.execPath, [CLI, 'run', '--processor', '/tmp/anything.js']);
    expect(await p.exit).toBe(1);
    expect(p.err()).toContain("unknown option '--processor'");
  });
});

describe('log lines', () => {
  it('name their module once', async () => {
    const port = await freePort();
    const p = run(process.execPath, [CLI, 'start', '--demo-items', '50', '--http-port', String(port), '--no-save'], { env: { SPILLWAY_LOG_LEVEL: 'info' } });
    expect(await p.exit, p.err()).toBe(0);
    const lines = p
      .err()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    expect(lines.some((l) => l.includes('"monitor listening"'))).toBe(true);
    for (const line of lines) expect(line.match(/"module":/g)?.length ?? 0, line).toBeLessThanOrEqual(1);
  });
});

describe('spillway start on a terminal', () => {
  it('writes annotations to a file, shows the URL first, paces the demo and serves until Ctrl-C', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'spillway-tty-'));
    const port = await freePort();
    // `exec`: the shell script runs the command with ($SHELL, or dash when unset) must not stay between the
    // terminal and spillway; a dash waiting on its child dies of the Ctrl-C itself and script reports 130.
    const command = `exec "${process.execPath}" "${CLI}" start --demo-items 150 --rate 300 --http-port ${port}`;
    // util-linux script gives the command a real pseudo-terminal; what we write to it is typed at that terminal.
    const p = run('script', ['-qfec', command, '/dev/null'], { cwd, env: { TERM: 'xterm-256color', SPILLWAY_LOG_LEVEL: 'info' }, typing: true });
    await waitFor(() => p.out().includes('Spillway demo'), 60_000, 'the header');
    const headerAt = Date.now();
    await waitFor(() => p.out().includes('the dashboard stays at'), 60_000, 'the end of the input');
    // 150 items at 300/s: about half a second, however fast the cascade is.
    expect(Date.now() - headerAt).toBeGreaterThanOrEqual(400);
    const out = p.out();
    expect(out).toContain(`dashboard    http://127.0.0.1:${port}/`);
    expect(out).toContain('annotations  spillway-annotations.jsonl');
    expect(out.indexOf('Spillway demo')).toBeLessThan(out.indexOf('items '));
    expect(out).not.toContain('"id":"demo-');
    expect(out).not.toMatch(/"level":30|INFO/);
    const annotations = readFileSync(path.join(cwd, 'spillway-annotations.jsonl'), 'utf8').trim().split('\n');
    expect(annotations).toHaveLength(150);
    // Still serving after the input ended, until Ctrl-C.
    expect((await fetch(`http://127.0.0.1:${port}/status`)).status).toBe(200);
    expect(p.child.exitCode).toBeNull();
    p.child.stdin?.write('\x03');
    // What the terminal showed, on failure: a second signal or a stuck shutdown says so there.
    expect(await p.exit, p.out()).toBe(0);
  });
});
