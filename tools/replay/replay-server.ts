/**
 * A loopback OpenAI-compatible endpoint that answers from recorded LLM answers, so benchmarks and tests
 * exercise the real client over real HTTP without calling an LLM. It implements POST /v1/chat/completions
 * and GET /v1/models, answers errors in OpenAI's `{error: {message, type, code}}` shape, and can inject
 * latency, HTTP errors and stalls (seeded, so tests are deterministic).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AnswerParser, defaultTaskPath, extractBatchTexts, extractText, loadTask, type Task } from '../../src/llm/index.js';
import { approxPromptTokens, approxTokens, lognormalSampler, MinuteLimit } from './replay-realism.js';
import { loadRecordedAnswers, type RecordedAnswers } from './replay-dataset.js';

/** What to serve and which faults to inject. */
export interface ReplayServerOptions {
  /** JSONL dataset with `llm.<teacher>` answers. */
  dataset: string;
  /** Task file path or task; @defaultValue the `.task.json` beside the dataset. */
  task?: string | Task;
  /** Teacher model whose recorded answers are served; also the only model name requests may ask for (see `teachers`). */
  teacher: string;
  /**
   * More recorded teachers served beside `teacher`, each answering requests for its own model name from its
   * own recordings (LLM tiers: a cheap and a strong endpoint on one server). @defaultValue none
   */
  teachers?: readonly string[];
  /** TCP port; 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** Delay added to every chat completion, ms. @defaultValue 0 */
  latencyMs?: number;
  /** Share of chat completions answered with HTTP 500, in [0, 1]. @defaultValue 0 */
  errorRate?: number;
  /** Share of chat completions never answered (until the client gives up), in [0, 1]. @defaultValue 0 */
  stallRate?: number;
  /** The first N chat completions fail with `failStatus` whatever the rates say. @defaultValue 0 */
  failFirst?: number;
  /** Status of the `failFirst` failures. @defaultValue 500 */
  failStatus?: number;
  /** The first N chat completions (after `failFirst`) stall. @defaultValue 0 */
  stallFirst?: number;
  /** Seed of the fault-injection PRNG. @defaultValue 42 */
  seed?: number;
  /** Chat completions, by number from 1, that take this many ms instead of the latency (one slow answer, for tests). */
  delayAt?: Readonly<Record<number, number>>;
  /** Lognormal latency instead of `latencyMs`: median and 99th percentile, ms (seeded). */
  latency?: { p50Ms: number; p99Ms: number };
  /** Requests per minute; above it the answer is HTTP 429 with Retry-After. */
  rpm?: number;
  /** Tokens (prompt + completion, approximated) per minute; above it HTTP 429 with Retry-After. */
  tpm?: number;
  /**
   * Faults in batch answers, for tests: `short` drops the second half of the entries, `shuffle` reverses their
   * order (ids kept), `garbage` answers prose instead of JSON, `conflict` gives item 1 two different labels.
   */
  batchFault?: 'short' | 'shuffle' | 'garbage' | 'conflict';
  logger?: Logger;
}

/** Counters since start. */
export interface ReplayStats {
  /** HTTP requests of any kind. */
  requests: number;
  /** Chat completions answered with 200. */
  answered: number;
  /** Answers that were recorded as -1 and served as a text naming no label. */
  unparseableAnswers: number;
  /** Prompts whose text is not in the dataset (answered with a text naming no label). */
  unknownTexts: number;
  /** Requests answered with an injected error status. */
  injectedErrors: number;
  /** Requests stalled on purpose. */
  stalled: number;
  /** Malformed requests (4xx). */
  badRequests: number;
  /** TCP connections accepted: far fewer than requests when clients keep connections alive. */
  connections: number;
  /** Requests answered 429 by the rpm/tpm limits. */
  throttled: number;
  /** Chat completions that were batch prompts (several numbered texts). */
  batchRequests: number;
  /** Texts answered inside batch prompts. */
  batchItems: number;
  /** Approximate tokens served (see replay-realism.ts). */
  promptTokens: number;
  completionTokens: number;
  /** Chat completions answered with 200, by the model asked for. */
  answeredByModel: Record<string, number>;
}

/** A running replay server. */
export interface ReplayServer {
  /** Base URL ending in /v1, as the openai client's `baseURL` expects. */
  readonly url: string;
  /** Texts with a recorded answer, and the lines read. */
  readonly dataset: { texts: number; lines: number; conflictingDuplicates: number };
  stats(): ReplayStats;
  /** Stops listening and drops open connections, stalled ones included. */
  close(): Promise<void>;
}

