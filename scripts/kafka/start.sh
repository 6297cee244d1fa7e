#!/usr/bin/env bash
# Starts a single-node Apache Kafka broker (KRaft: controller and broker in one JVM) on
# 127.0.0.1:9092 (SPILLWAY_KAFKA_PORT) in the background, for development and CI. No Docker needed: the broker jars
# come from Maven Central (scripts/kafka/pom.xml) into .kafka/lib.
#
#   scripts/kafka/start.sh [--clean]     (npm run kafka:start)
#
# Idempotent: a broker already running (pid file alive, or the port answering) → exit 0.
# --clean wipes .kafka/data first (a fresh cluster). Environment:
#   SPILLWAY_KAFKA_HOME    state folder (default <repo>/.kafka)
#   SPILLWAY_KAFKA_LIB     broker jars folder (default $SPILLWAY_KAFKA_HOME/lib)
#   SPILLWAY_KAFKA_PORT    client port (default 9092); the controller listens on SPILLWAY_KAFKA_CONTROLLER_PORT (9093)
#   SPILLWAY_KAFKA_HEAP    JVM heap flags (default "-Xms256m -Xmx1g")
#   SPILLWAY_KAFKA_WAIT_S  seconds to wait for readiness (default 90)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
home="${SPILLWAY_KAFKA_HOME:-$repo/.kafka}"
lib="${SPILLWAY_KAFKA_LIB:-$home/lib}" data="$home/data" conf="$home/conf" logs="$home/logs"
port="${SPILLWAY_KAFKA_PORT:-9092}" controller_port="${SPILLWAY_KAFKA_CONTROLLER_PORT:-9093}"
pid_file="$home/kafka.pid"
heap="${SPILLWAY_KAFKA_HEAP:--Xms256m -Xmx1g}"
wait_s="${SPILLWAY_KAFKA_WAIT_S:-90}"
clean=0
for arg in "$@"; do
  case "$arg" in
    --clean) clean=1 ;;
    *) echo "usage: $0 [--clean]" >&2; exit 2 ;;
  esac
done

say() { echo "kafka: $*" >&2; }

port_open() { (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; }

if [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  say "already running (pid $(cat "$pid_file"))"
  exit 0
fi
if port_open; then
  say "something already answers on 127.0.0.1:$port (not started by this script); leaving it"
  exit 0
fi

command -v java >/dev/null || { say "java not found (install a JDK 17+, e.g. apt-get install openjdk-17-jdk-headless)"; exit 1; }
mkdir -p "$home" "$conf" "$logs"

# 1. Broker jars. A marker records the pom they came from, so editing the pom re-resolves.
pom="$repo/scripts/kafka/pom.xml"
pom_sum="$(sha256sum "$pom" | cut -d' ' -f1)"
if [[ ! -f "$lib/.resolved" || "$(cat "$lib/.resolved")" != "$pom_sum" ]]; then
  command -v mvn >/dev/null || { say "mvn not found (apt-get install maven)"; exit 1; }
  say "resolving broker jars from Maven Central into $lib (first run only)"
  rm -rf "$lib"
  mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$lib" >"$logs/maven.log" 2>&1 \
    || { say "maven failed; see $logs/maven.log"; tail -20 "$logs/maven.log" >&2; exit 1; }
  echo "$pom_sum" >"$lib/.resolved"
fi

# 2. Configuration, regenerated each start so edits here take effect.
cat >"$conf/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data
num.partitions=3
auto.create.topics.enable=false
delete.topic.enable=true
# One broker: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
min.insync.replicas=1
# Consumers join at once instead of waiting 3 s for more members (tests start many groups).
group.initial.rebalance.delay.ms=0
# A producer killed mid-transaction blocks read_committed readers until its transaction is
# aborted; restarting with the same transactional id aborts it at once, this bounds the rest.
transaction.max.timeout.ms=900000
log.retention.hours=168
log.segment.bytes=268435456
PROPS

cat >"$conf/log4j.properties" <<PROPS
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$logs/server.log
log4j.appender.file.MaxFileSize=50MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
PROPS

java_opts=(-cp "$lib/*" "-Dlog4j.configuration=file:$conf/log4j.properties" -Djava.awt.headless=true)

# 3. Format the storage once (KRaft needs a cluster id written into every log dir).
if [[ "$clean" == 1 ]]; then rm -rf "$data"; fi
if [[ ! -f "$data/meta.properties" ]]; then
  cluster_id="$(java "${java_opts[@]}" kafka.tools.StorageTool random-uuid 2>>"$logs/storage.log" | tail -1)"
  say "formatting $data (cluster $cluster_id)"
  java "${java_opts[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$conf/server.properties" >>"$logs/storage.log" 2>&1 \
    || { say "storage format failed; see $logs/storage.log"; tail -20 "$logs/storage.log" >&2; exit 1; }
fi

# 4. Start in the background, detached from this shell's session so it outlives it.
# shellcheck disable=SC2086 # $heap holds several flags on purpose
setsid nohup java $heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 "${java_opts[@]}" \
  kafka.Kafka "$conf/server.properties" >"$logs/stdout.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pid_file"
say "started pid $pid; waiting for it to answer (logs: $logs/server.log)"

# 5. Ready = the port answers AND a metadata request through kafkajs succeeds.
start_s=$SECONDS
until port_open; do
  if ! kill -0 "$pid" 2>/dev/null; then
    say "broker exited during start-up; last log lines:"; tail -30 "$logs/server.log" "$logs/stdout.log" >&2 || true
    rm -f "$pid_file"; exit 1
  fi
  if (( SECONDS - start_s > wait_s )); then say "no answer on 127.0.0.1:$port after ${wait_s}s"; exit 1; fi
  sleep 0.2
done
remaining=$(( wait_s - (SECONDS - start_s) ))
if ! node "$repo/scripts/kafka/wait-ready.mjs" "127.0.0.1:$port" "$(( remaining > 5 ? remaining : 5 ))"; then
  say "broker answers but is not ready; see $logs/server.log"; exit 1
fi
say "ready on 127.0.0.1:$port after $(( SECONDS - start_s ))s (pid $pid)"
