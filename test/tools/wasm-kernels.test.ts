import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assemble, KERNELS, kernelModule } from '../../tools/wasm/build-kernels.js';

describe('the WebAssembly kernels', () => {
  it.each(KERNELS.map((k) => [k.module, k] as const))('%s holds the binary of its text source (else: npm run wasm:build)', async (_, kernel) => {
    expect(readFileSync(kernel.module, 'utf8')).toBe(kernelModule(kernel, await assemble(kernel.source)));
  });
});
