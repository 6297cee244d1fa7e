/**
 * The dashboard end to end in headless Chromium (Debian's `chromium`, driven by playwright-core): the page
 * loads from the monitor alone, the four charts are drawn, and numbers and charts move as items flow.
 * Needs /usr/bin/chromium (`apt-get install -y chromium`); without it this test fails rather than skips.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMonitor, type Monitor } from '../../src/monitor/index.js';
import { llmAnswer, lrAnswer, lrAudit, midAnswer, silentLogger, waitFor } from './helpers.js';

const CHROMIUM = process.env.SPILLWAY_CHROMIUM ?? '/usr/bin/chromium';
/** The dashboard's first series colour (#2563eb), used for the first stage. */
const LR_BLUE = [37, 99, 235] as const;
const CHART_IDS = ['chart-deferral', 'chart-llm', 'chart-cost', 'chart-agreement'];

let browser: Browser;
let monitor: Monitor;
let url: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install it with apt-get install -y chromium`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  monitor = createMonitor({ config: { httpPort: 9464, httpHost: '127.0.0.1' }, logger: silentLogger, port: 'random', historyIntervalMs: 100, llmBudget: 0.25 });
  url = (await monitor.start()).url!;
});

afterAll(async () => {
  await browser?.close();
  await monitor?.close();
});

/** Number of canvas pixels that are not fully transparent. */
function paintedPixels(page: Page, id: string): Promise<number> {
  return page.evaluate((canvasId) => {
    const canvas = document.getElementById(canvasId) as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
    return painted;
  }, id);
}

/** Pixels inside the chart's plot area within a small distance of `rgb` (a drawn series of that colour). */
function colouredPixelsInPlot(page: Page, id: string, rgb: readonly [number, number, number]): Promise<number> {
  return page.evaluate(
    ([canvasId, [r, g, b]]) => {
      const canvas = document.getElementById(canvasId) as HTMLCanvasElement;
      const chart = (
        window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { chartArea: { left: number; top: number; right: number; bottom: number } } } }
      ).Chart.getChart(canvas)!;
      const scale = canvas.width / canvas.clientWidth;
      const { left, top, right, bottom } = chart.chartArea;
      const x = Math.ceil(left * scale);
      const y = Math.ceil(top * scale);
      const data = canvas.getContext('2d')!.getImageData(x, y, Math.floor((right - left) * scale), Math.floor((bottom - top) * scale)).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i]! - r) + Math.abs(data[i + 1]! - g) + Math.abs(data[i + 2]! - b) < 40 && data[i + 3]! > 200) n++;
      }
      return n;
    },
    [id, rgb] as const,
  );
}

function text(page: Page, id: string): Promise<string> {
  return page.locator(`#${id}`).innerText();
}

