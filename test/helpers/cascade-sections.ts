/**
 * The configuration sections a test cascade is built from: the tests' defaults (the schema's, with the fast
 * encoder: test-config.ts) with the test's overrides (a shallow merge per section, so a test says only what it
 * changes).
 */
import type { CascadeSections } from '../../src/cascade/index.js';
import type { CacheConfig, CascadeConfig, LlmConfig, ModelsConfig } from '../../src/config.js';
import { TEST_DEFAULTS as DEFAULTS } from './test-config.js';

/** Overrides per section. */
export interface SectionOverrides {
  cascade?: Partial<CascadeConfig>;
  llm?: Partial<LlmConfig>;
  models?: Partial<ModelsConfig>;
  cache?: Partial<CacheConfig>;
}

/** The defaults, overridden section by section. */
export function cascadeSections(overrides: SectionOverrides = {}): CascadeSections {
  return {
    cascade: { ...DEFAULTS.cascade, ...overrides.cascade },
    llm: { ...DEFAULTS.llm, ...overrides.llm },
    models: { ...DEFAULTS.models, ...overrides.models },
    cache: { ...DEFAULTS.cache, ...overrides.cache },
  };
}

/**
 * The `llm` settings most cascade tests assume unless they test them: a failed call falls back to the small
 * stages (no pause), and no item is held while its stage is cold.
 */
export const PLAIN_LLM: Partial<LlmConfig> = { onUnavailable: 'fallback', coldWaitMs: 0 };
