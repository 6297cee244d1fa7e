/** The task a service runs: the file `task` names (`--task`, SPILLWAY_TASK, `task:` in the config file). */
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { loadTask, type Task } from '../llm/index.js';

/** Loads the configured task file; no task is a ConfigError saying how to give one. */
export function configuredTask(config: Readonly<Config>): Task {
  if (config.task === undefined)
    throw new ConfigError([{ key: 'task', message: 'no task file: pass --task F, set SPILLWAY_TASK, or `task:` in the config file' }]);
  return loadTask(config.task);
}
