/**
 * The quality targets' standing, for operators: a gauge per target (met, certified lower bound, estimate),
 * the threshold and the audits behind it on /metrics; the last standing on /status; a log line when a target
 * stops being held (the budget's cap refuses the calls it needs) and when it is held again; /healthz degraded
 * while one is not.
 */
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { QualityStatus } from '../quality/index.js';

export class QualityMetrics {
  private readonly met: Gauge<'target'>;
  private readonly lowerBound: Gauge<'target'>;
  private readonly estimate: Gauge<'target'>;
  private readonly threshold: Gauge;
  private readonly audits: Gauge;
  private readonly epochs: Gauge;
  private last: QualityStatus | undefined;
  private readonly unmet = new Set<string>();

  constructor(
    registry: Registry,
    private readonly log: Logger,
  ) {
    const registers = [registry];
    this.met = new Gauge({
      name: 'spillway_quality_target_met',
      help: 'Whether a quality target is held: 1 when certified at the threshold in use or every item it covers goes to the LLM; 0 when the LLM budget cap refuses the calls it needs.',
      labelNames: ['target'],
      registers,
    });
    this.lowerBound = new Gauge({
      name: 'spillway_quality_lower_bound',
      help: "A quality target's certified lower bound (anytime-valid, probability 1 − quality.delta) at the threshold in use.",
      labelNames: ['target'],
      registers,
    });
    this.estimate = new Gauge({
      name: 'spillway_quality_estimate',
      help: "A quality target's estimate from the audited sample, at the threshold in use.",
      labelNames: ['target'],
      registers,
    });
    this.threshold = new Gauge({
      name: 'spillway_quality_threshold',
      help: 'The LLM gate threshold the quality targets certified; -1 while none is (every item goes to the LLM).',
      registers,
    });
    this.audits = new Gauge({
      name: 'spillway_quality_audits',
      help: 'Sampled items with the LLM answer behind the current bounds (since the last shift).',
      registers,
    });
    this.epochs = new Gauge({ name: 'spillway_quality_epochs', help: 'Evidence epochs begun: 1 + shifts detected (a new label, a worse window).', registers });
  }

  onStatus(status: QualityStatus): void {
    this.last = status;
    this.threshold.set(status.threshold ?? -1);
    this.audits.set(status.audits);
    this.epochs.set(status.epochs);
    for (const t of status.targets) {
      this.met.labels(t.target).set(t.met ? 1 : 0);
      if (t.lowerBound !== null) this.lowerBound.labels(t.target).set(t.lowerBound);
      if (t.estimate !== null) this.estimate.labels(t.target).set(t.estimate);
      if (!t.met && !this.unmet.has(t.target)) {
        this.unmet.add(t.target);
        this.log.warn(
          { target: t.target, lowerBound: t.lowerBound, audits: status.audits },
          'quality target not held: the LLM budget cap refuses the calls it needs (annotations carry reason "uncertified")',
        );
      } else if (t.met && this.unmet.delete(t.target)) this.log.info({ target: t.target, lowerBound: t.lowerBound }, 'quality target held again');
    }
  }

  /** The last standing reported (undefined without targets). */
  status(): QualityStatus | undefined {
    return this.last;
  }

  /** Why the service is degraded (a target not held), or undefined. */
  degraded(): string | undefined {
    const unmet = this.last?.targets.filter((t) => !t.met).map((t) => t.target) ?? [];
    return unmet.length === 0 ? undefined : `quality target not held (LLM budget cap binds): ${unmet.join(', ')}`;
  }
}
