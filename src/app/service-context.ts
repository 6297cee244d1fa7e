/**
 * The one way a command (or a benchmark) gets its configuration and its logger: the config file, then the
 * environment, then flags (src/config.ts), and a root logger at the configured level that redacts the LLM key.
 * Before this, each command rebuilt both by hand and some forgot the key's redaction.
 */
import { loadConfig, type Config } from '../config.js';
import { createRootLogger, type Logger } from './logger.js';

export interface ServiceContextOptions {
  /** A YAML or JSON config file (`--config`). */
  file?: string | undefined;
  /**
   * Values from flags, shaped like the config file (`{ cascade: { llmBudget } }`); `undefined` fields leave the
   * file's and the environment's values. Checked by the schema like a file's: a bad value is a ConfigError.
   */
  flags?: Readonly<Record<string, unknown>>;
  /** The level to log at when the configuration says `info` (a person at a terminal: `warn`). */
  quietLevel?: 'warn' | 'error';
}

export interface ServiceContext {
  readonly config: Readonly<Config>;
  readonly logger: Logger;
}

/** Loads the configuration and creates the root logger; a bad key or value throws ConfigError naming it. */
export function createServiceContext(options: ServiceContextOptions = {}): ServiceContext {
  const config = loadConfig({
    ...(options.file === undefined ? {} : { file: options.file }),
    ...(options.flags === undefined ? {} : { flags: options.flags }),
  });
  const level = options.quietLevel !== undefined && config.logLevel === 'info' ? options.quietLevel : config.logLevel;
  const logger = createRootLogger(level, { secrets: [config.llm.apiKey] });
  return { config, logger };
}
