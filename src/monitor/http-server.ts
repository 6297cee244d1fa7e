/**
 * The monitor's HTTP endpoints on node:http (no framework: four routes do not need one):
 * `/metrics` Prometheus text, `/status` JSON, `/status/history` chart points, `/healthz`, and `/` the dashboard
 * with its script and Chart.js served from node_modules (nothing from a CDN: deployments may have no internet).
 */
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { ConfigError } from '../errors.js';
import type { HistoryPoint, Status } from './status.js';

/** What /healthz reports: healthy or not, and why not. */
export interface HealthReport {
  ok: boolean;
  /** Why it is unhealthy, shown in the 503 body. */
  reason?: string;
  /** Healthy but not keeping a promise (a quality target not held): 200 with `degraded: <why>`. */
  degraded?: string;
}

/** The owner's health check; a rejection or a thrown error counts as unhealthy. */
export type HealthCheck = () => boolean | HealthReport | Promise<boolean | HealthReport>;

/** Options of {@link MonitorServer}. */
export interface MonitorServerOptions {
  /** Interface to bind, e.g. '127.0.0.1'. */
  host: string;
  /** Port to listen on; 0 lets the OS pick a free one (tests). */
  port: number;
  logger: Logger;
  /** Prometheus exposition text and its content type. */
  metrics(): Promise<string>;
  metricsContentType: string;
  status(): Status;
  /** Chart points newer than `sinceMs`. */
  history(sinceMs?: number): HistoryPoint[];
  /** @defaultValue always healthy */
  health?: HealthCheck;
  /**
   * When set, every endpoint requires it: `Authorization: Bearer <token>`, the `spillway_token` cookie, or
   * `?token=<token>` (which sets the cookie, so the dashboard's page, scripts and fetches carry it).
   */
  authToken?: string;
  /**
   * Host names (besides loopback names, IP literals and this machine's name) that requests may carry in their
   * Host header; others get 421, so a web page cannot reach the endpoints through a name it controls (DNS rebinding).
   */
  allowedHosts?: readonly string[];
  /** Serve beyond loopback without a token (the network in front is trusted). @defaultValue false: refused at start */
  allowUnauthenticated?: boolean;
}

/** The cookie a browser keeps after opening the dashboard with `?token=`. */
const TOKEN_COOKIE = 'spillway_token';

