import { readFileSync } from 'node:fs';
import pino from 'pino';
import { parseConfig } from '../src/config.js';
import { buildCascade } from '../src/cli/build-cascade.js';
const stages = (process.argv[2] ?? 'lr,mid').split(',');
const config = parseConfig({ task: '/work/shared/datasets/isear.task.json', cascade: { llmBudget: 0.02, stages }, models: { dir: '/tmp/sw/m-' + Date.now() } });
const { cascade } = await buildCascade(config, pino({ level: 'warn' }));
const rows = readFileSync('/work/shared/datasets/isear.jsonl', 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const N = 20000;
const by: Record<string, number> = {};
const t0 = performance.now();
const ps = [];
for (let i = 0; i < N; i++) { const r = rows[i % rows.length]; ps.push(cascade.process({ id: `${r.id}-${i}`, text: r.text }).then((a) => { by[a.answeredBy] = (by[a.answeredBy] ?? 0) + 1; })); if (ps.length >= 2000) { await Promise.all(ps); ps.length = 0; } }
await Promise.all(ps);
const s = (performance.now() - t0) / 1000;
console.log(stages.join(','), 'items/s', Math.round(N / s), by);
