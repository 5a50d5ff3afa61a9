#!/usr/bin/env bash
# Sampled pass@k in `assay run` on the tiny Gemma 2 fixture: --samples 4 --temp 0.8 stores
# 4 completions per HumanEval problem and pass@1/2/4; the same command twice gives the
# same completions; a run killed with SIGKILL and started again ends with exactly the
# samples of an uninterrupted one; pass@k agrees with the unbiased estimator recomputed in
# Python from the stored samples (with passes planted, since the random-weight fixture
# never passes); greedy runs keep their plain item ids; bad options are usage errors;
# gsm8k_cot and mbpp_sanitized run through `assay run`.
. "$(dirname "$0")/lib.sh"
S=${ASSAY_SHARED_DIR:-../shared}
M="$S/fixtures/models/gemma2-tiny/gemma2-tiny-Q8_0.gguf"
D="$S/datasets"
if [ ! -f "$M" ] || [ ! -f "$D/humaneval/HumanEval.jsonl.gz" ]; then
    echo "skipped: $M or $D not present"
    finish
    exit $?
fi
PY=$(command -v python3)
cd "$TMP"
export XDG_CACHE_HOME="$TMP/cache"
unset ASSAY_DATA_DIR ASSAY_DB

# ---- usage errors, before the model is opened ----------------------------------------------
expect_exit 2 "k above --samples" -- "$ASSAY" run --model "$M" --tasks humaneval --samples 4 --pass-k 1,8 --data-dir "$D" --db u.db
expect_grep "$TMP/err" 'k must be <= --samples' "k > n says why"
expect_exit 2 "bad --pass-k" -- "$ASSAY" run --model "$M" --tasks humaneval --samples 4 --pass-k 1,x --data-dir "$D" --db u.db
expect_exit 2 "several greedy samples" -- "$ASSAY" run --model "$M" --tasks humaneval --samples 4 --temp 0 --data-dir "$D" --db u.db
expect_grep "$TMP/err" 'greedy completions are all the same' "--temp 0 with --samples says why"
expect_exit 0 "help" -- "$ASSAY" run --help
expect_grep "$TMP/out" '--pass-k LIST' "help lists --pass-k"

# a short context keeps the random model's completions short (the test runs in seconds)
RUN=(run --model "$M" --tasks humaneval --limit 3 --samples 4 --temp 0.8 --pass-k 1,2,4
     --ctx 200 --batch 4 --threads 2 --data-dir "$D" --quiet)
expect_exit 0 "sampled run" -- "$ASSAY" "${RUN[@]}" --db a.db --json
cp "$TMP/out" a.json
$PY - a.db a.json <<'PYEOF' && pass || fail "sampled run: samples or metrics wrong"
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
rows = list(c.execute("select item, output, data_json from samples where task='humaneval'"))
items = sorted(r[0] for r in rows)
want = sorted(f"HumanEval/{p}#{i}" for p in range(3) for i in range(4))
ok = items == want
for item, out, dj in rows:
    d = json.loads(dj)
    ok = ok and d["problem"] + "#" + str(d["sample"]) == item and "passed" in d
# sampling really samples: the 4 completions of a problem are not all the same
for p in range(3):
    outs = {o for i, o, _ in rows if i.startswith(f"HumanEval/{p}#")}
    ok = ok and len(outs) > 1
m = {(x["metric"]): x for x in json.load(open(sys.argv[2]))["metrics"] if x["task"] == "humaneval"}
ok = ok and sorted(m) == ["pass@1", "pass@2", "pass@4"] and all(m[k]["n"] == 3 for k in m)
cfg = json.loads(c.execute("select config_json from runs where id=1").fetchone()[0])
ok = ok and cfg["sampling"] == {"n": 4, "temperature": 0.8, "top_p": 0.95} and cfg["seed"] == 1234
if not ok:
    print(items, m, cfg.get("sampling")); sys.exit(1)
PYEOF

# ---- determinism: the same command again gives the same completions ----------------------
expect_exit 0 "sampled run again" -- "$ASSAY" "${RUN[@]}" --db b.db
$PY - a.db b.db <<'PYEOF' && pass || fail "the same sampled command gave different completions"
import json, sqlite3, sys
def rows(p):  # everything but the sandbox's wall time
    return sorted((t, i, o, k, sorted((x, str(v)) for x, v in json.loads(d).items() if x != "wall_s"))
                  for t, i, o, k, d in sqlite3.connect(p).execute(
                      "select task, item, output, correct, data_json from samples"))
a, b = rows(sys.argv[1]), rows(sys.argv[2])
sys.exit(0 if a == b and len(a) == 12 else 1)
PYEOF
# another seed gives other completions
expect_exit 0 "other seed" -- "$ASSAY" "${RUN[@]}" --seed 7 --db c.db
$PY - a.db c.db <<'PYEOF' && pass || fail "--seed does not change the completions"
import sqlite3, sys
def rows(p):
    return dict(sqlite3.connect(p).execute("select item, output from samples"))
a, b = rows(sys.argv[1]), rows(sys.argv[2])
sys.exit(0 if a.keys() == b.keys() and sum(a[k] != b[k] for k in a) >= 10 else 1)
PYEOF

# ---- resume after SIGKILL -------------------------------------------------------------------
K=(run --model "$M" --tasks humaneval --limit 3 --samples 4 --temp 0.8 --pass-k 1,2,4
   --ctx 200 --batch 2 --threads 2 --data-dir "$D" --quiet)
