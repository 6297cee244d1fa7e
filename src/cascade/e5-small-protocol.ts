/** The messages between e5-small encoders and the thread that runs their models (onnx-encoder.ts, e5-small-worker.ts). */

/** To the thread: load a model under the id `session` (an onnxruntime inference session), encode a batch with it, or release it. */
export type E5SmallThreadRequest =
  | { type: 'load'; session: number; modelPath: string; tokenizerPath: string; threads: number; dimensions: number }
  | { type: 'encode'; session: number; id: number; texts: string[] }
  | { type: 'release'; session: number };

/**
 * From the thread: a model loaded (or did not: `runtime` is onnxruntime-node itself, `model` the model's
 * files), or a batch's vectors (unit length, concatenated, transferred) or error.
 */
export type E5SmallThreadReply =
  | { type: 'ready'; session: number }
  | { type: 'failed'; session: number; what: 'runtime' | 'model'; message: string }
  | { type: 'vectors'; id: number; vectors: Float32Array }
  | { type: 'error'; id: number; message: string };
