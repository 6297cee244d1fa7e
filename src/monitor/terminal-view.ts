/**
 * Renders one frame of the terminal monitor from /status and /status/history: a pure function of its inputs,
 * so `spillway monitor --once` and the tests print exactly what the live view draws.
 */
import { WINDOWS } from './rolling-window.js';
import type { AgreementStatus, HistoryPoint, Status, WindowStatus } from './status.js';

/** Options of {@link renderStatusFrame}. */
export interface RenderOptions {
  /** Where the status came from, shown in the title. */
  url: string;
  /** Bold titles with ANSI codes. @defaultValue false */
  color?: boolean;
  /** Points shown per sparkline (the most recent). @defaultValue 30 */
  sparklineWidth?: number;
}

const BLOCKS = '▁▂▃▄▅▆▇█';
const LABEL_WIDTH = 26;
const CELL_WIDTH = 17;

/** A sparkline of `values` scaled to [min, max] (max defaults to the largest value); nulls print as spaces. */
export function sparkline(values: ReadonlyArray<number | null>, max?: number, min = 0): string {
  const top = max ?? Math.max(min, ...values.filter((v): v is number => v !== null));
  const span = top - min;
  return values
    .map((v) => {
      if (v === null) return ' ';
      const level = span > 0 ? Math.round(((v - min) / span) * (BLOCKS.length - 1)) : 0;
      return BLOCKS[Math.min(BLOCKS.length - 1, Math.max(0, level))] ?? ' ';
    })
    .join('');
}

const pct = (v: number | null): string => (v === null ? '–' : `${(v * 100).toFixed(1)}%`);
const num = (v: number | null): string => (v === null ? '–' : Math.round(v).toLocaleString('en-US'));

function agreementText(a: AgreementStatus): string {
  if (a.estimate === null || a.lower === null || a.upper === null) return '–';
  return `${(a.estimate * 100).toFixed(1)}% [${(a.lower * 100).toFixed(0)}–${(a.upper * 100).toFixed(0)}]`;
}

function uptime(seconds: number): string {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

/** Renders the frame as lines joined by '\n' (no cursor movement; the live view adds that). */
export function renderStatusFrame(status: Status, history: readonly HistoryPoint[], options: RenderOptions): string {
  const bold = (s: string): string => (options.color === true ? `\x1b[1m${s}\x1b[22m` : s);
  const recent = history.slice(-(options.sparklineWidth ?? 30));
  const row = (label: string, cell: (w: WindowStatus) => string, spark = ''): string =>
    [label.padEnd(LABEL_WIDTH), ...WINDOWS.map((w) => cell(status.windows[w]).padStart(CELL_WIDTH)), spark === '' ? '' : `  ${spark}`].join('').trimEnd();
  const all = status.windows.all;
  const lines = [
    bold(`Spillway monitor  ${options.url}`),
    `up ${uptime(status.uptimeSeconds)}   items ${num(all.items)}   LLM share ${pct(all.llm.share)}   cost saved ${pct(all.cost.savedRatio)}`,
    '',
    bold(['', '1 min', '15 min', 'since start'].map((h, i) => (i === 0 ? h.padEnd(LABEL_WIDTH) : h.padStart(CELL_WIDTH))).join('') + '  recent'),
    row('items', (w) => num(w.items)),
  ];
  for (const stage of status.stageOrder) {
    if (stage === 'llm') continue;
    const spark = sparkline(
      recent.map((p) => p.deferralRate[stage] ?? null),
      1,
    );
    lines.push(row(`${stage} deferral rate`, (w) => pct(w.stages[stage]?.deferralRate ?? null), spark));
  }
  lines.push(
    row('LLM calls / min', (w) => num(w.llm.callsPerMinute), sparkline(recent.map((p) => p.llmCallsPerMinute))),
    row('LLM calls (audits)', (w) => `${num(w.llm.calls)} (${num(w.llm.audits)})`),
    row('LLM errors', (w) => num(w.llm.errors)),
    row('cache hits', (w) => num(w.llm.cacheHits)),
    row(
      'cost saved',
      (w) => pct(w.cost.savedRatio),
      sparkline(
        recent.map((p) => p.costSavedRatio),
        1,
      ),
    ),
  );
  for (const stage of status.stageOrder) {
    if (stage === 'llm') continue;
    const audited = sparkline(
      recent.map((p) => p.agreement[stage]?.audited.estimate ?? null),
      1,
    );
    lines.push(row(`${stage} agreement (audited)`, (w) => agreementText(emptyIfMissing(w, stage, 'audited')), audited));
    lines.push(row(`${stage} agreement (all)`, (w) => agreementText(emptyIfMissing(w, stage, 'overall'))));
  }
  // Where the answers came from, in each window: `cold`, `deadline` or `budget` show before a user sees junk.
  const reasons = [...new Set(WINDOWS.flatMap((w) => Object.keys(status.windows[w].reasons ?? {})))].sort();
  for (const reason of reasons) {
    lines.push(row(`answers: ${reason}`, (w) => pct(w.items > 0 ? (w.reasons?.[reason] ?? 0) / w.items : null)));
  }
  const models = Object.entries(status.models)
    .map(([stage, v]) => `${stage} v${v}`)
    .join('  ');
  const target = status.budget.target === null ? '' : ` of budget ${pct(status.budget.target)}`;
  const budget =
    status.budget.threshold === null
      ? target === ''
        ? '–'
        : `LLM share –${target}`
      : `LLM share ${pct(status.budget.llmShare)}${target}, threshold ${status.budget.threshold.toFixed(3)}`;
  lines.push('', `models  ${models === '' ? '–' : models}`, `budget  ${budget}`);
  if (status.quality !== undefined) lines.push(...qualityLines(status.quality));
  return lines.join('\n');
}

function emptyIfMissing(w: WindowStatus, stage: string, kind: 'audited' | 'overall'): AgreementStatus {
  return w.stages[stage]?.agreement[kind] ?? { agree: 0, n: 0, estimate: null, lower: null, upper: null };
}

/** One line per quality target: held or not, its certified lower bound, estimate, audits, threshold and cost. */
function qualityLines(q: NonNullable<Status['quality']>): string[] {
  const threshold = q.threshold === null ? 'none certified (every item to the LLM)' : q.threshold.toFixed(2);
  const head = `quality threshold ${threshold}, ${q.audits} audits, LLM share ${pct(q.llmShare)}${q.epochs > 1 ? `, ${q.epochs - 1} shift(s) seen` : ''}`;
  const rows = q.targets.map(
    (t) =>
      `  ${t.target.padEnd(22)} ${t.met ? 'held' : 'NOT HELD (budget cap)'}  lower bound ${t.lowerBound === null ? '–' : t.lowerBound.toFixed(3)}  estimate ${t.estimate === null ? '–' : t.estimate.toFixed(3)}`,
  );
  return [head, ...rows];
}
