/**
 * A scripted teacher for the cascade's tests: a synthetic two-label stream whose "LLM answers" are written
 * into a dataset file, served by the real replay LLM server over HTTP and asked by the real OpenAI client.
 * Easy items carry two words of their label's vocabulary; hard items mix both vocabularies and the teacher
 * labels them at random, so no small stage can learn them and the policy should defer them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { AnswerCache } from '../../src/cache/index.js';
import { createCascade, type Cascade, type Item } from '../../src/cascade/index.js';
import type { CascadeConfig } from '../../src/config.js';
import { OpenAiTeacher, parseTask, type Task } from '../../src/llm/index.js';
import { startReplayServer, type ReplayServer } from '../../tools/replay/index.js';
import { cascadeSections, PLAIN_LLM } from '../helpers/cascade-sections.js';

export const TEACHER_MODEL = 'scripted-teacher';
const POSITIVE = ['great', 'excellent', 'love', 'wonderful', 'superb', 'happy', 'fantastic', 'delightful'];
const NEGATIVE = ['awful', 'terrible', 'hate', 'horrible', 'dreadful', 'sad', 'poor', 'disappointing'];
const FILLER = ['the', 'product', 'was', 'it', 'really', 'quite', 'this', 'item', 'arrived', 'today', 'box', 'my'];

/** An item and the teacher's recorded answer for it. */
export interface ScriptedItem extends Item {
  label: number;
  hard: boolean;
}

export interface ScriptedTeacher {
  task: Task;
  teacher: OpenAiTeacher;
  server: ReplayServer;
  /** `count` items from `offset` of the scripted stream (`hardShare` of them hard). */
  items(offset: number, count: number, hardShare?: number): ScriptedItem[];
  close(): Promise<void>;
}

/** mulberry32: the stream is the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rng: () => number, list: readonly T[]): T {
  return list[Math.floor(rng() * list.length)] as T;
}

/** The i-th item of the stream; its kind (easy or hard) is chosen by the caller, its words by the seed. */
function scripted(i: number, hard: boolean): ScriptedItem {
  const rng = random(1_000 + i);
  const label = rng() < 0.5 ? 0 : 1;
  const own = label === 1 ? POSITIVE : NEGATIVE;
  const other = label === 1 ? NEGATIVE : POSITIVE;
  const words = Array.from({ length: 5 }, () => pick(rng, FILLER));
  words.push(pick(rng, own), hard ? pick(rng, other) : pick(rng, own), `n${i}`);
  return { id: `${hard ? 'h' : 'e'}${i}`, text: words.join(' '), label, hard };
}

/** Which items of the stream are hard: the same for the dataset and for the tests. */
function isHard(i: number, hardShare: number): boolean {
  return random(7_000 + i)() < hardShare;
}

/** Writes the dataset (every item the tests may send, both kinds) and starts the replay server on it. */
export async function startScriptedTeacher(size = 3_000): Promise<ScriptedTeacher> {
  const dir = mkdtempSync(path.join(tmpdir(), 'spillway-scripted-'));
  const dataset = path.join(dir, 'scripted.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < size; i++) {
    for (const hard of [false, true]) {
      const item = scripted(i, hard);
      lines.push(JSON.stringify({ id: item.id, text: item.text, label: item.label, llm: { [TEACHER_MODEL]: item.label } }));
    }
  }
  writeFileSync(dataset, `${lines.join('\n')}\n`);
  const task = parseTask('scripted-teacher', {
    name: 'scripted-sentiment',
    description: 'Is this review positive or negative?',
    labels: ['negative', 'positive'],
    prompt: { system: 'Answer with one word: negative or positive.', user: 'Review: {text}\nAnswer:' },
  });
  const server = await startReplayServer({ dataset, teacher: TEACHER_MODEL, task, port: 0 });
  const teacher = new OpenAiTeacher({ task, baseUrl: server.url, model: TEACHER_MODEL, timeoutMs: 10_000, maxRetries: 1, retryBaseMs: 1, retryMaxMs: 5 });
  return {
    task,
    teacher,
    server,
    items: (offset, count, hardShare = 0) => Array.from({ length: count }, (_, k) => scripted(offset + k, isHard(offset + k, hardShare))),
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What {@link useScriptedCascades} gives a test file. */
export interface ScriptedCascades {
  /** The file's scripted teacher (started before the first test). */
  teacher(): ScriptedTeacher;
  /**
   * A fresh cascade asking it (nothing restored, never saved, tfjs on cpu), in its own temporary models
   * folder; the latest one is drained after each test.
   */
  build(config: CascadeConfig, options: { concurrency: number; costUnits: number; cache?: AnswerCache; multiplexer?: boolean }): Promise<Cascade>;
}

/**
 * Registers a test file's hooks: one scripted teacher for the file (`size` items), each test's cascade
 * drained after it, the models folders removed at the end.
 */
export function useScriptedCascades(size?: number): ScriptedCascades {
  const logger = pino({ level: 'silent' });
  const dirs: string[] = [];
  let scripted: ScriptedTeacher | undefined;
  let latest: Cascade | undefined;
  beforeAll(async () => {
    scripted = await startScriptedTeacher(size);
  });
  afterEach(async () => {
    await latest?.drain();
    latest = undefined;
  });
  afterAll(async () => {
    await scripted?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const teacher = (): ScriptedTeacher => {
    if (scripted === undefined) throw new Error('the scripted teacher starts in beforeAll');
    return scripted;
  };
  return {
    teacher,
    async build(config, options) {
      const dir = mkdtempSync(path.join(tmpdir(), 'spillway-cascade-'));
      dirs.push(dir);
      latest = await createCascade({
        task: teacher().task,
        teacher: teacher().teacher,
        config: cascadeSections({
          cascade: config,
          // A fixed concurrency; failures fall back; nothing held while cold: what these tests count on.
          llm: {
            ...PLAIN_LLM,
            concurrency: options.concurrency,
            minConcurrency: options.concurrency,
            maxConcurrency: options.concurrency,
            costUnits: options.costUnits,
          },
          models: { dir, saveEveryItems: 0, backend: 'cpu' },
          cache: { multiplexer: options.multiplexer === true },
        }),
        logger,
        restore: false,
        ...(options.cache === undefined ? {} : { cache: options.cache }),
      });
      return latest;
    },
  };
}
