# tests/engine/test_rgemma_cli.sh - `--model DIR` with a RecurrentGemma HF directory reaches
# the RecurrentGemma backend: greedy text identical to the official Sampler's, a stored run,
# and exit 3 naming the file and tensor for a directory whose tensor has the wrong shape.
. "${ASSAY_SOURCE_DIR:?}/tests/cli/lib.sh"
FIX="${ASSAY_SHARED_DIR:?}/fixtures/models/tiny-recurrentgemma"
if [ ! -d "$FIX" ]; then
    echo "skipped: $FIX not present"
    exit 0
fi
DB="$TMP/a.db"

expect_exit 0 "generate with a recurrent_gemma directory" -- \
    "$ASSAY" generate --model "$FIX" --prompt "Once upon a time" -n 16 --ignore-eos -t 2 \
    --db "$DB" --json
expect_grep "$TMP/out" '"text": *" dif ho\\nooopion fifyify through1 becausegl posheader"' \
    "greedy text as the reference"
expect_grep "$TMP/out" '1411, *1410, *19, *1986' "greedy ids as the reference"

# bf16 weights: the reference's own bf16 continuation of the second prompt
prompt=$(python3 -c "
import json; print(json.load(open('$FIX/reference.json'))['greedy'][1]['prompt_text'])")
want=$(python3 -c "
import json; r=json.load(open('$FIX/reference.json'))
print(', *'.join(str(i) for i in r['greedy'][1]['bf16_weights_generated_ids']))")
expect_exit 0 "generate with bf16 weights" -- \
    "$ASSAY" generate --model "$FIX/bf16" --prompt "$prompt" -n 16 \
    --ignore-eos -t 1 --db "$DB" --json
expect_grep "$TMP/out" "$want" "bf16 greedy ids as the reference"

# the config promises 2047 tokens, the embedding has 2048 rows
mkdir -p "$TMP/bad"
sed 's/"vocab_size": 2048/"vocab_size": 2047/' "$FIX/config.json" >"$TMP/bad/config.json"
ln -s "$FIX/model.safetensors" "$TMP/bad/model.safetensors"
ln -s "$FIX/tokenizer.model" "$TMP/bad/tokenizer.model"
expect_exit 3 "a tensor of the wrong shape" -- \
    "$ASSAY" generate --model "$TMP/bad" --prompt "x" -n 2 --db "$DB"
expect_grep "$TMP/err" "model.safetensors.*model.embed_tokens.weight.*expected \[2047, 64\]" \
    "the error names the file and the tensor"

# a shard listed in the index but missing
rm "$TMP/bad/model.safetensors"
sed 's/"vocab_size": 2047/"vocab_size": 2048/' -i "$TMP/bad/config.json"
echo '{"weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors"}}' \
    >"$TMP/bad/model.safetensors.index.json"
expect_exit 3 "a missing shard" -- \
    "$ASSAY" generate --model "$TMP/bad" --prompt "x" -n 2 --db "$DB"
expect_grep "$TMP/err" "model-00001-of-00002.safetensors" "the error names the shard"
finish
