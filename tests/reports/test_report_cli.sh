#!/usr/bin/env bash
# `assay report` and `assay compare` end to end: two runs of different fixture
# checkpoints on a small task set; the comparison's deltas, McNemar counts and p-values
# recomputed independently from the database with Python; the interval brackets the
# delta; hostile stored text (script tags, attribute breakout, invalid UTF-8) renders as
# text in both pages; usage and missing-run errors; the compiled-in published figures
# match the shipped CSV.
. "$(dirname "$0")/../cli/lib.sh"
S=${ASSAY_SHARED_DIR:-../shared}
M1="$S/fixtures/models/gemma2-tiny/gemma2-tiny-Q8_0.gguf"
M2="$S/fixtures/models/gemma3-tiny/gemma3-tiny-Q8_0.gguf"
D="$S/datasets"
PY=$(command -v python3)
SRC=${ASSAY_SOURCE_DIR:?}

# ---- the published figures compiled in are the shipped CSV's ---------------------------
"$PY" "$SRC/reports/gen_published.py" "$SRC/reports/data/gemma_reported_scores.csv" "$TMP/pub.c" &&
    cmp -s "$TMP/pub.c" "$SRC/reports/published_data.c" && pass ||
    fail "reports/published_data.c is stale: run reports/gen_published.py"

if [ ! -f "$M1" ] || [ ! -f "$M2" ] || [ ! -d "$D/mmlu" ]; then
    echo "skipped: fixtures or datasets under $S not present"
    finish
    exit $?
fi
cd "$TMP"
unset ASSAY_DATA_DIR ASSAY_DB
export XDG_CACHE_HOME="$TMP/cache"
TASKS=mmlu_anatomy,arc_easy,piqa
expect_exit 0 "run model 1" -- "$ASSAY" run --model "$M1" --tasks $TASKS --limit 15 --data-dir "$D" --db t.db --threads 2 --quiet
expect_exit 0 "run model 2" -- "$ASSAY" run --model "$M2" --tasks $TASKS --limit 15 --data-dir "$D" --db t.db --threads 2 --quiet

# ---- report ---------------------------------------------------------------------------
expect_exit 0 "report, default run" -- "$ASSAY" report --db t.db -o default.html --json
cp "$TMP/out" default.json
"$PY" -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["runs"] != [2])' default.json && pass ||
    fail "default is not the newest eval run"
expect_grep default.html 'id="run-2"' "default report has run 2"
expect_grep default.html 'Gemma3 Tiny' "report names the model"
expect_exit 0 "report two runs" -- "$ASSAY" report --db t.db --run 1,2 -o both.html
expect_grep both.html 'id="run-1"' "report has run 1"
expect_grep both.html 'id="run-2"' "report has run 2"
expect_grep both.html '<svg' "report has a chart"
expect_grep both.html '<details class="task"><summary>mmlu_anatomy' "samples per task"
if grep -qiE '<script|https?://|<link rel="stylesheet' both.html; then
    fail "report references a script or the network"
else pass; fi
expect_exit 0 "published-as" -- "$ASSAY" report --db t.db --run 1 -o pub.html --published-as gemma-2-9b
expect_grep pub.html '>88\.0<' "published figure shown for --published-as"
expect_exit 3 "report of a missing run" -- "$ASSAY" report --db t.db --run 99 -o x.html
expect_grep "$TMP/err" 'no run with id 99' "missing run named"
expect_exit 2 "bad run id" -- "$ASSAY" report --db t.db --run 1,abc -o x.html
expect_exit 3 "report on a missing database" -- "$ASSAY" report --db nosuch.db -o x.html

# ---- compare --------------------------------------------------------------------------
expect_exit 0 "compare" -- "$ASSAY" compare 1 2 --db t.db -o cmp.html --json
cp "$TMP/out" cmp.json
"$PY" - t.db cmp.json <<'PYEOF' && pass || fail "compare figures differ from an independent computation"
import json, math, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
res = json.load(open(sys.argv[2]))["comparisons"][0]
assert res["run_a"] == 1 and res["run_b"] == 2 and res["resamples"] == 10000, res
def rows(run):
    return {(t, i, f or ""): (s, c) for t, i, f, s, c in
            db.execute("select task, item, format_id, score, correct from samples where run_id=?", (run,))}
