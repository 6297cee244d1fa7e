import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';

/** A `spillway` CLI child process with its output captured. */
export interface CliProcess {
  child: ChildProcess;
  /** stderr so far (pino JSON lines). */
  stderr(): string;
  stdout(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
}

/** Starts `node bin/spillway.js ...args` in the repo root. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}, nodeFlags: readonly string[] = []): CliProcess {
  return spawnNode([...nodeFlags, path.join(REPO_ROOT, 'bin/spillway.js'), ...args], env);
}

/**
 * The echo worker (tools/harness/echo-worker.ts): a StreamWorker process with a stand-in processor (no
 * model), for tests that need a worker process to survive or die with the broker, and the Kafka benchmark.
 */
export function spawnEchoWorker(configFile: string, env: NodeJS.ProcessEnv = {}, nodeFlags: readonly string[] = []): CliProcess {
  return spawnNode([...nodeFlags, '--import', 'tsx', path.join(REPO_ROOT, 'tools/harness/echo-worker.ts'), configFile], env);
}

function spawnNode(args: string[], env: NodeJS.ProcessEnv): CliProcess {
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, stderr: () => err, stdout: () => out, exited };
}
