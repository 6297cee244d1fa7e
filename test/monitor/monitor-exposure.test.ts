/**
 * The monitor's exposure: bound beyond loopback without a token it refuses to start (unless told the network
 * in front is trusted), and a request naming a host other than loopback, an IP address, this machine or
 * monitor.allowedHosts is answered 421, so a web page cannot reach the endpoints through a name it controls
 * (DNS rebinding).
 */
import { request } from 'node:http';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { createMonitor, type Monitor } from '../../src/monitor/index.js';
import { silentLogger } from './helpers.js';

const opened: Monitor[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((m) => m.close()));
});

function monitor(config: Record<string, unknown>): Monitor {
  const m = createMonitor({ config: { httpPort: 0, httpHost: '127.0.0.1', ...config }, logger: silentLogger, port: 'random', processMetrics: false });
  opened.push(m);
  return m;
}

/** GET `path` with a Host header of our choosing (fetch does not let a caller set it). */
function get(url: string, path: string, host: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: Number(port), path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a monitor bound beyond loopback', () => {
  it('refuses to start without a token, naming monitor.httpHost and the ways out', async () => {
    const err = await monitor({ httpHost: '0.0.0.0' })
      .start()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe('monitor.httpHost');
    expect((err as Error).message).toMatch(/set monitor\.authToken \(SPILLWAY_MONITOR_AUTH_TOKEN\), bind loopback, or set monitor\.allowUnauthenticated: true/);
  });

  it('starts with a token, or when told the network in front is trusted', async () => {
    expect((await monitor({ httpHost: '0.0.0.0', authToken: 'a-long-enough-test-token-0123' }).start()).url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    expect((await monitor({ httpHost: '0.0.0.0', allowUnauthenticated: true }).start()).url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
  });
});

describe('the Host header of a request', () => {
  it('must name loopback, an IP address, this machine or an allowed host; anything else is answered 421', async () => {
    const { url } = await monitor({ allowedHosts: ['spillway'] }).start();
    if (url === null) throw new Error('monitor did not start');
    const port = new URL(url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `10.1.2.3:${port}`, `spillway:${port}`, `SPILLWAY:${port}`, hostname()]) {
      expect((await get(url, '/healthz', host)).status, host).toBe(200);
    }
    for (const host of [`attacker.example:${port}`, 'rebind.attacker.example', `spillway.attacker.example:${port}`]) {
      const res = await get(url, '/status', host);
      expect(res.status, host).toBe(421);
      expect(res.body).toMatch(/does not answer to host .* \(add it to monitor\.allowedHosts\)/);
    }
  });
});
