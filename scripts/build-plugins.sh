#!/usr/bin/env bash
# Builds every plugin under plugins/ from source into OUT_DIR/<folder>.wasm, a component of the
# `plugin` world that the server loads.
#
#   scripts/build-plugins.sh [OUT_DIR [PLUGIN_FOLDER...]]
#
# OUT_DIR defaults to `$CARGO_TARGET_DIR/plugins`, or `target/plugins` at the repository root.
# PLUGIN_FOLDERs, when given, are built instead of the folders of plugins/.
#
# - A folder with a Cargo.toml is a Rust guest. It compiles to wasm32-unknown-unknown with the
#   rustup target when one is installed. Otherwise the script downloads Debian's `rustc-web`
#   compiler and its standard library sources once, with `apt-get download`, into
#   `<target dir>/guest-toolchain`, and builds the standard library with `-Zbuild-std`.
#   `palisade-componentize` then turns the core module into a component.
# - A folder with a package.json is a JavaScript or TypeScript guest: `npm ci` when its
#   node_modules is missing or older than its lock file, then `npm run build`, which must write
#   `dist/<folder>.wasm` (or `dist/<package name>.wasm`).
#
# cargo and npm skip the work when no source changed, so a second run takes a few seconds.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
mkdir -p "$target_dir"
target_dir="$(cd "$target_dir" && pwd)"
out_dir="${1:-$target_dir/plugins}"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"

# Rust guests share one target folder, so their common dependencies compile once.
guest_target_dir="$target_dir/wasm-guests"
toolchain_dir="$target_dir/guest-toolchain"
wasm_target="wasm32-unknown-unknown"

# Debian bookworm's compiler for its browsers, newer than its `rustc` and able to target
# WebAssembly. NOTE: the names carry the versions of bookworm-security on 2026-12-04; when Debian
# moves to a newer rustc-web, update them together.
debian_packages=(rustc-web rust-web-src libstd-rust-web-dev libstd-rust-web-1.96 rust-web-llvm
  libllvm22 lld-22)
llvm_lib_dir="usr/lib/llvm-22/lib"

log() {
  echo "build-plugins: $*"
}

fail() {
  echo "build-plugins: $*" >&2
  exit 1
}

require_command() {
  command -v "$1" >/dev/null || fail "\`$1\` is missing: $2"
}

