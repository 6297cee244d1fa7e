/**
 * `spillway monitor` against a live monitor server: `--once` as a plain child process, and the live view in a
 * real pseudo-terminal (util-linux `script`), quit with q.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMonitor, type Monitor } from '../../src/monitor/index.js';
import { sparkline } from '../../src/monitor/terminal-view.js';
import { llmAnswer, lrAnswer, lrAudit, midAnswer, silentLogger, waitFor } from './helpers.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const cli = resolve(repoRoot, 'bin/spillway.js');
let monitor: Monitor;
let url: string;

beforeAll(async () => {
  monitor = createMonitor({
    config: { httpPort: 9464, httpHost: '127.0.0.1' },
    logger: silentLogger,
    port: 'random',
    processMetrics: false,
    historyIntervalMs: 50,
    llmBudget: 0.25,
  });
  url = (await monitor.start()).url!;
  const o = monitor.observer;
  for (let i = 0; i < 30; i++) o.onAnnotation(lrAnswer(0));
  for (let i = 0; i < 10; i++) o.onAnnotation(midAnswer(0, 1));
  for (let i = 0; i < 10; i++) o.onAnnotation(llmAnswer(1, 1, 1));
  for (let i = 0; i < 10; i++) o.onAnnotation(lrAudit(0, i < 9 ? 0 : 1));
  o.onModelUpdate('lr', 60);
  o.onBudgetChange(0.3, 0.33);
  await waitFor(
    async () => ((await (await fetch(`${url}/status/history`)).json()) as Array<{ items: number }>).some((p) => p.items === 60),
    5_000,
    'a history point',
  );
});

afterAll(async () => {
  await monitor?.close();
});

function collect(child: ChildProcessWithoutNullStreams): { out: () => string; exit: Promise<number | null> } {
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
  return { out: () => out, exit: new Promise((res) => child.on('close', res)) };
}

describe('spillway monitor --once', () => {
  it('prints one frame of per-stage rates, sparklines, LLM calls, cost saved and agreement, then exits 0', async () => {
    const run = collect(spawn(process.execPath, [cli, 'monitor', '--once', '--url', url], { cwd: repoRoot }));
    expect(await run.exit).toBe(0);
    const out = run.out();
    expect(out).not.toContain('\x1b[');
    const line = (prefix: string) => out.split('\n').find((l) => l.startsWith(prefix)) ?? '';
    expect(out).toContain(`Spillway monitor  ${url}`);
    expect(out).toMatch(/items 60 {3}LLM share 33\.3% {3}cost saved /);
    // lr deferred 20 of 60 items; every window holds all of them.
    expect(line('lr deferral rate').match(/33\.3%/g)).toHaveLength(3);
    expect(line('lr deferral rate')).toMatch(/[▁▂▃▄▅▆▇█]$/);
    expect(line('mid deferral rate').match(/50\.0%/g)).toHaveLength(3);
    expect(line('LLM calls (audits)')).toContain('20 (10)');
    expect(line('lr agreement (audited)')).toMatch(/90\.0% \[60–98\]/);
    expect(out).toContain('models  lr v60');
    expect(out).toContain('budget  LLM share 33.0% of budget 25.0%, threshold 0.300');
  });

  it('exits 1 with a message when nothing listens at the URL', async () => {
    const run = collect(spawn(process.execPath, [cli, 'monitor', '--once', '--url', 'http://127.0.0.1:9'], { cwd: repoRoot }));
    expect(await run.exit).toBe(1);
    expect(run.out()).toContain('spillway: cannot reach the monitor at http://127.0.0.1:9/status');
  });
});

describe('spillway monitor in a pseudo-terminal', () => {
  it('redraws in place with ANSI codes and quits on q', async () => {
    // `exec`: no shell ($SHELL, or dash when unset) stays between the pseudo-terminal and the monitor.
    const command = `exec ${process.execPath} ${cli} monitor --interval 200 --url ${url}`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: repoRoot, env: { ...process.env, TERM: 'xterm-256color' } });
    const run = collect(child);
    // Two frames: each starts by moving the cursor home.
    await waitFor(() => run.out().split('\x1b[H').length > 2, 20_000, 'two frames');
    child.stdin.write('q');
    expect(await run.exit).toBe(0);
    const out = run.out();
    expect(out).toContain('\x1b[?25l');
    expect(out).toContain('\x1b[1mSpillway monitor');
    expect(out).toContain('lr deferral rate');
    expect(out.trimEnd().endsWith('\x1b[?25h')).toBe(true);
  });
});

describe('sparkline', () => {
  it('scales values to eight block heights and prints gaps for missing points', () => {
    expect(sparkline([0, 0.5, 1, null], 1)).toBe('▁▅█ ');
    expect(sparkline([2, 4, 8])).toBe('▃▅█');
  });
});
