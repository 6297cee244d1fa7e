import { afterEach, describe, expect, it } from 'vitest';
import { LlmHttpError, LlmTimeoutError, RetriesExhaustedError } from '../../src/errors.js';
import { createMonitor, wilsonInterval, type Monitor, type Status } from '../../src/monitor/index.js';
import { llmAnswer, lrAnswer, lrAudit, midAnswer, parseMetrics, silentLogger } from './helpers.js';

const config = { httpPort: 9464, httpHost: '127.0.0.1' };
const opened: Monitor[] = [];

function fakeClock(startMs = 1_700_000_000_000) {
  let t = startMs;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

async function startMonitor(options: Partial<Parameters<typeof createMonitor>[0]> = {}): Promise<{ monitor: Monitor; url: string }> {
  const monitor = createMonitor({ config, logger: silentLogger, port: 'random', processMetrics: false, ...options });
  opened.push(monitor);
  const { url } = await monitor.start();
  if (url === null) throw new Error('monitor did not start');
  return { monitor, url };
}

/** The known stream: 17 items through lr → mid → llm, with a cache hit, an unparseable answer and 4 audits. */
function feedKnownStream(monitor: Monitor): void {
  const o = monitor.observer;
  for (let i = 0; i < 6; i++) o.onAnnotation(lrAnswer(0));
  for (let i = 0; i < 2; i++) o.onAnnotation(midAnswer(0, 1));
  for (let i = 0; i < 3; i++) o.onAnnotation(llmAnswer(1, 1, 1));
  o.onAnnotation(llmAnswer(0, 1, 1, 'cache-redis'));
  o.onAnnotation(llmAnswer(0, 0, -1));
  for (const llm of [0, 0, 0, 1]) o.onAnnotation(lrAudit(0, llm));
  o.onLlmError(new LlmTimeoutError(1000));
  o.onLlmError(new RetriesExhaustedError(4, new LlmHttpError('bad gateway', 502)));
  o.onLlmLatency?.(0.3);
  o.onModelUpdate('lr', 16);
  o.onModelUpdate('lr', 17);
  o.onBudgetChange(0.42, 0.25);
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((m) => m.close()));
});