# Prints the `name` of the [package] table of a Cargo.toml.
package_name() {
  awk '
    /^\[/ { in_package = ($0 == "[package]") }
    in_package && /^name *=/ { gsub(/^name *= *"|".*$/, ""); print; exit }
  ' "$1"
}

rustup_has_wasm_target() {
  command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx "$wasm_target"
}

# Downloads and unpacks the Debian toolchain into $toolchain_dir, unless it is already there.
# It unpacks into a temporary folder first, so an interrupted run leaves no half toolchain.
install_debian_toolchain() {
  if [[ -x "$toolchain_dir/usr/bin/rustc" ]]; then
    return
  fi
  require_command apt-get "the Debian toolchain needs a Debian or Ubuntu machine, or install the \
rustup target with \`rustup target add $wasm_target\`"
  require_command dpkg "dpkg unpacks the Debian toolchain"

  local package
  for package in "${debian_packages[@]}"; do
    if ! apt-cache show "$package" >/dev/null 2>&1; then
      log "apt-get update (the package lists do not contain $package)"
      if [[ "$(id -u)" == 0 ]]; then
        apt-get update -qq
      else
        require_command sudo "run \`apt-get update\` as root, then run this script again"
        sudo apt-get update -qq
      fi
      break
    fi
  done

  local staging="$toolchain_dir.partial"
  rm -rf "$staging"
  mkdir -p "$staging/debs"
  log "downloading the Debian Rust toolchain (${debian_packages[*]}: about 140 MB to download, 860 MB unpacked)"
  # As root, apt-get hands downloads to the `_apt` user, which cannot write to most folders.
  local sandbox=()
  if [[ "$(id -u)" == 0 ]]; then
    sandbox=(-o APT::Sandbox::User=root)
  fi
  (cd "$staging/debs" && apt-get download -qq "${sandbox[@]}" "${debian_packages[@]}")
  for deb in "$staging"/debs/*.deb; do
    dpkg -x "$deb" "$staging/root"
  done
  rm -rf "$toolchain_dir"
  mv "$staging/root" "$toolchain_dir"
  rm -rf "$staging"
  log "Debian Rust toolchain ready in $toolchain_dir"
}

# Sets `cargo_wasm` to the command that builds a Rust guest for $wasm_target.
choose_rust_toolchain() {
  if rustup_has_wasm_target; then
    log "Rust guests: rustup target $wasm_target"
    cargo_wasm=(cargo build --release --target "$wasm_target")
    return
  fi

  install_debian_toolchain
  log "Rust guests: Debian rustc-web in $toolchain_dir (no rustup target $wasm_target)"
  local library_path="$toolchain_dir/usr/lib/x86_64-linux-gnu:$toolchain_dir/$llvm_lib_dir"
  # shellcheck disable=SC2054 # the comma belongs to `-Zbuild-std=std,panic_abort`
  cargo_wasm=(env
    "RUSTC=$toolchain_dir/usr/bin/rustc"
    "RUSTC_BOOTSTRAP=1"
    "LD_LIBRARY_PATH=$library_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    "PATH=$PATH:$toolchain_dir/usr/bin"
    cargo build --release --target "$wasm_target" -Zbuild-std=std,panic_abort)
}

build_componentize() {
  log "building palisade-componentize"
  cargo build --manifest-path "$root/Cargo.toml" -p palisade-componentize
  componentize="$target_dir/debug/palisade-componentize"
}

build_rust_plugin() {
  local folder="$1" name
  name="$(basename "$folder")"
  if [[ -z "${cargo_wasm+set}" ]]; then
    choose_rust_toolchain
    build_componentize
  fi

  local crate
  crate="$(package_name "$folder/Cargo.toml")"
  [[ -n "$crate" ]] || fail "$folder/Cargo.toml has no [package] name"
  log "$name: cargo build ($crate)"
  CARGO_TARGET_DIR="$guest_target_dir" "${cargo_wasm[@]}" --manifest-path "$folder/Cargo.toml"

  local core="$guest_target_dir/$wasm_target/release/${crate//-/_}.wasm"
  [[ -f "$core" ]] || fail "$name: cargo wrote no $core; is the crate a cdylib?"
  "$componentize" "$core" -o "$out_dir/$name.wasm"
  log "$name: wrote $out_dir/$name.wasm"
}

build_js_plugin() {
  local folder="$1" name
  name="$(basename "$folder")"
  require_command npm "install Node.js 20 or later to build $name"

  if [[ ! -d "$folder/node_modules" ]] ||
    [[ -f "$folder/package-lock.json" && "$folder/package-lock.json" -nt "$folder/node_modules" ]]; then
    log "$name: npm ci"
    # NOTE: a package without dependencies gets no node_modules, so npm ci runs on every build.
    (cd "$folder" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  log "$name: npm run build"
  (cd "$folder" && npm run build --silent)

  local package candidate
  package="$(cd "$folder" && node -p 'require("./package.json").name.replace(/^@[^/]*\//, "")')"
  for candidate in "$folder/dist/$name.wasm" "$folder/dist/$package.wasm"; do
    if [[ -f "$candidate" ]]; then
      cp "$candidate" "$out_dir/$name.wasm"
      log "$name: wrote $out_dir/$name.wasm"
      return
    fi
  done
  fail "$name: npm run build wrote neither dist/$name.wasm nor dist/$package.wasm"
}

require_command cargo "install Rust with rustup"
log "output folder: $out_dir"
built=0
if (($# > 1)); then
  folders=("${@:2}")
else
  folders=("$root"/plugins/*/)
fi
for folder in "${folders[@]}"; do
  folder="$(cd "$folder" && pwd)"
  if [[ -f "$folder/Cargo.toml" ]]; then
    build_rust_plugin "$folder"
  elif [[ -f "$folder/package.json" ]]; then
    build_js_plugin "$folder"
  else
    log "$(basename "$folder"): skipped, it has neither Cargo.toml nor package.json"
    continue
  fi
  built=$((built + 1))
done
log "built $built plugins into $out_dir"
