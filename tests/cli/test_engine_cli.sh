#!/usr/bin/env bash
# The engine's commands end to end: tokenize against the golden files, logits and score
# against the official reference, generate, models info, quantize, bench; bad models are
# bad input (exit 3) with the file named.
. "$(dirname "$0")/lib.sh"
S=${ASSAY_SHARED_DIR:-../shared}
if [ ! -d "$S/fixtures/models" ]; then
    echo "skipped: $S/fixtures not present"
    finish
    exit $?
fi
PY=$(command -v python3)
G2="$S/fixtures/models/gemma2-tiny/gemma2-tiny-F32.gguf"
REF2="$S/fixtures/models/gemma2-tiny/reference.json"
cd "$TMP"

# tokenize: every golden line, from the .model file and from the GGUF's metadata
for pair in "tiny:$S/fixtures/models/gemma-tiny/gemma-tiny-F16.gguf" "wide:"; do
    name=${pair%%:*}
    model=${pair#*:}
    golden="$S/fixtures/tokenizer/$name-golden.jsonl"
    $PY -c 'import json,sys
for l in open(sys.argv[1]): print(json.dumps({"text": json.loads(l)["text"]}))' "$golden" >in.jsonl
    expect_exit 0 "tokenize --jsonl $name" -- "$ASSAY" tokenize --tokenizer "$S/fixtures/tokenizer/$name-spm.model" --jsonl in.jsonl
    cp "$TMP/out" ids.jsonl
    $PY -c 'import json,sys
want=[json.loads(l)["ids"] for l in open(sys.argv[1])]
got=[json.loads(l)["ids"] for l in open(sys.argv[2])]
bad=[i for i,(a,b) in enumerate(zip(want,got)) if a!=b]
sys.exit(0 if len(want)==len(got) and not bad else print(len(want),len(got),bad[:5]) or 1)' "$golden" ids.jsonl && pass || fail "tokenize --jsonl $name differs from the golden ids"
    if [ -n "$model" ]; then
        # The GGUF converter writes ids 0-6 as CONTROL where the .model has some of them
        # USER_DEFINED (<start_of_turn> ...): plain text then differs only on lines holding
        # those pieces, and --special (control pieces matched in text) agrees there.
        expect_exit 0 "tokenize --model $name" -- "$ASSAY" tokenize --model "$model" --jsonl in.jsonl
        cp "$TMP/out" gguf.jsonl
        expect_exit 0 "tokenize --model $name --special" -- "$ASSAY" tokenize --model "$model" --special --jsonl in.jsonl
        cp "$TMP/out" gguf-special.jsonl
        $PY -c 'import json,sys
meta=json.load(open(sys.argv[1]))["control_unknown_and_user_defined_pieces"]
ud=[v["piece"] for k,v in meta.items() if v["type"]=="USER_DEFINED" and int(k)<7]
cu=[v["piece"] for v in meta.values() if v["type"] in ("CONTROL","UNKNOWN")]+["<bos>","<eos>"]
texts=[json.loads(l)["text"] for l in open(sys.argv[2])]
spm,plain,spec=[[json.loads(l)["ids"] for l in open(f)] for f in sys.argv[3:6]]
bad=[]
for i,t in enumerate(texts):
    if not any(p in t for p in ud):
        if plain[i]!=spm[i]: bad.append(("plain",i))
    elif not any(p in t for p in cu):
        if spec[i]!=spm[i]: bad.append(("special",i))
print("gguf tokenizer checked on", len(texts), "lines, mismatches:", bad[:5])
sys.exit(1 if bad else 0)' "$S/fixtures/tokenizer/$name-golden.meta.json" in.jsonl ids.jsonl gguf.jsonl gguf-special.jsonl && pass || fail "tokenizer from GGUF metadata differs from .model"
    fi
done
expect_exit 0 "tokenize --decode" -- "$ASSAY" tokenize --tokenizer "$S/fixtures/tokenizer/tiny-spm.model" --decode 81,340,345,315,272,1987,1989
expect_grep "$TMP/out" "^Hello world$" "decode of the golden ids"
expect_exit 2 "tokenize without a text" -- "$ASSAY" tokenize --tokenizer "$S/fixtures/tokenizer/tiny-spm.model"
printf '{"text": "ok"}\n{"txt": 1}\n' >bad.jsonl
expect_exit 3 "tokenize bad jsonl line" -- "$ASSAY" tokenize --tokenizer "$S/fixtures/tokenizer/tiny-spm.model" --jsonl bad.jsonl
expect_grep "$TMP/err" "bad\.jsonl:2: " "bad jsonl names file and line"

# logits: last position equals the reference's last_logits within the strict tolerance
ids=$($PY -c 'import json,sys; r=json.load(open(sys.argv[1])); print(",".join(map(str, r["sequences"][0]["ids"])))' "$REF2")
expect_exit 0 "logits --positions last" -- "$ASSAY" logits -m "$G2" --ids "$ids" --positions last -o last.json
$PY -c 'import json,sys
r=json.load(open(sys.argv[1])); g=json.load(open(sys.argv[2]))
a=g["logits"][-1]; b=r["sequences"][0]["last_logits"]
d=max(abs(x-y) for x,y in zip(a,b)); print("max |dlogit| =", d)
sys.exit(0 if len(a)==len(b)==2048 and len(g["logits"])==1 and d<1e-3 else 1)' "$REF2" last.json && pass || fail "logits differ from the reference"
expect_exit 0 "logits --positions all" -- "$ASSAY" logits -m "$G2" --text "Hello" --positions all -o all.json
$PY -c 'import json,sys; g=json.load(open(sys.argv[1])); sys.exit(0 if len(g["logits"])==len(g["tokens"]) and g["tokens"][0]==2 else 1)' all.json && pass || fail "logits --text: one row per token, BOS first"

# score: lm-eval split, stored as a run
ctx=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["loglikelihood_text"][0]["context"])' "$REF2")
cont=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["loglikelihood_text"][0]["continuation"])' "$REF2")
expect_exit 0 "score" -- "$ASSAY" score -m "$G2" --context "$ctx" --continuation "$cont" --json --db t.db
$PY -c 'import json,sys
r=json.load(open(sys.argv[1]))["loglikelihood_text"][0]; g=json.load(open(sys.argv[2]))
ok=abs(g["logprob"]-r["sum_logprob"])<=2*r["n_tokens"]*1e-3 and g["n_tokens"]==r["n_tokens"] and g["is_greedy"]==r["is_greedy"]
sys.exit(0 if ok else 1)' "$REF2" "$TMP/out" && pass || fail "score differs from the reference"
expect_exit 0 "runs show the score run" -- "$ASSAY" runs show 1 --db t.db --json
expect_grep "$TMP/out" '"kind": "score"' "score run stored"
expect_grep "$TMP/out" '"fingerprint"|"model_fingerprint": "sha256:' "model fingerprint stored"