describe('GET /metrics after a known stream', () => {
  it('reports exactly what the cascade did, under spillway_ names with bounded labels', async () => {
    const { monitor, url } = await startMonitor();
    monitor.metrics.setConsumerLag(0, 12);
    monitor.metrics.deadLetter('empty-text');
    feedKnownStream(monitor);
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const m = parseMetrics(await res.text());
    const expected: Record<string, number> = {
      'spillway_items_total{outcome="answered",stage="lr"}': 10,
      'spillway_items_total{outcome="deferred",stage="lr"}': 7,
      'spillway_items_total{outcome="answered",stage="mid"}': 2,
      'spillway_items_total{outcome="deferred",stage="mid"}': 5,
      'spillway_items_total{outcome="answered",stage="llm"}': 9,
      'spillway_answers_total{stage="lr"}': 6,
      'spillway_answers_total{stage="mid"}': 2,
      'spillway_answers_total{stage="llm"}': 9,
      'spillway_llm_calls_total{outcome="ok"}': 3,
      'spillway_llm_calls_total{outcome="unparseable"}': 1,
      'spillway_llm_calls_total{outcome="audit"}': 4,
      'spillway_llm_calls_total{outcome="error"}': 2,
      'spillway_llm_errors_total{kind="timeout"}': 1,
      'spillway_llm_errors_total{kind="http"}': 1,
      spillway_llm_request_duration_seconds_count: 1,
      'spillway_cache_hits_total{tier="redis"}': 1,
      'spillway_cache_hits_total{tier="l1"}': 0,
      spillway_cache_misses_total: 8,
      spillway_cost_units_total: 6 * 1 + 2 * 11 + 3 * 1011 + 11 + 1011 + 4 * 1001,
      spillway_llm_only_cost_units_total: 17 * 1000,
      'spillway_model_updates_total{stage="lr"}': 2,
      'spillway_model_version{stage="lr"}': 17,
      spillway_budget_threshold: 0.42,
      spillway_budget_llm_share: 0.25,
      'spillway_consumer_lag{partition="0"}': 12,
      'spillway_dead_letter_total{kind="empty-text"}': 1,
      'spillway_agreement_checks_total{kind="audited",outcome="agree",stage="lr"}': 3,
      'spillway_agreement_checks_total{kind="audited",outcome="disagree",stage="lr"}': 1,
      'spillway_agreement_checks_total{kind="overall",outcome="agree",stage="lr"}': 6,
      'spillway_agreement_checks_total{kind="overall",outcome="disagree",stage="lr"}': 2,
      'spillway_agreement_checks_total{kind="overall",outcome="agree",stage="mid"}': 4,
      'spillway_agreement_ratio{bound="estimate",kind="audited",stage="lr"}': 0.75,
      'spillway_agreement_ratio{bound="lower",kind="audited",stage="lr"}': wilsonInterval(3, 4)!.lower,
      'spillway_agreement_ratio{bound="upper",kind="overall",stage="mid"}': 1,
      'spillway_item_duration_seconds_count{stage="lr"}': 6,
    };
    for (const [key, value] of Object.entries(expected)) expect([key, m.get(key)]).toEqual([key, value]);
    expect(m.get('spillway_deferral_rate{stage="lr"}')).toBeCloseTo(7 / 17, 12);
    expect(m.get('spillway_deferral_rate{stage="mid"}')).toBeCloseTo(5 / 7, 12);
    for (const key of m.keys()) expect(key).toMatch(/^spillway_/);
  });

  it('exports the configured LLM budget beside the share the LLM got, on /metrics and /status', async () => {
    const { monitor, url } = await startMonitor({ llmBudget: 0.3 });
    monitor.observer.onBudgetChange(0.5, 0.25);
    const m = parseMetrics(await (await fetch(`${url}/metrics`)).text());
    expect(m.get('spillway_budget_target_share')).toBe(0.3);
    expect(m.get('spillway_budget_llm_share')).toBe(0.25);
    const status = (await (await fetch(`${url}/status`)).json()) as Status;
    expect(status.budget).toEqual({ target: 0.3, threshold: 0.5, llmShare: 0.25 });
  });

  it('exports Node process metrics when asked', async () => {
    const { url } = await startMonitor({ processMetrics: true });
    const m = parseMetrics(await (await fetch(`${url}/metrics`)).text());
    expect(m.has('spillway_process_cpu_user_seconds_total')).toBe(true);
  });
});

