#!/usr/bin/env bash
# Stops the broker started by scripts/kafka/start.sh, by its pid file: SIGTERM (a clean
# shutdown flushes logs and the KRaft metadata), then SIGKILL after SPILLWAY_KAFKA_STOP_S seconds.
#   scripts/kafka/stop.sh     (npm run kafka:stop)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
home="${SPILLWAY_KAFKA_HOME:-$repo/.kafka}"
pid_file="$home/kafka.pid"
stop_s="${SPILLWAY_KAFKA_STOP_S:-30}"

if [[ ! -f "$pid_file" ]]; then
  echo "kafka: not running (no $pid_file)" >&2
  exit 0
fi
pid="$(cat "$pid_file")"
if ! kill -0 "$pid" 2>/dev/null; then
  echo "kafka: not running (stale pid $pid)" >&2
  rm -f "$pid_file"
  exit 0
fi

kill -TERM "$pid"
deadline=$(( SECONDS + stop_s ))
while kill -0 "$pid" 2>/dev/null; do
  if (( SECONDS >= deadline )); then
    echo "kafka: pid $pid still running after ${stop_s}s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.2
done
rm -f "$pid_file"
echo "kafka: stopped (pid $pid)" >&2
