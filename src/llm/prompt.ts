/**
 * Prompt rendering. The item's text goes only into the user message, substituted once for `{text}`:
 * it never reaches the system prompt and is never scanned for placeholders again, so a text that
 * contains `{text}` or instructions can change nothing but its own answer.
 */
import type { Task } from './types.js';

/** One chat message as OpenAI-compatible endpoints take it. */
export interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

const PLACEHOLDER = '{text}';

/** The user template split around its single `{text}` (loadTask guarantees there is exactly one). */
function splitTemplate(task: Task): { prefix: string; suffix: string } {
  const at = task.prompt.user.indexOf(PLACEHOLDER);
  if (at < 0) return { prefix: task.prompt.user, suffix: '' };
  return { prefix: task.prompt.user.slice(0, at), suffix: task.prompt.user.slice(at + PLACEHOLDER.length) };
}

/** The system and user messages for one item's text. */
export function renderMessages(task: Task, text: string): ChatMessage[] {
  const { prefix, suffix } = splitTemplate(task);
  // Concatenation, not String.replace: replace() would expand `$&`-style patterns found in the text.
  return [
    { role: 'system', content: task.prompt.system },
    { role: 'user', content: prefix + text + suffix },
  ];
}

/**
 * The inverse of renderMessages for the user message: the item's text, or null when the message does
 * not follow the task's template. Used by the replay server to find the recorded answer.
 */
export function extractText(task: Task, userMessage: string): string | null {
  const { prefix, suffix } = splitTemplate(task);
  if (userMessage.length < prefix.length + suffix.length) return null;
  if (!userMessage.startsWith(prefix) || !userMessage.endsWith(suffix)) return null;
  return userMessage.slice(prefix.length, userMessage.length - suffix.length);
}
