#!/usr/bin/env bash
# `assay sweep` end to end on the tiny Gemma 2 fixture (issue #8): the grammar's size
# and a seeded sample from --list-formats; 'tasks show --format' with the default id is
# the lm-eval prompt; a cyclic sweep stores one sample per (document, format) with its
# format id, statistics consistent with the per-format accuracies and the gold at every
# position equally often; its default format scores exactly as 'assay run'; a rerun
# resumes; a group gets aggregate statistics; unsupported tasks (humaneval, gsm8k_cot)
# and bad ids are usage errors.
. "$(dirname "$0")/lib.sh"
S=${ASSAY_SHARED_DIR:-../shared}
M="$S/fixtures/models/gemma2-tiny/gemma2-tiny-Q8_0.gguf"
D="$S/datasets"
PY=$(command -v python3)
cd "$TMP"
unset ASSAY_DATA_DIR ASSAY_DB
export XDG_CACHE_HOME="$TMP/cache"

# ---- the grammar, no model -----------------------------------------------------------------
expect_exit 0 "list all" -- "$ASSAY" sweep --list-formats --quiet
[ "$(wc -l <"$TMP/out")" -eq 129600 ] && pass || fail "list-formats: $(wc -l <"$TMP/out") lines, expected 129600"
expect_grep "$TMP/out" '^t0i0u0n0w0q0l0p0c0a0o0  chat off; lm-eval instruction' "first format is lm-eval's"
expect_exit 0 "list sample" -- "$ASSAY" sweep --list-formats --formats 20 --seed 5 --json
cp "$TMP/out" s5a.json
"$ASSAY" sweep --list-formats --formats 20 --seed 5 --json >s5b.json 2>/dev/null
"$ASSAY" sweep --list-formats --formats 20 --seed 6 --json >s6.json 2>/dev/null
$PY - s5a.json s5b.json s6.json <<'PYEOF' && pass || fail "sampled formats: not 20, not deterministic, or not seed-dependent"
import json, sys
a, b, c = (json.load(open(p)) for p in sys.argv[1:])
ok = len(a) == 20 and a == b and a != c and a[0]["id"] == "t0i0u0n0w0q0l0p0c0a0o0"
ok = ok and all(e["description"] for e in a) and len({e["id"] for e in a}) == 20
sys.exit(0 if ok else 1)
PYEOF
expect_exit 2 "bad format id" -- "$ASSAY" sweep --list-formats --formats t0x0
expect_grep "$TMP/err" "unknown axis 'x'" "bad id names the axis"
expect_exit 2 "cyclic needs a count" -- "$ASSAY" sweep --list-formats --formats t0 --cyclic

if [ ! -f "$M" ] || [ ! -d "$D/mmlu" ]; then
    echo "skipped the model part: $M or $D not present"
    finish
    exit $?
fi

# ---- tasks show --format ---------------------------------------------------------------
expect_exit 0 "show plain" -- "$ASSAY" tasks show mmlu_anatomy --doc 1 --data-dir "$D" --json
cp "$TMP/out" plain.json
expect_exit 0 "show default id" -- "$ASSAY" tasks show mmlu_anatomy --doc 1 --format t0i0u0n0w0q0l0p0c0a0o0 --data-dir "$D" --json
cp "$TMP/out" dflt.json
expect_exit 0 "show shifted" -- "$ASSAY" tasks show mmlu_anatomy --doc 1 --format t0i0u0n0w0q0l1p0c0a0o2 --data-dir "$D" --json
$PY - plain.json dflt.json "$TMP/out"  <<'PYEOF' && pass || fail "show --format: default differs from lm-eval or shift wrong"
import json, sys
p, d, s = (json.load(open(x)) for x in sys.argv[1:4])
ok = p["context"] == d["context"] and p["continuations"] == d["continuations"] and p["shots"] == d["shots"]
# shift 2 with "(A)" labels: gold 1 is shown at position 3, continuations wrap the label
ok = ok and s["gold_pos"] == 3 and s["continuations"] == [" (C)", " (D)", " (A)", " (B)"]
# the evaluated document's choices rotate, the shots do not
last = p["context"].rsplit("\n\n", 1)[1].split("\n")
ch = [l[3:] for l in last if l[:3] in ("A. ", "B. ", "C. ", "D. ")]
want = ["(A) " + ch[2], "(B) " + ch[3], "(C) " + ch[0], "(D) " + ch[1]]
ok = ok and len(ch) == 4 and s["context"].rsplit("\n\n", 1)[1].split("\n")[1:5] == want
sys.exit(0 if ok else 1)
PYEOF
# the hand-written lm-eval prompt of 'assay run' (tests/data/evals/prompts) under the grammar
expect_exit 0 "show default id, 2 shots" -- "$ASSAY" tasks show mmlu_anatomy --doc 1 --shots 2 --format t0i0u0n0w0q0l0p0c0a0o0 --data-dir "$D" --json
$PY - "$TMP/out" "$ASSAY_SOURCE_DIR/tests/data/evals/prompts/mmlu_anatomy_doc1_2shot.txt" <<'PYEOF' && pass || fail "grammar default with 2 shots is not lm-eval's prompt"
import json, sys
d = json.load(open(sys.argv[1]))
want = open(sys.argv[2], encoding="utf-8").read()
sys.exit(0 if d["context"] == want and d["continuations"] == [" A", " B", " C", " D"] else 1)
PYEOF

