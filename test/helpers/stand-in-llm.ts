/**
 * A stand-in LLM on node:http that speaks the OpenAI protocol (the only test double the project allows):
 * it forwards to the project's replay server while `mode` is 'ok', and misbehaves on demand otherwise —
 * 401 echoing the key, 404 model_not_found, 503, a body that never ends. Tests flip `mode` mid-run.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StandInMode = 'ok' | 'unauthorized' | 'unknown-model' | 'down' | 'drip';

export interface StandInLlm {
  /** Base URL ending in /v1. */
  readonly url: string;
  mode: StandInMode;
  /** Chat-completion requests seen, by the mode they met. */
  readonly chats: Record<StandInMode, number>;
  /** Every request seen (models list included: the probes). */
  readonly requests: number;
  close(): Promise<void>;
}

function error(res: ServerResponse, status: number, message: string, code: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message, type: 'invalid_request_error', code } }));
}

/** Starts the stand-in in front of `upstream` (a replay server's /v1 URL). */
export async function startStandInLlm(upstream: string, mode: StandInMode = 'ok'): Promise<StandInLlm> {
  const chats: Record<StandInMode, number> = { ok: 0, unauthorized: 0, 'unknown-model': 0, down: 0, drip: 0 };
  const state = { mode, requests: 0 };
  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const path = (req.url ?? '').replace(/^\/v1/, '');
    const isChat = path.startsWith('/chat/completions');
    state.requests++;
    if (isChat) chats[state.mode]++;
    switch (state.mode) {
      case 'unauthorized':
        return error(res, 401, `Incorrect API key provided: ${String(req.headers.authorization)}`, 'invalid_api_key');
      case 'unknown-model':
        if (!isChat) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ object: 'list', data: [{ id: 'some-other-model', object: 'model', created: 0, owned_by: 'x' }] }));
          return;
        }
        return error(res, 404, 'The model does not exist', 'model_not_found');
      case 'down':
        return error(res, 503, 'overloaded', 'server_error');
      case 'drip':
        if (!isChat) break;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"id":"x","choices":[');
        {
          const drip = setInterval(() => res.write(' '), 200);
          res.on('close', () => clearInterval(drip));
        }
        return;
      default:
        break;
    }
    const forwarded = await fetch(`${upstream}${path}`, {
      method: req.method ?? 'GET',
      headers: { 'content-type': 'application/json' },
      ...(req.method === 'POST' ? { body: body.toString('utf8') } : {}),
    });
    res.writeHead(forwarded.status, { 'content-type': forwarded.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await forwarded.arrayBuffer()));
  };
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(parts)).catch(() => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return {
    url,
    get mode() {
      return state.mode;
    },
    set mode(m: StandInMode) {
      state.mode = m;
    },
    chats,
    get requests() {
      return state.requests;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
