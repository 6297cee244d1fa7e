// `npm run build`, second step: copies the files tsc does not emit (the dashboard's HTML, CSS and JS) from
// src/ into dist/ beside the compiled modules that serve them. Usage: node scripts/copy-assets.mjs [outDir]
import { cpSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const outDir = path.resolve(root, process.argv[2] ?? 'dist');
const ASSETS = ['monitor/dashboard'];
for (const asset of ASSETS) cpSync(path.join(root, 'src', asset), path.join(outDir, asset), { recursive: true });
