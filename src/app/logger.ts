import pino, { type Logger } from 'pino';
import { REDACTED, redactSecrets } from '../errors.js';

/** Options of {@link createRootLogger}. */
export interface RootLoggerOptions {
  /** Pretty-print (default: when stderr is a terminal). */
  pretty?: boolean;
  /** Secret values (the LLM API key) replaced by `[redacted]` wherever they appear in a logged error. */
  secrets?: ReadonlyArray<string | undefined>;
  /** Where lines go instead of stderr (tests read them back). Implies JSON lines. */
  destination?: pino.DestinationStream;
}

/** The asynchronous stderr destination of the last root logger made without one of its own. */
let stderrDestination: pino.DestinationStream | undefined;

/** Field paths that hold credentials in objects we log (config slices, request options). */
const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'llm.apiKey',
  'config.llm.apiKey',
  'authorization',
  'headers.authorization',
  '*.headers.authorization',
  'err.headers.authorization',
];

/**
 * The root logger. Logs go to stderr so stdout stays free for data (JSONL, --json reports).
 * On a TTY they are pretty-printed; elsewhere one JSON object per line. The API key is redacted wherever it
 * appears: by path in logged objects (pino redaction), and by value and by shape (`sk-…`, `Bearer …`) in every
 * string of a logged error (message, stack, causes, fields), since remote endpoints may echo it back.
 */
export function createRootLogger(level: string, options: RootLoggerOptions = {}): Logger {
  const pretty = options.pretty ?? process.stderr.isTTY === true;
  const redact = { paths: REDACT_PATHS, censor: REDACTED };
  const secrets = options.secrets ?? [];
  const serializers = { err: (err: unknown): unknown => scrub(pino.stdSerializers.err(err as Error), secrets, 0) };
  if (options.destination !== undefined) return pino({ level, redact, serializers }, options.destination);
  if (pretty) {
    return pino({
      level,
      redact,
      serializers,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  const destination = pino.destination({ fd: 2, sync: false });
  stderrDestination = destination;
  return pino({ level, redact, serializers }, destination);
}

/**
 * Writes to stderr after every log line written before it. Logs reach stderr asynchronously, so a plain
 * `process.stderr.write` can land ahead of the last ones, and a command's closing reason would not be its
 * last line; this goes through the same destination, in order.
 */
export function writeAfterLogs(text: string): void {
  if (stderrDestination === undefined) process.stderr.write(text);
  else stderrDestination.write(text);
}

/** A copy of a serialized error with every string scrubbed of secrets. */
function scrub(value: unknown, secrets: ReadonlyArray<string | undefined>, depth: number): unknown {
  if (typeof value === 'string') return redactSecrets(value, secrets);
  if (depth > 6 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, secrets, depth + 1);
  return out;
}

export type { Logger };
