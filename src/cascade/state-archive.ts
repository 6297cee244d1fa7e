/**
 * The cascade's saved state as bytes, for shipping it elsewhere (shared learning's snapshot topic): the
 * files model-store.ts writes, grouped by part — one per stage folder (`lr`, `mid`) and `manifest` for the
 * files at the top (policies, budget, versions) — each part an Avro map of path → bytes, gzipped.
 * Restoring writes the files back into a models folder, which the usual restore then loads.
 */
import { mkdtemp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import avro from 'avsc';
import { ModelStateError } from '../errors.js';
import type { Task } from '../llm/index.js';
import type { CascadeParts } from './cascade.js';
import { saveCascadeState } from './model-store.js';
import { checkStateFiles, type StateExpectation } from './state-check.js';

/** Parts of an archive by name (`manifest`, `lr`, `mid`): gzipped Avro maps of file path → bytes. */
export type StateArchive = Map<string, Buffer>;

const FILES = avro.Type.forSchema({ type: 'map', values: 'bytes' });
/** The part holding the files at the top of the state folder. */
const TOP = 'manifest';

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out;
}

/**
 * Saves the state (with `meta` in its manifest) to a temporary folder and packs it. The parts must not
 * change until this resolves (the save reads the model buffers while it writes).
 */
export async function archiveCascadeState(parts: CascadeParts, task: Task, meta: Record<string, number>): Promise<StateArchive> {
  const tmp = await mkdtemp(path.join(tmpdir(), 'spillway-archive-'));
  const dir = path.join(tmp, 'state');
  try {
    await saveCascadeState(dir, parts, task, meta);
    const byPart = new Map<string, Record<string, Buffer>>();
    for (const rel of await listFiles(dir)) {
      const part = rel.includes('/') ? (rel.split('/')[0] as string) : TOP;
      const files = byPart.get(part) ?? {};
      files[rel] = await readFile(path.join(dir, rel));
      byPart.set(part, files);
    }
    // Level 1: the LR's hashed weights are mostly zeros and shrink ~10× already; higher levels cost seconds.
    return new Map([...byPart].map(([part, files]) => [part, gzipSync(FILES.toBuffer(files), { level: 1 })]));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * An archive's files, path → bytes.
 * @throws ModelStateError when it has no manifest part, a part cannot be unpacked, or names a file outside its folder.
 */
export function unpackCascadeArchive(archive: StateArchive, where: string): Map<string, Buffer> {
  if (!archive.has(TOP)) throw new ModelStateError(where, 'the snapshot has no manifest part');
  const out = new Map<string, Buffer>();
  for (const [part, bytes] of archive) {
    let files: Record<string, Buffer>;
    try {
      files = FILES.fromBuffer(gunzipSync(bytes)) as Record<string, Buffer>;
    } catch (err: unknown) {
      throw new ModelStateError(where, `snapshot part ${part} cannot be unpacked`, { cause: err });
    }
    for (const [rel, content] of Object.entries(files)) {
      if (rel.split('/').includes('..') || path.isAbsolute(rel))
        throw new ModelStateError(where, `snapshot part ${part} names a file outside the folder: ${rel}`);
      out.set(rel, content);
    }
  }
  return out;
}

/**
 * Checks an archive before it is restored (state-check.ts: manifest, fit, checksums, finite numbers, and
 * `labelOffset` when given). @throws ModelStateError or CorruptModelStateError naming what is wrong.
 */
export function checkCascadeArchive(archive: StateArchive, where: string, expect: StateExpectation, labelOffset?: bigint): void {
  checkStateFiles(where, unpackCascadeArchive(archive, where), expect, labelOffset);
}

/**
 * Writes an archive's files into `dir` (a task's models folder), atomically replacing what was there.
 * Throws ModelStateError when the archive has no manifest or a part cannot be unpacked.
 */
export async function restoreCascadeArchive(archive: StateArchive, dir: string): Promise<void> {
  const files = unpackCascadeArchive(archive, dir);
  const next = `${dir}.restore-${process.pid}-${Date.now()}`;
  await rm(next, { recursive: true, force: true });
  try {
    for (const [rel, content] of files) {
      await mkdir(path.dirname(path.join(next, rel)), { recursive: true });
      await writeFile(path.join(next, rel), content);
    }
    const old = `${dir}.old-${process.pid}-${Date.now()}`;
    await mkdir(path.dirname(dir), { recursive: true });
    if (existsSync(dir)) await rename(dir, old);
    await rename(next, dir);
    await rm(old, { recursive: true, force: true });
  } finally {
    await rm(next, { recursive: true, force: true });
  }
}
