#!/usr/bin/env bash
# The quick start: install what is missing, build assay, and run the main job on the
# bundled demo, writing ./assay.db. Usage: scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build
ASSAY=build/assay
echo
echo "== assay: $("$ASSAY" --version)"
"$ASSAY" runs --db assay.db
echo
echo "demo: database at $(pwd)/assay.db"
