/** The `quality` section of the configuration: targets the LLM gate keeps instead of (or under) a budget. */
import { z } from 'zod';

export const qualitySchema = z
  .object({
    targets: z
      .array(z.string())
      .default([])
      .describe(
        "Quality targets judged against the LLM's answers, e.g. `['agreement>=0.95', 'recall:hate>=0.9']` (`agreement`: share of published labels equal to the LLM's; `recall:<label>`, `precision:<label>`). The gate then sends the fewest items to the LLM that keep every target certified (anytime-valid bounds from audits); while a target cannot be certified, items go to the LLM. Empty: the budget alone rules (`cascade.llmBudget`); with both, the budget is a cap. See docs/quality.md.",
      ),
    delta: z.number().gt(0).lt(1).default(0.05).describe('Allowed probability that a window misses a target.'),
    window: z.number().int().min(50).default(1000).describe('Items per judged window: the horizon of the shift check.'),
    auditShare: z
      .number()
      .min(0)
      .max(1)
      .default(0.03)
      .describe('Share of the items the small stages answer that are audited (sent to the LLM as a random sample) once a threshold is certified.'),
    certifyOnce: z
      .boolean()
      .default(false)
      .describe(
        'Certify one threshold after the first window, then freeze it (no audits, no re-checks): the baseline of systems that certify one table. For benchmarks.',
      ),
  })
  .prefault({});
