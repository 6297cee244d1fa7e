/**
 * The live terminal view behind `spillway monitor`: polls /status and /status/history and redraws in place
 * with ANSI cursor codes (no curses dependency: works over any SSH connection). Quits on q or Ctrl-C.
 */
import { SpillwayError } from '../errors.js';
import type { HistoryPoint, Status } from './status.js';
import { renderStatusFrame } from './terminal-view.js';

/** Options of {@link runTerminalMonitor}. */
export interface TerminalMonitorOptions {
  /** Base URL of a Spillway monitor, e.g. `http://127.0.0.1:9464`. */
  url: string;
  /** Print one frame and return (no ANSI cursor codes). @defaultValue false */
  once?: boolean;
  /** Time between redraws, ms. @defaultValue 1000 */
  intervalMs?: number;
  /** Per-request timeout, ms. @defaultValue 5000 */
  timeoutMs?: number;
  /** @defaultValue process.stdout */
  output?: NodeJS.WriteStream;
  /** Keyboard (q, Ctrl-C). @defaultValue process.stdin */
  input?: NodeJS.ReadStream;
  /** The server's monitor.authToken, sent as a bearer token. */
  authToken?: string;
  /** Stops the live view (the command's lifecycle: SIGINT, SIGTERM). */
  signal?: AbortSignal;
}

const CSI = '\x1b[';

async function getJson<T>(url: string, timeoutMs: number, token?: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }) });
  } catch (err: unknown) {
    throw new SpillwayError(`cannot reach the monitor at ${url}`, { retriable: true, cause: err });
  }
  const hint = res.status === 401 ? " (set monitor.authToken / SPILLWAY_MONITOR_AUTH_TOKEN to the server's token)" : '';
  if (!res.ok) throw new SpillwayError(`${url} answered HTTP ${res.status}${hint}`, { retriable: res.status >= 500 });
  return (await res.json()) as T;
}

/** Fetches /status and /status/history from `baseUrl` and renders one frame. */
export async function fetchFrame(baseUrl: string, options: { color?: boolean; timeoutMs?: number; authToken?: string } = {}): Promise<string> {
  const base = baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 5_000;
  const [status, history] = await Promise.all([
    getJson<Status>(`${base}/status`, timeoutMs, options.authToken),
    getJson<HistoryPoint[]>(`${base}/status/history`, timeoutMs, options.authToken),
  ]);
  return renderStatusFrame(status, history, { url: base, color: options.color });
}

/**
 * Runs the view until the user quits (live) or after one frame (`once`).
 * @throws SpillwayError in `once` mode when the monitor cannot be reached; the live view shows the error and retries.
 */
export async function runTerminalMonitor(options: TerminalMonitorOptions): Promise<void> {
  const output = options.output ?? process.stdout;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const auth = options.authToken === undefined ? {} : { authToken: options.authToken };
  if (options.once === true) {
    output.write(`${await fetchFrame(options.url, { color: false, timeoutMs, ...auth })}\n`);
    return;
  }
  const input = options.input ?? process.stdin;
  const color = output.isTTY === true;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const draw = (frame: string): void => {
    // Home, each line followed by erase-to-end-of-line, then erase below: no flicker, no scrolling.
    output.write(
      `${CSI}H${frame
        .split('\n')
        .map((l) => `${l}${CSI}K`)
        .join('\n')}\n${CSI}J`,
    );
  };
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      input.off('data', onKey);
      options.signal?.removeEventListener('abort', stop);
      if (input.isTTY === true) input.setRawMode(false);
      input.pause();
      output.write(`${CSI}?25h\n`);
      resolve();
    };
    const onKey = (data: Buffer): void => {
      const key = data.toString('utf8');
      if (key === 'q' || key === 'Q' || key === '\x03') stop();
    };
    const tick = async (): Promise<void> => {
      try {
        draw(await fetchFrame(options.url, { color, timeoutMs, ...auth }));
      } catch (err: unknown) {
        draw(`Spillway monitor  ${options.url}\n\n${err instanceof Error ? err.message : String(err)} — retrying`);
      }
      if (!stopped) timer = setTimeout(() => void tick(), options.intervalMs ?? 1_000);
    };
    if (input.isTTY === true) input.setRawMode(true);
    input.on('data', onKey);
    input.resume();
    if (options.signal?.aborted === true) return stop();
    options.signal?.addEventListener('abort', stop, { once: true });
    output.write(`${CSI}?25l${CSI}2J`);
    void tick();
  });
}
