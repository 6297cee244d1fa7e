/** Parsers for commander option values; a bad value stops the command with a message naming it. */
import { InvalidArgumentError } from 'commander';
import { ConfigError } from '../../errors.js';
import { parseQualityTargets } from '../../quality/index.js';

export function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${value}"`);
  return n;
}

export function parseInteger(value: string): number {
  const n = parseNumber(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
  return n;
}

export function parseList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** `--quality 'agreement>=0.95,recall:hate>=0.9'`: the targets' syntax checked now, their labels once the task is loaded. */
export function parseQualityFlag(value: string): string[] {
  try {
    return parseQualityTargets(value, undefined, '--quality').map((t) => t.text);
  } catch (err) {
    if (err instanceof ConfigError) throw new InvalidArgumentError(err.issues.map((i) => i.message).join('; '));
    throw err;
  }
}

/** A share in (0, 1), e.g. `--quality-delta 0.05`. */
export function parseShare(value: string): number {
  const n = parseNumber(value);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError(`expected a number in (0, 1), got "${value}"`);
  return n;
}

export const QUALITY_HELP = "quality targets against the LLM's answers, e.g. 'agreement>=0.95,recall:hate>=0.9': the fewest LLM calls that keep them certified";
