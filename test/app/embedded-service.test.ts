/**
 * The embedded service as a module: built from a configuration, driven without the CLI. It writes
 * one annotation per good entry in input order, sends rejected lines to the rejects file, stops reading when
 * the lifecycle stops, and its monitor is closed by the lifecycle (the port is free again).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createEmbeddedService, createRootLogger, Lifecycle, type ServiceContext } from '../../src/app/index.js';
import type { Annotation } from '../../src/cascade/index.js';
import { STREAMS_DIR } from '../helpers/paths.js';
import { freePort } from '../helpers/services.js';
import { testConfig } from '../helpers/test-config.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function context(httpPort: number): ServiceContext {
  const dir = mkdtempSync(path.join(tmpdir(), 'spillway-embedded-'));
  dirs.push(dir);
  // A task and no LLM: the small stages answer everything (the embedded mode accepts that, with a warning).
  const config = testConfig({
    task: path.join(STREAMS_DIR, 'emotions.task.json'),
    monitor: { httpPort },
    models: { dir, backend: 'cpu' },
    cascade: { stages: ['lr'], pretrainedVectors: false, featureDim: 2 ** 14 },
  });
  return { config, logger: createRootLogger('silent', { destination: new PassThrough() }) };
}

function collect(output: PassThrough): () => Annotation[] {
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return () =>
    text
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Annotation);
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

describe('createEmbeddedService', () => {
  it('annotates a JSONL file in order, rejects its bad line with the reason, and its lifecycle closes the monitor', async () => {
    const port = await freePort();
    const ctx = context(port);
    const dir = dirs[dirs.length - 1] as string;
    const input = path.join(dir, 'items.jsonl');
    const lines = Array.from({ length: 30 }, (_, i) => JSON.stringify({ id: `i${i}`, text: `item number ${i} is ${i % 2 === 0 ? 'great' : 'awful'}` }));
    lines.splice(10, 0, 'not json at all');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const lifecycle = new Lifecycle({ logger: ctx.logger, graceMs: 1_000 });
    const service = await createEmbeddedService({ context: ctx, lifecycle });
    expect(await service.serve()).toBe(`http://127.0.0.1:${port}`);
    expect(await portIsFree(port)).toBe(false);
    const output = new PassThrough();
    const read = collect(output);
    const rejectsPath = path.join(dir, 'rejects.jsonl');
    let rejectedSeen = 0;
    const summary = await service.run(service.entries({ file: input }), { output, rejectsPath, onRejected: (n) => (rejectedSeen = n) });
    expect(summary).toEqual({ items: 30, rejected: 1 });
    expect(rejectedSeen).toBe(1);
    expect(read().map((a) => a.id)).toEqual(Array.from({ length: 30 }, (_, i) => `i${i}`));
    const rejected = JSON.parse(readFileSync(rejectsPath, 'utf8').trim()) as { line: number; kind: string; raw: string };
    expect(rejected).toMatchObject({ line: 11, kind: 'not-json', raw: 'not json at all' });
    expect(await lifecycle.close()).toBeUndefined();
    expect(await portIsFree(port)).toBe(true);
  });

  it('stops reading when the lifecycle stops: the demo stream ends early, every item read is answered', async () => {
    const ctx = context(0);
    const lifecycle = new Lifecycle({ logger: ctx.logger, graceMs: 1_000 });
    const service = await createEmbeddedService({ context: ctx, lifecycle, demo: true });
    expect(service.demo).toBe(true);
    const output = new PassThrough();
    const read = collect(output);
    // 50 items per second: a stop after 300 ms leaves most of the 1,000 unread.
    const running = service.run(service.entries({ demoItems: 1_000, rate: 50 }), { output, rejectsPath: path.join(dirs[0] as string, 'none.jsonl') });
    await new Promise((resolve) => setTimeout(resolve, 300));
    lifecycle.stop();
    const summary = await running;
    expect(summary.items).toBeGreaterThan(0);
    expect(summary.items).toBeLessThan(1_000);
    expect(read()).toHaveLength(summary.items);
    await lifecycle.close();
  });
});