describe('GET /status', () => {
  it('gives per-stage counts, rates, LLM share, cost saved and agreement with a Wilson band per window', async () => {
    const clock = fakeClock();
    const { monitor, url } = await startMonitor({ now: clock.now });
    feedKnownStream(monitor);
    clock.advance(30_000);
    const status = (await (await fetch(`${url}/status`)).json()) as Status;
    expect(status.uptimeSeconds).toBe(30);
    expect(status.stageOrder).toEqual(['lr', 'mid', 'llm']);
    expect(status.models).toEqual({ lr: 17 });
    expect(status.budget).toEqual({ target: null, threshold: 0.42, llmShare: 0.25 });
    for (const w of ['1m', '15m', 'all'] as const) {
      const win = status.windows[w];
      expect(win.items).toBe(17);
      expect(win.stages.lr).toMatchObject({ reached: 17, answered: 10, deferred: 7 });
      expect(win.stages.lr?.deferralRate).toBeCloseTo(7 / 17, 12);
      expect(win.stages.mid?.deferralRate).toBeCloseTo(5 / 7, 12);
      expect(win.stages.lr?.agreement.audited).toEqual({ agree: 3, n: 4, estimate: 0.75, ...bounds(3, 4) });
      expect(win.stages.lr?.agreement.overall).toMatchObject({ agree: 6, n: 8, estimate: 0.75 });
      expect(win.stages.mid?.agreement.audited).toEqual({ agree: 0, n: 0, estimate: null, lower: null, upper: null });
      expect(win.llm).toMatchObject({ calls: 8, audits: 4, unparseable: 1, errors: 2, cacheHits: 1 });
      expect(win.llm.share).toBeCloseTo(9 / 17, 12);
      expect(win.cost).toEqual({ spent: 8087, llmOnly: 17_000, saved: 8913, savedRatio: 8913 / 17_000 });
    }
    expect(status.windows['1m'].llm.callsPerMinute).toBe(8);
  });

  it('drops the items from the 1-minute window after a minute but keeps them since start', async () => {
    const clock = fakeClock();
    const { monitor, url } = await startMonitor({ now: clock.now });
    feedKnownStream(monitor);
    clock.advance(61_000);
    monitor.observer.onAnnotation(lrAnswer(1));
    const status = (await (await fetch(`${url}/status`)).json()) as Status;
    expect(status.windows['1m'].items).toBe(1);
    expect(status.windows['1m'].stages.lr?.deferralRate).toBe(0);
    expect(status.windows['15m'].items).toBe(18);
    expect(status.windows.all.items).toBe(18);
  });

  it('serves a bounded history of chart points, newest last, filtered by ?since', async () => {
    const clock = fakeClock();
    const { monitor, url } = await startMonitor({ now: clock.now, historyIntervalMs: 20 });
    feedKnownStream(monitor);
    clock.advance(1_000);
    const deadline = Date.now() + 5_000;
    let history: Array<{ t: number; items: number; deferralRate: Record<string, number> }> = [];
    while (!history.some((p) => p.items === 17) && Date.now() < deadline) {
      history = (await (await fetch(`${url}/status/history`)).json()) as typeof history;
    }
    const last = history.at(-1)!;
    expect(last.items).toBe(17);
    expect(last.deferralRate.lr).toBeCloseTo(7 / 17, 12);
    const since = (await (await fetch(`${url}/status/history?since=${last.t}`)).json()) as unknown[];
    expect(since).toEqual([]);
  });
});

describe('GET /healthz', () => {
  it('answers 200 while the owner is healthy and 503 with the reason when it is not', async () => {
    let healthy = true;
    const { url } = await startMonitor({ health: () => (healthy ? true : { ok: false, reason: 'kafka consumer crashed' }) });
    const ok = await fetch(`${url}/healthz`);
    expect([ok.status, await ok.text()]).toEqual([200, 'ok\n']);
    healthy = false;
    const bad = await fetch(`${url}/healthz`);
    expect([bad.status, await bad.text()]).toEqual([503, 'unhealthy: kafka consumer crashed\n']);
  });

  it('answers 503 when the health check throws', async () => {
    const { url } = await startMonitor({ health: () => Promise.reject(new Error('boom')) });
    expect((await fetch(`${url}/healthz`)).status).toBe(503);
  });
});

describe('the server', () => {
  it('serves the dashboard and Chart.js from node_modules, 404 elsewhere, 405 on POST', async () => {
    const { url } = await startMonitor();
    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<script src="/vendor/chart.umd.js">');
    const chart = await fetch(`${url}/vendor/chart.umd.js`);
    expect([chart.status, (await chart.text()).length > 100_000]).toEqual([200, true]);
    expect((await fetch(`${url}/dashboard.js`)).status).toBe(200);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/status`, { method: 'POST' })).status).toBe(405);
  });

  it('is disabled by port 0 in the configuration', async () => {
    const monitor = createMonitor({ config: { ...config, httpPort: 0 }, logger: silentLogger });
    expect(await monitor.start()).toEqual({ url: null });
    await monitor.close();
  });

  it('rejects start when the port is taken', async () => {
    const { url } = await startMonitor();
    const port = Number(new URL(url).port);
    const second = createMonitor({ config: { ...config, httpPort: port }, logger: silentLogger, processMetrics: false });
    await expect(second.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await second.close();
  });
});

function bounds(agree: number, n: number): { lower: number; upper: number } {
  const w = wilsonInterval(agree, n)!;
  return { lower: w.lower, upper: w.upper };
}
