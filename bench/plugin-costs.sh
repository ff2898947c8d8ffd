#!/usr/bin/env bash
# Builds the plugins (the first-party ones, the benchmark's two pipes and its TypeScript
# greeting) from source, then runs the plugin benchmark in release mode.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
export PALISADE_PLUGINS_BUILD_DIR="$target_dir/plugins"

"$root/scripts/build-plugins.sh" "$PALISADE_PLUGINS_BUILD_DIR"
"$root/scripts/build-plugins.sh" "$PALISADE_PLUGINS_BUILD_DIR" "$root/bench/plugins/pipe" \
  "$root/bench/plugins/pipe-parse"

sdk="$root/plugin-sdk/js"
if [[ ! -d "$sdk/node_modules" ]]; then
  (cd "$sdk" && npm ci --no-audit --no-fund --loglevel=error)
fi
node "$sdk/bin/palisade-plugin-build.js" "$root/bench/plugins/greeting-js.ts" \
  -o "$PALISADE_PLUGINS_BUILD_DIR/greeting-js.wasm"

cargo run --release -p palisade-bench --bin plugin_costs
cargo run --release -p palisade-bench --bin plugin_call
