/** A worker of a group: every metric carries its id as the `worker` label; /status says which worker it is and where its shared learning stands. */
import { afterEach, describe, expect, it } from 'vitest';
import { createMonitor, type Monitor, type Status } from '../../src/monitor/index.js';
import { lrAnswer, silentLogger } from './helpers.js';

const opened: Monitor[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((m) => m.close()));
});

describe('when the monitor belongs to a worker of a group', () => {
  it('labels every metric with the worker id and reports the worker part on /status', async () => {
    const monitor = createMonitor({
      config: { httpPort: 0, httpHost: '127.0.0.1' },
      logger: silentLogger,
      port: 'random',
      processMetrics: false,
      workerId: 'spillway-host-1',
      workerStatus: () => ({ id: 'spillway-host-1', sharedLearning: true, labelOffset: 1234, restored: { source: 'snapshot', labelOffset: 1000 } }),
    });
    opened.push(monitor);
    const { url } = await monitor.start();
    monitor.observer.onAnnotation(lrAnswer(0));

    const text = await (await fetch(`${url}/metrics`)).text();
    const samples = text.split('\n').filter((l) => l.startsWith('spillway_'));
    expect(samples.length).toBeGreaterThan(0);
    expect(samples.filter((l) => !l.includes('worker="spillway-host-1"'))).toEqual([]);

    const status = (await (await fetch(`${url}/status`)).json()) as Status;
    expect(status.worker).toEqual({ id: 'spillway-host-1', sharedLearning: true, labelOffset: 1234, restored: { source: 'snapshot', labelOffset: 1000 } });
  });

  it('adds no worker label or part when it has no worker id (the embedded mode)', async () => {
    const monitor = createMonitor({ config: { httpPort: 0, httpHost: '127.0.0.1' }, logger: silentLogger, processMetrics: false });
    opened.push(monitor);
    monitor.observer.onAnnotation(lrAnswer(0));
    expect(await monitor.metrics.text()).not.toContain('worker=');
    expect(monitor.status().worker).toBeUndefined();
  });
});
