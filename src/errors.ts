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
  | 'not-json'
  | 'not-avro'
  | 'wrong-schema'
  | 'missing-text'
  | 'empty-text'
  | 'oversize'
  | 'missing-id';

/** A Kafka record that could not be decoded; carries where it came from. */
export class DecodeError extends InvalidItemError {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;

  constructor(
    kind: InvalidItemKind,
    message: string,
    where: { topic: string; partition: number; offset: string },
    options: SpillwayErrorOptions = {},
  ) {
    super(kind, message, options);
    this.topic = where.topic;
    this.partition = where.partition;
    this.offset = where.offset;
  }
}

/** The LLM endpoint answered with an HTTP error. 429 and 5xx are retriable. */
export class LlmHttpError extends SpillwayError {
  readonly status: number | undefined;

  constructor(message: string, status: number | undefined, options: SpillwayErrorOptions = {}) {
    super(message, { retriable: status === undefined || status === 429 || status >= 500, ...options });
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

/** Retries were exhausted; `attempts` says how many were made. `cause` is the last error. */
export class RetriesExhaustedError extends SpillwayError {
  readonly attempts: number;

  constructor(attempts: number, cause: unknown) {
    super(`gave up after ${attempts} attempts`, { retriable: false, cause });
    this.attempts = attempts;
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