# ---- unsupported tasks: usage errors before the model --------------------------------------
expect_exit 2 "humaneval" -- "$ASSAY" sweep --model "$TMP/nosuch.gguf" --task humaneval --data-dir "$D" --db x.db
expect_grep "$TMP/err" "only gsm8k among the generation tasks" "humaneval says why"
expect_exit 2 "gsm8k_cot" -- "$ASSAY" sweep --model "$TMP/nosuch.gguf" --task gsm8k_cot --data-dir "$D" --db x.db

# ---- a cyclic sweep --------------------------------------------------------------------------
SW=(sweep --model "$M" --task mmlu_anatomy,mmlu_astronomy --formats 8 --cyclic --seed 3 --limit 4 --shots 2
    --batch 5 --threads 2 --data-dir "$D" --quiet --db sw.db --json)
expect_exit 0 "sweep" -- "$ASSAY" "${SW[@]}"
cp "$TMP/out" sw.json
expect_exit 0 "run for comparison" -- "$ASSAY" run --model "$M" --tasks mmlu_anatomy,mmlu_astronomy --limit 4 --shots 2 --threads 2 --data-dir "$D" --quiet --db run.db --json
cp "$TMP/out" run.json
$PY - sw.json run.json <<'PYEOF' && pass || fail "sweep results inconsistent"
import json, statistics, sys
sw, run = (json.load(open(p)) for p in sys.argv[1:])
m = {(e["task"], e["metric"]): e for e in sw["metrics"]}
errs = []
if sw["n_samples"] != 2 * 4 * 8: errs.append("n_samples %d" % sw["n_samples"])
if len(sw["formats"]) != 8: errs.append("formats")
for t in ("mmlu_anatomy", "mmlu_astronomy"):
    accs = [m[(t, "acc@" + f)]["value"] for f in sw["formats"]]
    if any(m[(t, "acc@" + f)]["n"] != 4 for f in sw["formats"]): errs.append("per-format n")
    if abs(statistics.mean(accs) - m[(t, "fmt_mean")]["value"]) > 1e-9: errs.append("mean")
    if abs(statistics.stdev(accs) - m[(t, "fmt_std")]["value"]) > 1e-9: errs.append("std")
    if abs(max(accs) - min(accs) - m[(t, "fmt_spread")]["value"]) > 1e-9: errs.append("spread")
    for j in range(1, 5):
        if abs(m[(t, "gold_rate_pos%d" % j)]["value"] - 0.25) > 1e-9: errs.append("gold_rate %d" % j)
    picks = sum(m[(t, "pick_rate_pos%d" % j)]["value"] for j in range(1, 5))
    if abs(picks - 1) > 1e-9: errs.append("pick rates sum %f" % picks)
    r = [e for e in run["metrics"] if e["task"] == t and e["metric"] == "acc"][0]["value"]
    if abs(r - m[(t, "acc@t0i0u0n0w0q0l0p0c0a0o0")]["value"]) > 1e-9: errs.append("default != run")
if errs: print(errs)
sys.exit(1 if errs else 0)
PYEOF
# every sample carries its format id
$PY - sw.db <<'PYEOF' && pass || fail "samples without their format id"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("select count(*), count(distinct format_id) from samples").fetchone()
k = db.execute("select kind from runs").fetchall()
sys.exit(0 if n == (64, 8) and k == [("sweep",)] else 1)
PYEOF
# ---- resume after SIGKILL: the same samples as an uninterrupted sweep ---------------------
K=(sweep --model "$M" --task mmlu_anatomy --formats 8 --seed 11 --limit 50 --batch 1
   --threads 2 --data-dir "$D" --quiet --json)
