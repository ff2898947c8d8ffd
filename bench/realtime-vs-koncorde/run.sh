#!/bin/sh
# Benchmarks Palisade's realtime engine against koncorde@4.7.0 on the same generated filters
# and documents, and prints a Markdown table of rates, memory and ratios.
# Usage: bench/realtime-vs-koncorde/run.sh [WORK_DIR]   (default: target/realtime-vs-koncorde)
# RUNS (default 3) sets how many times each keyword runs on each side. The report keeps the
# best run of each, because that run is the one least disturbed by other work on the machine.
set -eu
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-$root/target/realtime-vs-koncorde}"
mkdir -p "$work"

if [ ! -f "$root/runtime/realtime/tests/koncorde/node_modules/koncorde/package.json" ]; then
  sh "$root/runtime/realtime/tests/koncorde/install.sh"
fi

cd "$root"
cargo build --release -j 2 -p palisade-bench-realtime
bin="${CARGO_TARGET_DIR:-$root/target}/release/realtime-vs-koncorde"

"$bin" generate "$work/data"
: > "$work/rust.jsonl"
: > "$work/node.jsonl"
# One process per keyword and engine, so that memory growth belongs to one keyword. The two
# sides alternate so that both see the same machine load.
for run in $(seq "${RUNS:-3}"); do
  for keyword in equals exists in range geoBoundingBox geoDistance geoDistanceRange geoPolygon regexp mixed; do
    "$bin" run "$work/data" "$keyword" >> "$work/rust.jsonl"
    node --expose-gc "$root/bench/realtime-vs-koncorde/koncorde.js" "$work/data" "$keyword" \
      >> "$work/node.jsonl"
  done
done
"$bin" report "$work/rust.jsonl" "$work/node.jsonl" | tee "$work/report.md"
