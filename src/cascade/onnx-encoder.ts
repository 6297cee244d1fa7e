/**
 * The default sentence encoder `e5-small` (`cascade.sentenceEncoder: e5-small`): intfloat/e5-small-v2 (Wang et
 * al. 2022, MIT; a 12-layer MiniLM, 384-d), int8-quantised ONNX, run by onnxruntime-node on the CPU. Its two
 * files are fetched once from Maven Central into the model cache folder (encoder-files.ts); this module only
 * loads and runs them.
 *
 * Why this one: with the labels a 31 % budget buys on isear, a linear model on its vectors agrees with
 * GPT-3.5 on ~8 points more held-out items than on USE-lite's, and it encodes ~2× faster here
 * (docs/benchmarks.md). The vector is e5's: the mean of the last hidden states over the text's tokens,
 * unit length, the text prefixed with "query: " as its authors ask for classification.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { ModelStateError } from '../errors.js';
import type { E5SmallThreadReply, E5SmallThreadRequest } from './e5-small-protocol.js';
import { defaultModelCacheDir, e5SmallDir, E5_SMALL_ARTIFACT } from './encoder-files.js';
import { startModuleWorker } from './module-worker.js';
import { BatchingEncoder, type EncoderOptions } from './sentence-encoder.js';
import { usableCores } from './usable-cores.js';

const MODEL_FILE = E5_SMALL_ARTIFACT.modelFile;
const TOKENIZER_FILE = E5_SMALL_ARTIFACT.tokenizerFile;
const DIMENSIONS = 384;

export interface E5SmallOptions extends EncoderOptions {
  /** The folder holding the model's two files. @defaultValue e5-small's folder in {@link defaultModelCacheDir} */
  dir?: string;
  /** Threads of one model run. @defaultValue every core */
  threads?: number;
}

interface Request {
  resolve: (vectors: Float32Array) => void;
  reject: (err: unknown) => void;
}

/**
 * The thread every e5-small model of the process runs on (e5-small-worker.ts), started with the first and
 * never terminated: it holds the process open only while a batch is on it.
 */
class EncoderThread {
  private readonly thread: Worker;
  private readonly requests = new Map<number, Request>();
  private readonly loads = new Map<number, (reply: E5SmallThreadReply) => void>();
  private nextId = 0;
  private nextSession = 0;
  /** Why the thread is gone: every waiting and later batch fails with it. */
  broken: ModelStateError | undefined;

  constructor() {
    this.thread = startModuleWorker('./e5-small-worker', import.meta.url, undefined);
    this.thread.unref();
    this.thread.on('message', (reply: E5SmallThreadReply) => this.receive(reply));
    this.thread.on('error', (err: Error) => this.fail(new ModelStateError('e5-small', `the encoder's thread failed: ${err.message}`, { cause: err })));
    this.thread.on('exit', (code: number) => this.fail(new ModelStateError('e5-small', `the encoder's thread exited (code ${String(code)})`)));
  }

  /** Loads a model; resolves with its session number, or with why it did not load. */
  load(modelPath: string, tokenizerPath: string, threads: number): Promise<number | Extract<E5SmallThreadReply, { type: 'failed' }>> {
    const session = this.nextSession++;
    return new Promise((resolve) => {
      this.loads.set(session, (reply) => resolve(reply.type === 'failed' ? reply : session));
      this.send({ type: 'load', session, modelPath, tokenizerPath, threads, dimensions: DIMENSIONS });
    });
  }

  encode(session: number, texts: string[]): Promise<Float32Array> {
    if (this.broken !== undefined) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise<Float32Array>((resolve, reject) => {
      this.requests.set(id, { resolve, reject });
      this.send({ type: 'encode', session, id, texts });
    });
  }

  release(session: number): void {
    if (this.broken === undefined) this.send({ type: 'release', session });
  }

  private send(request: E5SmallThreadRequest): void {
    // A load or a batch holds the process open until the last answer is in (receive); a release has no answer.
    if (request.type !== 'release') this.thread.ref();
    this.thread.postMessage(request);
  }

