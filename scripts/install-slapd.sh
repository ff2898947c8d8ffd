#!/usr/bin/env bash
# Installs OpenLDAP's server (`slapd`, with `slapadd`) and client tools (`ldap-utils`) from
# Debian's packages for the LDAP strategy's tests. Those tests run their own slapd as the
# current user on 127.0.0.1, so the system service that the package brings must not run: the
# script keeps the package from starting it, and stops and disables it where systemd runs it.
# Prints nothing when both packages are already installed.
set -euo pipefail

packages=(slapd ldap-utils)

log() {
  echo "install-slapd: $*"
}

fail() {
  echo "install-slapd: $*" >&2
  exit 1
}

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

command -v apt-get >/dev/null || fail "apt-get is missing: install ${missing[*]} with your \
system's package manager (the tests need slapd, slapadd and openssl)"
sudo=()
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null || fail "run this script as root to install ${missing[*]}"
  sudo=(sudo)
fi

# Debian's invoke-rc.d asks /usr/sbin/policy-rc.d whether a package may start its service; exit
# status 101 forbids it. Container images often ship such a file; elsewhere the script adds one
# for the install and removes it afterwards.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  added_policy=1
fi
remove_policy() {
  if ((added_policy)); then
    "${sudo[@]}" rm -f "$policy"
  fi
}
trap remove_policy EXIT

# Without a configuration the package creates no database of its own in /var/lib/ldap.
echo "slapd slapd/no_configuration boolean true" | "${sudo[@]}" debconf-set-selections

log "apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" openssl >/dev/null

# A machine that boots with systemd may still have started the unit through it.
if [[ -d /run/systemd/system ]]; then
  "${sudo[@]}" systemctl disable --now slapd >/dev/null 2>&1 || true
fi
if command -v service >/dev/null && service slapd status >/dev/null 2>&1; then
  "${sudo[@]}" service slapd stop >/dev/null
fi
log "installed ${missing[*]}"
