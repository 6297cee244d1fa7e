/**
 * Learning keeps pace with the pipeline. Items are decided one at a time, in the order they reach the gate,
 * and an item is decided only once few enough of the LLM labels granted before it are still on their way: its
 * small stages then answer, and its deferral is judged, with what the labels ahead of it taught them, as in a
 * walk through the stream one item at a time. How many labels may be on their way (the lag) grows with the
 * labels learned: young stages learn most from each label, so a backlog is consumed at the pace the LLM's
 * answers arrive, and faster as the stages mature (`cascade.labelLagMin`, `cascade.labelLagRatio`).
 *
 * Workers that share learning (`spillway run`) learn every worker's labels as they are answered, so the labels
 * on their way to a worker's stages are the whole group's: each worker takes its share of the lag (its share of
 * the input partitions, {@link LearningPace.groupShare}), and the group decides with stages as fresh as one
 * worker's would be.
 *
 * An item that keeps its turn (a cold stage with no budget left, see Cascade) holds every item behind it: the
 * window fills and the source pauses, so a backlog waits where it is (Kafka offsets, the file) rather than
 * being answered by stages that have not learned. With a latency bound (`llm.deadlineMs`) no item waits for
 * its turn longer than `maxWaitMs`.
 */

export interface LearningPaceOptions {
  /** Labels that may be on their way when an item is decided, however young the stages. */
  minLag: number;
  /** Extra labels that may be on their way per label learned (the lag grows as the stages mature). */
  lagRatio: number;
  /**
   * With a latency bound: labels on their way a small-stage answer may miss without waiting for them, as a
   * share of the labels learned (see {@link LearningPace.learnedAhead}). @defaultValue 0.1
   */
  answerLagShare?: number;
  /** LLM labels the stages have learned so far. */
  labels: () => number;
  /** True while decisions do not depend on the stages (the warm-up sends every item): no wait for labels. @defaultValue never */
  free?: () => boolean;
  /**
   * The LLM's answer time, ms: the lag is scaled by it over a second. Waiting costs the pipeline that long per
   * label, so an LLM that answers in milliseconds is waited for (a walk one item at a time, at little cost), one
   * that takes a second gets the full lag. @defaultValue 1000 (the full lag)
   */
  latencyMs?: () => number;
  /**
   * Longest wait for the group's labels to be learned here (see {@link LearningPace.watchShared}), ms: a label
   * topic held up (an open transaction) must not stall the worker. @defaultValue 2000
   */
  sharedWaitMs?: number;
  /** Longest wait for a turn, ms (a latency bound); Infinity: as long as learning needs. @defaultValue Infinity */
  maxWaitMs?: number;
  now?: () => number;
}

interface LearningWaiter {
  labels: number;
  done: boolean;
  resolve: () => void;
}

interface Waiter {
  since: number;
  enter: () => void;
}

export class LearningPace {
  private readonly opts: LearningPaceOptions;
  private readonly now: () => number;
  private readonly queue: Waiter[] = [];
  private head = 0;
  private busy = false;
  /** Tickets of the labels on their way (one per granted call, in the order granted). */
  private readonly onTheirWay = new Set<number>();
  private nextTicket = 0;
  private landings: Array<() => void> = [];
  private through: Array<{ ticket: number; resolve: () => void }> = [];
  /** Answers waiting for the stages to have learned `labels` labels, in the order they started waiting. */
  private learning: LearningWaiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private released = false;
  /** Items that waited for their turn. */
  paced = 0;
  private share = 1;
  /** Labels the group published that this worker has not learned yet (shared learning); none alone. */
  private pendingShared: () => number = () => 0;
  private sharedTimer: NodeJS.Timeout | undefined;

  constructor(options: LearningPaceOptions) {
    this.opts = options;
    this.now = options.now ?? (() => performance.now());
  }

  /** Granted LLM labels not learned yet (calls in flight, answers not yet learned from). */
  get outstanding(): number {
    return this.onTheirWay.size;
  }

  /** The ticket the next granted call will get: every label sent before now has a lower one. */
  get issued(): number {
    return this.nextTicket;
  }

