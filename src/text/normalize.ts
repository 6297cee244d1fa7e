/**
 * Normalization of a text for matching (the cache's keys, the LLM scheduler's single-flight): texts that an LLM
 * would answer identically share one form, and nothing more aggressive:
 * 1. Unicode NFKC: full-width letters, ligatures and compatibility forms become their plain equivalents.
 * 2. Case-fold (`toLowerCase` after NFKC): classification answers do not depend on case in practice.
 * 3. URLs (`http(s)://…`, `www.…`) become the token `<url>`: reposts differ mostly in shortened links.
 * 4. A leading retweet marker `RT @user:` is dropped: a retweet asks the same question as its original.
 * 5. @mentions become `@user`: who is addressed rarely changes the label, and mentions make reposts differ.
 * 6. Whitespace runs (including newlines and tabs) collapse to one space; the ends are trimmed.
 *
 * Punctuation, digits, emoji and word order are kept: they can change a label ("not bad" vs "bad!").
 */

// Compiled once (style guide §5): these run per item.
const URL_RE = /\b(?:https?:\/\/|www\.)\S+/giu;
const RETWEET_RE = /^rt\s+@\w+:?\s*/u;
const MENTION_RE = /(^|[^\w@])@\w+/gu;
const WHITESPACE_RE = /\s+/gu;

/** The normalized form of a text, as described in the module comment. Pure and idempotent. */
export function normalizeText(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(URL_RE, '<url>')
    .replace(WHITESPACE_RE, ' ')
    .trim()
    .replace(RETWEET_RE, '')
    .replace(MENTION_RE, '$1@user');
}
