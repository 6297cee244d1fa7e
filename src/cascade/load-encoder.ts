/** The sentence encoder a configuration names (`cascade.sentenceEncoder`), loaded; undefined for GloVe. */
import type { Logger } from 'pino';
import type { CascadeConfig } from '../config.js';
import { loadE5Small } from './onnx-encoder.js';
import { loadUseLite, type EncoderOptions, type SentenceEncoder } from './sentence-encoder.js';

export async function loadSentenceEncoder(
  name: CascadeConfig['sentenceEncoder'],
  options: EncoderOptions = {},
  logger?: Logger,
): Promise<SentenceEncoder | undefined> {
  switch (name) {
    case 'glove':
      return undefined;
    case 'use-lite':
      return loadUseLite(options, logger);
    case 'e5-small':
      return loadE5Small(options, logger);
  }
}
