/** The Grafana dashboard and Prometheus config in monitoring/ agree with the metrics the exporter declares. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { SpillwayMetrics } from '../../src/monitor/metrics.js';

const monitoringDir = resolve(import.meta.dirname, '../../monitoring');
const readJson = (name: string): unknown => JSON.parse(readFileSync(resolve(monitoringDir, name), 'utf8'));
const readYaml = (name: string): unknown => parseYaml(readFileSync(resolve(monitoringDir, name), 'utf8'));

interface GrafanaDashboard {
  uid: string;
  title: string;
  panels: Array<{ id: number; title: string; type: string; gridPos: object; targets: Array<{ expr: string; refId: string }> }>;
}

describe('monitoring/grafana-dashboard.json', () => {
  const dashboard = readJson('grafana-dashboard.json') as GrafanaDashboard;

  it('is a Grafana dashboard with unique panel ids and a query per panel', () => {
    expect(dashboard).toMatchObject({ uid: 'spillway', title: 'Spillway' });
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      expect(panel.gridPos, panel.title).toBeDefined();
    }
  });

  it('queries only metrics the exporter declares', async () => {
    const registry = new Registry();
    new SpillwayMetrics(registry);
    const declared = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    const used = new Set(
      dashboard.panels.flatMap((p) =>
        p.targets.flatMap((t) => [...t.expr.matchAll(/spillway_\w+/g)].map(([name]) => name.replace(/_(bucket|count|sum)$/, ''))),
      ),
    );
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((name) => !declared.has(name))).toEqual([]);
  });
});

describe('monitoring/prometheus.yml', () => {
  it('scrapes spillway:9464/metrics', () => {
    const config = readYaml('prometheus.yml') as {
      scrape_configs: Array<{ job_name: string; metrics_path: string; static_configs: Array<{ targets: string[] }> }>;
    };
    const job = config.scrape_configs.find((j) => j.job_name === 'spillway');
    expect(job?.metrics_path).toBe('/metrics');
    expect(job?.static_configs[0]?.targets).toEqual(['spillway:9464']);
  });
});

describe('monitoring/alerts.yml', () => {
  const rules = readYaml('alerts.yml') as { groups: Array<{ name: string; rules: Array<{ alert: string; expr: string }> }> };
  const alerts = rules.groups.flatMap((g) => g.rules);

  it('alerts on what an operator must hear about', () => {
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'SpillwayLlmShareOverBudget',
        'SpillwayLlmUnavailable',
        'SpillwayAuditedAgreementFalling',
        'SpillwayConsumerLagGrowing',
        'SpillwayDeadLetters',
        'SpillwayColdAnswers',
      ]),
    );
  });

  it('queries only metrics the exporter declares (promtool checks the syntax in CI)', async () => {
    const registry = new Registry();
    new SpillwayMetrics(registry);
    const declared = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    const used = new Set(alerts.flatMap((a) => [...a.expr.matchAll(/spillway_\w+/g)].map(([name]) => name)));
    expect([...used].filter((name) => !declared.has(name))).toEqual([]);
  });

  it('is loaded by the Prometheus config', () => {
    expect((readYaml('prometheus.yml') as { rule_files: string[] }).rule_files).toEqual(['alerts.yml']);
  });
});

describe('monitoring/docker-compose.monitoring.yml', () => {
  it('mounts the scrape config, the alert rules and the dashboard it ships', () => {
    const compose = readYaml('docker-compose.monitoring.yml') as { services: Record<string, { volumes: string[] }> };
    expect(compose.services.prometheus?.volumes).toContain('./monitoring/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    expect(compose.services.prometheus?.volumes).toContain('./monitoring/alerts.yml:/etc/prometheus/alerts.yml:ro');
    expect(compose.services.grafana?.volumes).toContain('./monitoring/grafana-dashboard.json:/var/lib/grafana/dashboards/spillway.json:ro');
  });
});