# generate: greedy text of the reference, streamed, and stored
prompt=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["text_tests"][0]["text"])' "$REF2")
expect_exit 0 "generate --json" -- "$ASSAY" generate -m "$G2" -p "$prompt" -n 16 --ignore-eos --json --db t.db
$PY -c 'import json,sys
r=json.load(open(sys.argv[1]))["text_tests"][0]; g=json.load(open(sys.argv[2]))
sys.exit(0 if g["ids"]==r["greedy_ids"] and g["text"]==r["greedy_text"] else 1)' "$REF2" "$TMP/out" && pass || fail "generate differs from the reference greedy continuation"
expect_exit 0 "generate streaming" -- "$ASSAY" generate -m "$G2" -p "$prompt" -n 16 --ignore-eos --db t.db
want=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["text_tests"][0]["greedy_text"])' "$REF2")
[ "$(cat "$TMP/out")" = "$want" ] && pass || fail "streamed text differs from the greedy text"
expect_exit 0 "sampled generate is reproducible" -- "$ASSAY" generate -m "$G2" -p "$prompt" -n 12 --temp 0.8 --seed 7 --json --db t.db
cp "$TMP/out" s1.json
"$ASSAY" generate -m "$G2" -p "$prompt" -n 12 --temp 0.8 --seed 7 --json --db t.db >s2.json 2>/dev/null
$PY -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(0 if a["ids"]==b["ids"] else 1)' s1.json s2.json && pass || fail "same seed, different text"

