#!/usr/bin/env bash
# Fills a seed folder per fuzz target (outside the repository): the spec suite's modules as the
# build converted them, binaryen's `wasm-opt --translate-to-fuzz` modules, the admission
# fixtures of ../shared, and the committed corpus. Seeds are never committed whole; only small
# regression inputs go to fuzz/corpus/<target>/.
# SPDX-License-Identifier: Apache-2.0
#
# usage: fuzz/make_seeds.sh [SEED_DIR (default build-fuzz/seeds)] [TTF_COUNT (default 300)]
#   SPEC_JSON=build/spec-tests/json   where the build put the converted spec modules
#   SHARED=../shared                  the read-only reference folder
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seeds="${1:-$root/build-fuzz/seeds}"
ttf_count="${2:-300}"
spec_json="${SPEC_JSON:-$root/build/spec-tests/json}"
shared="${SHARED:-$root/../shared}"

targets=(decode instantiate_run gen_run interp_vs_jit wapc_protocol admission_json http_handler policies_yml host_capabilities)
for t in "${targets[@]}"; do
  mkdir -p "$seeds/$t"
  if [ -d "$root/fuzz/corpus/$t" ]; then cp -f "$root/fuzz/corpus/$t"/* "$seeds/$t/" 2>/dev/null || true; fi
done

# The spec suite's modules (built by `ninja -C build`, spec-tests/ converts the .wast files).
if compgen -G "$spec_json/*/*.wasm" >/dev/null; then
  for f in "$spec_json"/*/*.wasm; do
    name="spec-$(basename "$(dirname "$f")")-$(basename "$f")"
    cp -f "$f" "$seeds/decode/$name"
    cp -f "$f" "$seeds/instantiate_run/$name"
  done
else
  echo "make_seeds: no spec modules under $spec_json (build the normal build first)" >&2
fi

# binaryen: random bytes read as a recipe for a valid module.
if command -v wasm-opt >/dev/null; then
  tmp="$(mktemp)"
  for i in $(seq 1 "$ttf_count"); do
    head -c $((256 + RANDOM % 4096)) /dev/urandom >"$tmp"
    if wasm-opt -ttf "$tmp" -o "$seeds/decode/ttf-$i.wasm" 2>/dev/null; then
      cp -f "$seeds/decode/ttf-$i.wasm" "$seeds/instantiate_run/ttf-$i.wasm"
    fi
  done
  rm -f "$tmp"
else
  echo "make_seeds: wasm-opt (binaryen) not found; no translate-to-fuzz seeds" >&2
fi

# gen_run reads raw bytes as generator choices: random bytes are as good as anything.
# interp_vs_jit reads them the same way (bit 0 of the first byte picks the JIT's bounds mode).
for i in $(seq 1 50); do
  head -c $((64 * i)) /dev/urandom >"$seeds/gen_run/random-$i"
  cp -f "$seeds/gen_run/random-$i" "$seeds/interp_vs_jit/random-$i"
done

# admission_json: byte 0 picks the route (0 validate, 1 audit, 2 validate_raw), byte 1 the policy.
if [ -d "$shared/fixtures/admission" ]; then
  for f in "$shared/fixtures/admission"/*.json; do
    base="$(basename "$f" .json)"
    for route in 0 1 2; do
      for policy in 0 1 2 3; do
        if [[ "$base" == review_* || "$base" == raw_* ]]; then
          { printf "\\x0$route\\x0$policy"; cat "$f"; } >"$seeds/admission_json/$base-$route$policy"
        else
          { printf "\\x0$route\\x0$policy"; printf '{"request":'; cat "$f"; printf '}'; } \
            >"$seeds/admission_json/$base-$route$policy"
        fi
      done
    done
    # JSONPatch mode (byte 0 = 3): the fixture against a slightly different copy of itself.
    { printf '\x03\x00'; cat "$f"; printf '\x00'; sed 's/true/false/; s/"v1"/"v2"/' "$f"; } \
      >"$seeds/admission_json/$base-patch"
  done
fi

# http_handler (FuzzedDataProvider): the body first, then the choices read from the end: content
# type, policy id, route prefix and method (each an index byte, then a byte whose value mod 8 is
# not 0 meaning "pick from the list"), and last the flags (bit 3: handle twice).
if [ -d "$shared/fixtures/admission" ]; then
  for f in "$shared/fixtures/admission"/review_*.json "$shared/fixtures/admission"/req_*.json; do
    base="$(basename "$f" .json)"
    for route in 0 1 2; do
      {
        if [[ "$base" == review_* ]]; then cat "$f"; else printf '{"request":'; cat "$f"; printf '}'; fi
        printf "\\x00\\x01\\x00\\x01\\x0$route\\x01\\x00\\x01\\x08"
      } >"$seeds/http_handler/$base-$route"
    done
  done
fi

# policies_yml: byte 0 = 0 policies.yml, 1 sources.yml, 2 a group expression.
for f in "$root"/policies/*/metadata.yml; do
  { printf '\x00'; cat "$f"; } >"$seeds/policies_yml/metadata-$(basename "$(dirname "$f")")"
done

for t in "${targets[@]}"; do
  echo "make_seeds: $t: $(find "$seeds/$t" -type f | wc -l) seeds in $seeds/$t"
done
