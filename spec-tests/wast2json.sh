#!/bin/sh
# Converts one .wast script with wast2json into its own folder (JSON plus NAME.N.wasm/.wat side files).
# SPDX-License-Identifier: Apache-2.0
#
# Usage: wast2json.sh WAST2JSON INPUT.wast OUT_DIR STAMP [wast2json flags...]
# The side files' names are only known after conversion, so meson tracks STAMP instead; OUT_DIR is
# emptied first so side files of an older conversion never linger.
set -eu
tool=$1
input=$2
out_dir=$3
stamp=$4
shift 4
name=$(basename "$input" .wast)
rm -rf "$out_dir"
mkdir -p "$out_dir"
"$tool" "$@" "$input" -o "$out_dir/$name.json"
touch "$stamp"
