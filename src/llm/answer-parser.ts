/**
 * Maps an LLM's raw answer to a label id of the task, or null when the answer is unparseable.
 * Never guesses: an answer that names no label, names two different labels, hedges, or rambles is null.
 * Regexes are built once per task (STYLE §5), so parsing is a couple of regex scans per answer.
 */
import type { Task } from './types.js';

/** Limits beyond which an answer is rambling rather than a label. */
export interface AnswerParserOptions {
  /** Longest accepted answer, characters. @defaultValue 200 */
  maxChars?: number;
  /** Most words in an answer that names its label inside a sentence. @defaultValue 12 */
  maxWords?: number;
}

/** Words that make a one-label sentence a non-answer ("not joy", "no idea", "maybe fear"). */
const HEDGES = ['not', 'cannot', 'unable', 'unsure', 'unclear', 'unknown', 'idea', 'maybe', 'perhaps', 'possibly', 'sorry', 'neither', 'nor', 'none'];

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Whole-word alternation: Unicode letters/digits may not touch the match on either side. */
const wordsRegex = (words: readonly string[]): RegExp => new RegExp(`(?<![\\p{L}\\p{N}_])(${words.map(escapeRegex).join('|')})(?![\\p{L}\\p{N}_])`, 'giu');

/** Surrounding quotes, backticks, markdown emphasis, brackets and trailing punctuation. */
const WRAPPING = /^[\s"'`*_([{«“‘]+|[\s"'`*_)\]}»”’.!?,;:]+$/gu;
/** A leading "Answer:" / "Emotion -" / "Hate speech?" style prefix of a few words. */
const PREFIX = /^[\p{L}\s]{1,30}[:?\-–]\s*/u;

/** Parses answers for one task. Build one per task at startup and reuse it. */
export class AnswerParser {
  private readonly ids = new Map<string, number>();
  private readonly labelRegex: RegExp;
  private readonly hedgeRegex: RegExp | null;
  private readonly leadingRegex: RegExp;
  private readonly maxChars: number;
  private readonly maxWords: number;

  constructor(task: Task, options: AnswerParserOptions = {}) {
    task.labels.forEach((label, id) => this.ids.set(normalize(label), id));
    // Longest first, so a label that contains another ("very sad" vs "sad") wins the alternation.
    const labels = [...this.ids.keys()].sort((a, b) => b.length - a.length);
    this.labelRegex = wordsRegex(labels);
    this.leadingRegex = new RegExp(`^(${labels.map(escapeRegex).join('|')})[.,;:!]( |$)`, 'u');
    // A hedge word that is itself a label ("none") must not veto its own answer.
    const hedges = HEDGES.filter((h) => !this.ids.has(h));
    this.hedgeRegex = hedges.length === 0 ? null : new RegExp(`${wordsRegex(hedges).source}|n[’']t(?![\\p{L}])`, 'iu');
    this.maxChars = options.maxChars ?? 200;
    this.maxWords = options.maxWords ?? 12;
  }

  /** The label id the answer names, or null when it is unparseable. */
  parse(raw: string): number | null {
    if (raw.length > this.maxChars) return null;
    const answer = normalize(raw);
    if (answer === '') return null;
    const exact = this.exactLabel(answer);
    if (exact !== null) return exact;
    if (answer.split(' ').length > this.maxWords) return null;
    let found: number | null = null;
    for (const match of answer.matchAll(this.labelRegex)) {
      const id = this.ids.get(match[1] ?? '');
      if (id === undefined) continue;
      if (found !== null && found !== id) return null; // two different labels: ambiguous, never pick one
      found = id;
    }
    if (found === null) return null;
    // "No, it does not contain hate speech": the verdict comes first, the rest explains it.
    if (this.leadingRegex.test(answer.replace(WRAPPING, ''))) return found;
    return this.hedgeRegex?.test(answer) === true ? null : found;
  }

  /** The answer is exactly a label, possibly wrapped in quotes/punctuation or after a short prefix. */
  private exactLabel(answer: string): number | null {
    const bare = answer.replace(WRAPPING, '');
    const direct = this.ids.get(bare);
    if (direct !== undefined) return direct;
    const unprefixed = bare.replace(PREFIX, '').replace(WRAPPING, '');
    return unprefixed === bare ? null : (this.ids.get(unprefixed) ?? null);
  }
}

/** Lower case, NFKC, whitespace collapsed: how answers and labels are compared. */
function normalize(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

const parsers = new WeakMap<Task, AnswerParser>();

/** Convenience over AnswerParser that caches one parser per task object. */
export function parseAnswer(task: Task, raw: string): number | null {
  let parser = parsers.get(task);
  if (parser === undefined) {
    parser = new AnswerParser(task);
    parsers.set(task, parser);
  }
  return parser.parse(raw);
}
