#!/usr/bin/env bash
# Installs what the tests need, then runs every check and test: formatting, lints, the Rust
# tests (unit and against a real server), the first-party plugins built from source, and the
# kuzzle-sdk tests over WebSocket and HTTP.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

"$root/scripts/install-test-deps.sh"

echo "==> cargo fmt --check"
cargo fmt --all --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo build (the palisade binary used by the end-to-end tests)"
cargo build --workspace --bins --locked

echo "==> build the plugins from source"
export PALISADE_PLUGINS_BUILD_DIR="${CARGO_TARGET_DIR:-$root/target}/plugins"
"$root/scripts/build-plugins.sh" "$PALISADE_PLUGINS_BUILD_DIR"
# Test-only guests, such as the strategy over a fixed account list that the server tests use.
"$root/scripts/build-plugins.sh" "$PALISADE_PLUGINS_BUILD_DIR" "$root"/tests/plugins/*/
# The TypeScript SDK's README example, which the host tests run.
node "$root/plugin-sdk/js/bin/palisade-plugin-build.js" "$root/plugin-sdk/js/examples/greeting.ts" \
  -o "$PALISADE_PLUGINS_BUILD_DIR/js-sdk-example.wasm"

echo "==> cargo test"
cargo test --workspace --locked

# Rust plugins stay out of the workspace (they target WebAssembly), so their formatting, lints
# and unit tests run on the build machine's target here, one crate at a time.
for manifest in "$root"/plugins/*/Cargo.toml; do
  echo "==> cargo fmt, clippy and test (${manifest#"$root"/})"
  cargo fmt --manifest-path "$manifest" --check
  cargo clippy --manifest-path "$manifest" --all-targets --locked -- -D warnings
  cargo test --manifest-path "$manifest" --locked
done

echo "==> kuzzle-sdk tests"
export PALISADE_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/palisade"
(cd tests/sdk-js && npm test)
