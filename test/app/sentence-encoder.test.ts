/**
 * The sentence encoder a service starts with: e5-small by default, from the model cache folder, fetched there
 * from Maven Central on first use with its checksum verified; GloVe with one warning that says why and how
 * to get e5 when it cannot be had; GloVe with no download and no warning when chosen.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareSentenceEncoder } from '../../src/app/sentence-encoder.js';
import { E5_SMALL_ARTIFACT, e5SmallDir, fetchE5Small, hasE5SmallFiles, type FetchProgress } from '../../src/cascade/index.js';
import { parseConfig } from '../../src/config.js';
import { ModelFetchError } from '../../src/errors.js';
import { freePort } from '../helpers/services.js';
import { MODEL_CACHE_DIR } from '../helpers/test-config.js';

const dirs: string[] = [];
function emptyCache(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'spillway-cache-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A logger whose lines the test reads back. */
function recordingLogger(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  const lines = (): Array<Record<string, unknown>> =>
    text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe('the default sentence encoder', () => {
  it('is e5-small', () => {
    expect(parseConfig({}).cascade.sentenceEncoder).toBe('e5-small');
  });

  it('loads e5-small from the model cache folder when its files are there', async () => {
    const { logger, lines } = recordingLogger();
    const prepared = await prepareSentenceEncoder(parseConfig({ models: { cacheDir: MODEL_CACHE_DIR } }), logger);
    try {
      expect(prepared.encoder?.name).toBe('e5-small');
      expect(prepared.config.cascade.sentenceEncoder).toBe('e5-small');
      expect(lines().filter((l) => (l.level as number) >= 40)).toEqual([]);
    } finally {
      prepared.encoder?.dispose();
    }
  });

  it('falls back to GloVe with one warning naming the reason and how to get e5 when the repository cannot be reached', async () => {
    const { logger, lines } = recordingLogger();
    const cacheDir = emptyCache();
    // A port nothing listens on: the connection is refused at once.
    const unreachable = `http://127.0.0.1:${await freePort()}/maven2`;
    const prepared = await prepareSentenceEncoder(parseConfig({ models: { cacheDir, mavenRepositoryUrl: unreachable } }), logger);
    expect(prepared.encoder).toBeUndefined();
    expect(prepared.config.cascade.sentenceEncoder).toBe('glove');
    const warnings = lines().filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(
      /e5-small sentence encoder unavailable: the mid stage uses GloVe.*spillway encoder fetch.*cascade\.sentenceEncoder: glove/,
    );
    expect(warnings[0]?.reason).toMatch(/cannot be reached \(ECONNREFUSED\)/);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('with cascade.sentenceEncoder: glove, fetches nothing and says nothing', async () => {
    const { logger, lines } = recordingLogger();
    const cacheDir = emptyCache();
    const prepared = await prepareSentenceEncoder(parseConfig({ cascade: { sentenceEncoder: 'glove' }, models: { cacheDir } }), logger);
    expect(prepared.encoder).toBeUndefined();
    expect(prepared.config.cascade.sentenceEncoder).toBe('glove');
    expect(lines()).toEqual([]);
    expect(readdirSync(cacheDir)).toEqual([]);
  });
});

describe('fetching e5-small', () => {
  it('downloads the jar from Maven Central once, checks its published SHA-1, and unpacks the two files', async () => {
    const cacheDir = emptyCache();
    const progress: FetchProgress[] = [];
    const dir = await fetchE5Small(cacheDir, { repositoryUrl: parseConfig({}).models.mavenRepositoryUrl, onProgress: (p) => progress.push(p) });
    expect(dir).toBe(e5SmallDir(cacheDir));
    expect(hasE5SmallFiles(dir)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual([E5_SMALL_ARTIFACT.tokenizerFile, E5_SMALL_ARTIFACT.modelFile].sort());
    // Nothing left aside, and the progress rises to the announced size.
    expect(readdirSync(cacheDir)).toEqual([E5_SMALL_ARTIFACT.folder]);
    expect(progress.length).toBeGreaterThan(10);
    expect(progress.at(-1)?.receivedBytes).toBe(progress.at(-1)?.totalBytes);
    // A second call finds the files and downloads nothing.
    const again: FetchProgress[] = [];
    await fetchE5Small(cacheDir, { onProgress: (p) => again.push(p) });
    expect(again).toEqual([]);
  });

  it('throws a ModelFetchError that names the address when the repository refuses the connection', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const failed = fetchE5Small(emptyCache(), { repositoryUrl: url });
    await expect(failed).rejects.toBeInstanceOf(ModelFetchError);
    await expect(failed).rejects.toThrow(new RegExp(`^${url}/dev/langchain4j/.*\\.jar\\.sha1: cannot be reached`));
  });
});
