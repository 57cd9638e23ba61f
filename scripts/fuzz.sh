#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ in build-fuzz/ and runs each for a while.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 600; JOBS=N for a parallel build,
# FUZZ_JOBS=N to run N targets at once, FUZZ_TARGETS="a b" for some of them)
# Crashes, timeouts and out-of-memory inputs land in build-fuzz/crashes/<target>-*;
# the exit status is non-zero if this run found any. Each target's corpus grows in
# build-fuzz/corpus/<target>/ across runs. Needs libclang-rt-22-dev.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

secs=${1:-600}
build=build-fuzz
targets=(fuzz-import-onnx fuzz-import-onnx-text fuzz-parse-tern fuzz-npy fuzz-run-model)
if [[ -n ${FUZZ_TARGETS:-} ]]; then read -ra targets <<<"$FUZZ_TARGETS"; fi
# fuzzer-no-link: coverage for libFuzzer in mfc's libraries too, not only in the
# targets. -shared-libsan as in scripts/sanitize.sh (AddLLVM's -z defs).
flags="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer -shared-libsan"
asan_rt=$(clang-22 -print-file-name=libclang_rt.asan-x86_64.so)
if [[ ! -f $asan_rt ]]; then
  echo "fuzz: no ASan runtime ($asan_rt); install libclang-rt-22-dev" >&2
  exit 1
fi
export LD_LIBRARY_PATH=$(dirname "$asan_rt")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-22/bin/llvm-symbolizer

if [[ ! -f $build/build.ninja ]]; then
  echo "fuzz: configuring $build/ ($flags)"
  cmake -G Ninja -S . -B "$build" \
    -DCMAKE_BUILD_TYPE=Release -DMFC_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_LINKER=lld \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" \
    -DCMAKE_MODULE_LINKER_FLAGS="$flags" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit >/dev/null
fi
echo "fuzz: building ${targets[*]} in $build/ (ninja -j${JOBS:-1})"
ninja -C "$build" -j"${JOBS:-1}" "${targets[@]}"
fuzz/make_seeds.sh "$build/seeds"
if [[ " ${targets[*]} " == *" fuzz-run-model "* ]]; then
  # Model libraries for fuzz-run-model, instrumented, compiled by the regular build's mfc
  # (the instrumented one in $build would take as long to build as everything here).
  mfc=build/bin/mfc
  [[ -x $mfc ]] || { echo "fuzz: $mfc is missing (scripts/setup.sh builds it)" >&2; exit 1; }
  rm -rf "$build/models" && mkdir -p "$build/models"
  for model in test/Runtime/Inputs/{gather_scatter,reshape_expand,constant_of_shape,shared_dim,accumulate}.onnxtxt \
    examples/shakespeare/decode.onnx; do
    name=$(basename "${model%.*}")
    echo "fuzz: compiling $model with --sanitize=address"
    "$mfc" "$model" --sanitize=address -o "$build/models/$name.so"
  done
  export MFC_FUZZ_MODELS=$root/$build/models
fi

# LLVM's and MLIR's global state (registries, cl::opts) is never freed by design.
# allow_user_poisoning=0: BumpPtrAllocator poisons its slabs in code compiled here with
# ASan (LLVM_ADDRESS_SANITIZER_BUILD), and the uninstrumented libMLIR.so, sharing the
# allocator of a uniquer, hands out that memory without unpoisoning it: false reports.
export ASAN_OPTIONS=detect_leaks=0:allow_user_poisoning=0
export UBSAN_OPTIONS=print_stacktrace=1
# The targets write each input to a file under $TMPDIR; a crash skips their clean-up.
export TMPDIR=$root/$build/tmp
mkdir -p "$build/crashes" "$build/logs" "$TMPDIR"
stamp=$build/logs/.started
touch "$stamp"
status=0
run_target() {
  local t=$1
  mkdir -p "$build/corpus/$t"
  # Models asked for huge tensors (ConstantOfShape of 2^40) must fail their run with
  # MFC_ERR_OUT_OF_MEMORY: malloc returns NULL above 1 GiB instead of ASan aborting.
  local asan=$ASAN_OPTIONS
  [[ $t == fuzz-run-model ]] && asan+=:allocator_may_return_null=1:max_allocation_size_mb=1024
  # A finding ends the target's run with a non-zero status; the others still run.
  ASAN_OPTIONS=$asan "$build/bin/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 \
    -artifact_prefix="$build/crashes/$t-" "$build/corpus/$t" "$build/seeds/$t" \
    >"$build/logs/$t.log" 2>&1 || true
}
for t in "${targets[@]}"; do
  echo "fuzz: running $t for ${secs}s (log: $build/logs/$t.log)"
  run_target "$t" &
  while (($(jobs -rp | wc -l) >= ${FUZZ_JOBS:-1})); do wait -n || true; done
done
wait
for t in "${targets[@]}"; do
  runs=$(grep -o 'Done [0-9]* runs' "$build/logs/$t.log" | tail -1 || true)
  if [[ -n $runs ]]; then
    echo "fuzz: $t: ${runs#Done } ($(ls "$build/corpus/$t" | wc -l) corpus inputs)"
  else
    status=1
    # libFuzzer's last status line ("#N ...") counts the executions before the finding.
    last=$(grep -oE '^#[0-9]+' "$build/logs/$t.log" | tail -1 || true)
    echo "fuzz: $t: stopped after ${last#\#} runs:" \
      "$(grep -m1 -E 'ERROR|runtime error' "$build/logs/$t.log" || tail -1 "$build/logs/$t.log")"
  fi
done

mapfile -t found < <(find "$build/crashes" -type f -newer "$stamp" | sort)
if ((${#found[@]})); then
  echo "fuzz: ${#found[@]} finding(s) (reproduce: LD_LIBRARY_PATH=$(dirname "$asan_rt") $build/bin/<target> FILE):"
  printf '  %s\n' "${found[@]}"
  exit 1
fi
if ((status)); then
  echo "fuzz: a target stopped without leaving a crash file; see its log" >&2
  exit 1
fi
echo "fuzz: no crashes"
