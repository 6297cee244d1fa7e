/**
 * Shutting down against a broker that is recovering: leaving a consumer group, or closing a producer, retries
 * for as long as kafkajs' retry policy allows (about 30 s), which made a SIGTERM after a broker restart wait
 * for the watchdog. Closing is bounded instead: what does not finish in time is logged and left behind (the
 * group drops a member that did not leave after its session timeout; a transaction left open is aborted by
 * the broker after its timeout), so the model state can still be saved.
 */
import type { Logger } from 'pino';

/**
 * Runs the close steps together and waits at most `timeoutMs` for them. A step that fails or does not finish in
 * time is logged at warn; never rejects. Resolves true when every step finished cleanly.
 */
export async function closeWithin(steps: Record<string, () => Promise<unknown> | undefined>, timeoutMs: number, log: Logger): Promise<boolean> {
  const pending = new Set(Object.keys(steps));
  let clean = true;
  const runs = Object.entries(steps).map(async ([name, step]) => {
    try {
      await step();
    } catch (err: unknown) {
      clean = false;
      log.warn({ step: name, err }, 'closing failed; going on');
    } finally {
      pending.delete(name);
    }
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)));
  const late = await Promise.race([Promise.all(runs).then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) log.warn({ steps: [...pending], timeoutMs }, 'closing did not finish in time (a broker recovering?); going on without it');
  return clean && !late;
}
