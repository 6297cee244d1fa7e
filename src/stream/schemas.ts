/**
 * The Avro schemas of the topics, read from `topics/*.avsc` once at start-up
 * (`avro.Type.forSchema` is costly; the hot path only uses the built types).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import avro from 'avsc';
import { ConfigError } from '../errors.js';

/** The repository's `topics/` folder, where the schemas and topics.yaml live. */
export const TOPICS_DIR = fileURLToPath(new URL('../../topics/', import.meta.url));

/** The built Avro types of the current schema of each topic role. */
export interface TopicSchemas {
  item: avro.Type;
  annotation: avro.Type;
  deadLetter: avro.Type;
  /** spillway.labels (shared learning). */
  label: avro.Type;
  /** spillway.models: one chunk of a learned-state snapshot. */
  modelChunk: avro.Type;
}

/** Reads and builds one .avsc file; a missing or invalid file is a ConfigError naming it. */
export function loadAvroType(file: string): avro.Type {
  try {
    return avro.Type.forSchema(JSON.parse(readFileSync(file, 'utf8')) as avro.Schema);
  } catch (err: unknown) {
    throw new ConfigError([{ key: 'topics', message: `cannot load Avro schema ${file}`, value: file }], { cause: err });
  }
}

/** Loads the current schema of every topic role from `dir` (default: the repository's topics/). */
export function loadTopicSchemas(dir: string = TOPICS_DIR): TopicSchemas {
  return {
    item: loadAvroType(path.join(dir, 'spillway.items.avsc')),
    annotation: loadAvroType(path.join(dir, 'spillway.annotations.avsc')),
    deadLetter: loadAvroType(path.join(dir, 'spillway.dead-letter.avsc')),
    label: loadAvroType(path.join(dir, 'spillway.labels.avsc')),
    modelChunk: loadAvroType(path.join(dir, 'spillway.models.avsc')),
  };
}
