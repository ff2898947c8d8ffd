#!/bin/sh
# Installs koncorde@4.7.0 (pinned in package.json) next to this script, for the differential
# test (tests/koncorde_diff.rs) and the realtime benchmark.
set -eu
cd "$(dirname "$0")"
npm install --no-audit --no-fund
node -e 'const v = require("koncorde/package.json").version; if (v !== "4.7.0") { throw new Error(`koncorde ${v} installed, 4.7.0 expected`); }'
echo "koncorde 4.7.0 installed in $(pwd)/node_modules"
