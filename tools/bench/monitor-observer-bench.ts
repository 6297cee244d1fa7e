/**
 * Cost of the monitor on the cascade's hot path: ns per `onAnnotation` for a realistic mix of annotations
 * (kept by lr, by mid, sent to the LLM, audited), and the cost of building /status and /metrics.
 *   npx tsx tools/bench/monitor-observer-bench.ts
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { CascadeMetrics, SpillwayMetrics, type ObservedAnnotation } from '../../src/monitor/index.js';
import type { LlmSource, StageName } from '../../src/types.js';

const trace = (stage: StageName, labelId: number, deferred: boolean) => ({ stage, labelId, confidence: 0.8, deferred, pDefer: 0.5 });
const base = { llmCalled: false, llmSource: 'none' as LlmSource, llmUnparseable: false, audited: false, latencyMs: 1 };
const mix: ObservedAnnotation[] = [
  { ...base, answeredBy: 'lr', labelId: 0, stages: [trace('lr', 0, false)], costUnits: 1 },
  { ...base, answeredBy: 'mid', labelId: 1, stages: [trace('lr', 0, true), trace('mid', 1, false)], costUnits: 11 },
  {
    ...base,
    answeredBy: 'llm',
    labelId: 1,
    stages: [trace('lr', 0, true), trace('mid', 1, true), trace('llm', 1, false)],
    llmCalled: true,
    llmSource: 'call',
    costUnits: 1011,
  },
  {
    ...base,
    answeredBy: 'llm',
    labelId: 0,
    stages: [trace('lr', 0, false), trace('llm', 0, false)],
    llmCalled: true,
    llmSource: 'call',
    audited: true,
    costUnits: 1001,
  },
];

const metrics = new SpillwayMetrics(new Registry(), { defaultMetrics: true });
const observer = new CascadeMetrics({ metrics, logger: pino({ level: 'silent' }) });
const feed = (n: number): void => {
  for (let i = 0; i < n; i++) observer.onAnnotation(mix[i % mix.length] as ObservedAnnotation);
};
feed(200_000); // warm up the JIT
for (let rep = 0; rep < 3; rep++) {
  const n = 1_000_000;
  const t0 = process.hrtime.bigint();
  feed(n);
  console.log(`onAnnotation: ${(Number(process.hrtime.bigint() - t0) / n).toFixed(0)} ns/item`);
}
let t0 = process.hrtime.bigint();
for (let i = 0; i < 1_000; i++) observer.status();
console.log(`status(): ${(Number(process.hrtime.bigint() - t0) / 1_000 / 1e6).toFixed(3)} ms`);
t0 = process.hrtime.bigint();
for (let i = 0; i < 100; i++) await metrics.text();
console.log(`/metrics text: ${(Number(process.hrtime.bigint() - t0) / 100 / 1e6).toFixed(3)} ms`);
