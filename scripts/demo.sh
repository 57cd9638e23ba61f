#!/usr/bin/env bash
# The main job: compile the bundled example model and generate text with it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
exec "$root/.venv/bin/python" "$root/scripts/demo.py" "$@"
