// Waits until a Kafka broker answers a metadata request and reports a controller:
// a port that accepts connections is not yet a broker that serves requests.
//   node scripts/kafka/wait-ready.mjs [host:port] [timeoutSeconds]
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const broker = process.argv[2] ?? '127.0.0.1:9092';
const timeoutMs = Number(process.argv[3] ?? 60) * 1000;
const deadline = Date.now() + timeoutMs;
const kafka = new Kafka({ clientId: 'spillway-wait-ready', brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 0 } });

let lastError = 'no attempt';
while (Date.now() < deadline) {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.listTopics();
    await admin.disconnect();
    if (cluster.brokers.length > 0 && cluster.controller !== null) process.exit(0);
    lastError = 'no controller yet';
  } catch (err) {
    lastError = err instanceof Error ? err.message : String(err);
    await admin.disconnect().catch(() => undefined);
  }
  await new Promise((resolve) => setTimeout(resolve, 250));
}
console.error(`kafka: not ready after ${timeoutMs / 1000}s: ${lastError}`);
process.exit(1);
