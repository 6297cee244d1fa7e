/**
 * The shared tier (L2): answers in Redis, bounded by a byte budget, evicted by the configured policy inside
 * atomic Lua scripts (see redis-scripts.ts), so every worker sees one cache.
 *
 * Redis is an optimisation, never a dependency: commands are not queued while disconnected (the offline queue
 * is off) and time out after `commandTimeoutMs`, so a get misses and a set is dropped (and counted) instead of
 * stalling the stream. ioredis reconnects in the background; the loss and the recovery are each logged once.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { decodeAnswer, encodeAnswer, entrySizeBytes } from './entry.js';
import { MIN_COST_UNITS } from './memory-cache.js';
import type { EvictionPolicy } from './policies/index.js';
import { getScript, setScript } from './redis-scripts.js';
import type { CachedAnswer } from './types.js';

export interface RedisCacheOptions {
  /** Redis URL, e.g. redis://127.0.0.1:6379. */
  url: string;
  /** Prefix of every key written (`redis.keyPrefix`); the cache adds `cache:<policy>:`. */
  keyPrefix: string;
  /** Byte budget of the namespace (accounted sizes). */
  maxBytes: number;
  policy: EvictionPolicy;
  /** Longest wait for one Redis command, ms. @defaultValue 200 */
  commandTimeoutMs?: number;
  logger: Logger;
}

/** An answer read back from Redis, with the cost it was stored at (to promote it into L1). */
export interface RedisEntry {
  answer: CachedAnswer;
  costUnits: number;
}

/** Counters of the Redis tier. */
export interface RedisCacheStats {
  available: boolean;
  hits: number;
  misses: number;
  /** Gets answered as misses because Redis was down or a command failed. */
  failedGets: number;
  /** Sets dropped because Redis was down or a command failed. */
  droppedSets: number;
  /** Times the connection was lost. */
  outages: number;
}

/** The script commands defined on the connection (ioredis adds them at runtime). */
interface ScriptCommands {
  spillwayCacheGet(entry: string, zset: string, meta: string, member: string): Promise<[string, string] | null>;
  spillwayCacheSet(
    entry: string,
    zset: string,
    meta: string,
    member: string,
    answer: string,
    cost: number,
    size: number,
    maxBytes: number,
    entryPrefix: string,
    prior: number,
  ): Promise<number>;
}

export class RedisCache {
  /** Namespace of this cache's keys: `${keyPrefix}cache:${policy}:`. */
  readonly namespace: string;
  private readonly client: Redis;
  private readonly scripts: ScriptCommands;
  private readonly log: Logger;
  private lost = false;
  private closing = false;
  private readonly counters = { hits: 0, misses: 0, failedGets: 0, droppedSets: 0, outages: 0 };

  constructor(private readonly options: RedisCacheOptions) {
    this.namespace = `${options.keyPrefix}cache:${options.policy.name}:`;
    this.log = options.logger.child({ module: 'redis-cache' });
    this.client = new Redis(options.url, {
      enableOfflineQueue: false,
      commandTimeout: options.commandTimeoutMs ?? 200,
      maxRetriesPerRequest: 0,
      connectTimeout: 2_000,
      // Reconnect forever in the background, backing off to 2 s between attempts.
      retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 6), 2_000),
    });
    this.client.defineCommand('spillwayCacheGet', { numberOfKeys: 3, lua: getScript(options.policy) });
    this.client.defineCommand('spillwayCacheSet', { numberOfKeys: 3, lua: setScript(options.policy) });
    this.scripts = this.client as unknown as ScriptCommands;
    this.client.on('ready', () => this.onReady());
    this.client.on('error', (err: unknown) => this.onLost(err));
    this.client.on('close', () => this.onLost(undefined));
  }

  /** True while the connection is up. */
  get available(): boolean {
    return this.client.status === 'ready';
  }

  /** Resolves once connected, or false after `timeoutMs` (for tools and tests; the cache works without it). */
  async waitUntilReady(timeoutMs: number): Promise<boolean> {
    if (this.available) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        resolve(false);
      }, timeoutMs);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.client.once('ready', onReady);
    });
  }

  /** The entry under a hashed key, counting the access; undefined on a miss or when Redis is unavailable. */
  async get(key: string): Promise<RedisEntry | undefined> {
    if (!this.available) {
      this.counters.failedGets += 1;
      return undefined;
    }
    let reply: [string, string] | null;
    try {
      reply = await this.scripts.spillwayCacheGet(...this.keysOf(key), key);
    } catch (err: unknown) {
      this.counters.failedGets += 1;
      this.log.debug({ err }, 'redis cache get failed');
      return undefined;
    }
    const answer = reply === null ? undefined : decodeAnswer(reply[0]);
    if (reply === null || answer === undefined) {
      this.counters.misses += 1;
      return undefined;
    }
    this.counters.hits += 1;
    return { answer, costUnits: Number(reply[1]) };
  }

  /**
   * Stores an answer and evicts down to the budget; false when dropped (Redis unavailable, or too large).
   * `priorAccesses`: lookups of the key before it was stored, for history-aware policies (LEC).
   */
  async set(key: string, answer: CachedAnswer, costUnits: number = answer.costUnits, priorAccesses = 0): Promise<boolean> {
    if (!this.available) {
      this.counters.droppedSets += 1;
      return false;
    }
    const encoded = encodeAnswer(answer);
    const size = entrySizeBytes(key, encoded);
    const cost = Math.max(costUnits, MIN_COST_UNITS);
    try {
      const evicted = await this.scripts.spillwayCacheSet(
        ...this.keysOf(key),
        key,
        encoded,
        cost,
        size,
        this.options.maxBytes,
        `${this.namespace}e:`,
        priorAccesses,
      );
      return evicted >= 0;
    } catch (err: unknown) {
      this.counters.droppedSets += 1;
      this.log.debug({ err }, 'redis cache set failed');
      return false;
    }
  }

  stats(): RedisCacheStats {
    return { available: this.available, ...this.counters };
  }

  /** Closes the connection (pending commands finish when connected). */
  async close(): Promise<void> {
    this.closing = true;
    if (this.available) {
      try {
        await this.client.quit();
        return;
      } catch (err: unknown) {
        this.log.debug({ err }, 'redis quit failed; disconnecting');
      }
    }
    this.client.disconnect();
  }

  private keysOf(key: string): [string, string, string] {
    return [`${this.namespace}e:${key}`, `${this.namespace}z`, `${this.namespace}m`];
  }

  private onLost(err: unknown): void {
    if (this.lost || this.closing) return;
    this.lost = true;
    this.counters.outages += 1;
    this.log.warn({ err, url: redactUrl(this.options.url) }, 'redis cache unavailable; serving from L1 and reconnecting');
  }

  private onReady(): void {
    if (!this.lost) return;
    this.lost = false;
    this.log.info({ url: redactUrl(this.options.url) }, 'redis cache available again');
  }
}

/** The URL without its password, for logs. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/u, '//$1:[redacted]@');
}
