/**
 * What an LLM outage costs the endpoint: the chat and probe calls a `pause` cascade makes in `--seconds`
 * (default 70) against an OpenAI-compatible server whose chat calls all fail (HTTP `--status`, default 500)
 * while its models list answers, with `--items` (default 200) LLM-bound items waiting and the default `llm.*`
 * settings. Prints one JSON line.
 *
 *   npm run bench:outage -- --seconds 70 --status 500
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createCascade } from '../../src/cascade/index.js';
import { DEFAULTS } from '../../src/config.js';
import { OpenAiTeacher, type Task } from '../../src/llm/index.js';
import { startOutageLlm } from '../harness/index.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '70' }, status: { type: 'string', default: '500' }, items: { type: 'string', default: '200' } },
});
const seconds = Number(values.seconds);
const task: Task = { name: 'outage', labels: ['positive', 'negative'], prompt: { system: 'Classify.', user: '{text}' } };
const llm = await startOutageLlm();
llm.mode = 'error';
llm.status = Number(values.status);
const l = DEFAULTS.llm;
const teacher = new OpenAiTeacher({
  task,
  baseUrl: llm.url,
  model: llm.model,
  timeoutMs: l.timeoutMs,
  maxRetries: l.maxRetries,
  retryBaseMs: l.retryBaseMs,
  retryMaxMs: l.retryMaxMs,
});
const cascade = await createCascade({
  task,
  teacher,
  // A long warm-up: every item needs the LLM.
  config: {
    ...DEFAULTS,
    cascade: { ...DEFAULTS.cascade, stages: ['lr'], featureDim: 1024, warmupItems: 1_000_000 },
    llm: { ...DEFAULTS.llm, concurrency: l.concurrency, costUnits: l.costUnits, onUnavailable: 'pause' },
    models: { ...DEFAULTS.models, dir: '/nonexistent', saveEveryItems: 0, saveEveryMs: 0 },
  },
  logger: pino({ level: 'silent' }),
  restore: false,
});
const pending = Array.from({ length: Number(values.items) }, (_, i) => cascade.process({ id: `i${i}`, text: `review number ${i}` }).catch(() => undefined));
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const times = llm.chatTimes;
const start = times[0] ?? 0;
const lastTen = times.filter((t) => t > start + (seconds - 10) * 1000).length;
process.stdout.write(
  `${JSON.stringify({ seconds, status: llm.status, chatCalls: times.length, probeCalls: llm.modelRequests, chatCallsInLast10s: lastTen })}\n`,
);
cascade.stop();
await Promise.all(pending);
await llm.close();
