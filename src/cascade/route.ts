/**
 * The route one item takes through the cascade, as a value: where it stands now, and, once settled, who
 * answered and why. The annotation's `reason` is derived from it, never assigned along the way. Moves are
 * checked against a table of the legal ones (after kafkajs's transaction state machine): a move the table does
 * not allow is a bug, and throws.
 *
 *   new ──► cache                                   a cached LLM answer
 *    │  ──► stage(confident | cold | llm-failed)    a small stage answered early (or the text's answer is known unparseable)
 *    │  ──► llm(shared)                             a call for the same text is on its way: the item shares it
 *    └──► gate ──► stage(confident | budget | cold) the LLM was not asked
 *          └──► llm(why) ──► answered               the LLM's answer
 *                        ──► stage(deadline | llm-failed | cold)
 */
import type { ForcedDraw } from './deferral-gate.js';
import type { AnnotationReason, Item } from './types.js';

/** Why a small stage's answer is the item's. */
export type SmallStageReason = 'confident' | 'budget' | 'cold' | 'deadline' | 'llm-failed' | 'uncertified';
/** Why the LLM was asked (`shared`: a call for the same text was already on its way; the item joined it). */
export type LlmReason = 'deferred' | 'warmup' | 'exploration' | 'audit' | 'shared';

/** Where an item stands. `cache`, `stage` and `answered` are settled: the item has its answer. */
export type RouteState =
  | { at: 'new' }
  | { at: 'cache' }
  | { at: 'gate' }
  | { at: 'llm'; why: LlmReason }
  | { at: 'answered'; why: LlmReason }
  | { at: 'stage'; why: SmallStageReason };

type Place = RouteState['at'];

const MOVES: Readonly<Record<Place, readonly Place[]>> = {
  new: ['cache', 'stage', 'gate', 'llm'],
  gate: ['stage', 'llm'],
  llm: ['answered', 'stage'],
  cache: [],
  stage: [],
  answered: [],
};

/** An item's route. Start with `new ItemRoute()`, move with `to`, read `reason` once settled. */
export class ItemRoute {
  private current: RouteState = { at: 'new' };

  get state(): Readonly<RouteState> {
    return this.current;
  }

  /** Moves on; throws an Error naming both places when the move is not a legal one. */
  to(next: RouteState): this {
    if (!MOVES[this.current.at].includes(next.at)) throw new Error(`illegal cascade route: ${this.current.at} → ${next.at}`);
    this.current = next;
    return this;
  }

  /** True once the item has its answer. */
  get settled(): boolean {
    return MOVES[this.current.at].length === 0;
  }

  /** The annotation's reason; throws while the route is not settled. */
  get reason(): AnnotationReason {
    const s = this.current;
    if (s.at === 'cache') return 'cache';
    if (s.at === 'stage' || s.at === 'answered') return s.why;
    throw new Error(`cascade route not settled: at ${s.at}`);
  }
}

/** One item on its way: what every step of its route reads. */
export interface ItemRun {
  item: Item;
  route: ItemRoute;
  /** Why it would go to the LLM whatever its score (drawn when it is decided). */
  draw: ForcedDraw;
  /** performance.now() when process() took it. */
  started: number;
  /** A call of its own was granted: the ticket of its label, on its way until the answer is learned. */
  ticket?: number;
}

/** The draw of an item decided without one (a cache hit, a shared call). */
export const NOT_DRAWN: ForcedDraw = { warmingUp: false, explore: false, audit: false, forced: false };
