// Spillway dashboard: polls /status and /status/history and redraws the cards, the table and four Chart.js
// charts. Plain browser script, no build step; Chart.js is served by the monitor from node_modules.
/* global Chart */
(() => {
  'use strict';
  const REFRESH_MS = 1500;
  const MAX_POINTS = 900;
  const COLORS = ['#2563eb', '#d97706', '#059669', '#7c3aed', '#dc2626'];
  const WINDOWS = ['1m', '15m', 'all'];

  const $ = (id) => document.getElementById(id);
  const pct = (v) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(1)}%`);
  const num = (v) => (v === null || v === undefined ? '–' : Math.round(v).toLocaleString('en-US'));
  const clock = (t) => new Date(t).toLocaleTimeString('en-GB', { hour12: false });
  const duration = (s) => {
    const h = Math.floor(s / 3600),
      m = Math.floor((s % 3600) / 60),
      sec = Math.floor(s % 60);
    return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${sec}s` : `${sec}s`;
  };

  let points = [];
  let stages = [];
  const state = { refreshes: 0, lastError: null };

  const baseOptions = (yMax, percent) => ({
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: 'index', intersect: false },
    scales: {
      x: { ticks: { maxTicksLimit: 8, autoSkip: true } },
      y: { min: 0, max: yMax, ticks: percent ? { callback: (v) => `${Math.round(v * 100)}%` } : {} },
    },
    plugins: { legend: { labels: { boxWidth: 12, filter: (item) => !item.text.startsWith('_') } } },
    elements: { point: { radius: 0 }, line: { borderWidth: 2, tension: 0.25 } },
  });
  const newChart = (id, options) => new Chart($(id), { type: 'line', data: { labels: [], datasets: [] }, options });
  const charts = {
    deferral: newChart('chart-deferral', baseOptions(1, true)),
    llm: newChart('chart-llm', baseOptions(undefined, false)),
    cost: newChart('chart-cost', baseOptions(1, true)),
    agreement: newChart('chart-agreement', baseOptions(1, true)),
  };

  function smallStages() {
    return stages.filter((s) => s !== 'llm');
  }

  /** Rebuilds every chart's datasets from `points` (cheap: at most MAX_POINTS per series). */
  function drawCharts() {
    const labels = points.map((p) => clock(p.t));
    charts.deferral.data.labels = labels;
    charts.deferral.data.datasets = smallStages().map((stage, i) => ({
      label: stage,
      data: points.map((p) => p.deferralRate[stage] ?? null),
      borderColor: COLORS[i % COLORS.length],
      backgroundColor: COLORS[i % COLORS.length],
    }));
    charts.llm.data.labels = labels;
    charts.llm.data.datasets = [
      { label: 'calls / min', data: points.map((p) => p.llmCallsPerMinute), borderColor: COLORS[2], backgroundColor: 'rgba(5,150,105,.15)', fill: true },
    ];
    charts.cost.data.labels = labels;
    charts.cost.data.datasets = [
      { label: 'saved', data: points.map((p) => p.costSavedRatio), borderColor: COLORS[0], backgroundColor: 'rgba(37,99,235,.12)', fill: true },
    ];
    // Audited agreement is the unbiased one; without audits (auditRate 0) show agreement on all items instead.
    const audited = points.some((p) => Object.values(p.agreement).some((a) => a.audited.n > 0));
    const kind = audited ? 'audited' : 'overall';
    $('agreement-kind').textContent = `(${audited ? 'audited items' : 'all items both labelled'}, last 15 min, 95% Wilson band)`;
    charts.agreement.data.labels = labels;
    charts.agreement.data.datasets = smallStages().flatMap((stage, i) => {
      const color = COLORS[i % COLORS.length];
      const band = `${color}33`;
      const series = (field) => points.map((p) => p.agreement[stage]?.[kind]?.[field] ?? null);
      return [
        { label: `_${stage} lower`, data: series('lower'), borderWidth: 0, borderColor: band, backgroundColor: band, fill: false },
        { label: `_${stage} upper`, data: series('upper'), borderWidth: 0, borderColor: band, backgroundColor: band, fill: '-1' },
        { label: stage, data: series('estimate'), borderColor: color, backgroundColor: color },
      ];
    });
    for (const chart of Object.values(charts)) chart.update('none');
  }

  function drawCards(status) {
    const all = status.windows.all;
    const minute = status.windows['1m'];
    $('uptime').textContent = duration(status.uptimeSeconds);
    $('started').textContent = new Date(status.startedAt).toLocaleString('en-GB');
    $('items-total').textContent = num(all.items);
    $('items-minute').textContent = num(minute.items);
    $('llm-share').textContent = pct(all.llm.share);
    $('llm-calls').textContent = num(all.llm.calls);
    $('llm-audits').textContent = num(all.llm.audits);
    $('llm-errors').textContent = num(all.llm.errors);
    $('llm-per-minute').textContent = num(minute.llm.callsPerMinute);
    $('cache-hits').textContent = num(all.llm.cacheHits);
    $('cost-saved').textContent = pct(all.cost.savedRatio);
    $('cost-spent').textContent = num(all.cost.spent);
    $('cost-llm-only').textContent = num(all.cost.llmOnly);
    $('llm-dollars').textContent = all.llm.dollars === undefined ? '–' : `$${all.llm.dollars.toFixed(all.llm.dollars < 10 ? 4 : 2)}`;
    $('llm-prompt-tokens').textContent = num(all.llm.promptTokens);
    $('llm-completion-tokens').textContent = num(all.llm.completionTokens);
    $('llm-deadline-misses').textContent = num(all.llm.deadlineMisses);
    $('budget-threshold').textContent = status.budget.threshold === null ? '–' : status.budget.threshold.toFixed(3);
    $('budget-share').textContent = pct(status.budget.llmShare);
    $('budget-target').textContent = pct(status.budget.target);
    // Over budget shows in the card itself: the share is what an operator compares with the budget.
    $('budget-share').classList.toggle(
      'over',
      status.budget.target !== null && status.budget.llmShare !== null && status.budget.llmShare > status.budget.target + 0.01,
    );
    renderQuality(status.quality);
    const models = Object.entries(status.models)
      .map(([stage, v]) => `${stage} v${v}`)
      .join(' · ');
    $('models').textContent = models === '' ? '–' : models;
  }

  function agreementCell(a) {
    if (!a || a.estimate === null) return '–';
    return `${pct(a.estimate)} <span class="muted">[${Math.round(a.lower * 100)}–${Math.round(a.upper * 100)}] n=${num(a.n)}</span>`;
  }

  function drawTable(status) {
    const rows = status.stageOrder.map((stage) => {
      const cells = (f) => WINDOWS.map((w) => `<td>${f(status.windows[w].stages[stage])}</td>`).join('');
      const isLlm = stage === 'llm';
      return (
        `<tr data-stage="${stage}"><td>${stage}</td>${cells((s) => (isLlm ? '–' : pct(s?.deferralRate)))}` +
        `${cells((s) => (isLlm ? '–' : agreementCell(s?.agreement.audited)))}${cells((s) => (isLlm ? '–' : agreementCell(s?.agreement.overall)))}</tr>`
      );
    });
    document.querySelector('#stage-table tbody').innerHTML = rows.join('');
  }

  /** Annotations by reason in each window, as counts and shares; reasons that never occurred are left out. */
  function drawReasons(status) {
    const reasons = new Set(WINDOWS.flatMap((w) => Object.keys(status.windows[w].reasons || {})));
    const rows = [...reasons].sort().map((reason) => {
      const cells = WINDOWS.map((w) => {
        const win = status.windows[w];
        const n = (win.reasons || {})[reason] || 0;
        return `<td>${win.items > 0 ? pct(n / win.items) : '–'} <span class="muted">${num(n)}</span></td>`;
      }).join('');
      return `<tr data-reason="${reason}"><td>${reason}</td>${cells}</tr>`;
    });
    document.querySelector('#reason-table tbody').innerHTML = rows.join('');
  }

  function setConnection(ok, text) {
    const badge = $('connection');
    badge.textContent = text;
    badge.className = `badge ${ok ? 'ok' : 'bad'}`;
  }

  async function refresh() {
    try {
      const since = points.length > 0 ? points[points.length - 1].t : '';
      const [statusRes, historyRes] = await Promise.all([fetch('/status'), fetch(`/status/history?since=${since}`)]);
      if (!statusRes.ok || !historyRes.ok) throw new Error(`HTTP ${statusRes.status}/${historyRes.status}`);
      const status = await statusRes.json();
      points = points.concat(await historyRes.json()).slice(-MAX_POINTS);
      stages = status.stageOrder;
      drawCards(status);
      drawTable(status);
      drawReasons(status);
      drawCharts();
      state.refreshes += 1;
      state.lastError = null;
      setConnection(true, 'live');
    } catch (err) {
      state.lastError = String(err);
      setConnection(false, 'disconnected');
    } finally {
      setTimeout(refresh, REFRESH_MS);
    }
  }

  // For tests and the curious: the Chart instances and refresh count.
  window.spillwayDashboard = { charts, state };
  refresh();
})();

/** The quality targets' card: each target held or not, its certified lower bound and estimate (absent without targets). */
function renderQuality(quality) {
  const card = document.getElementById('quality-card');
  card.hidden = quality === undefined;
  if (quality === undefined) return;
  const fix = (v) => (v === null ? '–' : v.toFixed(3));
  const box = document.getElementById('quality-targets');
  box.replaceChildren(
    ...quality.targets.map((t) => {
      const line = document.createElement('div');
      line.textContent = `${t.target}: ${t.met ? 'held' : 'NOT HELD'} · ${fix(t.lowerBound)} · ${fix(t.estimate)}`;
      line.classList.toggle('over', !t.met);
      return line;
    }),
  );
  document.getElementById('quality-audits').textContent = String(quality.audits);
  document.getElementById('quality-threshold').textContent = quality.threshold === null ? 'none (all to the LLM)' : quality.threshold.toFixed(2);
}
