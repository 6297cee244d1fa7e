/**
 * The sentence encoder a service runs with. e5-small, the default, is fetched on first start into
 * `models.cacheDir`; when it cannot be had (no route to the Maven repository, a file that fails its checksum,
 * a runtime that does not load on this machine) the service runs with GloVe, slower to learn but always
 * installed, and says so in one warning that names the reason and how to get e5. `cascade.sentenceEncoder:
 * glove` chooses GloVe outright (for speed), with no download and no warning.
 */
import { loadSentenceEncoder, type FetchProgress, type SentenceEncoder } from '../cascade/index.js';
import type { Config } from '../config.js';
import { ModelFetchError, ModelStateError } from '../errors.js';
import type { Logger } from './logger.js';

/** The configuration the cascade is built from (its encoder possibly GloVe instead) and the loaded encoder. */
export interface PreparedEncoder {
  config: Readonly<Config>;
  /** Undefined with GloVe; otherwise the caller owns it and disposes it after the cascade closed. */
  encoder?: SentenceEncoder;
}

export interface PrepareEncoderOptions {
  /** Receives the download's progress when e5-small's files are fetched (a terminal's progress line). */
  onFetchProgress?: (progress: FetchProgress) => void;
}

/** Loads the configured encoder, falling back to GloVe with one warning when it cannot be had. */
export async function prepareSentenceEncoder(config: Readonly<Config>, logger: Logger, options: PrepareEncoderOptions = {}): Promise<PreparedEncoder> {
  const name = config.cascade.sentenceEncoder;
  if (name === 'glove' || !config.cascade.stages.includes('mid')) return { config };
  try {
    const encoder = await loadSentenceEncoder(
      name,
      {
        cacheDir: config.models.cacheDir,
        repositoryUrl: config.models.mavenRepositoryUrl,
        threads: config.cascade.encoderThreads,
        ...(options.onFetchProgress === undefined ? {} : { onFetchProgress: options.onFetchProgress }),
      },
      logger,
    );
    return encoder === undefined ? { config } : { config, encoder };
  } catch (err: unknown) {
    if (!(err instanceof ModelFetchError || err instanceof ModelStateError)) throw err;
    const howToGet =
      name === 'e5-small'
        ? '`spillway encoder fetch` where the Maven repository is reachable (models.mavenRepositoryUrl names a mirror, models.cacheDir the folder)'
        : 'reinstall Spillway with its dependencies';
    logger.warn(
      { encoder: name, reason: err.message },
      `${name} sentence encoder unavailable: the mid stage uses GloVe vectors this run (less accurate). To get ${name}: ${howToGet}; ` +
        'cascade.sentenceEncoder: glove chooses GloVe and silences this',
    );
    return { config: { ...config, cascade: { ...config.cascade, sentenceEncoder: 'glove' } } };
  }
}
