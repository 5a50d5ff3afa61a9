#!/usr/bin/env bash
# The quick start: install what is missing, build assay, and evaluate the bundled tiny
# checkpoint on a bundled sample of real benchmark data, writing ./assay.db.
# Usage: scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build
ASSAY=build/assay
MODEL=demo/gemma2-tiny-Q8_0.gguf
DB=assay.db

echo
echo "== $("$ASSAY" --version)"
echo
echo "== assay models info $MODEL"
"$ASSAY" models info "$MODEL"
echo
echo "== assay run: MMLU (3 subjects), ARC-Easy, PIQA and HumanEval (sandboxed), 10 items each"
"$ASSAY" run --model "$MODEL" --db "$DB" --data-dir demo/data --limit 10 \
    --tasks mmlu_high_school_geography,mmlu_astronomy,mmlu_college_biology,arc_easy,piqa,humaneval
echo
echo "== assay generate (greedy, 24 tokens)"
"$ASSAY" generate --model "$MODEL" --db "$DB" --prompt "Once upon a time" --max-tokens 24
echo
echo "== assay runs"
"$ASSAY" runs --db "$DB"
echo
echo "== assay report -o report.html"
"$ASSAY" report --db "$DB" -o report.html
echo
echo "demo: results are in $(pwd)/$DB ('$ASSAY runs show ID' for one run)."
echo "demo: open $(pwd)/report.html in a browser for the report of the evaluation."
echo "demo: the checkpoint has random weights, so its scores are at chance level."
