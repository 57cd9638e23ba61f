#!/usr/bin/env bash
# Runs the whole mfc test suite: the lit/FileCheck tests, the ONNX node-test
# conformance run (import, compile, compare with ONNX's outputs), and pytest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cmake --build build -j2
(cd build && ctest --output-on-failure -E onnx-node-conformance)
.venv/bin/python test/onnx/node_conformance.py --mfc build/bin/mfc --mfc-run build/bin/mfc-run
.venv/bin/python -m pytest -q python/tests
