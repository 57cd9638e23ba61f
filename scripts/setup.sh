#!/usr/bin/env bash
# Sets up mfc on a Debian 12 machine (run as root): system packages, the Python venv,
# and the CMake/Ninja build. Idempotent: a second run installs nothing and rebuilds
# only what changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

packages=(llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22 lld-22
          libclang-rt-22-dev libonnx-dev libonnx-testdata protobuf-compiler libprotobuf-dev
          cmake ninja-build ccache python3-venv g++)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python venv with the pinned packages; the stamp records which requirements it holds.
venv=$root/.venv
stamp=$venv/.mfc-requirements
if [[ ! -x $venv/bin/python ]]; then
  echo "setup: creating $venv"
  /usr/bin/python3 -m venv "$venv"
fi
if ! cmp -s scripts/requirements.txt "$stamp"; then
  echo "setup: installing Python packages"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r scripts/requirements.txt
  # Only its ap_types headers (ap_int.h) are used: HLS projects' csim builds with them.
  "$venv/bin/pip" install -q --no-deps hls4ml==1.3.0
  cp scripts/requirements.txt "$stamp"
fi
if [[ -f python/pyproject.toml ]] && ! "$venv/bin/python" -c "import mfc" 2>/dev/null; then
  "$venv/bin/pip" install -q --no-deps -e python
fi

if [[ ! -f build/build.ninja ]]; then
  echo "setup: configuring build/"
  cmake -G Ninja -S . -B build \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_LINKER=lld \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit >/dev/null
fi
echo "setup: building"
cmake --build build -j2
