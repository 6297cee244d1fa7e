import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TaskError } from '../../src/errors.js';
import { defaultTaskPath, loadTask } from '../../src/llm/index.js';
import { STREAMS_DIR, MODERATION, EMOTIONS } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'spillway-task-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const good = {
  name: 't',
  labels: ['no', 'yes'],
  positive_label: 1,
  prompt: { system: 'Answer yes or no.', user: 'Text: {text}\nAnswer:' },
};

function writeTask(name: string, content: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function loadError(file: string): TaskError {
  try {
    loadTask(file);
  } catch (err: unknown) {
    if (err instanceof TaskError) return err;
    throw err;
  }
  throw new Error('loadTask accepted a bad file');
}

describe('loadTask', () => {
  it('reads the emotions task with its seven labels and no positive label', () => {
    const task = loadTask(path.join(STREAMS_DIR, 'emotions.task.json'));
    expect(task.name).toBe('emotions');
    expect(task.labels).toEqual(['joy', 'sadness', 'anger', 'guilt', 'shame', 'fear', 'disgust']);
    expect(task.positiveLabel).toBeUndefined();
    expect(task.prompt.user).toContain('{text}');
  });

  it('maps positive_label to positiveLabel', () => {
    expect(loadTask(path.join(STREAMS_DIR, 'moderation.task.json')).positiveLabel).toBe(1);
    expect(loadTask(writeTask('good.json', good)).positiveLabel).toBe(1);
  });

  describe('when the file is bad', () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['not JSON', '{"name": ', /not valid JSON/],
      ['no labels', { ...good, labels: undefined }, /labels/],
      ['one label', { ...good, labels: ['only'] }, /labels/],
      ['duplicate labels', { ...good, labels: ['yes', 'Yes'] }, /labels: label names must be distinct/],
      ['an empty label', { ...good, labels: ['no', ' '] }, /labels\.1/],
      ['positive_label out of range', { ...good, positive_label: 2 }, /positive_label/],
      ['no {text} in the user template', { ...good, prompt: { system: 's', user: 'Answer:' } }, /prompt\.user: must contain \{text\} exactly once/],
      ['two {text} in the user template', { ...good, prompt: { system: 's', user: '{text} {text}' } }, /prompt\.user/],
      ['no system prompt', { ...good, prompt: { user: '{text}' } }, /prompt\.system/],
      ['no name', { ...good, name: '' }, /name/],
    ];
    for (const [what, content, field] of cases) {
      it(`throws a TaskError naming the path and the field: ${what}`, () => {
        const file = writeTask(`${what.replace(/\W+/g, '-')}.json`, content);
        const err = loadError(file);
        expect(err.path).toBe(file);
        expect(err.message).toContain(file);
        expect(err.message).toMatch(field);
      });
    }

    it('throws a TaskError when the file does not exist', () => {
      const file = path.join(dir, 'missing.task.json');
      expect(loadError(file).message).toMatch(/cannot read/);
    });
  });
});

describe('defaultTaskPath', () => {
  it('puts <dataset>.task.json beside the dataset', () => {
    expect(defaultTaskPath(EMOTIONS)).toBe(path.join(STREAMS_DIR, 'emotions.task.json'));
    expect(defaultTaskPath(MODERATION)).toBe(path.join(STREAMS_DIR, 'moderation.task.json'));
    expect(defaultTaskPath('/data/stream.json')).toBe('/data/stream.json.task.json');
  });
});

describe('the task objective', () => {
  it('defaults to accuracy and reads macro_f1 and recall:<label>>=<floor>', () => {
    expect(loadTask(writeTask('plain.json', good)).objective).toBeUndefined();
    expect(loadTask(writeTask('f1.json', { ...good, objective: 'macro_f1' })).objective).toEqual({ kind: 'macro_f1' });
    expect(loadTask(writeTask('r1.json', { ...good, objective: 'recall:yes>=0.85' })).objective).toEqual({ kind: 'recall', label: 1, floor: 0.85 });
    expect(loadTask(writeTask('r2.json', { ...good, objective: 'recall:positive', recall_floor: 0.7 })).objective).toEqual({
      kind: 'recall',
      label: 1,
      floor: 0.7,
    });
    expect(loadTask(writeTask('r3.json', { ...good, objective: 'recall:YES' })).objective).toEqual({ kind: 'recall', label: 1, floor: 0.8 });
  });

  it('names the problem when the objective is wrong', () => {
    expect(loadError(writeTask('bad1.json', { ...good, objective: 'precision' })).message).toMatch(/objective: expected accuracy, macro_f1 or recall/);
    expect(loadError(writeTask('bad2.json', { ...good, objective: 'recall:hate' })).message).toMatch(/"hate" is not a label \(labels: no, yes\)/);
    expect(loadError(writeTask('bad3.json', { ...good, objective: 'recall:yes>=1.5' })).message).toMatch(/floor must be in \(0, 1\]/);
    expect(loadError(writeTask('bad4.json', { ...good, recall_floor: 0.8 })).message).toMatch(/recall_floor: needs a recall/);
  });
});
