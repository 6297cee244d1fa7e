/** The sentence encoder a configuration names (`cascade.sentenceEncoder`), loaded; undefined for GloVe. */
import type { Logger } from 'pino';
import { DEFAULTS, type CascadeConfig } from '../config.js';
import { defaultModelCacheDir, E5_SMALL_ARTIFACT, e5SmallDir, fetchE5Small, hasE5SmallFiles, type FetchProgress } from './encoder-files.js';
import { loadE5Small } from './onnx-encoder.js';
import { loadUseLite, type EncoderOptions, type SentenceEncoder } from './sentence-encoder.js';

export interface LoadEncoderOptions extends EncoderOptions {
  /** Folder of downloaded model files (`models.cacheDir`). @defaultValue {@link defaultModelCacheDir} */
  cacheDir?: string | undefined;
  /** Maven repository e5-small is fetched from (`models.mavenRepositoryUrl`). @defaultValue Maven Central */
  repositoryUrl?: string;
  /** Receives the download's progress when e5-small's files are fetched. */
  onFetchProgress?: (progress: FetchProgress) => void;
  /** Threads e5-small computes on (`cascade.encoderThreads`). @defaultValue every core */
  threads?: number | undefined;
}

/**
 * Loads the named encoder. e5-small's files are fetched into the cache folder on first use; a failed fetch or
 * load throws (ModelFetchError, ModelStateError): an encoder that was asked for is never silently replaced here.
 */
export async function loadSentenceEncoder(
  name: CascadeConfig['sentenceEncoder'],
  options: LoadEncoderOptions = {},
  logger?: Logger,
): Promise<SentenceEncoder | undefined> {
  const { cacheDir, repositoryUrl, onFetchProgress, threads, ...encoderOptions } = options;
  switch (name) {
    case 'glove':
      return undefined;
    case 'use-lite':
      return loadUseLite(encoderOptions, logger);
    case 'e5-small': {
      const root = cacheDir ?? defaultModelCacheDir();
      const dir = e5SmallDir(root);
      if (!hasE5SmallFiles(dir)) {
        const started = Date.now();
        logger?.info({ artifact: E5_SMALL_ARTIFACT.coordinates, into: dir }, 'fetching the e5-small sentence encoder (once)');
        await fetchE5Small(root, {
          repositoryUrl: repositoryUrl ?? DEFAULTS.models.mavenRepositoryUrl,
          ...(onFetchProgress === undefined ? {} : { onProgress: onFetchProgress }),
        });
        logger?.info({ dir, ms: Date.now() - started }, 'e5-small sentence encoder fetched and verified');
      }
      return loadE5Small({ ...encoderOptions, dir, ...(threads === undefined ? {} : { threads }) }, logger);
    }
  }
}
