/**
 * The built-in demo: a synthetic stream of product reviews and a *simulated* teacher, so `spillway start`
 * shows the cascade learning with no data, no LLM endpoint and no key. The teacher is a keyword rule, not an
 * LLM; every place that shows it says so.
 */
import { Rng, type Item } from '../cascade/index.js';
import type { LlmAnswer, Task, Teacher } from '../llm/index.js';

export const DEMO_TASK: Task = {
  name: 'demo-review-sentiment',
  description: 'Is this product review positive or negative? (built-in demo, simulated teacher)',
  labels: ['negative', 'positive'],
  positiveLabel: 1,
  prompt: { system: 'Answer with one word: positive or negative.', user: 'Review: {text}\nSentiment:' },
};

const PRODUCTS = ['blender', 'headset', 'kettle', 'backpack', 'lamp', 'keyboard', 'router', 'jacket', 'monitor', 'drill', 'tent', 'phone case'];
const GOOD = ['great', 'excellent', 'sturdy', 'reliable', 'lovely', 'quiet', 'comfortable', 'fast', 'well made', 'worth every penny'];
const BAD = ['broken', 'flimsy', 'noisy', 'useless', 'disappointing', 'slow', 'cheap-feeling', 'faulty', 'overpriced', 'a waste of money'];
const NEUTRAL = ['arrived on Tuesday', 'came in a box', 'is blue', 'was a gift', 'replaced my old one', 'took a week to ship'];
const TEMPLATES = [
  (p: string, a: string) => `The ${p} is ${a}.`,
  (p: string, a: string) => `Honestly, this ${p} turned out ${a}.`,
  (p: string, a: string, n: string) => `My ${p} ${n} and it is ${a}.`,
  (p: string, a: string) => `I would say the ${p} feels ${a} overall.`,
  (p: string, a: string, n: string) => `The ${p} ${n}; not sure yet, but it seems ${a}.`,
];

/** `count` synthetic reviews; about one in six repeats an earlier one (streams repeat themselves). */
export function demoItems(count: number, seed = 7): Item[] {
  const rng = new Rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)] as T;
  const items: Item[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 20 && rng.next() < 0.16) {
      const again = items[rng.int(items.length)] as Item;
      items.push({ id: `demo-${i + 1}`, text: again.text });
      continue;
    }
    const positive = rng.next() < 0.5;
    const text = pick(TEMPLATES)(pick(PRODUCTS), pick(positive ? GOOD : BAD), pick(NEUTRAL));
    items.push({ id: `demo-${i + 1}`, text });
  }
  return items;
}

/** A keyword rule standing in for an LLM in the demo. Its `model` name says it is simulated. */
export class SimulatedTeacher implements Teacher {
  readonly model = 'simulated-keyword-teacher';
  private readonly good = new RegExp(`\\b(${GOOD.join('|')})\\b`, 'i');
  private readonly bad = new RegExp(`\\b(${BAD.join('|')})\\b`, 'i');

  async classify(text: string): Promise<LlmAnswer> {
    const labelId = this.bad.test(text) ? 0 : this.good.test(text) ? 1 : null;
    return { labelId, raw: labelId === null ? 'unsure' : (DEMO_TASK.labels[labelId] as string), model: this.model, latencyMs: 0, attempts: 1 };
  }
}
