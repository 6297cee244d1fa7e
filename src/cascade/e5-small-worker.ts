/**
 * The e5-small encoder's own thread (see onnx-encoder.ts). onnxruntime-node runs a model synchronously on the
 * thread that calls it: on the event loop's thread every batch stalled decisions, learning and the LLM's
 * answers for its whole run (a backlog on 2 cores spent three quarters of its time there). Here the model
 * runs beside them.
 *
 * One such thread serves every encoder of the process, each model a session in it, and it is never
 * terminated: onnxruntime's environment is the process's, and a thread that held it tearing down crashed the
 * next (free(): invalid pointer). Messages: e5-small-protocol.ts.
 */
import { parentPort } from 'node:worker_threads';
import { readFile } from 'node:fs/promises';
import type * as OrtModule from 'onnxruntime-node';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { WordPieceTokenizer, type WordPieceJson } from '../text/index.js';
import type { E5SmallThreadReply, E5SmallThreadRequest } from './e5-small-protocol.js';

// Tokens per text: the model takes 512, but the first 128 carry a sentence's gist and cost a sixteenth of
// the attention (the datasets' texts are shorter than that nearly always).
const MAX_TOKENS = 128;
const PREFIX = 'query: ';

type Ort = typeof OrtModule;

/** One model run over the batch, padded to its longest text; mean pooling over the real tokens, unit length. */
async function encodeBatch(ort: Ort, session: InferenceSession, tokenizer: WordPieceTokenizer, texts: string[], d: number): Promise<Float32Array> {
  const ids = texts.map((t) => tokenizer.encodeForModel(PREFIX + t, MAX_TOKENS));
  const width = Math.max(...ids.map((x) => x.length));
  const n = ids.length;
  const inputIds = new BigInt64Array(n * width);
  const mask = new BigInt64Array(n * width);
  ids.forEach((row, r) =>
    row.forEach((id, c) => {
      inputIds[r * width + c] = BigInt(id);
      mask[r * width + c] = 1n;
    }),
  );
  const shape = [n, width];
  const feeds: Record<string, Tensor> = {
    input_ids: new ort.Tensor('int64', inputIds, shape),
    attention_mask: new ort.Tensor('int64', mask, shape),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(n * width), shape),
  };
  const result = await session.run(feeds);
  const hidden = result.last_hidden_state;
  if (hidden === undefined) throw new Error('the model gave no last_hidden_state');
  const h = hidden.data as Float32Array;
  const out = new Float32Array(n * d);
  ids.forEach((row, r) => {
    const v = out.subarray(r * d, (r + 1) * d);
    for (let c = 0; c < row.length; c++) {
      const at = (r * width + c) * d;
      for (let k = 0; k < d; k++) v[k] = (v[k] as number) + (h[at + k] as number);
    }
    let norm = 0;
    for (let k = 0; k < d; k++) norm += (v[k] as number) ** 2;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let k = 0; k < d; k++) v[k] = (v[k] as number) * scale;
  });
  return out;
}

interface Model {
  session: InferenceSession;
  tokenizer: WordPieceTokenizer;
  dimensions: number;
}

function serve(port: NonNullable<typeof parentPort>): void {
  const reply = (message: E5SmallThreadReply, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);
  const models = new Map<number, Promise<Model | undefined>>();
  let runtime: Promise<Ort> | undefined;

  async function load(request: Extract<E5SmallThreadRequest, { type: 'load' }>): Promise<Model | undefined> {
    let ort: Ort;
    try {
      ort = await (runtime ??= import('onnxruntime-node'));
    } catch (err: unknown) {
      reply({ type: 'failed', session: request.session, what: 'runtime', message: err instanceof Error ? err.message : String(err) });
      return undefined;
    }
    try {
      const tokenizer = new WordPieceTokenizer(JSON.parse(await readFile(request.tokenizerPath, 'utf8')) as WordPieceJson);
      const session = await ort.InferenceSession.create(request.modelPath, {
        intraOpNumThreads: request.threads,
        interOpNumThreads: 1,
        // No `allow_spinning` option for the intra-op pool: this runtime's binding ignores `extra` config
        // entries (onnxruntime-node takes them from 1.21, whose install fetches CUDA files), so idle pool threads
        // spin; `cascade.encoderThreads` is how a host shared by several workers is kept from oversubscription.
      });
      reply({ type: 'ready', session: request.session });
      return { session, tokenizer, dimensions: request.dimensions };
    } catch (err: unknown) {
      reply({ type: 'failed', session: request.session, what: 'model', message: err instanceof Error ? err.message : String(err) });
      return undefined;
    }
  }

  port.on('message', (request: E5SmallThreadRequest) => {
    switch (request.type) {
      case 'load':
        models.set(request.session, load(request));
        return;
      case 'release': {
        const model = models.get(request.session);
        models.delete(request.session);
        void model?.then((m) => m?.session.release());
        return;
      }
      case 'encode': {
        const model = models.get(request.session) ?? Promise.resolve(undefined);
        model
          .then(async (m) => {
            if (m === undefined) throw new Error('the model is not loaded');
            const ort = await (runtime as Promise<Ort>);
            return encodeBatch(ort, m.session, m.tokenizer, request.texts, m.dimensions);
          })
          .then(
            (vectors) => reply({ type: 'vectors', id: request.id, vectors }, [vectors.buffer as ArrayBuffer]),
            (err: unknown) => reply({ type: 'error', id: request.id, message: err instanceof Error ? err.message : String(err) }),
          );
        return;
      }
    }
  });
}

if (parentPort !== null) serve(parentPort);