  private receive(reply: E5SmallThreadReply): void {
    if (reply.type === 'ready' || reply.type === 'failed') {
      this.loads.get(reply.session)?.(reply);
      this.loads.delete(reply.session);
    } else {
      const request = this.requests.get(reply.id);
      this.requests.delete(reply.id);
      if (reply.type === 'vectors') request?.resolve(reply.vectors);
      else request?.reject(new ModelStateError('e5-small', `the model failed on a batch: ${reply.message}`));
    }
    if (this.requests.size + this.loads.size === 0) this.thread.unref();
  }

  private fail(err: ModelStateError): void {
    this.broken ??= err;
    if (thread === this) thread = undefined; // the next load starts a new thread
    for (const request of this.requests.values()) request.reject(this.broken);
    for (const [session, loaded] of this.loads) loaded({ type: 'failed', session, what: 'model', message: this.broken.message });
    this.requests.clear();
    this.loads.clear();
  }
}

let thread: EncoderThread | undefined;

/**
 * e5-small, run on a thread of its own (e5-small-worker.ts): the event loop stays free for decisions,
 * learning and the LLM's answers while a batch encodes.
 */
export class E5SmallEncoder extends BatchingEncoder {
  readonly name = 'e5-small';
  readonly dimensions = DIMENSIONS;
  // e5's vectors share one direction (cosine ≈ 0.8 between any two texts): centred and scaled ×4 the mid
  // stage agrees with the LLM on 3–6 points more held-out items (npm run bench:ceiling, docs/benchmarks.md).
  readonly midInput = { centre: true, scale: 4 };
  private disposed = false;

  constructor(
    private readonly host: EncoderThread,
    private readonly session: number,
    private readonly dir: string,
    options: EncoderOptions = {},
  ) {
    super(options);
  }

  override dispose(): void {
    if (!this.disposed) this.host.release(this.session);
    this.disposed = true;
    super.dispose();
  }

  protected run(texts: string[]): Promise<Float32Array> {
    if (this.disposed) return Promise.reject(new ModelStateError(this.dir, 'the e5-small encoder was disposed'));
    return this.host.encode(this.session, texts);
  }
}

/**
 * Loads e5-small from `dir` (files already there: see fetchE5Small). Throws a ModelStateError that says what
 * to do when onnxruntime-node does not load or the model files are missing or do not load: this function
 * never replaces the encoder that was asked for.
 */
export async function loadE5Small(options: E5SmallOptions = {}, logger?: Logger): Promise<E5SmallEncoder> {
  const started = Date.now();
  const dir = options.dir ?? e5SmallDir(defaultModelCacheDir());
  const modelPath = path.join(dir, MODEL_FILE);
  const tokenizerPath = path.join(dir, TOKENIZER_FILE);
  if (!existsSync(modelPath) || !existsSync(tokenizerPath)) {
    throw new ModelStateError(dir, 'the e5-small model is not there (cascade.sentenceEncoder: e5-small): `spillway encoder fetch` downloads it');
  }
  // Every core by default: the model runs on its own thread, so the event loop keeps its turn (on the event
  // loop's thread, a backlog on 2 cores spent three quarters of its time inside the model's runs). Every core
  // this process may use: a container's CPU quota caps it.
  const cores = options.threads === undefined ? usableCores() : undefined;
  const threads = options.threads ?? cores!.cores;
  const host = (thread ??= new EncoderThread());
  const loaded = await host.load(modelPath, tokenizerPath, threads);
  if (typeof loaded !== 'number') {
    throw loaded.what === 'runtime'
      ? new ModelStateError('onnxruntime-node', `does not load on this machine (cascade.sentenceEncoder: e5-small needs it; glove does not): ${loaded.message}`)
      : new ModelStateError(dir, `the e5-small model files do not load: ${loaded.message}`);
  }
  const encoder = new E5SmallEncoder(host, loaded, dir, options);
  logger?.info(
    {
      encoder: encoder.name,
      dimensions: encoder.dimensions,
      runtime: 'onnxruntime-node (cpu, own thread)',
      threads,
      ...(cores?.quota !== undefined && { cpuQuota: cores.quota, cpus: cores.cpus }),
      ms: Date.now() - started,
    },
    'sentence encoder loaded',
  );
  return encoder;
}
