/**
 * Hostile endpoints: a stand-in LLM on node:http that speaks the OpenAI protocol badly on purpose —
 * 401 echoing the key, 404 model_not_found, a body that never finishes, a 200 MB body — against the real client.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createRootLogger } from '../../src/app/index.js';
import { LlmHttpError, LlmResponseTooLargeError, LlmTimeoutError, RetriesExhaustedError } from '../../src/errors.js';
import { defaultTaskPath, loadTask, OpenAiTeacher } from '../../src/llm/index.js';
import { EMOTIONS } from './helpers.js';

const task = loadTask(defaultTaskPath(EMOTIONS));
const KEY = 'sk-test-0123456789abcdefSECRET';
const MODEL = 'gpt-test';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let server: Server | undefined;

async function serve(handler: Handler): Promise<string> {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

function teacher(url: string, overrides: Partial<ConstructorParameters<typeof OpenAiTeacher>[0]> = {}): OpenAiTeacher {
  return new OpenAiTeacher({ task, baseUrl: url, model: MODEL, apiKey: KEY, timeoutMs: 2_000, maxRetries: 0, retryBaseMs: 1, retryMaxMs: 5, ...overrides });
}

function openAiError(res: ServerResponse, status: number, message: string, code: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message, type: 'invalid_request_error', code } }));
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err: unknown) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Every string in an error and its causes, as pino would print them. */
function everything(err: unknown): string {
  const seen: string[] = [];
  for (let e: unknown = err, d = 0; e instanceof Error && d < 10; e = e.cause, d++) seen.push(e.message, e.stack ?? '', JSON.stringify(e));
  return seen.join('\n');
}

describe('an endpoint that answers 401 and echoes the API key in its message', () => {
  const echo: Handler = (req, res) => openAiError(res, 401, `Incorrect API key provided: ${String(req.headers.authorization)}`, 'invalid_api_key');

  it('fails with LlmHttpError 401 whose message and causes do not contain the key', async () => {
    const url = await serve(echo);
    const err = await rejection(teacher(url).classify('hello'));
    expect(err).toBeInstanceOf(LlmHttpError);
    expect((err as LlmHttpError).status).toBe(401);
    expect((err as LlmHttpError).code).toBe('invalid_api_key');
    expect(everything(err)).not.toContain('0123456789abcdef');
    expect((err as Error).message).toContain('[redacted]');
  });

  it('never writes the key into a log line, even through an error logged with its causes', async () => {
    const url = await serve(echo);
    const err = await rejection(teacher(url).classify('hello'));
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, cb) => (lines.push(chunk.toString()), cb()) });
    const log = createRootLogger('info', { secrets: [KEY], destination: sink });
    // A foreign error that carries the key in its message, cause and fields, as a library might.
    const foreign = Object.assign(new Error(`upstream said ${KEY}`, { cause: new Error(`Bearer ${KEY}`) }), { config: { apiKey: KEY } });
    log.error({ err }, 'LLM call failed');
    log.error({ err: foreign, apiKey: KEY }, 'something else failed');
    log.flush();
    const text = lines.join('');
    expect(text).toContain('LLM call failed');
    expect(text).not.toContain('0123456789abcdef');
  });

  it('is refused by the probe with status 401', async () => {
    const url = await serve(echo);
    const err = await rejection(teacher(url).probe());
    expect(err).toBeInstanceOf(LlmHttpError);
    expect((err as LlmHttpError).status).toBe(401);
  });
});

describe('an endpoint that does not know the model', () => {
  it('probe: the models list lacks it and the chat call answers 404 model_not_found', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'other-model', object: 'model', created: 0, owned_by: 'x' }] }));
      } else openAiError(res, 404, `The model \`${MODEL}\` does not exist`, 'model_not_found');
    });
    const err = await rejection(teacher(url).probe());
    expect(err).toBeInstanceOf(LlmHttpError);
    expect((err as LlmHttpError).status).toBe(404);
    expect((err as LlmHttpError).code).toBe('model_not_found');
  });
});

describe('an endpoint whose body never finishes (slow drip)', () => {
  it('times out within the deadline although headers came at once', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"id":"x","choices":[');
      const drip = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(drip));
    });
    const started = performance.now();
    const err = await rejection(teacher(url, { timeoutMs: 600, maxRetries: 1 }).classify('hello'));
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect((err as RetriesExhaustedError).cause).toBeInstanceOf(LlmTimeoutError);
    // Two attempts of 600 ms and a few ms of backoff: nowhere near forever.
    expect(elapsed).toBeLessThan(10_000);
  });
});

describe('an endpoint that sends 200 MB', () => {
  it('stops reading at llm.maxResponseBytes and fails with LlmResponseTooLargeError', async () => {
    let sent = 0;
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1 << 20, 0x20);
      const pump = (): void => {
        while (sent < 200) {
          sent++;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end('{}');
      };
      pump();
    });
    const err = await rejection(teacher(url, { maxResponseBytes: 1 << 20 }).classify('hello'));
    expect(err).toBeInstanceOf(LlmResponseTooLargeError);
    expect((err as LlmResponseTooLargeError).retriable).toBe(false);
    // The server could push only what the socket buffers took before the client hung up.
    expect(sent).toBeLessThan(200);
  });

  it('refuses a declared content-length over the limit without reading the body', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(200 * 2 ** 20) });
      res.write('{');
    });
    const err = await rejection(teacher(url, { maxResponseBytes: 1 << 20 }).classify('hello'));
    expect(err).toBeInstanceOf(LlmResponseTooLargeError);
    expect((err as LlmResponseTooLargeError).declaredBytes).toBe(200 * 2 ** 20);
  });
});
