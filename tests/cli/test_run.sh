#!/usr/bin/env bash
# `assay run` and `assay tasks` end to end on the tiny Gemma 2 fixture: a run killed with
# SIGKILL and started again ends with exactly the samples of an uninterrupted run; batch
# size changes no sample; bad dataset files fail with file:line and exit 3 before the
# model is opened; a dataset absent from the mirror is 'not available'.
. "$(dirname "$0")/lib.sh"
S=${ASSAY_SHARED_DIR:-../shared}
M="$S/fixtures/models/gemma2-tiny/gemma2-tiny-Q8_0.gguf"
D="$S/datasets"
if [ ! -f "$M" ] || [ ! -d "$D/mmlu" ]; then
    echo "skipped: $M or $D not present"
    finish
    exit $?
fi
PY=$(command -v python3)
cd "$TMP"
export XDG_CACHE_HOME="$TMP/cache" # no datasets cache to fall back on
unset ASSAY_DATA_DIR ASSAY_DB

# ---- tasks -----------------------------------------------------------------------------
expect_exit 0 "tasks" -- "$ASSAY" tasks
expect_grep "$TMP/out" '^mmlu_world_religions +mmlu +multiple_choice' "tasks lists mmlu subjects"
expect_grep "$TMP/out" '^gsm8k +gsm8k +generate_until +5' "tasks lists gsm8k"
expect_exit 0 "tasks --json" -- "$ASSAY" tasks --json
expect_grep "$TMP/out" '"name": "truthfulqa_mc2"' "tasks --json"
expect_exit 0 "tasks show mmlu" -- "$ASSAY" tasks show mmlu_anatomy --doc 1 --shots 2 --data-dir "$D" --json
$PY - "$TMP/out" "$ASSAY_SOURCE_DIR/tests/data/evals/prompts/mmlu_anatomy_doc1_2shot.txt" <<'PYEOF' && pass || fail "tasks show: context differs from the hand-written prompt"
import json, sys
d = json.load(open(sys.argv[1]))
want = open(sys.argv[2], encoding="utf-8").read()
sys.exit(0 if d["context"] == want and d["continuations"] == [" A", " B", " C", " D"] and d["gold"] == 1 else 1)
PYEOF
expect_exit 0 "tasks show gsm8k" -- "$ASSAY" tasks show gsm8k --data-dir "$D" --json
expect_grep "$TMP/out" '"until": \[' "tasks show gsm8k has until"
expect_grep "$TMP/out" '"prompt": "Question: ' "tasks show gsm8k has the prompt"
expect_exit 2 "tasks show unknown doc" -- "$ASSAY" tasks show boolq --doc 999999 --data-dir "$D"

# ---- bad input before the model ------------------------------------------------------------
mkdir -p bad/mmlu/test bad/mmlu/dev
printf 'q1,a,b,c,d,A\nq2,a,b,c,d,Z\n' >bad/mmlu/test/anatomy_test.csv
printf 'q,a,b,c,d,A\n' >bad/mmlu/dev/anatomy_dev.csv
# the model does not exist: exit 3 with the CSV's line proves the data came first
expect_exit 3 "bad answer letter" -- "$ASSAY" run --model "$TMP/nosuch.gguf" --tasks mmlu_anatomy --data-dir bad --db bad.db
expect_grep "$TMP/err" 'anatomy_test.csv:2: unknown answer letter' "bad letter names file:line"
printf 'q1,a,b,c,d,A\n"q2,a,b,c,d,A\n' >bad/mmlu/test/anatomy_test.csv
expect_exit 3 "bad quote" -- "$ASSAY" run --model "$TMP/nosuch.gguf" --tasks mmlu_anatomy --data-dir bad --db bad.db
expect_grep "$TMP/err" 'anatomy_test.csv:2' "bad quote names file:line"
expect_exit 3 "dataset not available" -- "$ASSAY" run --model "$M" --tasks winogrande --data-dir bad --db bad.db
expect_grep "$TMP/err" "dataset not available" "absent dataset says so"
expect_exit 2 "unknown task" -- "$ASSAY" run --model "$M" --tasks nosuch --data-dir "$D" --db bad.db

