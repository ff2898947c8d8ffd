#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain: the npm packages of the
# end-to-end tests (the official kuzzle-sdk), and OpenLDAP's `slapd` and `ldap-utils` for the
# LDAP strategy's tests, which start their own slapd on 127.0.0.1. Safe to run again: it
# reinstalls the npm packages from the lock files and skips Debian packages already installed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

for command in node npm; do
  if ! command -v "$command" >/dev/null; then
    echo "install-test-deps: \`$command\` is missing: install Node.js 20 or later" >&2
    exit 1
  fi
done

# Every folder with a package-lock.json holds tests that need its npm packages.
while IFS= read -r lock; do
  folder="$(dirname "$lock")"
  echo "==> npm ci in ${folder#"$root"/}"
  (cd "$folder" && npm ci --no-audit --no-fund --loglevel=error)
done < <(find "$root" -name package-lock.json -not -path '*/node_modules/*' -not -path "$root/target/*" | sort)

"$root/scripts/install-slapd.sh"
