#!/usr/bin/env bash
# The main job on built-in defaults: set up, build, and run the demo modules on the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh
set -x
./build/server/tollgate wasm validate build/bench/fib.wasm
./build/server/tollgate wasm run build/bench/fib.wasm --invoke fib 30 --fuel 100000000000
