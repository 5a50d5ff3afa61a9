#!/usr/bin/env bash
# Sweep runs on the pages (issue #8 item 6): two small sweeps of two fixture checkpoints;
# `assay report` draws a bar per format (the lm-eval default highlighted), the mean / min /
# max marks and the position table; a sweep with more formats than the page draws shows
# the best and worst 20 with a note; `assay compare --html` shows both runs side by side
# with the same Kendall tau-b as `assay compare --json`; `assay serve` answers
# /api/runs/ID/sweep and /api/compare with the same figures.
. "$ASSAY_SOURCE_DIR/tests/cli/lib.sh"
S=${ASSAY_SHARED_DIR:-../shared}
M2="$S/fixtures/models/gemma2-tiny/gemma2-tiny-Q8_0.gguf"
M3="$S/fixtures/models/gemma3-tiny/gemma3-tiny-Q8_0.gguf"
D="$S/datasets"
PY=$(command -v python3)
cd "$TMP"
unset ASSAY_DATA_DIR ASSAY_DB
expect_exit 0 "help report" -- "$ASSAY" help report
expect_grep "$TMP/out" "prompt-format sweep" "report help names sweeps"
expect_exit 0 "help compare" -- "$ASSAY" help compare
expect_grep "$TMP/out" "Kendall's tau-b" "compare help names the sweep comparison"
expect_exit 0 "help serve" -- "$ASSAY" help serve
expect_grep "$TMP/out" "runs/ID/sweep" "serve help lists the sweep endpoint"
if [ ! -f "$M2" ] || [ ! -f "$M3" ] || [ ! -d "$D/mmlu" ]; then
    echo "skipped: fixtures or $D/mmlu not present"
    finish
    exit $?
fi
SW=(sweep --task mmlu_anatomy,mmlu_astronomy --formats 12 --cyclic --limit 4 --threads 2
    --data-dir "$D" --quiet --db sw.db --json)
expect_exit 0 "sweep gemma2" -- "$ASSAY" "${SW[@]}" --model "$M2"
expect_exit 0 "sweep gemma3" -- "$ASSAY" "${SW[@]}" --model "$M3"
# 45 formats: more than the page draws
expect_exit 0 "wide sweep" -- "$ASSAY" sweep --task mmlu_anatomy --formats 45 --limit 1 --threads 2 --data-dir "$D" --quiet --db sw.db --json --model "$M2"
# a plain eval run: no sweep section, and compare with a sweep has no sweep table
expect_exit 0 "eval run" -- "$ASSAY" run --tasks mmlu_anatomy --limit 2 --threads 2 --data-dir "$D" --quiet --db sw.db --model "$M2"

# ---- the report ---------------------------------------------------------------------------
expect_exit 0 "report" -- "$ASSAY" report --run 1,3,4 --db sw.db -o rep.html --quiet
$PY - rep.html <<'PYEOF' && pass || fail "report: sweep sections wrong"
import re, sys
h = open(sys.argv[1], encoding="utf-8").read()
runs = re.split(r'<section class="run" id="run-', h)[1:]
errs = []
r1, r3, r4 = runs
if "(prompt-format sweep)" not in r1: errs.append("section title")
# run 1: two tasks x 12 formats, a bar each, a position table of 4 rows per task
if r1.count('class="fmt-bar') != 24: errs.append("bars %d" % r1.count('class="fmt-bar'))
if r1.count('class="sweep-pos"') != 2 or r1.count('<tr class="pos">') != 8: errs.append("positions")
for k in ("sweep-mean", "sweep-min", "sweep-max"):
    if r1.count('class="%s"' % k) != 2: errs.append(k)
if r1.count('class="fmt-bar default"') != 2: errs.append("default format not highlighted")
if "Spread (max &minus; min)" not in r1 or "Recall std" not in r1: errs.append("spread / recall std")
# run 3: 45 formats, the best and worst 20 drawn
if r3.count('class="fmt-bar') != 40: errs.append("wide bars %d" % r3.count('class="fmt-bar'))
if "5 formats between, not drawn" not in r3 or "The best 20 and the worst 20 of 45" not in r3:
    errs.append("wide note")
# run 4 (eval): no sweep view
if "fmt-bar" in r4 or "sweep-pos" in r4: errs.append("eval run drew sweep bars")
print(errs) if errs else None
sys.exit(1 if errs else 0)
PYEOF

# ---- compare: page and JSON agree -------------------------------------------------------------
expect_exit 0 "compare" -- "$ASSAY" compare 1 2 --db sw.db -o cmp.html --json
cp "$TMP/out" cmp.json
$PY - cmp.json cmp.html sw.db <<'PYEOF' && pass || fail "compare page: sweep table wrong or tau differs from the JSON"
import json, re, sqlite3, sys
j = json.load(open(sys.argv[1]))["comparisons"][0]["sweep"]
h = open(sys.argv[2], encoding="utf-8").read()
db = sqlite3.connect(sys.argv[3])
errs = []
if "Prompt-format robustness (two sweeps)" not in h: errs.append("section")
taus = re.findall(r'<td class="n tau">([^<]*)</td>', h)
want = ["%.3f" % e["kendall_tau_b"] for e in j]
if taus != want: errs.append("tau %s vs %s" % (taus, want))
if any("formats" in e or "default_format" in e for e in j): errs.append("page-only keys leaked into the JSON")
# tau-b from the stored per-format accuracies, recomputed here (scipy's definition)
for e in j:
    def accs(run):
        return dict(db.execute("select name, value from metrics where run_id=? and task=? and name like 'acc@%'", (run, e["task"])))
    a, b = accs(1), accs(2)
    ks = sorted(set(a) & set(b))
    sg = lambda v: (v > 0) - (v < 0)
    c = tx = ty = n0 = 0
    for i in range(len(ks)):
        for k in range(i + 1, len(ks)):
            x, y = sg(a[ks[i]] - a[ks[k]]), sg(b[ks[i]] - b[ks[k]])
            n0 += 1; tx += x == 0; ty += y == 0; c += x * y
    tau = c / ((n0 - tx) * (n0 - ty)) ** 0.5
    if abs(tau - e["kendall_tau_b"]) > 1e-12 or e["n_formats"] != len(ks) != 12: errs.append("tau value")
