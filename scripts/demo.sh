#!/usr/bin/env bash
# The main job. Today: shows the toolchain and the tern dialect at work on a small
# ternary layer; it grows into "compile and run the bundled example model" as the
# importer and the CPU back end land.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build/bin/mfc --version
echo "== tern IR round trip and folding (mfc-opt --canonicalize) =="
start=$EPOCHREALTIME
build/bin/mfc-opt --canonicalize test/Dialect/Tern/canonicalize.mlir --split-input-file
end=$EPOCHREALTIME
awk -v s="$start" -v e="$end" 'BEGIN { printf "done in %.3f s\n", e - s }'
