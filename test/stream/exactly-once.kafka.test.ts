/**
 * End to end through the real broker and `spillway run` child processes: every input id gets exactly one
 * committed annotation, through crashes (SIGKILL), restarts and a group of two workers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedCount, logLines, readJsonRecords, spawnCli, useKafkaSuite, waitFor, type CliProcess, type TestTopics } from './helpers.js';
import { expectExactlyOnce, spawnWorker, startReplayLlm, workerConfig, writeStreamHead, type ReplayLlm } from './worker-process.js';
import { EMOTIONS } from '../helpers/paths.js';

const ITEMS = 2_400;

const suite = useKafkaSuite();
const { kafka, admin } = suite;
let llm: ReplayLlm;

beforeAll(async () => {
  llm = await startReplayLlm([], EMOTIONS);
});

afterAll(async () => {
  await llm.stop();
});

/** Starts publishing the first ITEMS lines of EMOTIONS with `spillway produce`; resolves with their ids when done. */
function produceStream(t: TestTopics, configFile: string, rate?: number): Promise<string[]> {
  const head = writeStreamHead(configFile, ITEMS);
  const produce = suite.child(
    spawnCli(['produce', '--config', configFile, '--topic', t.input, '--file', head.file, ...(rate === undefined ? [] : ['--rate', String(rate)])]),
  );
  return produce.exited.then((code) => {
    expect(code).toBe(0);
    expect(produce.stdout()).toContain(`produced ${ITEMS} items`);
    return head.ids;
  });
}

function start(configFile: string, instance: number): CliProcess {
  return suite.child(spawnWorker(configFile, instance));
}

/** Every committed annotation id, read with `spillway consume --json --exit-at-end` (read_committed). */
async function committedAnnotationIds(configFile: string, t: TestTopics): Promise<string[]> {
  const consume = spawnCli(['consume', '--config', configFile, '--topic', t.output, '--from-beginning', '--exit-at-end', '--json']);
  expect(await consume.exited).toBe(0);
  return consume
    .stdout()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => String((JSON.parse(l) as { value: { id: string } }).value.id));
}

/**
 * Shared learning: every label is in the label topic exactly once, and exactly the committed
 * annotations answered by a fresh LLM call have one (labels written in the annotation's transaction, or
 * written at once by workers that were never killed).
 */
async function expectLabelsExactlyOnce(t: TestTopics): Promise<void> {
  const annotations = await readJsonRecords(kafka, t.output);
  const labels = await readJsonRecords(kafka, t.labels);
  const labelIds = labels.map((l) => String(l.id));
  expect(labelIds.length).toBeGreaterThan(0);
  expect(new Set(labelIds).size).toBe(labelIds.length);
  const answeredByCall = annotations.filter((a) => a.llmSource === 'call' && a.answeredBy === 'llm').map((a) => String(a.id));
  expect(new Set(labelIds)).toEqual(new Set(answeredByCall));
  const byId = new Map(annotations.map((a) => [String(a.id), a]));
  for (const l of labels) expect(l.labelId).toBe(byId.get(String(l.id))?.labelId);
}

describe(`spillway run on ${ITEMS} emotions items with the cascade and the replay LLM`, () => {
  it('writes exactly one annotation per input id, then exits 0 on SIGTERM', async () => {
    const t = await suite.topics('e2e', 6);
    const config = workerConfig(t, llm.url);
    const ids = await produceStream(t, config);
    const worker = start(config, 0);
    await waitFor('every offset committed', async () => (await committedCount(admin, t.groupId, t.input)) === ITEMS, 240_000, 250);
    expectExactlyOnce(await committedAnnotationIds(config, t), ids);
    const sample = (await readJsonRecords(kafka, t.output))[0];
    expect(sample).toMatchObject({ inputTopic: t.input, label: expect.any(String) as unknown, answeredBy: expect.stringMatching(/^(lr|mid|llm)$/) as unknown });

    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    const stopped = logLines(worker.stderr()).find((l) => l.msg === 'worker stopped');
    expect(stopped?.committed).toBe(ITEMS);
    // The cascade's close() ran: its learned state is in the models folder for the next start.
    const modelsDir = (JSON.parse(readFileSync(config, 'utf8')) as { models: { dir: string } }).models.dir;
    expect(readdirSync(modelsDir, { recursive: true }).length).toBeGreaterThan(0);
  });

  it('survives two SIGKILLs mid-stream: still exactly one committed annotation per id, none missing, and one label per LLM answer', async () => {
    const t = await suite.topics('kill', 6);
    // A short session: the group replaces a killed worker after 6 s instead of 30. Labels go in the annotations'
    // transactions, so the labels of the killed workers' aborted ones must never appear.
    const config = workerConfig(t, llm.url, {
      kafka: { maxInFlight: 64, sessionTimeoutMs: 6_000 },
      sharedLearning: { labelDelivery: 'with-annotation' },
    });
    // Paced input (40 s) so the kills land mid-stream whatever the processing speed: a worker's start
    // (tfjs, the snapshot and label replay of shared learning) takes several seconds on a loaded machine.
    const produced = produceStream(t, config, 60);
    for (const threshold of [500, 1_200]) {
      const victim = start(config, 0);
      await waitFor(`${threshold} offsets committed`, async () => (await committedCount(admin, t.groupId, t.input)) >= threshold, 240_000, 20);
      victim.child.kill('SIGKILL');
      expect(await victim.exited).toBe('SIGKILL');
      expect(await committedCount(admin, t.groupId, t.input)).toBeLessThan(ITEMS);
    }
    const ids = await produced;
    const survivor = start(config, 0);
    await waitFor('every offset committed', async () => (await committedCount(admin, t.groupId, t.input)) === ITEMS, 240_000, 250);
    expectExactlyOnce(await committedAnnotationIds(config, t), ids);
    await expectLabelsExactlyOnce(t);
    survivor.child.kill('SIGTERM');
    expect(await survivor.exited).toBe(0);
  });

  it('shares the partitions between two workers of one group; the union is exactly once', async () => {
    const t = await suite.topics('pair', 6);
    const config = workerConfig(t, llm.url);
    const workers = [start(config, 0), start(config, 1)];
    await waitFor(
      'both workers to own partitions',
      async () => {
        const { groups } = await admin.describeGroups([t.groupId]);
        const members = groups[0]?.members ?? [];
        return groups[0]?.state === 'Stable' && members.length === 2 && members.every((m) => m.memberAssignment.length > 0);
      },
      120_000,
      200,
    );
    const ids = await produceStream(t, config);
    await waitFor('every offset committed', async () => (await committedCount(admin, t.groupId, t.input)) === ITEMS, 240_000, 250);
    expectExactlyOnce(await committedAnnotationIds(config, t), ids);
    await expectLabelsExactlyOnce(t);
    for (const w of workers) w.child.kill('SIGTERM');
    const committedBy = await Promise.all(
      workers.map(async (w) => {
        expect(await w.exited).toBe(0);
        return Number(logLines(w.stderr()).find((l) => l.msg === 'worker stopped')?.committed ?? 0);
      }),
    );
    expect(committedBy.every((n) => n > 0)).toBe(true);
    expect(committedBy[0]! + committedBy[1]!).toBe(ITEMS);
  });
});
