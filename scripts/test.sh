#!/usr/bin/env bash
# Run the whole test suite: install what is missing, build, run every test with ctest.
# Usage: scripts/test.sh [extra ctest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD=${ASSAY_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$BUILD"
ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)" "$@"