/** Candidate replies for an unparseable answer; the first the task's parser rejects is used. */
const NON_ANSWERS = ['I cannot determine that.', 'Unclear.', ''];
const MAX_BODY_BYTES = 8 * 2 ** 20;

/** Loads the dataset and starts listening. Resolves once the port is bound. */
export async function startReplayServer(options: ReplayServerOptions): Promise<ReplayServer> {
  const task = typeof options.task === 'object' ? options.task : loadTask(options.task ?? defaultTaskPath(options.dataset));
  const models = [...new Set([options.teacher, ...(options.teachers ?? [])])];
  const recordings = new Map(models.map((m) => [m, loadRecordedAnswers(options.dataset, m, task.labels.length)]));
  const recorded = recordings.get(options.teacher) as RecordedAnswers;
  const parser = new AnswerParser(task);
  const nonAnswer = NON_ANSWERS.find((s) => parser.parse(s) === null) ?? '';
  const random = mulberry32(options.seed ?? 42);
  const log = options.logger?.child({ module: 'replay-llm' });
  const stats: ReplayStats = {
    requests: 0,
    answered: 0,
    unparseableAnswers: 0,
    unknownTexts: 0,
    injectedErrors: 0,
    stalled: 0,
    badRequests: 0,
    connections: 0,
    throttled: 0,
    batchRequests: 0,
    batchItems: 0,
    promptTokens: 0,
    completionTokens: 0,
    answeredByModel: Object.fromEntries(models.map((m) => [m, 0])),
  };
  // Own generators, so that latency draws do not shift the fault sequence.
  const sampleLatency =
    options.latency === undefined ? undefined : lognormalSampler(options.latency.p50Ms, options.latency.p99Ms, mulberry32((options.seed ?? 42) + 1));
  const rpm = options.rpm === undefined ? undefined : new MinuteLimit(options.rpm);
  const tpm = options.tpm === undefined ? undefined : new MinuteLimit(options.tpm);
  let completions = 0;

  const answerFor = (text: string | null, answers: RecordedAnswers = recorded): { content: string; parseable: boolean } => {
    const id = text === null ? undefined : (answers.byText.get(text) ?? answers.byText.get(text.trim()));
    if (id === undefined) stats.unknownTexts++;
    else if (id < 0) stats.unparseableAnswers++;
    const label = id === undefined || id < 0 ? undefined : task.labels[id];
    return label === undefined ? { content: nonAnswer, parseable: false } : { content: label, parseable: true };
  };

  /** Each text answered from the recordings, as the JSON the batch prompt asks for (with the test faults). */
  const batchAnswer = (texts: string[], answers: RecordedAnswers): string => {
    stats.batchRequests++;
    stats.batchItems += texts.length;
    let entries = texts.map((t, i) => ({ id: i + 1, label: answerFor(t, answers).content }));
    switch (options.batchFault) {
      case 'garbage':
        return `Sure! Here are the labels: ${entries.map((e) => e.label).join(', ')}.`;
      case 'short':
        entries = entries.slice(0, Math.ceil(entries.length / 2));
        break;
      case 'shuffle':
        entries = entries.reverse();
        break;
      case 'conflict': {
        const other = task.labels.find((l) => l !== entries[0]?.label) ?? '';
        entries = [...entries, { id: 1, label: other }];
        break;
      }
      default:
        break;
    }
    return JSON.stringify({ answers: entries });
  };

  const chatCompletion = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readJson(req);
    if (!isObject(body) || !Array.isArray(body.messages)) {
      stats.badRequests++;
      return sendError(res, 400, 'request body must be a JSON object with a "messages" array', 'invalid_request_error', null);
    }
    const model = typeof body.model === 'string' ? body.model : '';
    const answers = recordings.get(model);
    if (answers === undefined) {
      stats.badRequests++;
      return sendError(
        res,
        404,
        `The model \`${String(body.model)}\` does not exist; this replay serves ${models.map((m) => `\`${m}\``).join(', ')}`,
        'invalid_request_error',
        'model_not_found',
      );
    }
    const userMessage = lastUserMessage(body.messages);
    const batchTexts = extractBatchTexts(task, userMessage);
    const promptTokens = approxPromptTokens(body.messages);
    const expectedTokens = promptTokens + (typeof body.max_tokens === 'number' ? Math.min(body.max_tokens, 16 * (batchTexts?.length ?? 1)) : 16);
    const waitMs = Math.max(rpm?.check(1) ?? 0, tpm?.check(expectedTokens) ?? 0);
    if (waitMs > 0) {
      stats.throttled++;
      const headers = { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))), 'retry-after-ms': String(waitMs) };
      return sendError(res, 429, 'Rate limit reached for requests; please try again later', 'requests', 'rate_limit_exceeded', headers);
    }
    rpm?.take(1);
    tpm?.take(expectedTokens);
    const n = ++completions;
    // Always draw, so the fault sequence depends only on the request count, not on the rates chosen.
    const r = random();
    if (n <= (options.failFirst ?? 0) || r < (options.errorRate ?? 0)) {
      stats.injectedErrors++;
      const status = n <= (options.failFirst ?? 0) ? (options.failStatus ?? 500) : 500;
      return sendError(res, status, 'injected failure', status >= 500 ? 'server_error' : 'invalid_request_error', null);
    }
    const stallFirst = options.stallFirst ?? 0;
    if (n - (options.failFirst ?? 0) <= stallFirst || r < (options.errorRate ?? 0) + (options.stallRate ?? 0)) {
      stats.stalled++;
      return; // never answered; the client times out and close() drops the socket
    }
    const delayMs = options.delayAt?.[n] ?? sampleLatency?.() ?? options.latencyMs ?? 0;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const answer = batchTexts === null ? answerFor(extractText(task, userMessage), answers) : { content: batchAnswer(batchTexts, answers), parseable: true };
    stats.answered++;
    stats.answeredByModel[model] = (stats.answeredByModel[model] ?? 0) + 1;
    const completionTokens = Math.max(1, approxTokens(answer.content));
    stats.promptTokens += promptTokens;
    stats.completionTokens += completionTokens;
    const tokenLogprob = { token: answer.content, logprob: answer.parseable ? -0.01 : -1.5, bytes: null, top_logprobs: [] };
    sendJson(res, 200, {
      id: `chatcmpl-replay-${n}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: answer.content, refusal: null },
          logprobs: body.logprobs === true ? { content: [tokenLogprob], refusal: null } : null,
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    });
  };

  const server = createServer((req, res) => {
    stats.requests++;
    const path = (req.url ?? '').split('?')[0];
    let handled: Promise<void>;
    if (req.method === 'POST' && path === '/v1/chat/completions') handled = chatCompletion(req, res);
    else if (req.method === 'GET' && path === '/v1/models') {
      handled = Promise.resolve(
        sendJson(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'spillway-replay' })) }),
      );
    } else {
      stats.badRequests++;
      handled = Promise.resolve(sendError(res, 404, `no route ${String(req.method)} ${String(path)}`, 'invalid_request_error', 'unknown_url'));
    }
    handled.catch((err: unknown) => {
      stats.badRequests++;
      log?.debug({ err }, 'bad replay request');
      if (!res.headersSent) sendError(res, 400, err instanceof Error ? err.message : 'bad request', 'invalid_request_error', null);
    });
  });

  server.on('connection', () => stats.connections++);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}/v1`;
  log?.info({ url, teachers: models, texts: recorded.byText.size, conflictingDuplicates: recorded.conflictingDuplicates }, 'replay LLM listening');

  return {
    url,
    dataset: { texts: recorded.byText.size, lines: recorded.lines, conflictingDuplicates: recorded.conflictingDuplicates },
    stats: () => ({ ...stats, answeredByModel: { ...stats.answeredByModel } }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        server.closeAllConnections();
      }),
  };
}

/** The text of the last user message; content may be a string or an array of `{type:'text', text}` parts. */
function lastUserMessage(messages: unknown[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (!isObject(m) || m.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) return m.content.map((p: unknown) => (isObject(p) && typeof p.text === 'string' ? p.text : '')).join('');
  }
  return '';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new RangeError('request body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err: unknown) {
    // The request handler answers any thrown error with a 400 carrying this message.
    throw new SyntaxError('request body is not JSON', { cause: err });
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

function sendError(res: ServerResponse, status: number, message: string, type: string, code: string | null, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify({ error: { message, type, param: null, code } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

/** Small seeded PRNG (mulberry32): the same seed gives the same fault sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
