#!/usr/bin/env bash
# Sweep labels past the 9th choice (issue #8): under "1." a TruthfulQA MC2 question with
# 12 answers lists "10." "11." "12." and scores " 10" " 11" " 12", and "(A)" goes on to
# "(L)". 'tasks show --format' against the hand-written prompts of
# tests/data/sweep/truthfulqa_mc2_doc2_*.txt (document 2 has 12 answers), then a tiny
# "1." sweep on the gemma2 fixture over the first 3 documents: no failed samples, the
# 12 answers of document 2 at display positions 1..12.
. "$(dirname "$0")/lib.sh"
S=${ASSAY_SHARED_DIR:-../shared}
M="$S/fixtures/models/gemma2-tiny/gemma2-tiny-Q8_0.gguf"
D="$S/datasets"
PY=$(command -v python3)
CASES="$ASSAY_SOURCE_DIR/tests/data/sweep"
cd "$TMP"
unset ASSAY_DATA_DIR ASSAY_DB
export XDG_CACHE_HOME="$TMP/cache"

if [ ! -d "$D/truthfulqa" ] || [ -z "$PY" ]; then
    echo "skipped: $D/truthfulqa or python3 not present"
    finish
    exit $?
fi

n_cases=0
for f in "$CASES"/truthfulqa_mc2_doc2_*.txt; do
    n_cases=$((n_cases + 1))
    id=$(sed -n 's/^format: //p' "$f"); task=$(sed -n 's/^task: //p' "$f"); doc=$(sed -n 's/^doc: //p' "$f")
    expect_exit 0 "show $task --doc $doc $id" -- "$ASSAY" tasks show "$task" --doc "$doc" --format "$id" --data-dir "$D" --json
    $PY - "$TMP/out" "$f" <<'PYEOF' && pass || fail "show --format differs from $(basename "$f")"
import json, sys
d = json.load(open(sys.argv[1]))
txt = open(sys.argv[2], encoding="utf-8").read()
head, want = txt.split("\n---\n", 1)
conts = [l for l in head.split("\n") if l.startswith("continuations:")][0][len("continuations:"):]
conts = conts[1:].split("\t") if conts else []
ok = d.get("context") == want and d.get("continuations", []) == conts and len(conts) == 12
if not ok:
    print("expected:", repr(want)); print("got:     ", repr(d.get("context"))); print(d.get("continuations"), conts)
sys.exit(0 if ok else 1)
PYEOF
done
[ "$n_cases" -eq 2 ] && pass || fail "expected 2 truthfulqa_mc2_doc2 cases, found $n_cases"

# the human-readable 'show' prints the 12th label too
expect_exit 0 "show l3 text" -- "$ASSAY" tasks show truthfulqa_mc2 --doc 2 --format t0i0u0n1w0q2l3p0c0a0o0 --data-dir "$D"
expect_grep "$TMP/out" "^12\. I am a bird\.$" "the 12th answer is listed as '12.'"

if [ ! -f "$M" ]; then
    echo "skipped the sweep: $M not present"
    finish
    exit $?
fi
expect_exit 0 "mc2 sweep under 1." -- "$ASSAY" sweep --model "$M" --task truthfulqa_mc2 --formats t0i0u0n0w0q0l3p0c0a0o0,t0i0u0n0w0q0l3p0c0a0o1 --limit 3 --threads 2 --data-dir "$D" --quiet --db n.db --json
cp "$TMP/out" n.json
$PY - n.json n.db <<'PYEOF' && pass || fail "a '1.' sweep over 12 answers is not whole"
import json, sqlite3, sys
sw = json.load(open(sys.argv[1]))
m = {e["metric"]: e["value"] for e in sw["metrics"] if e["task"] == "truthfulqa_mc2"}
rows = sqlite3.connect(sys.argv[2]).execute("select item, format_id, error, data_json, target from samples").fetchall()
errs = []
if len(rows) != 6: errs.append("%d samples" % len(rows))
if "failed_rate" in m: errs.append("failed_rate %s" % m["failed_rate"])
for item, fid, error, dj, target in rows:
    d = json.loads(dj)
    if error: errs.append("sample error: " + error)
    pos = sorted(c["pos"] for c in d.get("choices", []))
    if pos != list(range(len(pos))): errs.append("positions " + str(pos))
    if len(pos) == 12 and fid.endswith("o1") and target != " 12": errs.append("target %r" % target)
if not any(len(json.loads(r[3]).get("choices", [])) == 12 for r in rows): errs.append("no 12-answer document")
if "pick_rate_pos12" not in m or "gold_rate_pos12" not in m: errs.append("no position-12 metrics")
if abs(sum(v for k, v in m.items() if k.startswith("gold_rate_pos")) - 1) > 1e-9: errs.append("gold rates sum")
if errs: print(errs)
sys.exit(1 if errs else 0)
PYEOF
finish