  /** Labels that may be on their way now. */
  get lag(): number {
    const scale = Math.min(1, Math.max(0, (this.opts.latencyMs?.() ?? 1_000) / 1_000));
    return Math.floor(scale * this.share * Math.max(this.opts.minLag, this.opts.lagRatio * this.opts.labels()));
  }

  /**
   * Shared learning: `pending` counts the labels the group published that this worker's stages have not
   * learned yet. An item is decided only once few of them are left (or after `sharedWaitMs`), so
   * a worker whose label learning falls behind (it learns every other worker's labels besides deciding its
   * own items) decides with stages as fresh as one worker's, rather than hundreds of labels behind. Call
   * {@link nudge} whenever the count falls.
   */
  watchShared(pending: () => number): void {
    this.pendingShared = pending;
  }

  /** The group's labels learned here moved on: a waiting item may now take its turn. */
  nudge(): void {
    if (this.learning.length > 0) this.releaseLearned();
    this.pump();
  }

  /** This worker's share of a group that learns together, in (0, 1]: its part of the group's lag. */
  get groupShare(): number {
    return this.share;
  }

  set groupShare(share: number) {
    if (!(share > 0)) return;
    this.share = Math.min(1, share);
    this.pump();
  }

  /** Items waiting for their turn. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  /**
   * Takes the next turn: `true` at once when it is free (no await on the hot path), else a promise that
   * resolves when it comes. The holder decides its item, then calls {@link leave}.
   */
  enter(): true | Promise<void> {
    if (!this.busy && this.waiting === 0 && this.ready()) {
      this.busy = true;
      return true;
    }
    this.paced++;
    return new Promise<void>((enter) => {
      this.queue.push({ since: this.now(), enter });
      this.arm();
      this.pump(); // arms the shared wait's timer when the group's labels hold it
    });
  }

  /** The holder has decided its item: the next item may take its turn when the lag allows. */
  leave(): void {
    this.busy = false;
    this.pump();
  }

  /** A granted LLM call: its label is on its way. Returns its ticket, for {@link landed}. */
  sent(): number {
    const ticket = this.nextTicket++;
    this.onTheirWay.add(ticket);
    return ticket;
  }

  /** The label of `ticket` was learned (or its call failed, or it will not come in time): one fewer on its way. */
  landed(ticket: number): void {
    if (!this.onTheirWay.delete(ticket)) return;
    const waiting = this.landings;
    this.landings = [];
    for (const resolve of waiting) resolve();
    if (this.through.length > 0) this.releaseThrough();
    if (this.learning.length > 0) this.releaseLearned();
    this.pump();
  }

  /**
   * Resolves once every label sent before `ticket` was issued has landed: an item decided with labels on their
   * way answers with what they taught (see Cascade), without holding up the decisions behind it.
   */
  landedThrough(ticket: number): Promise<void> {
    if (this.lowest() >= ticket) return Promise.resolve();
    return new Promise((resolve) => this.through.push({ ticket, resolve }));
  }

  /**
   * With a latency bound, an answer decided while labels were on their way cannot wait for those very labels
   * (a low-priority call may be shed, or answer near the deadline): it waits until the stages have learned as
   * many more labels as were on their way when it was decided, beyond the few that young stages can miss
   * (`answerLagShare` of the labels learned then, or of `minLag` if more), or `maxMs`, whichever comes first. A label is a label: any
   * that lands teaches the stages as much as the ones ahead of the item would have. Undefined (nothing to wait
   * for) when the stages are mature enough that the labels on their way are a small share of what they know.
   */
  learnedAhead(maxMs: number): Promise<void> | undefined {
    const learned = this.opts.labels();
    // Counted over at least the lag's floor: a huge floor sets learning's pace aside, for answers too.
    const missing = this.onTheirWay.size - Math.floor((this.opts.answerLagShare ?? 0.1) * Math.max(learned, this.opts.minLag));
    if (missing <= 0 || !(maxMs > 0) || this.released) return undefined;
    return new Promise((resolve) => {
      const waiter: LearningWaiter = { labels: learned + missing, done: false, resolve: () => {} };
      const timer = setTimeout(() => waiter.resolve(), maxMs);
      waiter.resolve = () => {
        if (waiter.done) return;
        waiter.done = true;
        clearTimeout(timer);
        resolve();
      };
      this.learning.push(waiter);
    });
  }