describe('the dashboard at /', () => {
  it('loads from the monitor alone, draws four charts, and follows the stream live', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    const foreign: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
    page.on('request', (req) => !req.url().startsWith(url) && foreign.push(req.url()));

    await page.goto(url);
    await waitFor(
      () =>
        page
          .evaluate(() => (window as unknown as { spillwayDashboard?: { state: { refreshes: number } } }).spillwayDashboard?.state.refreshes ?? 0)
          .then((n) => n >= 1),
      15_000,
      'first refresh',
    );
    expect(await text(page, 'connection')).toBe('live');
    expect(await text(page, 'items-total')).toBe('0');
    const chartsFound = await page.evaluate(
      (ids) =>
        ids.map(
          (id) =>
            (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): unknown } }).Chart.getChart(document.getElementById(id) as HTMLCanvasElement) !==
            undefined,
        ),
      CHART_IDS,
    );
    expect(chartsFound).toEqual([true, true, true, true]);
    for (const id of CHART_IDS) expect(await paintedPixels(page, id)).toBeGreaterThan(0);
    const emptyLrLine = await colouredPixelsInPlot(page, 'chart-deferral', LR_BLUE);

    // Items flow while the page is open: 40 kept by lr, 10 by mid, 10 through the LLM, 10 audits (8 agree).
    const o = monitor.observer;
    for (let i = 0; i < 40; i++) o.onAnnotation(lrAnswer(0));
    for (let i = 0; i < 10; i++) o.onAnnotation(midAnswer(0, 1));
    for (let i = 0; i < 10; i++) o.onAnnotation(llmAnswer(1, 1, 1));
    for (let i = 0; i < 10; i++) o.onAnnotation(lrAudit(0, i < 8 ? 0 : 1));
    o.onModelUpdate('lr', 70);
    o.onBudgetChange(0.35, 0.28);

    await waitFor(async () => (await text(page, 'items-total')) === '70', 15_000, 'items-total to show 70');
    expect(await text(page, 'cost-saved')).toBe(`${(((70_000 - (40 + 10 * 11 + 10 * 1011 + 10 * 1001)) / 70_000) * 100).toFixed(1)}%`);
    expect(await text(page, 'models')).toBe('lr v70');
    expect(await text(page, 'budget-threshold')).toBe('0.350');
    // The budget card compares the LLM's share with the configured budget, and marks it when over.
    expect(await text(page, 'budget-share')).toBe('28.0%');
    expect(await text(page, 'budget-target')).toBe('25.0%');
    expect(await page.evaluate(() => document.getElementById('budget-share')?.classList.contains('over'))).toBe(true);
    await waitFor(
      () =>
        page.evaluate(() => {
          const dash = (
            window as unknown as { spillwayDashboard: { charts: Record<string, { data: { datasets: Array<{ label: string; data: Array<number | null> }> } }> } }
          ).spillwayDashboard;
          const lr = dash.charts.deferral!.data.datasets.find((d) => d.label === 'lr');
          const agreement = dash.charts.agreement!.data.datasets.find((d) => d.label === 'lr');
          return lr?.data.at(-1) === 20 / 70 && agreement?.data.at(-1) === 0.8;
        }),
      15_000,
      'charts to plot the new deferral rate and agreement',
    );
    expect(emptyLrLine).toBe(0);
    await waitFor(async () => (await colouredPixelsInPlot(page, 'chart-deferral', LR_BLUE)) > 50, 15_000, 'the lr deferral line to be drawn');
    expect(await colouredPixelsInPlot(page, 'chart-agreement', LR_BLUE)).toBeGreaterThan(50);
    expect(await page.locator('#stage-table tr[data-stage="lr"] td').nth(1).innerText()).toBe('28.6%');

    // More items keep moving the headline numbers.
    for (let i = 0; i < 29; i++) o.onAnnotation({ ...lrAnswer(0), reason: 'confident' });
    o.onAnnotation({ ...lrAnswer(0), reason: 'cold' });
    await waitFor(async () => (await text(page, 'items-total')) === '100', 15_000, 'items-total to show 100');
    // Where the answers came from, per window: the one `cold` answer among the hundred shows.
    await waitFor(async () => (await page.locator('#reason-table tr[data-reason="cold"] td').count()) === 4, 15_000, 'the reason table');
    expect(await page.locator('#reason-table tr[data-reason="cold"] td').nth(3).innerText()).toBe('1.0% 1');

    const shot = process.env.SPILLWAY_DASHBOARD_SCREENSHOT;
    if (shot !== undefined) await page.screenshot({ path: shot, fullPage: true });
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('says disconnected when the monitor goes away', async () => {
    const own = createMonitor({ config: { httpPort: 9464, httpHost: '127.0.0.1' }, logger: silentLogger, port: 'random', processMetrics: false });
    const ownUrl = (await own.start()).url!;
    const page = await browser.newPage();
    await page.goto(ownUrl);
    await waitFor(async () => (await text(page, 'connection')) === 'live', 15_000, 'live badge');
    await own.close();
    await waitFor(async () => (await text(page, 'connection')) === 'disconnected', 15_000, 'disconnected badge');
    await page.close();
  });
});
