/**
 * A `fetch` for the openai client that an endpoint cannot hold hostage: one deadline covers the whole
 * exchange, headers AND body (the client's own timeout stops at the headers, so a slow-drip body stalled a
 * call forever), and the body is counted as it streams and cut off past a byte cap (a 200 MB answer is
 * never read whole). Both failures are typed: LlmTimeoutError (retriable) and LlmResponseTooLargeError.
 */
import { LlmResponseTooLargeError, LlmTimeoutError } from '../errors.js';

/** Limits of {@link guardedFetch}. */
export interface GuardedFetchOptions {
  /** Time one request may take, from sending it to the body's last byte, ms (`llm.timeoutMs`). */
  timeoutMs: number;
  /** Largest response body read, bytes (after decompression). */
  maxResponseBytes: number;
  /** The underlying fetch. @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
}

/** Returns a fetch that enforces `timeoutMs` over headers and body and `maxResponseBytes` on the body. */
export function guardedFetch(options: GuardedFetchOptions): typeof fetch {
  const inner = options.fetch ?? globalThis.fetch;
  const { timeoutMs, maxResponseBytes } = options;
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new LlmTimeoutError(timeoutMs)), timeoutMs);
    const outer = init?.signal ?? undefined;
    const onOuterAbort = (): void => controller.abort(outer?.reason);
    if (outer?.aborted === true) onOuterAbort();
    else outer?.addEventListener('abort', onOuterAbort, { once: true });
    const cleanup = (): void => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    };
    // Our own typed reason when the deadline or the cap fired; the platform's error otherwise.
    const failure = (err: unknown): unknown => {
      const reason: unknown = controller.signal.reason;
      return reason instanceof LlmTimeoutError || reason instanceof LlmResponseTooLargeError ? reason : err;
    };
    let response: Response;
    try {
      response = await inner(input, { ...init, signal: controller.signal });
    } catch (err: unknown) {
      cleanup();
      throw failure(err);
    }
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (declared > maxResponseBytes) {
      const err = new LlmResponseTooLargeError(maxResponseBytes, declared);
      controller.abort(err);
      cleanup();
      throw err;
    }
    const body = response.body;
    if (body === null) {
      cleanup();
      return response;
    }
    const reader = body.getReader();
    let bytes = 0;
    const capped = new ReadableStream<Uint8Array>({
      async pull(sink): Promise<void> {
        try {
          const { done, value } = await reader.read();
          if (done) {
            cleanup();
            sink.close();
            return;
          }
          bytes += value.byteLength;
          if (bytes > maxResponseBytes) {
            const err = new LlmResponseTooLargeError(maxResponseBytes);
            controller.abort(err);
            cleanup();
            sink.error(err);
            return;
          }
          sink.enqueue(value);
        } catch (err: unknown) {
          cleanup();
          sink.error(failure(err));
        }
      },
      cancel(reason: unknown): Promise<void> {
        cleanup();
        return reader.cancel(reason);
      },
    });
    return new Response(capped, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
