/**
 * The product speaks for itself: its code, tests and docs say what it does and why, in words a user can
 * follow, never which ticket, which work session or which folder outside the repository they came from; and
 * a newcomer finds what the README promises (the full configuration reference, `npx spillway` in a
 * checkout, the style guide the code follows).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_NAMES } from '../src/config.js';
import { REPO_ROOT } from './helpers/paths.js';

const SELF = path.relative(REPO_ROOT, new URL(import.meta.url).pathname);
const TEXT = /\.(ts|js|mjs|md|html|css|json|ya?ml)$/;

function filesUnder(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir)).flatMap((name) => {
    const rel = path.join(dir, name);
    if (statSync(path.join(REPO_ROOT, rel)).isDirectory()) return rel === 'test/fixtures/streams' ? [] : filesUnder(rel);
    return TEXT.test(name) ? [rel] : [];
  });
}

const CHECKED = [...filesUnder('src'), ...filesUnder('test'), ...filesUnder('docs'), 'README.md', 'CONTRIBUTING.md'].filter((f) => f !== SELF);

/** What a reader outside the team cannot follow, by the words that say it. */
const UNFOLLOWABLE: Array<[string, RegExp]> = [
  ['an issue number', /\bissues? ?#?\d+|\(#\d+[a-z]?[),]|\B#\d{1,3}[a-z]?\b(?![0-9a-f]{3})/i],
  ['a work session', /\b(this|the previous|an earlier|earlier|last|later|next|previous|other) sessions?\b|\bsession's\b/i],
  ['a folder outside the repository', /shared folder|team's|shared\/STYLE/i],
];

function findings(files: readonly string[], rules: ReadonlyArray<[string, RegExp]>): string[] {
  return files.flatMap((file) =>
    readFileSync(path.join(REPO_ROOT, file), 'utf8')
      .split('\n')
      .flatMap((line, i) => rules.filter(([, re]) => re.test(line)).map(([what]) => `${file}:${i + 1}: ${what}: ${line.trim().slice(0, 100)}`)),
  );
}

describe('the repository speaks for itself', () => {
  it('names no issue numbers, work sessions or outside folders in src/, test/, docs/, the README or CONTRIBUTING', () => {
    expect(findings(CHECKED, UNFOLLOWABLE)).toEqual([]);
  });

  it('reads no folder beside the repository in the product or the tests', () => {
    const code = CHECKED.filter((f) => /^(src|test)\//.test(f));
    expect(findings(code, [['the folder beside the repository', /\.\.\/shared\b/]])).toEqual([]);
  });
});

describe('what the README promises a newcomer', () => {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

  it('links the full configuration reference, which lists every SPILLWAY_* variable the configuration reads', () => {
    expect(readme).toContain('(docs/configuration.md)');
    const reference = readFileSync(path.join(REPO_ROOT, 'docs/configuration.md'), 'utf8');
    expect(ENV_NAMES.filter((name) => !reference.includes(`\`${name}\``))).toEqual([]);
  });

  it('shows `npx spillway` (in a checkout the binary is not on the PATH) and a piped run that prints annotations', () => {
    expect(readme).toMatch(/npx spillway --help/);
    expect(readme).toMatch(/npx spillway start \| jq -c \. \| head/);
    expect(readme).not.toMatch(/npm start \| jq/);
  });

  it('points contributors to the style guide in the repository', () => {
    const contributing = readFileSync(path.join(REPO_ROOT, 'CONTRIBUTING.md'), 'utf8');
    expect(contributing).toContain('(docs/style.md)');
    expect(readFileSync(path.join(REPO_ROOT, 'docs/style.md'), 'utf8')).toMatch(/^# Style guide/);
  });
});
