/**
 * Helpers of the cache's Redis suites: a key prefix per run (deleted after), and a readers–writer lock between
 * test files, because the restart suite shuts the shared Redis down and vitest runs two files at once.
 * The lock is a directory in the temp dir: readers add a file, the writer a `writer` directory (mkdir is
 * atomic); each registers first and checks the other side after, so one of them always sees the other.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';

export const REDIS_URL = 'redis://127.0.0.1:6379';
const LOCK_DIR = path.join(tmpdir(), 'spillway-cache-redis-lock');
const READERS = path.join(LOCK_DIR, 'readers');
const WRITER = path.join(LOCK_DIR, 'writer');
const LOCK_WAIT_MS = 110_000;

/** A fresh prefix for one test run's keys. */
export function testPrefix(): string {
  return `spillway-test:${randomUUID()}:`;
}

/** Deletes every key under `prefix`. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: the process that held the lock is gone; its entry is stale.
    return false;
  }
}

function livingReaders(): string[] {
  if (!existsSync(READERS)) return [];
  return readdirSync(READERS).filter((name) => {
    if (alive(Number(name.split('-')[0]))) return true;
    rmSync(path.join(READERS, name), { force: true });
    return false;
  });
}

function writerHeld(): boolean {
  if (!existsSync(WRITER)) return false;
  const owner = readdirSync(WRITER)[0];
  if (owner !== undefined && !alive(Number(owner))) {
    rmSync(WRITER, { recursive: true, force: true });
    return false;
  }
  return true;
}

async function pollUntil(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Shared hold: Redis will not be restarted by the cache's suites until released. */
export async function acquireRedisShared(): Promise<() => void> {
  mkdirSync(READERS, { recursive: true });
  const me = path.join(READERS, `${process.pid}-${randomUUID()}`);
  for (;;) {
    await pollUntil(() => !writerHeld(), 'the Redis restart suite');
    writeFileSync(me, '');
    if (!writerHeld()) return () => rmSync(me, { force: true });
    rmSync(me, { force: true });
  }
}

/** Exclusive hold, for the suite that stops Redis. */
export async function acquireRedisExclusive(): Promise<() => void> {
  mkdirSync(LOCK_DIR, { recursive: true });
  await pollUntil(() => {
    if (writerHeld()) return false;
    try {
      mkdirSync(WRITER);
    } catch {
      // EEXIST: another writer won the race; keep waiting.
      return false;
    }
    mkdirSync(path.join(WRITER, String(process.pid)));
    return true;
  }, 'the Redis lock');
  await pollUntil(() => livingReaders().length === 0, 'other Redis cache suites');
  return () => rmSync(WRITER, { recursive: true, force: true });
}
