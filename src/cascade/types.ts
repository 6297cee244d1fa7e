/** The records the cascade takes and gives: defined once, in src/types.ts, for every layer. */
export {
  ANNOTATION_REASONS,
  cacheTierOf,
  llmLabelOf,
  type Annotation,
  type AnnotationReason,
  type Item,
  type LlmSource,
  type StageName,
  type StageTrace,
} from '../types.js';
