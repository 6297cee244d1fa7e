/**
 * Spillway's error hierarchy. Callers branch on `instanceof` or on fields, never on message text.
 * The base class sets `name` from the concrete class so every subclass reports itself correctly.
 */
export interface SpillwayErrorOptions {
  /** True when the same operation may succeed if tried again (network blips, 5xx, timeouts). */
  retriable?: boolean;
  cause?: unknown;
}

export class SpillwayError extends Error {
  readonly retriable: boolean;

  constructor(message: string, options: SpillwayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** One configuration problem: which key, what was found, what was expected. */
export interface ConfigIssue {
  key: string;
  message: string;
  value?: unknown;
}

/** Invalid configuration (file, env or flags). Lists every problem, not only the first. */
export class ConfigError extends SpillwayError {
  readonly issues: readonly ConfigIssue[];
  readonly key: string;

  constructor(issues: readonly ConfigIssue[], options: SpillwayErrorOptions = {}) {
    const lines = issues.map((i) => `  - ${i.key}: ${i.message}`);
    super(`invalid configuration:\n${lines.join('\n')}`, options);
    this.issues = issues;
    this.key = issues[0]?.key ?? '';
  }
}

/** An input record or line that cannot become an item (bad JSON/Avro, missing or empty text, oversize). */
export class InvalidItemError extends SpillwayError {
  /** Machine-readable reason, stable across releases: used as the dead-letter `errorKind`. */
  readonly kind: InvalidItemKind;

  constructor(kind: InvalidItemKind, message: string, options: SpillwayErrorOptions = {}) {
    super(message, options);
    this.kind = kind;
  }
}

export type InvalidItemKind =
  'not-json' | 'not-avro' | 'wrong-schema' | 'missing-text' | 'empty-text' | 'oversize' | 'oversize-id' | 'missing-id' | 'duplicate-id';

/** A Kafka record that could not be decoded; carries where it came from. */
export class DecodeError extends InvalidItemError {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;

  constructor(kind: InvalidItemKind, message: string, where: { topic: string; partition: number; offset: string }, options: SpillwayErrorOptions = {}) {
    super(kind, message, options);
    this.topic = where.topic;
    this.partition = where.partition;
    this.offset = where.offset;
  }
}

/**
 * A record of shared learning's label or snapshot topic that cannot be used: undecodable, malformed, over a
 * size limit, with a non-finite number, an offset beyond the label topic, a checksum that does not match.
 * `kind` (stable across releases) is the dead-letter `errorKind`; the record is counted, logged, dead-lettered
 * and skipped, never trained on and never a reason to stop.
 */
export class InvalidSharedRecordError extends SpillwayError {
  readonly kind: SharedRecordKind;

  constructor(kind: SharedRecordKind, message: string, options: SpillwayErrorOptions = {}) {
    super(message, options);
    this.kind = kind;
  }
}

export type SharedRecordKind =
  | 'label-undecodable'
  | 'label-malformed'
  | 'label-oversize'
  | 'label-out-of-range'
  | 'label-mismatch'
  | 'label-unlearnable'
  | 'snapshot-chunk-undecodable'
  | 'snapshot-chunk-malformed'
  | 'snapshot-chunk-oversize'
  | 'snapshot-offset'
  | 'snapshot-inconsistent'
  | 'snapshot-checksum'
  | 'snapshot-unusable';

/** The LLM endpoint answered with an HTTP error. 429 and 5xx are retriable. */
export class LlmHttpError extends SpillwayError {
  readonly status: number | undefined;
  /** The endpoint's error code when it sent one (OpenAI's `error.code`, e.g. `model_not_found`, `invalid_api_key`). */
  readonly code: string | undefined;
  /** The endpoint's Retry-After (429/503), ms: the retry waits at least this long. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    status: number | undefined,
    options: SpillwayErrorOptions & { code?: string | undefined; retryAfterMs?: number | undefined } = {},
  ) {
    const { code, retryAfterMs, ...rest } = options;
    super(message, { retriable: status === undefined || status === 429 || status >= 500, ...rest });
    this.status = status;
    this.code = code ?? undefined;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The LLM cannot be used: refused the key, does not know the model, or cannot be reached. `setting` names
 * what to check (SPILLWAY_LLM_API_KEY, SPILLWAY_LLM_MODEL or SPILLWAY_LLM_BASE_URL). Raised by the startup
 * check and, with `llm.onUnavailable: fail`, during a run; never retriable (the process exits).
 */
export class LlmUnavailableError extends SpillwayError {
  readonly setting: string;
  readonly status: number | undefined;

  constructor(message: string, setting: string, status: number | undefined, options: SpillwayErrorOptions = {}) {
    super(message, { ...options, retriable: false });
    this.setting = setting;
    this.status = status;
  }
}

/** The LLM did not answer within the configured timeout. */
export class LlmTimeoutError extends SpillwayError {
  readonly timeoutMs: number;

  constructor(timeoutMs: number, options: SpillwayErrorOptions = {}) {
    super(`LLM call timed out after ${timeoutMs} ms`, { retriable: true, ...options });
    this.timeoutMs = timeoutMs;
  }
}

/** The LLM endpoint sent a response body over `llm.maxResponseBytes`; reading stopped at the limit. */
export class LlmResponseTooLargeError extends SpillwayError {
  readonly maxBytes: number;
  /** The size the endpoint declared (content-length), when it declared one. */
  readonly declaredBytes: number | undefined;

  constructor(maxBytes: number, declaredBytes?: number, options: SpillwayErrorOptions = {}) {
    super(
      `LLM response over the ${maxBytes}-byte limit${declaredBytes === undefined ? '' : ` (declared ${declaredBytes} bytes)`} (llm.maxResponseBytes)`,
      options,
    );
    this.maxBytes = maxBytes;
    this.declaredBytes = declaredBytes;
  }
}

/** Retries were exhausted; `attempts` says how many were made. `cause` is the last error. */
export class RetriesExhaustedError extends SpillwayError {
  readonly attempts: number;

  constructor(attempts: number, cause: unknown) {
    super(`gave up after ${attempts} attempts`, { retriable: false, cause });
    this.attempts = attempts;
  }
}

/** Model state could not be saved (read-only or full disk, …); the previous save, if any, is intact. */
export class ModelSaveError extends SpillwayError {
  readonly path: string;

  constructor(path: string, message: string, options: SpillwayErrorOptions = {}) {
    super(`cannot save model state to ${path}: ${message}`, options);
    this.path = path;
  }
}

/** The LLM-call budget does not allow another call now. */
export class BudgetExhaustedError extends SpillwayError {}

/** A task file is missing, unreadable or does not describe a task. */
export class TaskError extends SpillwayError {
  readonly path: string;

  constructor(path: string, message: string, options: SpillwayErrorOptions = {}) {
    super(`task ${path}: ${message}`, options);
    this.path = path;
  }
}

/** Saved model state could not be read, or does not fit the running configuration. */
export class ModelStateError extends SpillwayError {
  readonly path: string;

  constructor(path: string, message: string, options: SpillwayErrorOptions = {}) {
    super(`model state ${path}: ${message}`, options);
    this.path = path;
  }
}

/**
 * Saved model state is damaged: a file's checksum or size does not match the manifest, a shape is wrong, or
 * weights are not finite (NaN, ±Infinity). Refused rather than loaded, since such a model answers one label
 * everywhere; `--reset-models` sets the folder aside and starts fresh.
 */
export class CorruptModelStateError extends ModelStateError {
  /** The file at fault, relative to the state folder (`manifest.json`, `lr/weights.f32`, …). */
  readonly file: string;

  constructor(path: string, file: string, message: string, options: SpillwayErrorOptions = {}) {
    super(path, `${file}: ${message} (run with --reset-models to set the folder aside and start fresh)`, options);
    this.file = file;
  }
}

/**
 * A model file could not be downloaded or failed its check: unreachable repository, HTTP error, a checksum that
 * differs from the published one, an archive without the expected files. Network failures are retriable.
 */
export class ModelFetchError extends SpillwayError {
  readonly url: string;

  constructor(url: string, message: string, options: SpillwayErrorOptions = {}) {
    super(`${url}: ${message}`, options);
    this.url = url;
  }
}

/** A dataset file (JSONL with recorded LLM answers) is missing, malformed or lacks what was asked of it. */
export class DatasetError extends SpillwayError {
  readonly path: string;
  /** 1-based line of the problem, when it is one line's fault. */
  readonly line: number | undefined;

  constructor(path: string, message: string, line?: number, options: SpillwayErrorOptions = {}) {
    super(`dataset ${path}${line === undefined ? '' : `:${line}`}: ${message}`, options);
    this.path = path;
    this.line = line;
  }
}

/** The Confluent schema registry could not be reached or refused a request. 5xx and network failures are retriable. */
export class SchemaRegistryError extends SpillwayError {
  readonly status: number | undefined;

  constructor(message: string, status: number | undefined, options: SpillwayErrorOptions = {}) {
    super(message, { retriable: status === undefined || status >= 500, ...options });
    this.status = status;
  }
}

/** Replacement written where a secret was. */
export const REDACTED = '[redacted]';

// Shapes of credentials that may reach an error message even when we do not know the value (another key
// of the same provider, a bearer token echoed back): OpenAI-style keys and Authorization values.
const SECRET_PATTERNS: readonly RegExp[] = [/\bsk-[A-Za-z0-9_-]{8,}/g, /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi];

/**
 * `text` with every known secret value (at least 4 characters) and every credential-shaped token replaced by
 * `[redacted]`. Used on error messages from remote endpoints before they are wrapped, logged or printed.
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const secret of secrets) if (secret !== undefined && secret.length >= 4) out = out.split(secret).join(REDACTED);
  for (const pattern of SECRET_PATTERNS)
    out = out.replace(pattern, (match, scheme: unknown) => (typeof scheme === 'string' ? `${scheme} ${REDACTED}` : REDACTED));
  return out;
}

/** A Kafka topic Spillway needs does not exist (auto-creation is off on the project's broker). */
export class TopicNotFoundError extends SpillwayError {
  readonly topic: string;

  constructor(topic: string, message?: string, options: SpillwayErrorOptions = {}) {
    super(message ?? `topic ${topic} does not exist (create it with \`spillway topics create\`, or fix the topic name in kafka.topics)`, options);
    this.topic = topic;
  }
}

/** Records could not all be written; `written` says how many landed before the failure. */
export class ProduceError extends SpillwayError {
  readonly written: number;

  constructor(message: string, written: number, options: SpillwayErrorOptions = {}) {
    super(message, options);
    this.written = written;
  }
}
