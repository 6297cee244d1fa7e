/**
 * monitor.authToken: the endpoints had no way to require a token when bound beyond loopback.
 * With a token, every endpoint answers 401 without it; a bearer header, or the cookie set by opening the
 * dashboard once with ?token=, lets requests in. `spillway monitor` sends the configured token.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMonitor, runTerminalMonitor, type Monitor } from '../../src/monitor/index.js';
import { silentLogger } from './helpers.js';

const TOKEN = 'a-long-enough-test-token-0123';
const opened: Monitor[] = [];

async function start(authToken?: string): Promise<string> {
  const monitor = createMonitor({
    config: { httpPort: 0, httpHost: '127.0.0.1', ...(authToken === undefined ? {} : { authToken }) },
    logger: silentLogger,
    port: 'random',
    processMetrics: false,
  });
  opened.push(monitor);
  const { url } = await monitor.start();
  if (url === null) throw new Error('monitor did not start');
  return url;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((m) => m.close()));
});

const ENDPOINTS = ['/', '/dashboard.js', '/dashboard.css', '/vendor/chart.umd.js', '/status', '/status/history', '/metrics', '/healthz'];

describe('when monitor.authToken is set', () => {
  it('every endpoint answers 401 without the token, or with a wrong one', async () => {
    const url = await start(TOKEN);
    for (const path of ENDPOINTS) {
      expect((await fetch(`${url}${path}`)).status, path).toBe(401);
      expect((await fetch(`${url}${path}`, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status, path).toBe(401);
    }
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="spillway"');
  });

  it('every endpoint answers with the bearer token', async () => {
    const url = await start(TOKEN);
    for (const path of ENDPOINTS) expect((await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, path).toBe(200);
  });

  it('the dashboard opened with ?token= sets a cookie that its scripts and fetches then carry', async () => {
    const url = await start(TOKEN);
    const page = await fetch(`${url}/?token=${TOKEN}`);
    expect(page.status).toBe(200);
    const setCookie = page.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^spillway_token=.+; HttpOnly; SameSite=Strict; Path=\//);
    const cookie = setCookie.split(';')[0] as string;
    for (const path of ['/dashboard.js', '/vendor/chart.umd.js', '/status', '/status/history?since=0']) {
      expect((await fetch(`${url}${path}`, { headers: { cookie } })).status, path).toBe(200);
    }
  });

  it('spillway monitor --once sends the configured token', async () => {
    const url = await start(TOKEN);
    const chunks: string[] = [];
    const output = { write: (s: string) => chunks.push(s), isTTY: false } as unknown as NodeJS.WriteStream;
    await runTerminalMonitor({ url, once: true, output, authToken: TOKEN });
    expect(chunks.join('')).toContain('Spillway');
    await expect(runTerminalMonitor({ url, once: true, output })).rejects.toThrow(/401 \(set monitor\.authToken/);
  });
});

describe('when no token is set', () => {
  it('the endpoints stay open, on loopback by default', async () => {
    const url = await start();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${url}/status`)).status).toBe(200);
  });
});