  /** Resolves at the next {@link landed} (a turn's holder waiting for its cold stage to learn). */
  landing(): Promise<void> {
    return new Promise((resolve) => this.landings.push(resolve));
  }

  /** Releases every waiting item (shutdown): they are decided with what the stages know. */
  releaseAll(): void {
    this.released = true;
    for (const resolve of this.landings.splice(0)) resolve();
    for (const waiter of this.through.splice(0)) waiter.resolve();
    for (const waiter of this.learning.splice(0)) waiter.resolve();
    this.pump();
  }

  private ready(waitedMs = 0): boolean {
    if (this.released || this.opts.free?.() === true) return true;
    if (this.onTheirWay.size > this.lag) return false;
    return waitedMs >= (this.opts.sharedWaitMs ?? 2_000) || this.pendingShared() <= this.sharedLag();
  }

  /**
   * The group's labels that may wait here to be learned: the lag's floor (`minLag`, scaled by the LLM's answer
   * time), not the lag. The lag bounds labels at the LLM, which an LLM's pace keeps far below it as the stages
   * mature; labels waiting here wait for CPU only, and learning them keeps a few behind the group's.
   */
  private sharedLag(): number {
    const scale = Math.min(1, Math.max(0, (this.opts.latencyMs?.() ?? 1_000) / 1_000));
    return Math.floor(scale * this.opts.minLag);
  }

  /** The lowest ticket still on its way (Infinity: none). At most the lag's worth are: a scan is cheap. */
  private lowest(): number {
    let low = Number.POSITIVE_INFINITY;
    for (const ticket of this.onTheirWay) if (ticket < low) low = ticket;
    return low;
  }

  private releaseThrough(): void {
    const low = this.lowest();
    const keep: Array<{ ticket: number; resolve: () => void }> = [];
    for (const waiter of this.through) {
      if (low >= waiter.ticket) waiter.resolve();
      else keep.push(waiter);
    }
    this.through = keep;
  }

  /** Lets go the answers whose stages have learned what they waited for (or whose wait timed out). */
  private releaseLearned(): void {
    const learned = this.opts.labels();
    this.learning = this.learning.filter((waiter) => {
      if (waiter.done) return false;
      if (waiter.labels > learned) return true;
      waiter.resolve();
      return false;
    });
  }

  private pump(): void {
    if (this.busy || this.waiting === 0) return;
    const first = this.queue[this.head] as Waiter;
    const waited = this.now() - first.since;
    if (!this.ready(waited) && waited < (this.opts.maxWaitMs ?? Infinity)) {
      this.armShared();
      return;
    }
    this.busy = true;
    this.queue[this.head++] = undefined as unknown as Waiter;
    // Compact now and then: a backlog queues thousands.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    first.enter();
  }

  /** While the group's labels hold the first waiter, a timer lets it in once `sharedWaitMs` is up. */
  private armShared(): void {
    if (this.sharedTimer !== undefined || this.pendingShared() <= this.sharedLag()) return;
    this.sharedTimer = setTimeout(() => {
      this.sharedTimer = undefined;
      this.pump();
    }, this.opts.sharedWaitMs ?? 2_000);
    this.sharedTimer.unref?.();
  }

  /** With a latency bound, a timer lets the first waiter in once its wait is up. */
  private arm(): void {
    const maxWaitMs = this.opts.maxWaitMs ?? Infinity;
    if (!Number.isFinite(maxWaitMs) || this.timer !== undefined) return;
    this.timer = setInterval(
      () => {
        this.pump();
        if (this.waiting === 0) {
          clearInterval(this.timer);
          this.timer = undefined;
        }
      },
      Math.max(5, Math.min(250, maxWaitMs / 4)),
    );
    this.timer.unref?.();
  }
}
