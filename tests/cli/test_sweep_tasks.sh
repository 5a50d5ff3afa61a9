#!/usr/bin/env bash
# `assay sweep` beyond single-answer multiple choice (issue #8): Winogrande as a 2-choice
# question, TruthfulQA MC2 with every true answer (acc@ = mean MC2, recomputed here from
# the stored label log-likelihoods), and GSM8K over the generation formats (540 of them;
# its lm-eval default renders as 'tasks show gsm8k' and generates what 'assay run'
# generates). 'tasks show --format' against the hand-written prompts of
# tests/data/sweep/, tiny sweeps on the gemma2 fixture, and a gsm8k sweep killed and
# resumed ending with the samples of an uninterrupted one.
. "$(dirname "$0")/lib.sh"
S=${ASSAY_SHARED_DIR:-../shared}
M="$S/fixtures/models/gemma2-tiny/gemma2-tiny-Q8_0.gguf"
D="$S/datasets"
PY=$(command -v python3)
CASES="$ASSAY_SOURCE_DIR/tests/data/sweep"
cd "$TMP"
unset ASSAY_DATA_DIR ASSAY_DB
export XDG_CACHE_HOME="$TMP/cache"

# ---- the generation family, no model --------------------------------------------------------
expect_exit 0 "list gsm8k formats" -- "$ASSAY" sweep --list-formats --task gsm8k --quiet
[ "$(wc -l <"$TMP/out")" -eq 540 ] && pass || fail "gsm8k formats: $(wc -l <"$TMP/out") lines, expected 540"
expect_grep "$TMP/out" "^t0i0u0n0w0q1l0p0c0a0o0  chat off; casing as written; K shots; blank line between shots; 'Question: '; 'Answer:'$" "gsm8k's lm-eval default is listed"
if grep -q 'l[1-9]\|p1\|c1\|o[1-9]\|i[1-9]' "$TMP/out"; then fail "gsm8k formats vary a fixed axis"; else pass; fi
expect_exit 0 "gsm8k sample" -- "$ASSAY" sweep --list-formats --task gsm8k --formats 5 --seed 2 --json
$PY - "$TMP/out" <<'PYEOF' && pass || fail "a gsm8k sample lacks the default"
import json, sys
a = json.load(open(sys.argv[1]))
sys.exit(0 if len(a) == 5 and "t0i0u0n0w0q1l0p0c0a0o0" in [e["id"] for e in a] else 1)
PYEOF
expect_exit 2 "gsm8k cyclic" -- "$ASSAY" sweep --list-formats --task gsm8k --formats 8 --cyclic
expect_grep "$TMP/err" "no choice-order axis" "cyclic gsm8k says why"
expect_exit 2 "gsm8k label axis" -- "$ASSAY" sweep --list-formats --task gsm8k --formats t0q1l1
expect_grep "$TMP/err" "axis 'l' does not apply to a generation task" "a fixed axis is named"
expect_exit 2 "mixed families" -- "$ASSAY" sweep --list-formats --task mmlu_anatomy,gsm8k
expect_grep "$TMP/err" "sweep them separately" "mixed families say why"
expect_exit 2 "humaneval" -- "$ASSAY" sweep --list-formats --task humaneval
expect_grep "$TMP/err" "only gsm8k among the generation tasks" "humaneval says why"
expect_exit 2 "max-tokens on mc" -- "$ASSAY" sweep --model "$TMP/nosuch.gguf" --task winogrande --max-tokens 8

if [ ! -f "$M" ] || [ ! -d "$D/winogrande" ] || [ ! -d "$D/truthfulqa" ] || [ ! -d "$D/gsm8k" ]; then
    echo "skipped the model part: $M or $D not present"
    finish
    exit $?
fi

# ---- tasks show --format against the hand-written prompts -------------------------------------
for f in "$CASES"/winogrande_doc0_*.txt "$CASES"/truthfulqa_mc2_doc0_*.txt "$CASES"/gsm8k_doc0_*.txt; do
    id=$(sed -n 's/^format: //p' "$f"); task=$(sed -n 's/^task: //p' "$f"); doc=$(sed -n 's/^doc: //p' "$f")
    expect_exit 0 "show $task $id" -- "$ASSAY" tasks show "$task" --doc "$doc" --format "$id" --data-dir "$D" --json
    $PY - "$TMP/out" "$f" <<'PYEOF' && pass || fail "show --format differs from $(basename "$f")"
import json, sys
d = json.load(open(sys.argv[1]))
txt = open(sys.argv[2], encoding="utf-8").read()
head, want = txt.split("\n---\n", 1)
conts = [l for l in head.split("\n") if l.startswith("continuations:")][0][len("continuations:"):]
conts = conts[1:].split("\t") if conts else []
got = d.get("context", d.get("prompt"))
ok = got == want and d.get("continuations", []) == conts
if not ok:
    print("expected:", repr(want)); print("got:     ", repr(got)); print(d.get("continuations"), conts)
