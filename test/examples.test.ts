/** The example under examples/ (the README's first run needs a task file in the repository) is valid. */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/config.js';
import { loadTask } from '../src/llm/task.js';
import { readJsonlItems } from '../src/stream/index.js';
import { REPO_ROOT } from './helpers/paths.js';

describe('examples/support-tickets', () => {
  it('is a valid task with four labels', () => {
    const task = loadTask(path.join(REPO_ROOT, 'examples/support-tickets.task.json'));
    expect(task.labels).toEqual(['billing', 'bug', 'feature-request', 'account']);
  });

  it('has twelve valid items, none rejected', async () => {
    const entries = [];
    for await (const entry of readJsonlItems(createReadStream(path.join(REPO_ROOT, 'examples/support-tickets.jsonl')), DEFAULTS.kafka.maxTextBytes))
      entries.push(entry);
    expect(entries.filter((e) => 'error' in e)).toEqual([]);
    expect(entries).toHaveLength(12);
  });
});
