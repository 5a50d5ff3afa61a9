#!/usr/bin/env bash
# Hugging Face directories on the command line: `assay convert` of every fixture's hf-bf16
# gives the tensor table and metadata of the official converter's GGUF and the same logits
# (BF16 as is; --type Q8_0 through the quantizer = the fixture's Q8_0); score and generate
# take --model DIR (single file and sharded) with the GGUF's results; bad directories are
# bad input (exit 3) naming the file and the tensor.
. "$(dirname "$0")/lib.sh"
S=${ASSAY_SHARED_DIR:-../shared}
M="$S/fixtures/models"
if [ ! -d "$M/gemma3-tiny/hf-bf16" ]; then
    echo "skipped: $M not present"
    finish
    exit $?
fi
T="${ASSAY_SOURCE_DIR:-.}/tests/data/safetensors/sttool.py"
PY=$(command -v python3)
export ASSAY_DB="$TMP/assay.db"
cd "$TMP"
IDS=2,651,1037,576,1081,603,1254,17,18,4,5

for pair in gemma-tiny:F16 gemma2-tiny:BF16 gemma3-tiny:BF16; do
    m=${pair%%:*}
    twin="$M/$m/$m-${pair#*:}.gguf"
    expect_exit 0 "convert $m" -- "$ASSAY" convert "$M/$m/hf-bf16" "$m.gguf" -q
    # The same tensor names, types (2-D weights keep BF16; the F16 twin was made with
    # --outtype f16), dims, and metadata keys and values (general.name/size_label and the
    # CodeGemma ids the converter hard-codes for gemma aside).
    $PY "$T" gguf-summary "$m.gguf" >mine.json && $PY "$T" gguf-summary "$twin" >theirs.json
    $PY - "$m" <<'PYEOF' && pass || fail "convert $m: tensors or metadata differ from the fixture"
import json, sys
a, b = json.load(open('mine.json')), json.load(open('theirs.json'))
skip = {'general.name', 'general.size_label', 'general.file_type', 'tokenizer.ggml.eot_token_id',
        'tokenizer.ggml.prefix_token_id', 'tokenizer.ggml.suffix_token_id',
        'tokenizer.ggml.middle_token_id', 'tokenizer.ggml.fsep_token_id'}
ka, kb = set(a['keys']) - skip, set(b['keys']) - skip
bad = sorted(ka ^ kb) + [k for k in ka & kb if a['keys'][k] != b['keys'][k]]
ta = {n: v[1] for n, v in a['tensors'].items()}
tb = {n: v[1] for n, v in b['tensors'].items()}
if ta != tb: bad.append('tensor names/dims')
f16 = sys.argv[1] == 'gemma-tiny'
for n, v in a['tensors'].items():
    want = b['tensors'][n][0] if not f16 or len(v[1]) == 1 else 30  # BF16 where the twin is F16
    if n in b['tensors'] and v[0] != want: bad.append('type of ' + n)
if bad: print(bad[:10]); sys.exit(1)
PYEOF
    # Logits: the converted file, and the directory itself through score, equal the twin's.
    if [ "${pair#*:}" = BF16 ]; then
        "$ASSAY" logits --model "$m.gguf" --ids $IDS -t 2 >a.json 2>/dev/null
        "$ASSAY" logits --model "$twin" --ids $IDS -t 2 >b.json 2>/dev/null
        cmp -s a.json b.json && pass || fail "convert $m: logits differ from $twin"
    fi
    expect_exit 0 "convert $m --type Q8_0" -- "$ASSAY" convert "$M/$m/hf-bf16" "$m-q8.gguf" --type Q8_0 -q
    "$ASSAY" logits --model "$m-q8.gguf" --ids $IDS -t 2 >a.json 2>/dev/null
    "$ASSAY" logits --model "$M/$m/$m-Q8_0.gguf" --ids $IDS -t 2 >b.json 2>/dev/null
    cmp -s a.json b.json && pass || fail "convert $m --type Q8_0: logits differ from the fixture Q8_0"
done