a, b = rows(1), rows(2)
keys = sorted(set(a) & set(b))
def check(t, ks):
    n = len(ks)
    assert t["n_paired"] == n, (t["task"], t["n_paired"], n)
    d = sum(b[k][0] - a[k][0] for k in ks) / n
    assert abs(t["delta"] - d) < 1e-12, (t["task"], t["delta"], d)
    assert t["ci_low"] <= t["delta"] + 1e-12 <= t["ci_high"] + 2e-12, t
    # the interval is about delta +- 1.96 sd/sqrt(n) of the paired differences
    diffs = [b[k][0] - a[k][0] for k in ks]
    sd = math.sqrt(sum((x - d) ** 2 for x in diffs) / n)
    half = 1.96 * sd / math.sqrt(n)
    width = (t["ci_high"] - t["ci_low"]) / 2
    assert (half == 0 and width == 0) or 0.6 * half <= width <= 1.4 * half + 1.0 / n, (t["task"], width, half)
    n01 = sum(1 for k in ks if a[k][1] == 1 and b[k][1] == 0)
    n10 = sum(1 for k in ks if a[k][1] == 0 and b[k][1] == 1)
    m = t["mcnemar"]
    assert (m["n01"], m["n10"]) == (n01, n10), (t["task"], m, n01, n10)
    nd = n01 + n10
    if nd < 25:
        p = min(1.0, 2 * sum(math.comb(nd, i) for i in range(min(n01, n10) + 1)) / 2 ** nd) if nd else 1.0
        assert m["test"] == "exact"
    else:
        x = max(abs(n01 - n10) - 1, 0) ** 2 / nd
        p = math.erfc(math.sqrt(x / 2))
        assert m["test"] == "chi2_cc"
    assert abs(m["p_value"] - p) < 1e-9, (t["task"], m["p_value"], p)
check(res["overall"], keys)
tasks = sorted({k[0] for k in keys})
assert sorted(t["task"] for t in res["tasks"]) == tasks
for t in res["tasks"]:
    check(t, [k for k in keys if k[0] == t["task"]])
deltas = [t["delta"] for t in res["tasks"]]
assert deltas == sorted(deltas, reverse=True), deltas
fixed = sum(1 for k in keys if a[k][1] == 0 and b[k][1] == 1)
assert res["n_fixed"] == fixed
PYEOF
expect_grep cmp.html '10000 resamples' "page states the resamples"
expect_grep cmp.html 'exact two-sided binomial' "page states the McNemar variant"
expect_grep cmp.html 'Fixed \(wrong in A, right in B\)' "page lists flips"
expect_exit 0 "compare, table" -- "$ASSAY" compare 1 2 --db t.db -o cmp2.html
expect_grep "$TMP/out" '^  \(all matched samples\) +45 ' "table has the overall row"
expect_exit 2 "compare needs two runs" -- "$ASSAY" compare 1 --db t.db
expect_exit 3 "compare a missing run" -- "$ASSAY" compare 1 7 --db t.db -o x.html

# ---- hostile stored text ---------------------------------------------------------------
cp t.db h.db
"$PY" - h.db <<'PYEOF' || fail "could not plant hostile text"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
bad = b'<script>alert(1)</script> "><img src=x onerror=alert(1)> \xff\xfe\xc3( mail jane.roe@example.org'
for run in (1, 2):
    db.execute("update samples set output = cast(? as text) where run_id = ? and task = 'piqa' and item = (select min(item) from samples where run_id = ? and task = 'piqa')", (bad, run, run))
db.commit()
PYEOF
expect_exit 0 "report hostile" -- "$ASSAY" report --db h.db --run 1 -o h.html --samples 0
expect_exit 0 "compare hostile" -- "$ASSAY" compare 1 2 --db h.db -o hc.html --samples 0
for f in h.html; do
    expect_grep $f '&lt;script&gt;alert\(1\)&lt;/script&gt;' "$f: script tag as text"
    expect_grep $f '&quot;&gt;&lt;img src=x onerror=alert\(1\)&gt;' "$f: attribute breakout as text"
    expect_grep $f '\[EMAIL_ADDRESS\]' "$f: email masked"
done
for f in h.html hc.html; do
    if grep -qiE '<script|<img' $f; then fail "$f: live markup from stored text"; else pass; fi
    if grep -q 'jane.roe' $f; then fail "$f: unmasked email"; else pass; fi
    "$PY" -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' $f && pass || fail "$f: not valid UTF-8"
done
expect_grep h.html $'\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\(' "invalid bytes become U+FFFD"
expect_exit 0 "report raw" -- "$ASSAY" report --db h.db --run 1 -o raw.html --samples 0 --raw
expect_grep raw.html 'jane.roe@example.org' "--raw shows the text"
if grep -qiE '<script|<img' raw.html; then fail "raw.html: live markup"; else pass; fi

