/**
 * Installing Spillway downloads nothing a user did not ask for, on any npm: no production dependency may run
 * an install script, except ones known to only print (npm ≥ 11 asks before running any; npm 10, Node 20's,
 * runs them all). onnxruntime-node is held at the last release without one (later ones fetch CUDA files from
 * NuGet at install), and native tfjs is no dependency (its install downloads libtensorflow).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';

/** Install scripts that neither download nor build: core-js prints a message. */
const HARMLESS = new Set(['node_modules/core-js']);

interface LockPackage {
  version?: string;
  dev?: boolean;
  hasInstallScript?: boolean;
}

describe('the production dependencies', () => {
  const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> };
  const production = Object.entries(lock.packages).filter(([name, p]) => name !== '' && p.dev !== true);

  it('run no install script (but ones that only print)', () => {
    expect(production.length).toBeGreaterThan(50);
    expect(production.filter(([name, p]) => p.hasInstallScript === true && !HARMLESS.has(name)).map(([name]) => name)).toEqual([]);
  });

  it('include onnxruntime-node 1.16.3 and no native tfjs', () => {
    expect(lock.packages['node_modules/onnxruntime-node']?.version).toBe('1.16.3');
    expect(production.map(([name]) => name).filter((n) => /tfjs-node/.test(n))).toEqual([]);
  });
});
