/**
 * An OpenAI-compatible LLM on node:http for the outage tests and benchmark (no dataset behind it): it answers every chat
 * call with the label named in `answer` while `mode` is 'ok', fails every chat call with `status` (and
 * Retry-After, when set) while 'error', and never answers while 'stall'. Its models list keeps answering
 * (unless `modelsDown`), as real endpoints' often do while their chat calls fail. It records when each chat
 * call arrived.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OutageLlm {
  /** Base URL ending in /v1. */
  readonly url: string;
  readonly model: string;
  mode: 'ok' | 'error' | 'stall';
  /** The HTTP status of a failing chat call. @defaultValue 500 */
  status: number;
  /** Error code in the body of a failing call (OpenAI's `error.code`). */
  code: string | undefined;
  /** Retry-After of a failing call, seconds. */
  retryAfterS: number | undefined;
  /** The models list fails too, with `modelsStatus`. */
  modelsDown: boolean;
  /** @defaultValue 503 */
  modelsStatus: number;
  /** The label a chat call answers. */
  answer: string;
  /** When each chat call arrived (Date.now()). */
  readonly chatTimes: number[];
  /** Models-list requests seen. */
  readonly modelRequests: number;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export async function startOutageLlm(model = 'outage-test-model'): Promise<OutageLlm> {
  const state = {
    mode: 'ok' as OutageLlm['mode'],
    status: 500,
    code: undefined as string | undefined,
    retryAfterS: undefined as number | undefined,
    modelsDown: false,
    modelsStatus: 503,
    answer: 'positive',
    modelRequests: 0,
  };
  const chatTimes: number[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const path = (req.url ?? '').replace(/^\/v1/, '');
      if (path.startsWith('/models')) {
        state.modelRequests++;
        if (state.modelsDown) return json(res, state.modelsStatus, { error: { message: 'down', type: 'server_error', code: null } });
        return json(res, 200, { object: 'list', data: [{ id: model, object: 'model', created: 0, owned_by: 'test' }] });
      }
      if (!path.startsWith('/chat/completions')) return json(res, 404, { error: { message: 'no such route', type: 'invalid_request_error' } });
      chatTimes.push(Date.now());
      if (state.mode === 'stall') return; // never answered; closed by the client's deadline or close()
      if (state.mode === 'error') {
        const headers: Record<string, string> = state.retryAfterS === undefined ? {} : { 'retry-after': String(state.retryAfterS) };
        return json(res, state.status, { error: { message: 'failing on purpose', type: 'server_error', code: state.code ?? null } }, headers);
      }
      json(res, 200, {
        id: 'chatcmpl-test',
        object: 'chat.completion',
        created: 0,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: state.answer }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  const llm: OutageLlm = {
    url,
    model,
    chatTimes,
    get mode() {
      return state.mode;
    },
    set mode(m) {
      state.mode = m;
    },
    get status() {
      return state.status;
    },
    set status(s) {
      state.status = s;
    },
    get code() {
      return state.code;
    },
    set code(c) {
      state.code = c;
    },
    get retryAfterS() {
      return state.retryAfterS;
    },
    set retryAfterS(s) {
      state.retryAfterS = s;
    },
    get modelsDown() {
      return state.modelsDown;
    },
    set modelsDown(d) {
      state.modelsDown = d;
    },
    get modelsStatus() {
      return state.modelsStatus;
    },
    set modelsStatus(s) {
      state.modelsStatus = s;
    },
    get answer() {
      return state.answer;
    },
    set answer(a) {
      state.answer = a;
    },
    get modelRequests() {
      return state.modelRequests;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return llm;
}

/** Gaps between consecutive times, ms. */
export function gaps(times: readonly number[]): number[] {
  return times.slice(1).map((t, i) => t - (times[i] as number));
}
