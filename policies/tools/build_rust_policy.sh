#!/usr/bin/env bash
# Builds a Rust policy crate to wasm32-unknown-unknown with Debian's offline toolchain.
# SPDX-License-Identifier: Apache-2.0
# usage: build_rust_policy.sh <crate-dir> <target-dir> <output.wasm>
# Debian's rustc 1.63 has the wasm32 std (libstd-rust-dev-wasm32); the rustup toolchain that may
# be first on PATH does not, so both tools are called by absolute path. Crates come from
# /usr/share/cargo/registry (librust-*-dev), never from the network.
set -euo pipefail
crate=$(cd "$1" && pwd)
target_dir=$2
out=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
mkdir -p "$target_dir"
target_dir=$(cd "$target_dir" && pwd)
name=$(sed -n 's/^name = "\(.*\)"/\1/p' "$crate/Cargo.toml" | head -1 | tr - _)
cd "$crate"
RUSTC=/usr/bin/rustc CARGO_TARGET_DIR="$target_dir" CARGO_HOME="$target_dir/cargo-home" \
  /usr/bin/cargo build --quiet --release --offline --locked --target wasm32-unknown-unknown \
  --config 'source.crates-io.replace-with="debian"' \
  --config 'source.debian.directory="/usr/share/cargo/registry"' \
  --config 'net.offline=true'
cp "$target_dir/wasm32-unknown-unknown/release/$name.wasm" "$out"
# Debug sections make up most of the size; wabt is in tools/setup.sh.
if command -v wasm-strip >/dev/null; then wasm-strip "$out"; fi
