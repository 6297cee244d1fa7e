import { describe, expect, it } from 'vitest';
import { cacheKey, normalizeText } from '../../src/cache/index.js';

describe('normalizeText', () => {
  it('folds case, compatibility forms and whitespace runs', () => {
    expect(normalizeText('  Ｈｅｌｌｏ\n\tWORLD  ')).toBe('hello world');
    expect(normalizeText('ﬁne')).toBe('fine');
  });

  it('replaces URLs with one token', () => {
    expect(normalizeText('see https://t.co/abc?x=1 and www.example.org/page now')).toBe('see <url> and <url> now');
  });

  it('drops a leading retweet marker and anonymizes mentions', () => {
    expect(normalizeText('RT @someone: you are @great, @b_2')).toBe('you are @user, @user');
  });

  it('keeps e-mail addresses, punctuation and digits, which can carry meaning', () => {
    expect(normalizeText('Mail a@b.com: NOT bad!! 10/10')).toBe('mail a@b.com: not bad!! 10/10');
  });

  it('is idempotent', () => {
    const once = normalizeText('RT @x: Héllo   @y https://a.b/c ');
    expect(normalizeText(once)).toBe(once);
  });
});

describe('cacheKey', () => {
  it('is the same for texts that normalize alike', () => {
    expect(cacheKey('isear', 'gpt', 'I was  Happy')).toBe(cacheKey('isear', 'gpt', 'i was happy'));
  });

  it('differs by task, by model and by text', () => {
    const base = cacheKey('isear', 'gpt', 'text');
    expect(cacheKey('hate', 'gpt', 'text')).not.toBe(base);
    expect(cacheKey('isear', 'llama', 'text')).not.toBe(base);
    expect(cacheKey('isear', 'gpt', 'text!')).not.toBe(base);
    // The separator keeps ("ab", "c") and ("a", "bc") apart.
    expect(cacheKey('ab', 'c', 't')).not.toBe(cacheKey('a', 'bc', 't'));
  });

  it('is bounded whatever the text length', () => {
    expect(cacheKey('t', 'm', 'x'.repeat(100_000))).toMatch(/^[0-9a-f]{40}$/);
  });
});