# 12 points per task in the scatters, the default highlighted
if h.count('class="fmt-pt') != 24 or h.count('class="fmt-pt default"') != 2: errs.append("scatter")
print(errs) if errs else None
sys.exit(1 if errs else 0)
PYEOF
expect_exit 0 "compare sweep with eval" -- "$ASSAY" compare 1 4 --db sw.db -o mixed.html --json
if grep -q '"sweep"' "$TMP/out" || grep -q 'sweep-cmp' mixed.html; then fail "a sweep vs an eval got a sweep table"; else pass; fi

# ---- a generation sweep (gsm8k): its own reference format, flexible-extract, no positions ----
expect_exit 0 "gsm8k sweep" -- "$ASSAY" sweep --task gsm8k --formats 3 --limit 2 --max-tokens 8 --threads 2 --data-dir "$D" --quiet --db gsm.db --model "$M2"
expect_exit 0 "gsm8k report" -- "$ASSAY" report --db gsm.db --run 1 -o gsm.html --quiet
$PY - gsm.html <<'PYEOF' && pass || fail "gsm8k sweep page wrong"
import sys
h = open(sys.argv[1], encoding="utf-8").read()
ok = h.count('class="fmt-bar') == 3 and h.count('class="fmt-bar default"') == 1
ok = ok and "reference format (t0i0u0n0w0q1l0p0c0a0o0, lm-eval's own prompt for this task)" in h
ok = ok and "Flexible-extract over the formats" in h and 'class="sweep-pos"' not in h
sys.exit(0 if ok else 1)
PYEOF

# ---- the web API: the same figures as the stored metrics and as assay compare --json ----------
"$ASSAY" serve --db sw.db --port 0 --json >serve.out 2>serve.err &
PID=$!
for _ in $(seq 100); do
    [ -s serve.out ] && break
    sleep 0.05
done
URL=$(sed -n 's/.*"url": *"\([^"]*\)".*/\1/p' serve.out)
curl -s -o api1.json "${URL}api/runs/1/sweep"
curl -s -o api3.json "${URL}api/runs/3/sweep"
curl -s -o api4.json "${URL}api/runs/4/sweep"
curl -s -o apic.json "${URL}api/compare?a=1&b=2"
curl -s -o apix.json "${URL}api/compare?a=1&b=4"
curl -s -D h.txt -o bad.json "${URL}api/runs/99/sweep"
curl -s -D h2.txt -o bad2.json "${URL}api/runs/1/sweep?x=1"
kill -TERM "$PID"
wait "$PID"
$PY - sw.db cmp.json <<'PYEOF' && pass || fail "web API sweep answers wrong"
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
cj = json.load(open(sys.argv[2]))["comparisons"][0]["sweep"]
a1, a3, a4, ac, ax = (json.load(open(p)) for p in ("api1.json", "api3.json", "api4.json", "apic.json", "apix.json"))
errs = []
if not a1["sweep"] or [t["task"] for t in a1["tasks"]] != ["mmlu_anatomy", "mmlu_astronomy"]: errs.append("run 1 tasks")
for t in a1["tasks"]:
    stored = dict(db.execute("select name, value from metrics where run_id=1 and task=?", (t["task"],)))
    accs = [f["acc"] for f in t["formats"]]
    if len(accs) != 12 or accs != sorted(accs, reverse=True): errs.append("formats not best first")
    if any(abs(f["acc"] - stored["acc@" + f["id"]]) > 1e-12 for f in t["formats"]): errs.append("acc")
    if sum(f["default"] for f in t["formats"]) != 1: errs.append("default flag")
    if abs(t["fmt_std"] - stored["fmt_std"]) > 1e-12 or abs(t["recall_std"] - stored["recall_std"]) > 1e-12: errs.append("std")
    if len(t["positions"]) != 4 or t["uniform_rate"] != 0.25: errs.append("positions")
    if abs(sum(p["pick_rate"] for p in t["positions"]) - 1) > 1e-9: errs.append("pick rates")
if len(a3["tasks"][0]["formats"]) != 45: errs.append("run 3: all formats in the API")
if a4["sweep"] or a4["tasks"]: errs.append("eval run answered as a sweep")
if [(e["task"], e["kendall_tau_b"], e["n_formats"], e["a"], e["b"]) for e in ac["sweep"]] != \
   [(e["task"], e["kendall_tau_b"], e["n_formats"], e["a"], e["b"]) for e in cj]: errs.append("compare differs from the CLI")
if any(len(e["formats"]) != 12 for e in ac["sweep"]): errs.append("compare formats")
if ax["sweep"] != []: errs.append("sweep vs eval")
print(errs) if errs else None
sys.exit(1 if errs else 0)
PYEOF
expect_grep h.txt "^HTTP/1.1 404" "sweep of a missing run: 404"
expect_grep h2.txt "^HTTP/1.1 400" "sweep with an unknown parameter: 400"

finish
