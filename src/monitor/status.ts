import type { QualityStatus } from '../quality/index.js';

/**
 * The shapes /status and /status/history serve, shared by the server, the dashboard (as documentation) and the
 * terminal view. Rates are null when their denominator is zero: "no data" is not "0%".
 */
import type { WindowName } from './rolling-window.js';

/** A stage's agreement with the LLM: `agree` of `n` comparisons, with its 95% Wilson band. */
export interface AgreementStatus {
  agree: number;
  n: number;
  estimate: number | null;
  lower: number | null;
  upper: number | null;
}

/** What one stage did over a window. */
export interface StageStatus {
  /** Items that reached the stage. */
  reached: number;
  /** Items the stage kept (did not pass on). */
  answered: number;
  deferred: number;
  /** deferred / reached. */
  deferralRate: number | null;
  /** audited: on audit samples of answers the stage kept; overall: on every item both the stage and the LLM labelled. */
  agreement: { audited: AgreementStatus; overall: AgreementStatus };
}

/** Everything counted over one window. */
export interface WindowStatus {
  /** Length of the window actually observed (shorter than the window right after start), seconds. */
  spanSeconds: number;
  items: number;
  /** By stage name, in cascade order as first seen. */
  stages: Record<string, StageStatus>;
  llm: {
    /** Real LLM calls, audits included. */
    calls: number;
    /** Calls made only to audit a small stage. */
    audits: number;
    unparseable: number;
    /** Calls that failed after retries. */
    errors: number;
    cacheHits: number;
    /** Items that got an LLM answer (call or cache) / items. */
    share: number | null;
    /** calls / the window's observed span in minutes, that span counted as at least one minute. */
    callsPerMinute: number;
    /** Tokens from the API's usage (a batch request's split across its items). */
    promptTokens: number;
    completionTokens: number;
    /** Money spent on those tokens at llm.pricePerMillion…Tokens, dollars. */
    dollars: number;
    /** Items answered by a small stage because the LLM could not answer before llm.deadlineMs. */
    deadlineMisses: number;
  };
  cost: {
    /** Cost units spent. */
    spent: number;
    /** Cost units an LLM-only run would have spent on the same items. */
    llmOnly: number;
    saved: number;
    /** saved / llmOnly. */
    savedRatio: number | null;
  };
  /**
   * Annotations by `reason` (why each answer is the LLM's or a small stage's: confident, deferred, warmup,
   * exploration, audit, deadline, budget, llm-failed, cache, cold, shared), counted over the window.
   */
  reasons: Record<string, number>;
}

/** GET /status. */
export interface Status {
  startedAt: string;
  uptimeSeconds: number;
  /** Stage names in cascade order as first seen. */
  stageOrder: string[];
  windows: Record<WindowName, WindowStatus>;
  /** Model versions (update counts) by stage. */
  models: Record<string, number>;
  /**
   * The LLM budget: `target`, the configured share of items the LLM may get (`cascade.llmBudget`); `llmShare`,
   * the share it got so far in this run, and `threshold`, the deferral score above which an item goes to it
   * (the budget controller's last report; null before the first item).
   */
  budget: { target: number | null; threshold: number | null; llmShare: number | null };
  /**
   * With quality targets (`quality.targets`): per target whether it is held, its certified lower bound and
   * estimate at the threshold in use; the threshold (null: none certified, every item to the LLM), the audits
   * behind the bounds, and `llmShare`, the share of items the LLM got (what the targets cost).
   */
  quality?: QualityStatus & { llmShare: number | null };
  /** Which worker this is (`spillway run`), and with shared learning which snapshot and label offset it is at. */
  worker?: WorkerStatus;
}

/** The worker part of /status (`spillway run`). */
export interface WorkerStatus {
  /** The worker id (its transactional id); also the `worker` label of every metric. */
  id: string;
  /** True when the group's workers learn from one label topic. */
  sharedLearning: boolean;
  /** Shared learning's position: restored snapshot, label offset, labels trained on, last snapshot. */
  [detail: string]: unknown;
}

/** One point of GET /status/history, sampled every few seconds. */
export interface HistoryPoint {
  /** Sample time, ms since the epoch. */
  t: number;
  /** Items since start. */
  items: number;
  /** Each stage's deferral rate over the last minute. */
  deferralRate: Record<string, number | null>;
  /** LLM calls over the last minute. */
  llmCallsPerMinute: number;
  /** Cost units saved since start, and as a share of the LLM-only cost. */
  costSaved: number;
  costSavedRatio: number | null;
  /** Each stage's agreement with the LLM over the last 15 minutes. */
  agreement: Record<string, { audited: AgreementStatus; overall: AgreementStatus }>;
}