# --model DIR for score and generate, single file and sharded: the BF16 twin's numbers.
$PY "$T" shard "$M/gemma2-tiny/hf-bf16" sharded 3
for model in "$M/gemma2-tiny/gemma2-tiny-BF16.gguf" "$M/gemma2-tiny/hf-bf16" sharded; do
    expect_exit 0 "score --model $model" -- "$ASSAY" score --model "$model" -t 2 --json \
        --context "The capital of France is" --continuation " Paris, of course."
    $PY -c 'import json,sys; print(json.load(sys.stdin)["logprob"])' <"$TMP/out" >>score.txt
    expect_exit 0 "generate --model $model" -- "$ASSAY" generate --model "$model" -t 2 -n 12 \
        --prompt "The capital of France is" --json
    $PY -c 'import json,sys; print(json.load(sys.stdin)["text"])' <"$TMP/out" >>gen.txt
done
[ "$(grep -c . score.txt)" -eq 3 ] && [ "$(sort -u score.txt | wc -l)" -eq 1 ] && pass ||
    fail "score differs between GGUF, dir, shards: $(cat score.txt)"
[ "$(grep -c . gen.txt)" -eq 3 ] && [ "$(sort -u gen.txt | wc -l)" -eq 1 ] && pass ||
    fail "generate differs between GGUF, dir, shards: $(cat gen.txt)"

# Gemma 3 multimodal layout (text_config, language_model.model.*, a vision tower): the text
# model, with the same numbers as the plain directory.
$PY "$T" mutate "$M/gemma3-tiny/hf-bf16" mm multimodal
for model in "$M/gemma3-tiny/hf-bf16" mm; do
    expect_exit 0 "score --model $model" -- "$ASSAY" score --model "$model" -t 2 --json \
        --context "The capital of France is" --continuation " Paris, of course."
    $PY -c 'import json,sys; print(json.load(sys.stdin)["logprob"])' <"$TMP/out" >>mm.txt
done
[ "$(grep -c . mm.txt)" -eq 2 ] && [ "$(sort -u mm.txt | wc -l)" -eq 1 ] && pass ||
    fail "gemma3 multimodal layout scores differently: $(cat mm.txt)"

# Bad input: exit 3, the file and the tensor (or key) named.
G3="$M/gemma3-tiny/hf-bf16"
mkdir empty
expect_exit 3 "no config.json" -- "$ASSAY" convert empty out.gguf
expect_grep "$TMP/err" "empty/config.json.*no config.json" "no config.json message"
mkdir llama && cp "$G3"/* llama/ && chmod u+w llama/* && echo '{"model_type": "llama"}' >llama/config.json
expect_exit 3 "unknown model_type" -- "$ASSAY" score --model llama --context a --continuation b
expect_grep "$TMP/err" "llama/config.json.*model_type 'llama' is not supported" "unknown model_type message"
cp -r sharded missing && chmod -R u+w missing && rm missing/model-00002-of-00003.safetensors
expect_exit 3 "missing shard" -- "$ASSAY" convert missing out.gguf
expect_grep "$TMP/err" "model.safetensors.index.json.*shard 'model-00002-of-00003.safetensors'.*tensor '" "missing shard message"
$PY "$T" mutate "$G3" shape shape
expect_exit 3 "wrong tensor shape" -- "$ASSAY" convert shape out.gguf
expect_grep "$TMP/err" "shape/model.safetensors: tensor 'model.layers.0.self_attn.q_proj.weight' \\(GGUF 'blk.0.attn_q.weight'\\): expected dims" "wrong shape message"
$PY "$T" mutate "$G3" offsets offsets
expect_exit 3 "lying header" -- "$ASSAY" generate --model offsets --prompt hi -n 2
expect_grep "$TMP/err" "offsets/model.safetensors.*tensor 'model.layers.0.self_attn.k_proj.weight'" "lying header message"
expect_exit 3 "convert of a GGUF file" -- "$ASSAY" convert "$M/gemma3-tiny/gemma3-tiny-BF16.gguf" out.gguf
[ ! -e out.gguf ] && pass || fail "a failed convert left out.gguf"
finish
