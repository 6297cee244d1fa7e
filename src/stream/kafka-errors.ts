/**
 * One line for a person from a kafkajs error: the real cause (a missing topic, a record too large, a refused
 * login or ACL) rather than "Kafka is unavailable" for everything. Branches on kafkajs' `type` codes and
 * error class names, never on message text.
 */

interface KafkaLikeError {
  name?: string;
  message?: string;
  type?: string;
  cause?: unknown;
  errors?: unknown[];
}

/** The error and every error it wraps (cause chain, aggregate members), outermost first. */
function chain(err: unknown): KafkaLikeError[] {
  const out: KafkaLikeError[] = [];
  const queue: unknown[] = [err];
  while (queue.length > 0 && out.length < 20) {
    const e = queue.shift();
    if (typeof e !== 'object' || e === null || out.includes(e as KafkaLikeError)) continue;
    const k = e as KafkaLikeError;
    out.push(k);
    if (k.cause !== undefined) queue.push(k.cause);
    if (Array.isArray(k.errors)) queue.push(...k.errors);
  }
  return out;
}

const AUTHORIZATION = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
]);

/** True for errors thrown by kafkajs. */
export function isKafkaError(err: unknown): boolean {
  return err instanceof Error && err.name.startsWith('KafkaJS');
}

/**
 * A one-line explanation of a kafkajs error, naming the setting to check.
 * @param context what was being done, e.g. `writing to topic spillway.items`; added to the message.
 */
export function explainKafkaError(err: unknown, context?: string): string {
  const errors = chain(err);
  const where = context === undefined ? '' : ` ${context}`;
  const typed = (types: (t: string) => boolean): KafkaLikeError | undefined => errors.find((e) => typeof e.type === 'string' && types(e.type));
  if (typed((t) => t === 'UNKNOWN_TOPIC_OR_PARTITION') !== undefined) {
    return `Kafka: unknown topic or partition${where} (create the topic with \`spillway topics create\`, or fix its name in kafka.topics / --topic)`;
  }
  if (typed((t) => t === 'MESSAGE_TOO_LARGE' || t === 'RECORD_LIST_TOO_LARGE') !== undefined) {
    return `Kafka refused a record larger than the topic's max.message.bytes${where}`;
  }
  const denied = typed((t) => AUTHORIZATION.has(t));
  if (denied !== undefined) return `Kafka refused access${where}: ${denied.type ?? ''} (check the ACLs of the user in kafka.sasl)`;
  if (typed((t) => t === 'ILLEGAL_SASL_STATE' || t === 'UNSUPPORTED_SASL_MECHANISM') !== undefined) {
    return `Kafka: the broker's listener does not take this SASL mechanism${where} (kafka.sasl is set: is the listener SASL, and the mechanism enabled?)`;
  }
  const sasl = errors.find((e) => e.name === 'KafkaJSSASLAuthenticationError');
  if (sasl !== undefined) return `Kafka SASL authentication failed${where}: ${sasl.message ?? ''} (check kafka.sasl and SPILLWAY_KAFKA_SASL_PASSWORD)`;
  const top = errors[0];
  const inner = errors.length > 1 ? `: ${errors[errors.length - 1]?.message ?? ''}` : '';
  return `Kafka is unavailable${where} (${top?.name ?? 'error'}${inner}); check SPILLWAY_KAFKA_BROKERS (kafka.brokers) and kafka.ssl / kafka.sasl`;
}
