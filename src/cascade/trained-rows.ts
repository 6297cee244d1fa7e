/**
 * Which rows of a model's table have been trained: one bit per row, kept beside AdaGrad's squared-gradient
 * sums (a row is trained once its first sum has grown past the initial value). The novelty signal asks this
 * for every feature of every item; reading the sums instead meant a cache miss per feature in a table of
 * megabytes (the LR's 2^18 × classes sums), this reads 32 KB.
 */
export class TrainedRows {
  private readonly bits: Uint32Array;

  /** `rows` rows; `squares` (rows × `stride`): the sums to read the trained rows from, for a restored model. */
  constructor(rows: number, squares?: { values: Float32Array; stride: number; initial: number }) {
    this.bits = new Uint32Array((rows + 31) >>> 5);
    if (squares === undefined) return;
    for (let row = 0; row < rows; row++) if ((squares.values[row * squares.stride] as number) > squares.initial) this.mark(row);
  }

  mark(row: number): void {
    this.bits[row >>> 5] = (this.bits[row >>> 5] as number) | (1 << (row & 31));
  }

  has(row: number): boolean {
    return ((this.bits[row >>> 5] as number) & (1 << (row & 31))) !== 0;
  }
}