sys.exit(0 if ok else 1)
PYEOF
done
# gsm8k's lm-eval default under the grammar is 'tasks show gsm8k' (5 shots) and the
# hand-written 1-shot prompt of tests/data/evals/prompts
"$ASSAY" tasks show gsm8k --doc 2 --data-dir "$D" --json >plain.json 2>/dev/null
expect_exit 0 "show gsm8k default id" -- "$ASSAY" tasks show gsm8k --doc 2 --format t0i0u0n0w0q1l0p0c0a0o0 --data-dir "$D" --json
$PY - plain.json "$TMP/out" <<'PYEOF' && pass || fail "gsm8k grammar default differs from lm-eval's prompt"
import json, sys
p, g = (json.load(open(x)) for x in sys.argv[1:3])
sys.exit(0 if p["prompt"] == g["prompt"] and p["until"] == g["until"] and p["shots"] == g["shots"] and len(p["shots"]) == 5 else 1)
PYEOF
expect_exit 0 "show gsm8k default 1 shot" -- "$ASSAY" tasks show gsm8k --doc 0 --shots 1 --format t0i0u0n0w0q1l0p0c0a0o0 --data-dir "$D" --json
$PY - "$TMP/out" "$ASSAY_SOURCE_DIR/tests/data/evals/prompts/gsm8k_doc0_1shot.txt" <<'PYEOF' && pass || fail "gsm8k grammar default with 1 shot is not the hand-written prompt"
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["prompt"] == open(sys.argv[2], encoding="utf-8").read() else 1)
PYEOF

# ---- winogrande and truthfulqa_mc2 sweeps ----------------------------------------------------
expect_exit 0 "winogrande sweep" -- "$ASSAY" sweep --model "$M" --task winogrande --formats 8 --cyclic --seed 3 --limit 3 --threads 2 --data-dir "$D" --quiet --db w.db --json
cp "$TMP/out" w.json
expect_exit 0 "mc2 sweep" -- "$ASSAY" sweep --model "$M" --task truthfulqa_mc2 --formats t0i0u0n0w0q0l0p0c0a0o0,t0i1u0n0w0q1l1p0c0a0o1,t1i2u2n0w1q2l4p1c1a2o2 --limit 3 --threads 2 --data-dir "$D" --quiet --db t.db --json
cp "$TMP/out" t.json
$PY - w.json w.db t.json t.db <<'PYEOF' && pass || fail "winogrande / mc2 sweep results inconsistent"
import json, math, sqlite3, statistics, sys
errs = []
def check(js, dbp, task, n_docs, mc2):
    sw = json.load(open(js))
    m = {e["metric"]: e for e in sw["metrics"] if e["task"] == task}
    db = sqlite3.connect(dbp)
    rows = db.execute("select format_id, score, correct, data_json from samples").fetchall()
    if len(rows) != n_docs * len(sw["formats"]) or sw["n_samples"] != len(rows): errs.append(task + " n_samples")
    accs = []
    for f in sw["formats"]:
        sc = []
        for fid, score, correct, dj in rows:
            if fid != f: continue
            d = json.loads(dj)
            ll = [c["ll"] for c in d["choices"]]
            if mc2:
                # lm-eval's MC2 over the label log-likelihoods
                p = [math.exp(x) for x in ll]
                want = sum(pi for pi, c in zip(p, d["choices"]) if c["label"]) / sum(p)
                if correct is not None: errs.append("mc2 correct column (NULL as in 'assay run')")
                if sorted(d["true_pos"]) != sorted(c["pos"] for c in d["choices"] if c["label"]): errs.append("true_pos")
            else:
                want = float(ll.index(max(ll)) == d["gold"])
            if abs(want - score) > 1e-9: errs.append("%s score %f != %f" % (task, score, want))
            sc.append(score)
        a = m["acc@" + f]["value"]
        if abs(a - sum(sc) / len(sc)) > 1e-9: errs.append(task + " acc@" + f)
        accs.append(a)
    if abs(statistics.mean(accs) - m["fmt_mean"]["value"]) > 1e-9: errs.append(task + " mean")
    if abs(statistics.stdev(accs) - m["fmt_std"]["value"]) > 1e-9: errs.append(task + " std")
    if abs(max(accs) - min(accs) - m["fmt_spread"]["value"]) > 1e-9: errs.append(task + " spread")
    g = sum(e["value"] for k, e in m.items() if k.startswith("gold_rate_pos"))
    k = sum(e["value"] for k, e in m.items() if k.startswith("pick_rate_pos"))
    if abs(g - 1) > 1e-9 or abs(k - 1) > 1e-9: errs.append(task + " rates sum %f %f" % (g, k))
    return m
