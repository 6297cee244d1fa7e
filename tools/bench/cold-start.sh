#!/usr/bin/env bash
# Cold start of the embedded service (issue 9): a fresh `spillway start` (empty models folder) over the first
# 1,000 isear lines, budget 0.313, the replay LLM (GPT-3.5's recorded answers) at LATENCY_MS (default 300).
# Prints the reasons of the first 600 annotations and their agreement with the LLM, then the whole run's.
# Usage: npm run bench:cold   (LATENCY_MS=800 npm run bench:cold)
set -euo pipefail
cd "$(dirname "$0")/../.."
DATASET=../shared/datasets/isear.jsonl
WORK=$(mktemp -d)
trap 'kill "${REPLAY_PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
head -1000 "$DATASET" | node -e '
  const rl = require("readline").createInterface({ input: process.stdin });
  rl.on("line", (l) => { const r = JSON.parse(l); console.log(JSON.stringify({ id: r.id, text: r.text })); });' > "$WORK/items.jsonl"
node bin/spillway.js replay-llm --dataset "$DATASET" --teacher gpt-3.5-turbo-1106 --port 0 --latency-ms "${LATENCY_MS:-300}" > "$WORK/replay.url" 2> "$WORK/replay.log" &
REPLAY_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/replay.url" ] && break; sleep 0.1; done
SPILLWAY_LLM_BASE_URL=$(head -1 "$WORK/replay.url") SPILLWAY_LLM_MODEL=gpt-3.5-turbo-1106 SPILLWAY_TASK=../shared/datasets/isear.task.json \
  SPILLWAY_MODELS_DIR="$WORK/models" SPILLWAY_LOG_LEVEL=warn \
  node bin/spillway.js start --input "$WORK/items.jsonl" --output "$WORK/out.jsonl" --llm-budget 0.313 --http-port 0 --no-save 2> /dev/null
node -e '
  const fs = require("fs");
  const rows = (f) => fs.readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const llm = new Map(rows(process.argv[1]).map((r) => [r.id, r.llm["gpt-3.5-turbo-1106"]]));
  const report = (what, as) => {
    const reasons = {};
    let agree = 0;
    for (const a of as) { reasons[a.reason] = (reasons[a.reason] ?? 0) + 1; if (a.labelId === llm.get(a.id)) agree++; }
    const confidentCold = as.filter((a) => a.reason === "confident" && a.answeredBy !== "llm" && a.stages.some((s) => s.version === 0)).length;
    console.log(`${what}: ${as.length} annotations, agreement with the LLM ${(100 * agree / as.length).toFixed(1)} %, LLM calls ${(100 * as.filter((a) => a.llmCalled).length / as.length).toFixed(1)} %, confident answers of version-0 models ${confidentCold}, reasons ${JSON.stringify(reasons)}`);
  };
  const all = rows(process.argv[2]);
  report("first 600", all.slice(0, 600));
  report("all", all);' "$DATASET" "$WORK/out.jsonl"