# bad input: exit 3 naming the file; usage: exit 2
expect_exit 2 "generate without --model" -- "$ASSAY" generate -p hi
expect_exit 3 "missing model file" -- "$ASSAY" generate -m nope.gguf -p hi --db t.db
expect_grep "$TMP/err" "nope\.gguf" "missing model named"
head -c 3000 "$G2" >cut.gguf
expect_exit 3 "truncated model" -- "$ASSAY" score -m cut.gguf --context a --continuation b --db t.db
expect_grep "$TMP/err" "cut\.gguf" "truncated model named"
expect_exit 3 "models info truncated" -- "$ASSAY" models info cut.gguf
expect_grep "$TMP/err" "cut\.gguf: offset [0-9]+: " "models info gives the offset"
expect_exit 3 "remote backend not supported yet" -- "$ASSAY" generate -m http://127.0.0.1:9/v1 -p hi --db t.db
expect_grep "$TMP/err" "not supported yet" "remote backend message"
expect_exit 0 "models info --json" -- "$ASSAY" models info "$G2" --json
expect_grep "$TMP/out" '"architecture": "gemma2"' "models info architecture"
expect_grep "$TMP/out" "\"fingerprint\": \"sha256:$(sha256sum "$G2" | cut -c1-64)\"" "fingerprint is the file's sha256"

# quantize and bench
expect_exit 2 "quantize unknown type" -- "$ASSAY" quantize "$G2" q.gguf --type Q3_XX
expect_exit 0 "quantize Q8_0" -- "$ASSAY" quantize "$G2" q.gguf --type Q8_0
expect_exit 0 "bench --json" -- "$ASSAY" bench -m q.gguf -p 16 -n 4 -r 2 --no-hw --json
expect_grep "$TMP/out" '"pp": \{"tokens_per_s": [0-9]' "bench pp field"
expect_grep "$TMP/out" '"tg": \{"tokens_per_s": [0-9]' "bench tg field"
# with the hardware figures: a bandwidth sample before the first tg repetition and one
# after each; each repetition's fraction against the mean of the samples on either side
# of it, the median of those reported; a peak RSS that leaves out the 1 GiB buffer that
# measured the bandwidth (the tiny model needs a few MiB)
expect_exit 0 "bench --json with bandwidth" -- "$ASSAY" bench -m q.gguf -p 8 -n 2 -r 3 --json
python3 - "$TMP/out" <<'PYEOF' && pass || fail "bench bandwidth samples, fractions or peak RSS"
import json, statistics, sys
d = json.load(open(sys.argv[1]))
assert d["bandwidth_samples"] == 4, d
assert 0 < d["bandwidth_min_gb_s"] <= d["bandwidth_gb_s"] <= d["bandwidth_max_gb_s"], d
reps = d["tg_reps"]
assert len(reps) == 3, d
for a, b in zip(reps, reps[1:]):
    assert a["bandwidth_after_gb_s"] == b["bandwidth_before_gb_s"], d
fr = [r["tokens_per_s"] * d["weight_bytes_per_token"] /
      (0.5 * (r["bandwidth_before_gb_s"] + r["bandwidth_after_gb_s"]) * 1e9) for r in reps]
