#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain: the Debian tools that the SAML
# tests sign with (xmlsec1, openssl), OpenLDAP's slapd and ldap-utils for the LDAP tests, and the
# npm packages of the end-to-end tests (the official kuzzle-sdk). Safe to run again: it installs
# only missing tools and reinstalls npm packages from the lock files.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

# Installs the Debian packages that provide the missing commands, named as `command:package`.
install_debian_commands() {
  local missing=() pair
  for pair in "$@"; do
    if ! command -v "${pair%%:*}" >/dev/null; then
      missing+=("${pair#*:}")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return
  fi
  if ! command -v apt-get >/dev/null; then
    echo "install-test-deps: install ${missing[*]} (the tests need them); apt-get is missing" >&2
    exit 1
  fi
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    sudo=(sudo)
  fi
  echo "==> apt-get install ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# The SAML strategy tests sign responses with xmlsec1 and make their keys with openssl.
install_debian_commands xmlsec1:xmlsec1 openssl:openssl

# The LDAP strategy tests run their own slapd, so this script keeps the system service stopped.
"$root/scripts/install-slapd.sh"

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
