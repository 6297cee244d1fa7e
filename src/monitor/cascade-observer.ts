/**
 * What the monitor reads of an annotation: a view of the one record type (src/types.ts), not a definition of
 * its own. The cascade's observer interface (src/cascade/observer.ts) is the cascade's; the monitor's
 * CascadeMetrics fits it without importing the cascade, and implements the LLM scheduler's SchedulerObserver
 * (also a core type, in src/types.ts).
 *
 * An audit (`audited: true`) carries the LLM's answer as the `llm` stage trace and the audited small stage's
 * own label in its trace with `deferred: false` (`deferred` is what the policy decided, even when the item was
 * sent on regardless); `llmLabelOf` in src/types.ts reads it that way.
 */
import type { Annotation } from '../types.js';

/** The fields of an annotation the monitor reads. */
export type ObservedAnnotation = Pick<
  Annotation,
  'answeredBy' | 'stages' | 'labelId' | 'llmCalled' | 'llmSource' | 'llmUnparseable' | 'audited' | 'costUnits' | 'latencyMs'
> &
  Partial<Pick<Annotation, 'llmFailed' | 'reason'>>;