expect_exit 0 "clean sweep" -- "$ASSAY" "${K[@]}" --db clean.db
"$ASSAY" "${K[@]}" --db killed.db >/dev/null 2>&1 &
pid=$!
count() { $PY -c 'import sqlite3,sys
try: print(sqlite3.connect(sys.argv[1]).execute("select count(*) from samples").fetchone()[0])
except Exception: print(0)' "$1"; }
for _ in $(seq 1 600); do
    [ "$(count killed.db)" -ge 5 ] && break
    sleep 0.02
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
n_killed=$(count killed.db)
if [ "$n_killed" -gt 0 ] && [ "$n_killed" -lt 400 ]; then pass; else fail "kill left $n_killed samples (wanted some, not all)"; fi
expect_exit 0 "resumed sweep" -- "$ASSAY" "${K[@]}" --db killed.db
expect_grep "$TMP/out" '"resumed": true' "a rerun resumes the killed sweep"
expect_grep "$TMP/out" '"n_samples": 400' "and completes it"
$PY - clean.db killed.db <<'PYEOF' && pass || fail "resumed sweep's samples differ from a clean one's"
import sqlite3, sys
def rows(p):
    c = sqlite3.connect(p)
    return sorted(c.execute("select task, item, format_id, score, correct, data_json from samples"))
a, b = rows(sys.argv[1]), rows(sys.argv[2])
sys.exit(0 if a == b and len(a) == 400 else 1)
PYEOF

# ---- compare of two sweep runs (two checkpoints): robustness and Kendall tau-b ------------------
M3="$S/fixtures/models/gemma3-tiny/gemma3-tiny-Q8_0.gguf"
for m in "$M" "$M3"; do
    "$ASSAY" sweep --model "$m" --task mmlu_anatomy --formats 12 --cyclic --limit 5 --threads 2 --data-dir "$D" --quiet --db cmp.db --json >/dev/null 2>&1
done
expect_exit 0 "compare sweeps" -- "$ASSAY" compare 1 2 --db cmp.db -o cmp.html --json
cp "$TMP/out" cmp.json
$PY - cmp.json cmp.db <<'PYEOF' && pass || fail "compare: sweep robustness or Kendall tau wrong"
import json, sqlite3, sys
c = json.load(open(sys.argv[1]))["comparisons"][0]["sweep"][0]
db = sqlite3.connect(sys.argv[2])
def accs(run):
    return dict(db.execute("select name, value from metrics where run_id = ? and task = 'mmlu_anatomy' and name like 'acc@%'", (run,)).fetchall())
a, b = accs(1), accs(2)
keys = sorted(a)
x, y = [a[k] for k in keys], [b[k] for k in keys]
sgn = lambda v: (v > 0) - (v < 0)
P = tx = ty = n0 = 0
for i in range(len(x)):
    for j in range(i + 1, len(x)):
        s1, s2 = sgn(x[i] - x[j]), sgn(y[i] - y[j])
        n0 += 1; tx += s1 == 0; ty += s2 == 0; P += s1 * s2
den = ((n0 - tx) * (n0 - ty)) ** 0.5
tau = P / den if den else None
ok = c["task"] == "mmlu_anatomy" and c["n_formats"] == 12 and len(keys) == 12
ok = ok and (tau is None and c["kendall_tau_b"] is None or abs(tau - c["kendall_tau_b"]) < 1e-9)
ok = ok and c["a"]["fmt_spread"] is not None and c["b"]["fmt_std"] is not None
sys.exit(0 if ok else 1)
PYEOF

# ---- a group gets aggregate statistics ----------------------------------------------------
expect_exit 0 "group" -- "$ASSAY" sweep --model "$M" --task mmlu_other --formats t0i0u0n1w0q0l0p0c0a0o0,t0i1u0n1w0q0l3p0c0a0o1 --limit 1 --threads 2 --data-dir "$D" --quiet --db g.db --json
expect_grep "$TMP/out" '"task": "mmlu_other",[^}]*"metric": "fmt_spread"|"metric": "fmt_spread"' "group statistics"
$PY - "$TMP/out" <<'PYEOF' && pass || fail "group aggregate missing"
import json, sys
d = json.load(open(sys.argv[1]))
names = {(e["task"], e["metric"]) for e in d["metrics"]}
sys.exit(0 if ("mmlu_other", "fmt_spread") in names and ("mmlu_other", "acc@t0i1u0n1w0q0l3p0c0a0o1") in names else 1)
PYEOF
# ---- SIGINT: the interrupted sweep says what it did (samples, prefix cache) -----------
S=(sweep --model "$M" --task mmlu_anatomy --formats 8 --seed 11 --limit 50 --batch 1
   --threads 2 --data-dir "$D")
interrupt_mid_run int.db sweep "$TMP/int.err" -- "${S[@]}" --db int.db
expect_grep "$TMP/int.err" 'interrupted after [0-9.]* s with [0-9]* samples stored; prefix cache: [0-9]* tokens evaluated, [0-9]* reused' "an interrupted sweep prints its figures"
finish