# ---- resume after SIGKILL -----------------------------------------------------------------
RUN=(run --model "$M" --tasks mmlu_anatomy,hellaswag,boolq,arc_easy --limit 20 --shots 5 --batch 2
     --threads 2 --data-dir "$D" --quiet)
expect_exit 0 "clean run" -- "$ASSAY" "${RUN[@]}" --db clean.db --json
"$ASSAY" "${RUN[@]}" --db killed.db >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 3000); do # see the SIGINT case below for the polling
    n=$(sqlite3 -readonly killed.db "SELECT count(*) FROM samples" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 6 ] && break
    sleep 0.01
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
n_killed=$("$ASSAY" runs show 1 --db killed.db --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["n_samples"])')
if [ "$n_killed" -gt 0 ] && [ "$n_killed" -lt 80 ]; then pass; else fail "kill left $n_killed samples (wanted some, not all)"; fi
expect_exit 0 "resumed run" -- "$ASSAY" "${RUN[@]}" --db killed.db --json
expect_grep "$TMP/out" '"resumed": true' "second run resumes"
expect_grep "$TMP/out" '"run": 1,' "second run continues run 1"
$PY - clean.db killed.db <<'PYEOF' && pass || fail "resumed run's samples differ from a clean run's"
import sqlite3, sys
def rows(p):
    c = sqlite3.connect(p)
    return sorted(c.execute("select task, item, format_id, score, correct, data_json from samples"))
a, b = rows(sys.argv[1]), rows(sys.argv[2])
if a != b or len(a) != 80:
    print(len(a), len(b), [x for x in a if x not in b][:2])
    sys.exit(1)
PYEOF

# ---- SIGINT: stops between batches, marks the run interrupted, resumes ------------------
I=(run --model "$M" --tasks mmlu_anatomy --shots 5 --batch 1 --threads 2 --data-dir "$D" --quiet)
interrupt_mid_run int.db run /dev/null -- "${I[@]}" --db int.db
expect_exit 0 "runs show interrupted" -- "$ASSAY" runs show 1 --db int.db --json
expect_grep "$TMP/out" '"status": "interrupted"' "SIGINT marks the run interrupted"
expect_exit 0 "resume after SIGINT" -- "$ASSAY" "${I[@]}" --db int.db --json
expect_grep "$TMP/out" '"n_samples": 135' "resumed run has every sample"

# ---- batch size and thread count do not change scores (tolerance 1e-6 on each LL) ----
B=(run --model "$M" --tasks mmlu_anatomy,truthfulqa_mc2,winogrande,gsm8k --limit 6
   --data-dir "$D" --quiet)
expect_exit 0 "batch 1" -- "$ASSAY" "${B[@]}" --batch 1 --threads 2 --db b1.db
expect_exit 0 "batch 16" -- "$ASSAY" "${B[@]}" --batch 16 --threads 2 --db b16.db
expect_exit 0 "batch 16, 1 thread" -- "$ASSAY" "${B[@]}" --batch 16 --threads 1 --db t1.db
for other in b16.db t1.db; do
$PY - b1.db $other <<'PYEOF' && pass || fail "batch 1 (2 threads) and $other give different samples"
import json, sqlite3, sys
def rows(p):
    c = sqlite3.connect(p)
    return {(t, i): (s, k, o, json.loads(d)) for t, i, s, k, o, d in
            c.execute("select task, item, score, correct, output, data_json from samples")}
a, b = rows(sys.argv[1]), rows(sys.argv[2])
bad = []
for key in a:
    if key not in b:
        bad.append(key); continue
    (s1, c1, o1, d1), (s2, c2, o2, d2) = a[key], b[key]
    if c1 != c2 or abs(s1 - s2) > 1e-6 or o1 != o2:
        bad.append(key)
    for x, y in zip(d1.get("choices", []), d2.get("choices", [])):
        if abs(x["ll"] - y["ll"]) > 1e-6:
            bad.append(key)
if bad or len(a) != len(b) or len(a) != 24:
    print(len(a), len(b), bad[:4]); sys.exit(1)
PYEOF
done

finish
