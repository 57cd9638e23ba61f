#!/usr/bin/env bash
# Runs the whole mfc test suite: the lit/FileCheck tests (through CTest) and pytest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cmake --build build -j2
(cd build && ctest --output-on-failure)
if [[ -d python/tests ]]; then
  .venv/bin/python -m pytest -q python/tests
fi