m = check(sys.argv[1], sys.argv[2], "winogrande", 3, False)
# 2 choices: positions 1 and 2 only, each gold there half the time under 4 shifts
if set(k for k in m if k.startswith("gold_rate_pos")) != {"gold_rate_pos1", "gold_rate_pos2"}: errs.append("wino positions")
if abs(m["gold_rate_pos1"]["value"] - 0.5) > 1e-9: errs.append("wino gold rate")
m = check(sys.argv[3], sys.argv[4], "truthfulqa_mc2", 3, True)
if "failed_rate" in m: errs.append("mc2 failed samples")
if errs: print(errs)
sys.exit(1 if errs else 0)
PYEOF

# ---- gsm8k: the default generates what 'assay run' generates ---------------------------------
expect_exit 0 "gsm8k run" -- "$ASSAY" run --model "$M" --tasks gsm8k --limit 1 --threads 2 --data-dir "$D" --quiet --db gr.db --json
expect_exit 0 "gsm8k default sweep" -- "$ASSAY" sweep --model "$M" --task gsm8k --formats t0i0u0n0w0q1l0p0c0a0o0 --limit 1 --threads 2 --data-dir "$D" --quiet --db gd.db --json
$PY - gr.db gd.db <<'PYEOF' && pass || fail "gsm8k sweep default differs from assay run"
import sqlite3, sys
q = "select item, prompt, target, output, score, correct from samples"
a, b = (sqlite3.connect(p).execute(q).fetchall() for p in sys.argv[1:3])
sys.exit(0 if a == b and len(a) == 1 else 1)
PYEOF

# ---- gsm8k: a small sweep, killed and resumed ------------------------------------------------
G=(sweep --model "$M" --task gsm8k --formats t0i0u0n0w0q1l0p0c0a0o0,t0i0u1n1w1q2l0p0c0a1o0,t1i0u2n2w0q0l0p0c0a2o0,t0i0u0n3w0q1l0p0c0a2o0
   --limit 25 --max-tokens 12 --batch 1 --threads 2 --data-dir "$D" --quiet --json)
expect_exit 0 "gsm8k sweep" -- "$ASSAY" "${G[@]}" --db gclean.db
cp "$TMP/out" g.json
$PY - g.json gclean.db <<'PYEOF' && pass || fail "gsm8k sweep results inconsistent"
import json, sqlite3, statistics, sys
sw = json.load(open(sys.argv[1]))
m = {e["metric"]: e["value"] for e in sw["metrics"] if e["task"] == "gsm8k"}
db = sqlite3.connect(sys.argv[2])
rows = db.execute("select format_id, score, data_json, target, output from samples").fetchall()
errs = []
if sw["n_samples"] != 100 or len(rows) != 100 or sw["family"] != "generation": errs.append("n/family")
if any(k.startswith(("acc_gold_pos", "gold_rate_pos", "pick_rate_pos", "recall_std")) for k in m): errs.append("position metrics")
if "no gold position" not in sw["note"]: errs.append("note")
for fam, per in (("fmt_", "acc@"), ("flex_fmt_", "flex@")):
    accs = [m[per + f] for f in sw["formats"]]
    if abs(statistics.mean(accs) - m[fam + "mean"]) > 1e-9: errs.append(fam + "mean")
    if abs(max(accs) - min(accs) - m[fam + "spread"]) > 1e-9: errs.append(fam + "spread")
for fid, score, dj, target, out in rows:
    d = json.loads(dj)
    gold = target.split("####")[-1].strip().replace(",", "")
    if score != float(d["strict"] == gold) or d["n_tokens"] > 12: errs.append("score/tokens " + fid)
if len({r[0] for r in rows}) != 4: errs.append("format ids")
if errs: print(errs)
sys.exit(1 if errs else 0)
PYEOF
"$ASSAY" "${G[@]}" --db gkilled.db >/dev/null 2>&1 &
pid=$!
count() { $PY -c 'import sqlite3,sys
try: print(sqlite3.connect(sys.argv[1]).execute("select count(*) from samples").fetchone()[0])
except Exception: print(0)' "$1"; }
for _ in $(seq 1 600); do
    [ "$(count gkilled.db)" -ge 2 ] && break
    sleep 0.02
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
n_killed=$(count gkilled.db)
if [ "$n_killed" -gt 0 ] && [ "$n_killed" -lt 100 ]; then pass; else fail "kill left $n_killed gsm8k samples (wanted some, not all)"; fi
expect_exit 0 "resumed gsm8k sweep" -- "$ASSAY" "${G[@]}" --db gkilled.db
expect_grep "$TMP/out" '"resumed": true' "a rerun resumes the killed gsm8k sweep"
$PY - gclean.db gkilled.db <<'PYEOF' && pass || fail "resumed gsm8k sweep's samples differ from a clean one's"
import sqlite3, sys
def rows(p):
    return sorted(sqlite3.connect(p).execute("select task, item, format_id, prompt, output, score, correct, data_json from samples"))
a, b = rows(sys.argv[1]), rows(sys.argv[2])
sys.exit(0 if a == b and len(a) == 100 else 1)
PYEOF
finish
