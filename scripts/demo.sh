#!/usr/bin/env bash
# The quick start: install what is missing, build assay, and run the main job on the
# bundled demo checkpoint, writing ./assay.db. Usage: scripts/demo.sh
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
echo "== assay score: which continuation does the model prefer?"
for cont in " Paris." " Rome." " a city."; do
    printf '%-10s ' "$cont"
    "$ASSAY" score --model "$MODEL" --db "$DB" --context "The capital of France is" \
        --continuation "$cont"
done
echo
echo "== assay generate (greedy, 24 tokens)"
"$ASSAY" generate --model "$MODEL" --db "$DB" --prompt "Once upon a time" --max-tokens 24
echo
echo "== assay runs"
"$ASSAY" runs --db "$DB"
echo
echo "demo: results are in $(pwd)/$DB ('$ASSAY runs show ID' for one run)"