function sameSecret(given: string | undefined | null, expected: string): boolean {
  if (given === undefined || given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

interface StaticAsset {
  body: Buffer;
  type: string;
}

const DASHBOARD_DIR = join(dirname(fileURLToPath(import.meta.url)), 'dashboard');

/** Reads the dashboard and Chart.js once: they are small and never change while the process runs. */
function loadAssets(): Map<string, StaticAsset> {
  // chart.js exports no subpaths; its UMD bundle sits beside the resolved main entry.
  const chartDir = dirname(createRequire(import.meta.url).resolve('chart.js'));
  const asset = (path: string, type: string): StaticAsset => ({ body: readFileSync(path), type });
  return new Map([
    ['/', asset(join(DASHBOARD_DIR, 'index.html'), 'text/html; charset=utf-8')],
    ['/dashboard.js', asset(join(DASHBOARD_DIR, 'dashboard.js'), 'text/javascript; charset=utf-8')],
    ['/dashboard.css', asset(join(DASHBOARD_DIR, 'dashboard.css'), 'text/css; charset=utf-8')],
    ['/vendor/chart.umd.js', asset(join(chartDir, 'chart.umd.min.js'), 'text/javascript; charset=utf-8')],
  ]);
}

/** The monitor's HTTP server. Start it with {@link start}; {@link close} stops it and drops keep-alive sockets. */
export class MonitorServer {
  private readonly options: MonitorServerOptions;
  private readonly log: Logger;
  private readonly assets = loadAssets();
  private server: Server | undefined;

  constructor(options: MonitorServerOptions) {
    this.options = options;
    this.log = options.logger.child({ module: 'monitor-http' });
  }

  /** Listens; resolves with the base URL (e.g. `http://127.0.0.1:9464`). Rejects if the port is taken. */
  async start(): Promise<{ url: string }> {
    const { host: bind, authToken, allowUnauthenticated } = this.options;
    if (authToken === undefined && !isLoopback(bind) && allowUnauthenticated !== true) {
      throw new ConfigError([
        {
          key: 'monitor.httpHost',
          value: bind,
          message:
            'the monitor would answer anyone who can reach this machine, with no token: set monitor.authToken (SPILLWAY_MONITOR_AUTH_TOKEN), bind loopback, or set monitor.allowUnauthenticated: true when the network in front of it is trusted (a port published on 127.0.0.1, a private cluster network)',
        },
      ]);
    }
    const server = createServer((req, res) => {
      if (!this.hostAllowed(req, res) || !this.authorized(req, res)) return;
      this.route(req, res).catch((err: unknown) => {
        this.log.error({ err, url: req.url }, 'monitor request failed');
        if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const { port } = server.address() as AddressInfo;
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    const url = `http://${host}:${port}`;
    this.log.info({ url, auth: this.options.authToken === undefined ? 'none' : 'bearer token' }, 'monitor listening');
    if (this.options.authToken === undefined && !isLoopback(this.options.host)) {
      this.log.warn(
        { host: this.options.host },
        'monitor endpoints reachable beyond this machine without a token: set monitor.authToken (SPILLWAY_MONITOR_AUTH_TOKEN)',
      );
    }
    return { url };
  }

  /**
   * A Host header naming something other than loopback, an IP address, this machine or `allowedHosts` is a
   * request meant for another site (a DNS-rebinding page in a browser on this machine): answered 421.
   */
  private hostAllowed(req: IncomingMessage, res: ServerResponse): boolean {
    const name = hostName(req.headers.host);
    if (name === undefined || isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost')) return true;
    if (name === hostname().toLowerCase() || (this.options.allowedHosts ?? []).some((h) => h.toLowerCase() === name)) return true;
    this.log.warn({ host: name.slice(0, 100) }, 'request for another host name refused');
    send(res, 421, 'text/plain; charset=utf-8', `misdirected: this monitor does not answer to host ${name.slice(0, 100)} (add it to monitor.allowedHosts)\n`);
    return false;
  }

  /** With a token configured, answers 401 to a request without it and returns false. */
  private authorized(req: IncomingMessage, res: ServerResponse): boolean {
    const token = this.options.authToken;
    if (token === undefined) return true;
    const header = req.headers.authorization;
    if (header !== undefined && /^Bearer /i.test(header) && sameSecret(header.slice(7).trim(), token)) return true;
    if (sameSecret(cookie(req, TOKEN_COOKIE), token)) return true;
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token');
    if (sameSecret(query, token)) {
      res.setHeader('set-cookie', `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`);
      return true;
    }
    send(res, 401, 'text/plain; charset=utf-8', 'unauthorized: send Authorization: Bearer <monitor.authToken>, or open /?token=<token>\n', {
      'www-authenticate': 'Bearer realm="spillway"',
    });
    return false;
  }

  /** Stops listening and closes open connections (browsers keep them alive). Idempotent. */
  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    switch (url.pathname) {
      case '/metrics':
        send(res, 200, this.options.metricsContentType, await this.options.metrics());
        return;
      case '/status':
        sendJson(res, 200, this.options.status());
        return;
      case '/status/history': {
        const since = Number(url.searchParams.get('since') ?? Number.NEGATIVE_INFINITY);
        sendJson(res, 200, this.options.history(Number.isNaN(since) ? undefined : since));
        return;
      }
      case '/healthz': {
        const report = await this.checkHealth();
        const body = !report.ok ? `unhealthy: ${report.reason ?? 'unknown'}\n` : report.degraded === undefined ? 'ok\n' : `degraded: ${report.degraded}\n`;
        send(res, report.ok ? 200 : 503, 'text/plain; charset=utf-8', body);
        return;
      }
      default: {
        const asset = this.assets.get(url.pathname === '/index.html' ? '/' : url.pathname);
        if (asset === undefined) send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
        else send(res, 200, asset.type, asset.body, { 'cache-control': 'no-cache' });
      }
    }
  }

  private async checkHealth(): Promise<HealthReport> {
    if (this.options.health === undefined) return { ok: true };
    try {
      const result = await this.options.health();
      return typeof result === 'boolean' ? { ok: result } : result;
    } catch (err: unknown) {
      this.log.warn({ err }, 'health check threw');
      return { ok: false, reason: 'health check failed' };
    }
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** The name in a Host header, lower-cased, without its port or IPv6 brackets; undefined when there is none. */
function hostName(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  const value = header.trim().toLowerCase();
  if (value.startsWith('[')) return value.slice(1, value.indexOf(']') > 0 ? value.indexOf(']') : undefined);
  return value.replace(/:\d*$/, '');
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), { 'cache-control': 'no-store' });
}
