import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Writes a config file (JSON is valid YAML) into a fresh temp folder named `<prefix><random>`; returns its
 * path. `config` may be a function of that folder, for a models folder inside it.
 */
export function writeConfig(config: unknown, prefix = 'spillway-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(typeof config === 'function' ? (config as (dir: string) => unknown)(dir) : config, null, 2));
  return file;
}
