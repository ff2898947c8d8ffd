#!/usr/bin/env bash
# Runs the realtime fan-out benchmark: 10,000 WebSocket subscribers on one palisade server on
# 127.0.0.1. The server and the clients run as two processes, and each has one socket per
# subscriber, so each needs an open-file limit above 10,000.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

needed=12000
soft="$(ulimit -Sn)"
hard="$(ulimit -Hn)"
if [[ "$soft" != unlimited && "$soft" -lt "$needed" ]]; then
  if [[ "$hard" != unlimited && "$hard" -lt "$needed" ]]; then
    echo "realtime-fanout: the open-file hard limit is $hard, below the $needed needed; raise it" \
      "(e.g. in /etc/security/limits.conf) and run again" >&2
    exit 1
  fi
  ulimit -n "$needed"
fi
echo "open-file limit: $(ulimit -n)"

cargo build --release -j 2 -p palisade-server --bin palisade -p palisade-bench --bin realtime_fanout
PALISADE_BIN="${CARGO_TARGET_DIR:-$root/target}/release/palisade" \
  "${CARGO_TARGET_DIR:-$root/target}/release/realtime_fanout"
