/**
 * `npm run bench:cold` (a safe cold start): a fresh `spillway start` (empty models folder) over the
 * first 1,000 isear lines, budget 0.313, the replay LLM serving GPT-3.5's recorded answers at `--latency-ms`
 * (300). Items are read from a file as fast as the cascade takes them. Prints, for the first 600 annotations and
 * for all, the agreement of the published labels with the LLM, the LLM share, how many were confident answers
 * of version-0 (untrained) models, and the reasons.
 *
 *   npm run bench:cold [-- --latency-ms 800 --items 1000 --first 600 --budget 0.313 --encoder use-lite]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Annotation } from '../../src/types.js';
import { datasetFile, spawnCli, startReplayLlm } from '../harness/index.js';

const TEACHER = 'gpt-3.5-turbo-1106';
const { values: args } = parseArgs({
  options: {
    'latency-ms': { type: 'string', default: '300' },
    items: { type: 'string', default: '1000' },
    first: { type: 'string', default: '600' },
    budget: { type: 'string', default: '0.313' },
    // The mid stage's sentence vectors (cascade.sentenceEncoder); the configuration's default when absent.
    encoder: { type: 'string' },
  },
});

interface Row {
  id: string;
  text: string;
  llm: Record<string, number>;
}

const dataset = datasetFile('isear.jsonl');
const rows = readFileSync(dataset, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .slice(0, Number(args.items))
  .map((l) => JSON.parse(l) as Row);
const llmLabel = new Map(rows.map((r) => [r.id, r.llm[TEACHER]]));

const work = mkdtempSync(path.join(tmpdir(), 'spillway-bench-cold-'));
const input = path.join(work, 'items.jsonl');
const output = path.join(work, 'annotations.jsonl');
writeFileSync(input, `${rows.map((r) => JSON.stringify({ id: r.id, text: r.text })).join('\n')}\n`);
const configFile = path.join(work, 'spillway.json');
writeFileSync(configFile, JSON.stringify(args.encoder === undefined ? {} : { cascade: { sentenceEncoder: args.encoder } }));
const llm = await startReplayLlm(['--latency-ms', String(args['latency-ms'])]);
try {
  const started = performance.now();
  const cli = spawnCli(
    ['start', '--input', input, '--output', output, '--llm-budget', String(args.budget), '--http-port', '0', '--no-save', '--config', configFile],
    {
      SPILLWAY_LLM_BASE_URL: llm.url,
      SPILLWAY_LLM_MODEL: TEACHER,
      SPILLWAY_TASK: datasetFile('isear.task.json'),
      SPILLWAY_MODELS_DIR: path.join(work, 'models'),
      SPILLWAY_LOG_LEVEL: 'warn',
    },
  );
  const code = await cli.exited;
  if (code !== 0) throw new Error(`spillway start exited ${code}: ${cli.stderr().slice(-2_000)}`);
  const seconds = (performance.now() - started) / 1000;
  const annotations = readFileSync(output, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Annotation);
  const encoder = args.encoder === undefined ? '' : `, mid stage on ${args.encoder} vectors`;
  console.log(`isear, first ${rows.length} lines, budget ${args.budget}, replay LLM at ${args['latency-ms']} ms${encoder}, ${seconds.toFixed(1)} s`);
  report(`first ${args.first}`, annotations.slice(0, Number(args.first)));
  report('all', annotations);
  // How long the warm-up lasted, in items: the first answer a small stage published as a confident one.
  const first = annotations.findIndex((a) => a.reason === 'confident' && a.answeredBy !== 'llm');
  const warmAt = annotations[first];
  console.log(
    warmAt === undefined
      ? 'no small stage answered confidently'
      : `first confident small-stage answer: annotation ${first + 1} (${warmAt.answeredBy}, model versions ${JSON.stringify(warmAt.modelVersions)})`,
  );
} finally {
  await llm.stop();
  rmSync(work, { recursive: true, force: true });
}

function report(what: string, as: readonly Annotation[]): void {
  const reasons: Record<string, number> = {};
  let agree = 0;
  for (const a of as) {
    reasons[a.reason] = (reasons[a.reason] ?? 0) + 1;
    if (a.labelId === llmLabel.get(a.id)) agree++;
  }
  const untrained = as.filter((a) => a.reason === 'confident' && a.answeredBy !== 'llm' && Object.values(a.modelVersions).some((v) => v === 0)).length;
  const pct = (n: number): string => `${((100 * n) / Math.max(as.length, 1)).toFixed(1)} %`;
  console.log(
    `${what}: ${as.length} annotations, agreement with the LLM ${pct(agree)}, LLM calls ${pct(as.filter((a) => a.llmCalled).length)}, ` +
      `confident answers of version-0 models ${untrained}, reasons ${JSON.stringify(reasons)}`,
  );
}