expect_exit 0 "clean run, batch 2" -- "$ASSAY" "${K[@]}" --db clean.db
"$ASSAY" "${K[@]}" --db killed.db >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 1200); do
    n=$("$ASSAY" runs show 1 --db killed.db --json 2>/dev/null | $PY -c 'import json,sys
try: print(json.load(sys.stdin)["n_samples"])
except Exception: print(0)')
    [ "$n" -ge 2 ] && break
    sleep 0.05
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
n_killed=$("$ASSAY" runs show 1 --db killed.db --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["n_samples"])')
if [ "$n_killed" -gt 0 ] && [ "$n_killed" -lt 12 ]; then pass; else fail "kill left $n_killed samples (wanted some, not all)"; fi
expect_exit 0 "resumed run" -- "$ASSAY" "${K[@]}" --db killed.db --json
expect_grep "$TMP/out" '"resumed": true' "second run resumes"
$PY - clean.db killed.db a.db <<'PYEOF' && pass || fail "resumed sampled run differs from a clean one"
import json, sqlite3, sys
def rows(p):  # everything but the sandbox's wall time
    return sorted((t, i, o, s, k, sorted((x, str(v)) for x, v in json.loads(d).items() if x != "wall_s"))
                  for t, i, o, s, k, d in sqlite3.connect(p).execute(
                      "select task, item, output, score, correct, data_json from samples"))
a, b, c = rows(sys.argv[1]), rows(sys.argv[2]), rows(sys.argv[3])
# and batch 2 gives the completions batch 4 gave
sys.exit(0 if a == b and len(a) == 12 and [r[:3] for r in a] == [r[:3] for r in c] else 1)
PYEOF

# ---- pass@k from the stored samples: plant passes, resume, compare with Python -----------------
$PY - a.db <<'PYEOF'
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
passing = {"HumanEval/0#2", "HumanEval/1#0", "HumanEval/1#1", "HumanEval/1#2", "HumanEval/1#3",
           "HumanEval/2#1", "HumanEval/2#3"}
for item, dj in list(c.execute("select item, data_json from samples")):
    d = json.loads(dj)
    d["passed"] = item in passing
    c.execute("update samples set data_json=? where item=?", (json.dumps(d), item))
c.execute("update runs set status='interrupted' where id=1")
c.commit()
PYEOF
expect_exit 0 "resume recomputes metrics" -- "$ASSAY" "${RUN[@]}" --db a.db --json
$PY - "$TMP/out" <<'PYEOF' && pass || fail "pass@k differs from the unbiased estimator over the stored samples"
import json, math, statistics, sys
def pass_at_k(n, c, k):
    return 1.0 if n - c < k else 1 - math.comb(n - c, k) / math.comb(n, k)
got = {x["metric"]: x for x in json.load(open(sys.argv[1]))["metrics"]}
cs = [1, 4, 2]
ok = True
for k in (1, 2, 4):
    v = [pass_at_k(4, c, k) for c in cs]
    mean, se = statistics.mean(v), statistics.stdev(v) / math.sqrt(3)
    g = got[f"pass@{k}"]
    ok = ok and abs(g["value"] - mean) < 1e-9 and abs((g["stderr"] or 0) - se) < 1e-9 and g["n"] == 3
    print(k, g["value"], mean, g["stderr"], se)
# hand values: pass@1 = (1/4 + 1 + 1/2)/3, pass@2 = (1/2 + 1 + 5/6)/3, pass@4 = 1
ok = ok and abs(got["pass@1"]["value"] - 1.75 / 3) < 1e-12
ok = ok and abs(got["pass@2"]["value"] - (0.5 + 1 + 5 / 6) / 3) < 1e-12
ok = ok and got["pass@4"]["value"] == 1.0
sys.exit(0 if ok else 1)
PYEOF

# ---- the variants: gsm8k_cot stays greedy beside a sampled mbpp_sanitized ---------------------
expect_exit 0 "gsm8k_cot and mbpp_sanitized" -- "$ASSAY" run --model "$M" --tasks gsm8k_cot,mbpp_sanitized --limit 1 --samples 2 --temp 0.8 --threads 2 --data-dir "$D" --quiet --db v.db --json
$PY - v.db "$TMP/out" <<'PYEOF' && pass || fail "gsm8k_cot / mbpp_sanitized samples or metrics wrong"
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
rows = {(t, i): (tg, json.loads(d)) for t, i, tg, d in c.execute("select task, item, target, data_json from samples")}
ok = sorted(rows) == [("gsm8k_cot", "0"), ("mbpp_sanitized", "11#0"), ("mbpp_sanitized", "11#1")]
tg, d = rows[("gsm8k_cot", "0")]
ok = ok and tg == "18" and d["shots"] == [f"cot_{i}" for i in range(1, 9)] and "strict" in d
ok = ok and rows[("mbpp_sanitized", "11#0")][1]["shots"] == ["2", "3", "4"]
m = {(x["task"], x["metric"]) for x in json.load(open(sys.argv[2]))["metrics"]}
ok = ok and ("gsm8k_cot", "exact_match,strict-match") in m and ("mbpp_sanitized", "pass@1") in m
sys.exit(0 if ok else 1)
PYEOF

# ---- greedy stays as it was: plain item ids, no sampling in the config ---------------------
expect_exit 0 "greedy run" -- "$ASSAY" run --model "$M" --tasks humaneval --limit 2 --ctx 200 --threads 2 --data-dir "$D" --quiet --db g.db --json
expect_grep "$TMP/out" '"metric": "pass@1"' "greedy pass@1"
$PY - g.db <<'PYEOF' && pass || fail "greedy run changed its items or config"
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
items = sorted(r[0] for r in c.execute("select item from samples"))
cfg = json.loads(c.execute("select config_json from runs where id=1").fetchone()[0])
sys.exit(0 if items == ["HumanEval/0", "HumanEval/1"] and "sampling" not in cfg else 1)
PYEOF

finish
