import pino from 'pino';
import { createCache } from '../../src/cache/index.js';
import { DEFAULTS } from '../../src/config.js';
import { answerCacheContract } from './answer-cache.contract.js';

answerCacheContract('TieredCache without Redis', async () =>
  createCache({ cache: { ...DEFAULTS.cache, enabled: true, redisTier: false }, redis: DEFAULTS.redis }, pino({ level: 'silent' })),
);
