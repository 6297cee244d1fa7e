/** The LLM endpoints a service built (src/llm/llm-endpoints.ts), as the cascade's builder takes them. */
import type { LlmEndpoints, LlmEndpointTier, Teacher } from '../llm/index.js';

/** `{ teacher }` or `{ tiers }`; nothing without an endpoint (the cascade then runs without an LLM). */
export function endpointOptions(endpoints: LlmEndpoints | undefined): { teacher?: Teacher; tiers?: LlmEndpointTier[] } {
  if (endpoints?.tiers !== undefined) return { tiers: endpoints.tiers };
  return endpoints?.teacher === undefined ? {} : { teacher: endpoints.teacher };
}
