/**
 * A matrix of f32 rows and one query vector in WebAssembly memory, scored by one SIMD call (dot-rows.wat):
 * the neighbour memory's search. 2,048 × 100 took 14 µs a query against 30 µs through a tfjs matMul (the
 * same wasm work, plus creating, reading back and freeing tensors) and 93 µs in a plain typed-array loop
 * (`npm run bench:micro`, Node 20).
 */
import { DOT_ROWS_WASM_BASE64 } from './dot-rows-kernel.js';

interface DotRowsExports {
  memory: WebAssembly.Memory;
  dotRows(query: number, rows: number, count: number, stride: number, out: number): void;
}

let compiled: WebAssembly.Module | undefined;

/** True when this runtime runs WebAssembly SIMD (every Node ≥ 16.4). */
export function simdAvailable(): boolean {
  try {
    return WebAssembly.validate(Buffer.from(DOT_ROWS_WASM_BASE64, 'base64'));
  } catch {
    return false;
  }
}

const PAGE_BYTES = 65_536;

export class DotRows {
  /** Floats per row and per query: the width rounded up to a multiple of 4 (the padding stays 0). */
  readonly stride: number;
  /** The rows, `capacity` × `stride`, row-major: write rows here. */
  readonly rows: Float32Array;
  /** The query: write it here before {@link score}. */
  readonly query: Float32Array;
  /** Each row's score after {@link score}. */
  readonly scores: Float32Array;
  private readonly exports: DotRowsExports;
  private readonly queryAt: number;
  private readonly rowsAt: number;
  private readonly scoresAt: number;

  /** Room for `capacity` rows of `width` floats, zeroed. */
  constructor(capacity: number, width: number) {
    this.stride = Math.ceil(width / 4) * 4;
    const blockRows = Math.ceil(capacity / 4) * 4;
    compiled ??= new WebAssembly.Module(Buffer.from(DOT_ROWS_WASM_BASE64, 'base64'));
    this.exports = new WebAssembly.Instance(compiled, {}).exports as unknown as DotRowsExports;
    this.queryAt = 0;
    this.scoresAt = this.stride * 4;
    this.rowsAt = this.scoresAt + blockRows * 4;
    const bytes = this.rowsAt + blockRows * this.stride * 4;
    const memory = this.exports.memory;
    const missing = Math.ceil(bytes / PAGE_BYTES) - memory.buffer.byteLength / PAGE_BYTES;
    if (missing > 0) memory.grow(missing);
    this.query = new Float32Array(memory.buffer, this.queryAt, this.stride);
    this.scores = new Float32Array(memory.buffer, this.scoresAt, blockRows);
    this.rows = new Float32Array(memory.buffer, this.rowsAt, blockRows * this.stride);
  }

  /** Scores rows 0..count−1 (and the rest of their block of four) against the query into {@link scores}. */
  score(count: number): void {
    const blockRows = Math.ceil(count / 4) * 4;
    this.exports.dotRows(this.queryAt, this.rowsAt, blockRows, this.stride, this.scoresAt);
  }
}
