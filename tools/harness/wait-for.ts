/**
 * Polls `condition` every `everyMs` until it holds or `timeoutMs` passes (then throws with `what`). A
 * condition that throws counts as not yet (a broker coordinator still loading after a restart), and the
 * last error is reported on time-out.
 */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await condition()) return;
    } catch (err: unknown) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