assert abs(statistics.median(fr) - d["tg_fraction_of_ceiling"]) <= 1e-9 * max(fr), (fr, d)
assert abs(min(fr) - d["tg_fraction_min"]) <= 1e-9 * max(fr), (fr, d)
assert abs(max(fr) - d["tg_fraction_max"]) <= 1e-9 * max(fr), (fr, d)
moved = sum(abs(r["bandwidth_after_gb_s"] - r["bandwidth_before_gb_s"]) >
            0.15 * max(r["bandwidth_after_gb_s"], r["bandwidth_before_gb_s"]) for r in reps)
assert d["bandwidth_moved_reps"] == moved, d
assert sorted(r["tokens_per_s"] for r in reps)[1] == d["tg"]["tokens_per_s"], d
assert 0 < d["peak_rss_bytes"] < (1 << 30), d
# Q8_0 weights: every product of pp is made in int8, so pp is measured against the int8
# peak alone: the fraction is pp x ops per token / int8 peak
assert d["pp_int8_ops_per_token"] == d["pp_flops_per_token"] > 0, d
if d["int8_peak_gops"] > 0:
    want = d["pp"]["tokens_per_s"] * d["pp_flops_per_token"] / (d["int8_peak_gops"] * 1e9)
    assert abs(d["pp_fraction_of_peak"] - want) <= 1e-3 * want + 1e-4, (want, d)
PYEOF
# F16 weights: no int8 products; pp against the f32 FMA peak
expect_exit 0 "quantize F16" -- "$ASSAY" quantize "$G2" f16.gguf --type F16
expect_exit 0 "bench --json F16" -- "$ASSAY" bench -m f16.gguf -p 8 -n 1 -r 1 --json
python3 - "$TMP/out" <<'PYEOF' && pass || fail "bench F16 peak fraction"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["pp_int8_ops_per_token"] == 0 and d["pp_flops_per_token"] > 0, d
if d["fma_peak_gflops"] > 0:
    want = d["pp"]["tokens_per_s"] * d["pp_flops_per_token"] / (d["fma_peak_gflops"] * 1e9)
    assert abs(d["pp_fraction_of_peak"] - want) <= 1e-3 * want + 1e-4, (want, d)
PYEOF
# pp FLOPs per token: the layers' matrices per token, the output matrix (tied embedding
# here) once per prompt, as pp asks for the last token's logits only
for np in 8 16; do
    "$ASSAY" bench -m q.gguf -p $np -n 0 -r 1 --no-hw --json > "bench$np.json" 2>/dev/null
done
"$ASSAY" models info q.gguf --json > info.json
python3 - bench8.json bench16.json info.json <<'PYEOF' && pass || fail "bench pp FLOPs per token"
import json, sys
f8, f16, info = (json.load(open(p)) for p in sys.argv[1:4])
out = (f8["pp_flops_per_token"] - f16["pp_flops_per_token"]) / (1 / 8 - 1 / 16)
want = 2 * info["n_vocab"] * info["hparams"]["n_embd"]
assert abs(out - want) <= 1e-6 * want, (out, want)
assert f16["pp_flops_per_token"] - out / 16 > 0
PYEOF

# --json output is JSON whatever the file names hold (a quote in the name broke it)
cp "$G2" 'we"ird.gguf'
expect_exit 0 "quantize --json with a quote in the path" -- "$ASSAY" quantize 'we"ird.gguf' 'o"ut.gguf' --type Q8_0 --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["output"]=="o\"ut.gguf" and d["type"]=="Q8_0"' "$TMP/out" && pass || fail "quantize --json is not valid JSON"
expect_exit 0 "bench --json with a quote in the path" -- "$ASSAY" bench -m 'o"ut.gguf' -p 4 -n 1 -r 1 --no-hw --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["model"]=="o\"ut.gguf" and d["tg_reps"]==[]' "$TMP/out" && pass || fail "bench --json is not valid JSON"

finish
