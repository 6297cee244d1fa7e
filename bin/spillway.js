#!/usr/bin/env node
// The `spillway` binary. In a checkout (sources present and tsx installed) it runs the TypeScript sources
// through tsx, so edits need no build step; otherwise it runs the JavaScript that `npm run build` emitted in
// dist/ (the Docker image, `npm ci --omit=dev`). The developer tools (tools/: benchmarks, the replay LLM
// server) add their commands only when they are present; the product never needs them.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const exists = (relative) => existsSync(fileURLToPath(new URL(relative, root)));

async function sourcesRunnable() {
  if (process.env.SPILLWAY_RUN_DIST === '1' || !exists('src/cli/main.ts')) return false;
  try {
    const { register } = await import('tsx/esm/api');
    register();
    return true;
  } catch {
    return false; // tsx is a devDependency: absent from a production install
  }
}

const fromSources = await sourcesRunnable();
const [dir, ext] = fromSources ? ['', '.ts'] : ['dist/', '.js'];
if (!exists(`${dir}src/cli/main${ext}`)) {
  process.stderr.write('spillway: no built JavaScript in dist/ and no TypeScript runner: run `npm run build` (or `npm ci` for tsx)\n');
  process.exit(1);
}
const { main } = await import(new URL(`${dir}src/cli/main${ext}`, root).href);
const toolsEntry = `${dir}tools/cli/index${ext}`;
const extensions = exists(toolsEntry) ? [(await import(new URL(toolsEntry, root).href)).registerToolCommands] : [];
await main(process.argv, extensions);