# ---- compare-logits --------------------------------------------------------------------
M1F="$S/fixtures/models/gemma2-tiny/gemma2-tiny-F32.gguf"
TXT="$SRC/tests/data/reports/logits_text.txt"
expect_exit 0 "compare-logits F32 vs Q8_0" -- "$ASSAY" compare-logits --base "$M1F" --model "$M1" --text "$TXT" --ctx 32 --db l.db --threads 2 --json
cp "$TMP/out" l.json
expect_exit 0 "compare-logits with itself" -- "$ASSAY" compare-logits --base "$M1" --model "$M1" --text "$TXT" --ctx 32 --db l.db --threads 2 --json
cp "$TMP/out" self.json
# window 0 recomputed from `assay logits` of both checkpoints with Python
"$ASSAY" tokenize --model "$M1" --text "$(cat "$TXT")" --json >tok.json
"$PY" - tok.json >ids.txt <<'PYEOF'
import json, sys
ids = json.load(open(sys.argv[1]))["ids"]
print(",".join(str(i) for i in [2] + ids[:31]))
PYEOF
"$ASSAY" logits --model "$M1F" --ids "$(cat ids.txt)" -o lb.json --threads 2 &&
"$ASSAY" logits --model "$M1" --ids "$(cat ids.txt)" -o lm.json --threads 2 &&
"$PY" - l.json self.json l.db lb.json lm.json <<'PYEOF' && pass || fail "compare-logits figures differ from an independent computation"
import json, math, sqlite3, sys
l, me = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert me["kl_mean"] == 0 and me["kl_max"] == 0 and me["top1_agree"] == 1, me
assert abs(me["ppl_base"] - me["ppl_model"]) < 1e-12 and me["ppl_base"] > 1, me
assert 0 < l["kl_mean"] < 1 and 0 <= l["kl_median"] <= l["kl_p99"] <= l["kl_max"], l
assert 0.5 < l["top1_agree"] <= 1 and l["ppl_base"] > 1 and l["ppl_model"] > 1, l
db = sqlite3.connect(sys.argv[3])
kinds = [r[0] for r in db.execute("select kind from runs order by id")]
assert kinds == ["compare-logits", "compare-logits"], kinds
win = [json.loads(r[0]) for r in db.execute(
    "select data_json from samples where run_id = ? order by id", (l["run"],))]
allkl = sorted(x for w in win for x in w["kl"])
assert len(allkl) == l["positions"] and abs(sum(allkl) / len(allkl) - l["kl_mean"]) < 1e-9
assert win[0]["token_start"] == 0 and win[0]["n_tokens"] == 31 and win[1]["token_start"] == 31
def lsm(row):
    m = max(row); s = math.log(sum(math.exp(x - m) for x in row)) + m
    return [x - s for x in row]
lb, lm = json.load(open(sys.argv[4]))["logits"], json.load(open(sys.argv[5]))["logits"]
ids = json.load(open(sys.argv[4]))["tokens"]
nll = 0
for i in range(31):
    a, b = lsm(lb[i]), lsm(lm[i])
    kl = sum(math.exp(x) * (x - y) for x, y in zip(a, b))
    assert abs(kl - win[0]["kl"][i]) <= 1e-4 * kl + 1e-6, (i, kl, win[0]["kl"][i])
    nll -= a[ids[i + 1]]
assert abs(nll - win[0]["nll_base"]) < 1e-3 * nll, (nll, win[0]["nll_base"])
PYEOF
expect_exit 0 "report compare-logits" -- "$ASSAY" report --db l.db --run 1 -o l.html
expect_grep l.html 'Logit comparison' "report renders the logit section"
expect_grep l.html 'top-1 agreement' "report shows agreement"
# a checkpoint whose tokenizer differs in one piece is refused
"$PY" - "$M1" other.gguf <<'PYEOF' || fail "could not write the altered checkpoint"
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
pat = struct.pack("<Q", 2) + b"el"
i = data.find(pat)
assert i > 0
data[i + 8:i + 10] = b"eZ"
open(sys.argv[2], "wb").write(data)
PYEOF
expect_exit 3 "different tokenizers" -- "$ASSAY" compare-logits --base "$M1" --model other.gguf --text "$TXT" --ctx 32 --db l.db
expect_grep "$TMP/err" 'do not share a tokenizer' "tokenizer mismatch explained"
expect_exit 2 "compare-logits past the trained context" -- "$ASSAY" compare-logits --base "$M1" --model "$M1" --text "$TXT" --ctx 100000 --db l.db
expect_grep "$TMP/err" 'longer than .* was trained for' "context limit explained"
expect_exit 2 "compare-logits without --text" -- "$ASSAY" compare-logits --base "$M1" --model "$M1" --db l.db
printf 'ok \xff bad' >bad.txt
expect_exit 3 "compare-logits on invalid UTF-8" -- "$ASSAY" compare-logits --base "$M1" --model "$M1" --text bad.txt --db l.db
expect_grep "$TMP/err" 'bad.txt.*not valid UTF-8' "invalid text named"
finish
