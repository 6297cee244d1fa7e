/**
 * Cache keys: task + teacher model + normalized text (src/text/normalize.ts), hashed so a key is bounded (40 hex
 * chars) whatever the text.
 */
import { createHash } from 'node:crypto';
import { normalizeText } from '../text/index.js';

export { normalizeText };

/** The namespace a key lives in: one task answered by one teacher model. */
export function cacheScope(task: string, model: string): string {
  return `${task}\u0000${model}`;
}

/**
 * The cache key of a text for a task and teacher: sha1 (hex) of task, model and normalized text.
 * sha1 is used for its spread and speed, not for security: a collision would only reuse a wrong answer.
 */
export function cacheKey(task: string, model: string, text: string): string {
  return createHash('sha1').update(cacheScope(task, model)).update('\u0000').update(normalizeText(text)).digest('hex');
}
