/**
 * `spillway encoder fetch`: downloads the e5-small sentence encoder (the default `cascade.sentenceEncoder`)
 * into the model cache folder now, instead of on the first start: for an image built ahead, a machine that
 * will run without a route to Maven Central, or to see the download happen. Idempotent.
 */
import type { Command } from 'commander';
import { createServiceContext } from '../../app/index.js';
import { defaultModelCacheDir, e5SmallDir, fetchE5Small, hasE5SmallFiles } from '../../cascade/index.js';
import { fetchProgressLine } from '../fetch-progress.js';

interface EncoderFetchFlags {
  config?: string;
  cacheDir?: string;
}

export function register(program: Command): void {
  const encoder = program.command('encoder').description('Manage the sentence encoder of the mid stage.');
  encoder
    .command('fetch')
    .description('Download e5-small (the default sentence encoder) from Maven Central into the model cache folder; checksum verified.')
    .option('--config <file>', 'configuration file (YAML or JSON)')
    .option('--cache-dir <dir>', 'the model cache folder (default: models.cacheDir, else ~/.cache/spillway)')
    .action(async (flags: EncoderFetchFlags) => {
      const { config } = createServiceContext({ file: flags.config, flags: { models: { cacheDir: flags.cacheDir } } });
      const root = config.models.cacheDir ?? defaultModelCacheDir();
      const already = hasE5SmallFiles(e5SmallDir(root));
      const dir = await fetchE5Small(root, { repositoryUrl: config.models.mavenRepositoryUrl, onProgress: fetchProgressLine('the e5-small sentence encoder') });
      process.stdout.write(`${already ? 'already present' : 'fetched and verified'}: ${dir}\n`);
    });
}
