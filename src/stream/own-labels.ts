/**
 * The labels this worker published to the label topic. The cascade learned each one inline, when its LLM answer
 * arrived, so its own stages profit at once; when the label comes back through the topic it is not learned a
 * second time. Bounded: past `capacity` the oldest are forgotten (a label whose transaction aborted never comes
 * back), and a forgotten one is at worst learned twice.
 */
export class OwnLabels {
  private readonly expected = new Map<string, number>();

  constructor(
    private readonly workerId: string,
    private readonly capacity = 100_000,
  ) {}

  /** Labels published and not yet seen back. */
  get size(): number {
    return this.expected.size;
  }

  /** A label this worker handed to the committer (and learned inline). */
  add(id: string, labelId: number): void {
    const key = keyOf(id, labelId);
    this.expected.set(key, (this.expected.get(key) ?? 0) + 1);
    if (this.expected.size > this.capacity) this.expected.delete(this.expected.keys().next().value as string);
  }

  /** True, and forgotten, when `label` is one this worker published and learned already. */
  take(label: { workerId: string; id: string; labelId: number }): boolean {
    if (label.workerId !== this.workerId) return false;
    const key = keyOf(label.id, label.labelId);
    const n = this.expected.get(key);
    if (n === undefined) return false;
    if (n > 1) this.expected.set(key, n - 1);
    else this.expected.delete(key);
    return true;
  }
}

function keyOf(id: string, labelId: number): string {
  return `${labelId}\u0000${id}`;
}
