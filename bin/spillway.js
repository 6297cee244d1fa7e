#!/usr/bin/env node
// The `spillway` binary. In a checkout (sources present and tsx installed) it runs the TypeScript sources
// through tsx, so edits need no build step, and adds the developer tools' commands (tools/cli: bench,
// bench-cache, replay-llm). Otherwise (the Docker image, `npm ci --omit=dev` after `npm run build`) it runs
// the product's JavaScript from dist/, which needs no devDependency and no tools.
// SPILLWAY_RUN_DIST=1 forces dist/ in a checkout, to try a build.
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

if (await sourcesRunnable()) {
  const { main } = await import(new URL('src/cli/main.ts', root).href);
  const tools = exists('tools/cli/index.ts') ? [(await import(new URL('tools/cli/index.ts', root).href)).registerToolCommands] : [];
  await main(process.argv, tools);
} else if (exists('dist/cli/main.js')) {
  const { main } = await import(new URL('dist/cli/main.js', root).href);
  await main(process.argv);
} else {
  process.stderr.write('spillway: neither the TypeScript sources with tsx (npm ci) nor a build in dist/ (npm run build) is present\n');
  process.exitCode = 1;
}
