/**
 * Starts a worker thread on one of this package's ES modules, named without its extension. Built (dist/), the
 * module is JavaScript. In a checkout the sources run through tsx (bin/spillway.js, vitest), and a worker
 * thread does not inherit the loader: it registers tsx before importing the TypeScript module.
 */
import { Worker } from 'node:worker_threads';

/**
 * @param sibling - the module's URL without extension, relative to `from` (e.g. `./e5-small-worker`)
 * @param from - the caller's `import.meta.url`: its extension says whether the sources are TypeScript
 */
export function startModuleWorker(sibling: string, from: string, workerData: unknown): Worker {
  const typescript = /\.[cm]?ts$/.test(new URL(from).pathname);
  const entry = new URL(`${sibling}${typescript ? '.ts' : '.js'}`, from);
  if (!typescript) return new Worker(entry, { workerData });
  const loader = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(loader)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(code, { eval: true, workerData });
}
