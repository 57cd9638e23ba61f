#!/usr/bin/env bash
# Builds mfc with AddressSanitizer and UBSan in build-asan/ and runs the lit suite
# there, then the runtime tests once more on models compiled with --sanitize=address.
# Usage: scripts/sanitize.sh [--quick]   (JOBS=N: parallel build and tests)
#   --quick  only the lit tests under test/Import, test/Runtime and test/tools (for CI).
# Needs libclang-rt-22-dev (scripts/setup.sh installs it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

quick=0
case "${1:-}" in
  --quick) quick=1 ;;
  "") ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac

build=build-asan
# AddLLVM links shared libraries with -z defs: they must name the shared ASan
# runtime themselves, which the static one (clang's default) does not allow.
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -shared-libsan"
asan_rt=$(clang-22 -print-file-name=libclang_rt.asan-x86_64.so)
if [[ ! -f $asan_rt ]]; then
  echo "sanitize: no ASan runtime ($asan_rt); install libclang-rt-22-dev" >&2
  exit 1
fi
# Clang adds no rpath for the shared runtime; binaries run during the build need it too.
export LD_LIBRARY_PATH=$(dirname "$asan_rt")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-22/bin/llvm-symbolizer

if [[ ! -f $build/build.ninja ]]; then
  echo "sanitize: configuring $build/ ($flags)"
  cmake -G Ninja -S . -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_LINKER=lld \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" \
    -DCMAKE_MODULE_LINKER_FLAGS="$flags" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit >/dev/null
fi
echo "sanitize: building $build/ (ninja -j${JOBS:-1})"
ninja -C "$build" -j"${JOBS:-1}"

# LLVM and MLIR keep global state (registries, cl::opts, uniqued types) that is never
# freed by design, so leak detection reports only that; it is off. Compiled models
# report a failed allocation as an error, which tests check with impossible sizes:
# malloc must return NULL for those rather than abort.
# allow_user_poisoning=0: see scripts/fuzz.sh (BumpPtrAllocator slabs poisoned by
# instrumented code and handed out by the uninstrumented libMLIR.so).
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:allow_user_poisoning=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Runtime/api.test and Runtime/concurrency.test link a plain `cc` program against this
# build's instrumented libmfc_runtime.so, and ASan refuses to start unless its runtime
# is the process's first library. LD_PRELOAD of clang's runtime would fix that but
# break the tests' other programs, built from the runtime's sources with GCC's own
# -fsanitize=address or thread (two sanitizer runtimes cannot share a process); those
# programs already check the runtime under ASan and TSan.
export LIT_FILTER_OUT='^MFC :: Runtime/(api|concurrency)\.test$'

lit_args=(-q -j"${JOBS:-1}")
if ((quick)); then
  lit_args+=(--filter '^MFC :: (Import|Runtime|tools)/')
fi
echo "sanitize: running lit ${lit_args[*]} $build/test"
/usr/lib/llvm-22/bin/lit "${lit_args[@]}" "$build/test"
# Again the tests that run compiled models, now compiled with --sanitize=address: the
# generated code reports its own out-of-bounds accesses (mfc-run, built here with ASan,
# brings the runtime those libraries need).
echo "sanitize: running the runtime tests on models compiled with --sanitize=address"
/usr/lib/llvm-22/bin/lit -q -j"${JOBS:-1}" --param mfc_flags=--sanitize=address \
  --filter '^MFC :: Runtime/' "$build/test"
echo "sanitize: all tests passed"
