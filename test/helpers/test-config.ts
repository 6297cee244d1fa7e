/**
 * The configuration tests run with. Tests that do not test the sentence encoder pin GloVe, the fast one (the
 * default, e5-small, costs ~8 ms per item on two cores): in process through {@link TEST_DEFAULTS} and
 * {@link testConfig}, and in every CLI process a test starts through {@link pinFastEncoder}, which the global
 * setup applies to the environment the suites (and their children) inherit. The encoder's own suites ask for
 * e5-small explicitly and find its files in {@link MODEL_CACHE_DIR}.
 */
import { defaultModelCacheDir } from '../../src/cascade/index.js';
import { DEFAULTS, parseConfig, type Config } from '../../src/config.js';

/** The encoder of every test that does not test encoders. */
export const TEST_ENCODER = 'glove' as const;

/** The variable that pins it in CLI processes (an environment variable outranks a config file). */
export const ENCODER_ENV = 'SPILLWAY_SENTENCE_ENCODER';

/** DEFAULTS with the test encoder. */
export const TEST_DEFAULTS: Config = { ...DEFAULTS, cascade: { ...DEFAULTS.cascade, sentenceEncoder: TEST_ENCODER } };

/** Where the e5-small files are (the global setup fetches them there): `SPILLWAY_MODELS_CACHE_DIR` or the default. */
export const MODEL_CACHE_DIR = process.env.SPILLWAY_MODELS_CACHE_DIR ?? defaultModelCacheDir();

/** A parsed configuration from `raw`, with the test encoder unless `raw` names one. */
export function testConfig(raw: Record<string, unknown> = {}): Readonly<Config> {
  const cascade = (raw.cascade ?? {}) as Record<string, unknown>;
  return parseConfig({ ...raw, cascade: { sentenceEncoder: TEST_ENCODER, ...cascade } });
}

/** Sets the test encoder in `env` (the global setup: process.env) unless a run chose one. */
export function pinFastEncoder(env: NodeJS.ProcessEnv): void {
  env[ENCODER_ENV] ??= TEST_ENCODER;
}

/** `env` without the pin: for a CLI process that must run the product's default encoder. */
export function withDefaultEncoder(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  delete out[ENCODER_ENV];
  return out;
}
