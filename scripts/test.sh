#!/usr/bin/env bash
# Installs what the tests need, then runs every check and test: formatting, lints, the Rust
# tests (unit and against a real server), the first-party plugins built from source, and the
# kuzzle-sdk tests over WebSocket and HTTP.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

# A CI run builds once from scratch: incremental caches would only take disk space.
if [ -n "${CI:-}" ]; then
  export CARGO_INCREMENTAL=0
fi

"$root/scripts/install-test-deps.sh"

echo "==> cargo fmt --check"
cargo fmt --all --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo build (the palisade binary used by the end-to-end tests)"
cargo build --workspace --bins --locked

echo "==> build the plugins from source"
export PALISADE_PLUGINS_BUILD_DIR="$target_dir/plugins"
"$root/scripts/build-plugins.sh" "$PALISADE_PLUGINS_BUILD_DIR"
# Test-only guests, such as the strategy over a fixed account list that the server tests use.
"$root/scripts/build-plugins.sh" "$PALISADE_PLUGINS_BUILD_DIR" "$root"/tests/plugins/*/
# The TypeScript SDK's README example, which the host tests run.
node "$root/plugin-sdk/js/bin/palisade-plugin-build.js" "$root/plugin-sdk/js/examples/greeting.ts" \
  -o "$PALISADE_PLUGINS_BUILD_DIR/js-sdk-example.wasm"

echo "==> cargo test"
cargo test --workspace --locked

# The Rust plugin SDK and the Rust plugins stay out of the workspace (they target WebAssembly),
# so their formatting, lints and unit tests run on the build machine's target here, one crate at
# a time. They share one target folder without debug information, so common dependencies build
# once and take little disk.
for manifest in "$root"/plugin-sdk/rust/Cargo.toml "$root"/plugins/*/Cargo.toml; do
  echo "==> cargo fmt, clippy and test (${manifest#"$root"/})"
  cargo fmt --manifest-path "$manifest" --check
  CARGO_TARGET_DIR="$target_dir/plugin-checks" CARGO_PROFILE_DEV_DEBUG=false \
    cargo clippy --manifest-path "$manifest" --all-targets --locked -- -D warnings
  CARGO_TARGET_DIR="$target_dir/plugin-checks" CARGO_PROFILE_DEV_DEBUG=false \
    cargo test --manifest-path "$manifest" --locked
done

echo "==> TypeScript plugin SDK: unit tests and type check"
(cd "$root/plugin-sdk/js" && npm test && npm run typecheck)

echo "==> kuzzle-sdk tests"
export PALISADE_BIN="$target_dir/debug/palisade"
(cd tests/sdk-js && npm test)
