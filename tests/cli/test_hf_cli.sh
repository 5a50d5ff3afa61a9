#!/usr/bin/env bash
# The inspection commands take a Hugging Face directory as they take a GGUF file:
# `models info` (format, parameters, hyper-parameters, fingerprint of the directory),
# `tokenize --model DIR` and `logits --model DIR` give the GGUF twin's ids and logits.
. "$(dirname "$0")/lib.sh"
S=${ASSAY_SHARED_DIR:-../shared}
M="$S/fixtures/models"
if [ ! -d "$M/gemma2-tiny/hf-bf16" ]; then
    echo "skipped: $M not present"
    finish
    exit $?
fi
export ASSAY_DB="$TMP/assay.db"
DIR="$M/gemma2-tiny/hf-bf16"
TWIN="$M/gemma2-tiny/gemma2-tiny-BF16.gguf"

expect_exit 0 "models info DIR" -- "$ASSAY" models info "$DIR"
expect_grep "$TMP/out" "format +Hugging Face directory" "models info names the format"
expect_grep "$TMP/out" "layers +[0-9]+ \(width" "models info shows the hyper-parameters"
expect_grep "$TMP/out" "fingerprint +sha256:[0-9a-f]{64}" "models info fingerprints the directory"
expect_exit 0 "models info --json DIR" -- "$ASSAY" models info --json --no-fingerprint "$DIR"
cp "$TMP/out" "$TMP/dir.json"
expect_exit 0 "models info --json GGUF" -- "$ASSAY" models info --json --no-fingerprint "$TWIN"
python3 - "$TMP/dir.json" "$TMP/out" <<'PY' && pass || fail "models info: directory and GGUF twin disagree"
import json, sys
d, g = (json.load(open(p)) for p in sys.argv[1:3])
assert d["format"] == "hf" and g["format"] == "gguf", (d["format"], g["format"])
assert d["architecture"] == g["architecture"] == "gemma2"
assert d["hparams"] == g["hparams"], (d["hparams"], g["hparams"])
assert d["n_vocab"] == g["n_vocab"]
PY

for text in "Hello world" "  two  spaces and 12345 digits"; do
    "$ASSAY" tokenize --model "$DIR" --text "$text" --json >"$TMP/a" 2>&1
    "$ASSAY" tokenize --model "$TWIN" --text "$text" --json >"$TMP/b" 2>&1
    if cmp -s "$TMP/a" "$TMP/b" && [ -s "$TMP/a" ]; then pass; else fail "tokenize '$text': DIR != GGUF"; fi
done

"$ASSAY" logits --model "$DIR" --text "The quick brown fox" -t 1 -o "$TMP/la.json" 2>"$TMP/err"
"$ASSAY" logits --model "$TWIN" --text "The quick brown fox" -t 1 -o "$TMP/lb.json" 2>>"$TMP/err"
python3 - "$TMP/la.json" "$TMP/lb.json" <<'PY' && pass || { fail "logits: DIR != GGUF twin"; cat "$TMP/err"; }
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["tokens"] == b["tokens"] and len(a["tokens"]) > 2
assert len(a["logits"]) == len(a["tokens"])
worst = max(abs(x - y) for ra, rb in zip(a["logits"], b["logits"]) for x, y in zip(ra, rb))
assert worst <= 1e-5, worst
PY

# compare-logits: a training directory against its GGUF twin is the same model
printf 'The quick brown fox jumps over the lazy dog. %.0s' $(seq 1 12) >"$TMP/text.txt"
expect_exit 0 "compare-logits DIR vs GGUF twin" -- "$ASSAY" compare-logits --base "$DIR" --model "$TWIN" --text "$TMP/text.txt" --json -t 1
python3 - "$TMP/out" <<'PY' && pass || fail "compare-logits DIR vs twin: not identical"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["positions"] > 100, d
assert d["top1_agree"] == 1.0 and d["kl_max"] == 0.0, d
assert d["ppl_base"] == d["ppl_model"], d
PY

# a directory that is not a checkpoint is bad input for every inspection command
mkdir -p "$TMP/empty"
expect_exit 3 "models info on a directory without config.json" -- "$ASSAY" models info "$TMP/empty"
expect_grep "$TMP/err" "config.json" "the error names config.json"
expect_exit 3 "logits on a directory without config.json" -- "$ASSAY" logits --model "$TMP/empty" --ids 2,3
expect_exit 3 "tokenize on a directory without config.json" -- "$ASSAY" tokenize --model "$TMP/empty" --text x
finish
