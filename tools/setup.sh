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

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi
