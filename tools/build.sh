#!/usr/bin/env bash
# Configures (once) and builds tollgate into build/ with meson.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
  meson setup build "$@"
fi
ninja -C build
