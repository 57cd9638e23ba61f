#!/usr/bin/env bash
# Fills <DIR>/<target>/ (default build-fuzz/seeds) with seed inputs for the fuzz
# targets, from the repository's own test models and data and, when the Debian
# package libonnx-testdata is installed, ONNX's node test models and tensors.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=$(realpath -m "${1:-build-fuzz/seeds}")
python=$root/.venv/bin/python

# Copies each file to $out/$1/ under a name made unique from its path. Files over
# 100 KB are left out: libFuzzer sizes its inputs after the largest seed, and the
# multi-megabyte end-to-end models would slow every execution.
seed() {
  local target=$1 file name
  shift
  mkdir -p "$out/$target"
  for file; do
    (($(stat -c %s "$file") <= 100000)) || continue
    name=${file#./}
    cp "$file" "$out/$target/$(echo "${name#/}" | tr / _)"
  done
}

rm -rf "$out"
echo "make_seeds: writing $out"
seed fuzz-import-onnx $(find test -name '*.onnx' | sort)
seed fuzz-import-onnx-text $(find test -name '*.onnxtxt' | sort)
seed fuzz-parse-tern $(find test -name '*.mlir' | sort)

# The .npy and TensorProto fixtures of the runtime tests.
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT
for what in add_one decode tds; do
  mkdir -p "$gen/$what"
  "$python" test/Runtime/Inputs/gen.py "$what" "$gen/$what"
done
(cd "$gen" && seed fuzz-npy $(find . -name '*.npy' -o -name '*.pb' | sort))

if [[ $(dpkg-query -W -f='${Status}' libonnx-testdata 2>/dev/null) == "install ok installed" ]]; then
  # awk, not head: head would end the pipeline early, which pipefail makes an error.
  models=$(dpkg -L libonnx-testdata | awk '/\/model\.onnx$/ && ++n <= 200')
  seed fuzz-import-onnx $models
  seed fuzz-npy $(for m in $models; do ls "$(dirname "$m")"/test_data_set_0/*.pb 2>/dev/null; done)
fi
# fuzz-run-model's inputs are choices (model, dims, values) that libFuzzer finds from
# the empty input; the models it drives come from scripts/fuzz.sh.
mkdir -p "$out/fuzz-run-model"
for dir in "$out"/*; do
  echo "make_seeds: $(basename "$dir"): $(ls "$dir" | wc -l) seeds"
done
