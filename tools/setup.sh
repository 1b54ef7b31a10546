#!/usr/bin/env bash
# Installs what tollgate needs to build and test on Debian 12 (idempotent: skips what is there).
set -euo pipefail

packages=(
  meson ninja-build pkg-config cmake g++
  libasmjit-dev libboost1.81-dev libboost-json1.81-dev libssl-dev libre2-dev libcli11-dev
  libgtest-dev libgmock-dev
  clang-14 lld-14 libclang-rt-14-dev libclang-rt-14-dev-wasm32 wasi-libc
  wabt binaryen
  libyaml-cpp-dev python3 python3-yaml
  curl openssl  # the demo's client; test certificates
  wrk  # load generator of bench/server_bench.sh
  rustc cargo libstd-rust-dev-wasm32 librust-serde-json-dev librust-serde-derive-dev
)

# shellcheck source=tools/apt-install.sh
source "$(dirname "$0")/apt-install.sh"
apt_install_missing setup -- "${packages[@]}"
if ((${#apt_missing[@]} == 0)); then
  echo "setup: all packages present"
fi
