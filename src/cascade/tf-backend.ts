/**
 * Picks the best TensorFlow.js backend present: native GPU (tfjs-node-gpu), native CPU (tfjs-node),
 * WebAssembly with SIMD, then plain JS. The native packages are optional dependencies whose install
 * downloads libtensorflow; where that download cannot happen they are simply absent and we fall through.
 * The wasm backend runs single-threaded here: its threaded build needs worker paths Node does not give it.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Logger } from 'pino';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** The tfjs backend name in use ('tensorflow', 'wasm' or 'cpu'). */
  name: string;
  /** The package that provides it. */
  provider: string;
  /** Why earlier candidates were passed over. */
  skipped: string[];
}

const require = createRequire(import.meta.url);
let chosen: Promise<BackendInfo> | undefined;

async function tryNative(pkg: string): Promise<boolean> {
  try {
    // The native bindings register the 'tensorflow' backend as a side effect of loading.
    await import(pkg);
    return tf.findBackend('tensorflow') !== undefined && (await tf.setBackend('tensorflow'));
  } catch {
    return false;
  }
}

async function tryWasm(): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    // File paths, read by Emscripten's own Node loader (the platform fetch cannot read files).
    // Only the single-threaded SIMD build works in Node; threads would need worker script paths.
    wasm.setWasmPaths(`${dist}/`);
    wasm.setThreadsCount(1);
    return await tf.setBackend('wasm');
  } catch {
    return false;
  }
}

async function choose(preference: BackendChoice): Promise<BackendInfo> {
  const skipped: string[] = [];
  if (preference === 'auto' || preference === 'tensorflow') {
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      if (await tryNative(pkg)) return { name: 'tensorflow', provider: pkg, skipped };
      skipped.push(`${pkg}: not installed or libtensorflow missing`);
    }
  }
  if (preference !== 'cpu') {
    if (await tryWasm()) return { name: 'wasm', provider: '@tensorflow/tfjs-backend-wasm', skipped };
    skipped.push('@tensorflow/tfjs-backend-wasm: failed to initialise');
  }
  await tf.setBackend('cpu');
  return { name: 'cpu', provider: '@tensorflow/tfjs-backend-cpu', skipped };
}

/**
 * Selects the backend once per process (later calls return the first choice) and logs it.
 * `preference` narrows the candidates: 'wasm' skips the native packages, 'cpu' forces plain JS.
 */
export function selectBackend(preference: BackendChoice, logger?: Logger): Promise<BackendInfo> {
  chosen ??= choose(preference).then(async (info) => {
    await tf.ready();
    logger?.info({ backend: info.name, provider: info.provider, skipped: info.skipped }, 'tensorflow.js backend selected');
    return info;
  });
  return chosen;
}
