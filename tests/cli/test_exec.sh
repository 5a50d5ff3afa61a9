#!/usr/bin/env bash
# `assay exec`: canonical HumanEval solutions score 164/164, hostile completions are
# contained and scored with the right reason while the run goes on, bad completion files
# fail with file:line before anything runs, MBPP references pass, pass@k with n samples.
. "$(dirname "$0")/lib.sh"
cd "$TMP"

PY=/usr/bin/python3
# run directories go under our own folder, so that leftovers are ours to count
chmod 755 "$TMP"
mkdir -m 755 "$TMP/sbx"
export TMPDIR="$TMP/sbx"
DATA="$ASSAY_SHARED_DIR/datasets"
HOSTILE="$ASSAY_SOURCE_DIR/tests/data/evals/hostile"
if [ ! -f "$DATA/humaneval/HumanEval.jsonl.gz" ] || [ ! -x "$PY" ]; then
    echo "skipped: ../shared/datasets/humaneval or /usr/bin/python3 not present"
    exit 0
fi

expect_exit 0 "exec --help" -- "$ASSAY" exec --help
expect_grep "$TMP/out" "isolation" "exec --help mentions isolation"
expect_exit 0 "exec --isolation" -- "$ASSAY" exec --isolation
expect_grep "$TMP/out" "^(bwrap|namespaces|rlimits)" "exec --isolation names the level"
echo "isolation: $(cat "$TMP/out")"
expect_exit 2 "exec without --task" -- "$ASSAY" exec --completions x.jsonl
expect_exit 2 "exec unknown task" -- "$ASSAY" exec --task gsm8k --completions x.jsonl

# ---- canonical solutions: 164/164 ---------------------------------------------------
$PY - "$DATA/humaneval/HumanEval.jsonl.gz" >canon.jsonl <<'EOF'
import gzip, json, sys
with gzip.open(sys.argv[1], 'rt', encoding='utf-8') as f:
    for line in f:
        d = json.loads(line)
        print(json.dumps({'task_id': d['task_id'], 'completion': d['canonical_solution']}))
EOF
t0=$(date +%s.%N)
expect_exit 0 "exec canonical" -- "$ASSAY" exec --task humaneval --completions canon.jsonl \
    --data-dir "$DATA" --db canon.db --jobs 2
t1=$(date +%s.%N)
echo "canonical HumanEval, 2 jobs: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
expect_grep "$TMP/out" "^humaneval: 164 problems, 164 samples" "canonical counts"
expect_grep "$TMP/out" "passed 164, failed 0" "canonical all pass"
expect_grep "$TMP/out" "^pass@1 +1\.0000" "canonical pass@1"
[ "$(sqlite3 canon.db "select count(*) from samples where correct = 1")" = 164 ] && pass ||
    fail "164 passing samples stored"
[ "$(sqlite3 canon.db "select kind || ' ' || status from runs")" = "exec done" ] && pass ||
    fail "run stored as exec, done"
[ "$(sqlite3 canon.db "select name || ' ' || value || ' ' || n from metrics")" = "pass@1 1.0 164" ] &&
    pass || fail "pass@1 metric with n"

expect_exit 0 "exec canonical --json" -- "$ASSAY" exec --task humaneval --completions canon.jsonl \
    --data-dir "$DATA" --db canon.db --json -k 1,10
[ "$(grep -c '"passed":true,"result":"passed"' "$TMP/out")" = 164 ] && pass || fail "164 json lines"
expect_grep "$TMP/out" '^\{"pass@1":1\.0,"n":164,"samples":164' "json summary"
expect_grep "$TMP/out" '^\{"task_id":"HumanEval/0","index":0,"passed":true,"result":"passed"\}$' \
    "json line layout"

# ---- hostile completions, each as a sample of HumanEval/0, plus the right one --------
rm -f /tmp/assay_escape_test "$ASSAY_SOURCE_DIR/assay_escape_test"
export ASSAY_TEST_SECRET=hunter2-secret
$PY - "$HOSTILE" "$DATA/humaneval/HumanEval.jsonl.gz" >hostile.jsonl <<'EOF'
import gzip, json, sys
d = sys.argv[1]
names = [l.split('\t')[0] for l in open(d + '/expected.tsv') if l.strip()]
for n in names:
    print(json.dumps({'task_id': 'HumanEval/0', 'completion': open(d + '/' + n + '.py').read()}))
with gzip.open(sys.argv[2], 'rt', encoding='utf-8') as f:
    print(json.dumps({'task_id': 'HumanEval/0', 'completion': json.loads(f.readline())['canonical_solution']}))
EOF
expect_exit 0 "exec hostile" -- "$ASSAY" exec --task humaneval --completions hostile.jsonl \
    --data-dir "$DATA" --db hostile.db --json --jobs 2 --memory 256 -k 1
cp "$TMP/out" hostile.out
i=0
while IFS=$'\t' read -r name outcome reason; do
    line=$(sed -n "$((i + 1))p" hostile.out)
    want="{\"task_id\":\"HumanEval/0\",\"index\":$i,\"passed\":false,\"result\":\"$outcome\"}"
    [ "$line" = "$want" ] && pass || fail "hostile $name: got $line, want $want"
    err=$(sqlite3 hostile.db "select error from samples where item = 'HumanEval/0#$i'")
    case "$err" in *"$reason"*) pass ;; *) fail "hostile $name: reason '$err' lacks '$reason'" ;; esac
    i=$((i + 1))
done <"$HOSTILE/expected.tsv"
line=$(sed -n "$((i + 1))p" hostile.out)
[ "$line" = "{\"task_id\":\"HumanEval/0\",\"index\":$i,\"passed\":true,\"result\":\"passed\"}" ] &&
    pass || fail "the run went on: the right completion after the hostile ones: $line"
p1=$($PY -c "print(str(1 / $((i + 1)))[:6].replace('.', '\\\\.'))")
expect_grep hostile.out "^\{\"pass@1\":$p1[0-9]*,\"n\":1,\"samples\":$((i + 1))," \
    "hostile pass@1: 1 right of $((i + 1)) samples of 1 problem"
[ ! -e /tmp/assay_escape_test ] && pass || fail "/tmp/assay_escape_test was written"
[ ! -e "$ASSAY_SOURCE_DIR/assay_escape_test" ] && pass || fail "project dir was written"
ls -d "$TMPDIR"/assay-sbx.* >/dev/null 2>&1 && fail "run directories left behind" || pass
out=$(sqlite3 hostile.db "select output from samples where item like 'HumanEval/0#%'")
case "$out" in *hunter2*) fail "a secret of the environment reached a program" ;; *) pass ;; esac
# <script> and invalid UTF-8 are stored byte for byte
n_utf8=$(grep -n '^script_utf8' "$HOSTILE/expected.tsv" | cut -d: -f1)
hex=$(sqlite3 hostile.db "select hex(output) from samples where item = 'HumanEval/0#$((n_utf8 - 1))'")
case "$hex" in *3C7363726970743E616C6572742831293C2F7363726970743E20FFFE*) pass ;;
*) fail "script_utf8 output not stored intact: ${hex:0:120}" ;; esac
big=$(sqlite3 hostile.db "select length(cast(output as blob)) from samples where error like '%output limit%'")
[ "$big" = 65536 ] && pass || fail "endless output kept to the 64 KiB cap (got $big)"

# ---- several samples per task: pass@k ----------------------------------------------
$PY - "$DATA/humaneval/HumanEval.jsonl.gz" >multi.jsonl <<'EOF'
import gzip, json, sys
with gzip.open(sys.argv[1], 'rt', encoding='utf-8') as f:
    d = [json.loads(l) for l in f][:2]
for p in d:                    # HumanEval/0: 3 right of 5; HumanEval/1: 1 right of 5
    right = 3 if p['task_id'] == 'HumanEval/0' else 1
    for i in range(5):
        c = p['canonical_solution'] if i < right else '    return None\n'
        print(json.dumps({'task_id': p['task_id'], 'completion': c}))
EOF
expect_exit 0 "exec multi" -- "$ASSAY" exec --task humaneval --completions multi.jsonl \
    --data-dir "$DATA" --db multi.db --json -k 1,2,5,10
# pass@1 = (0.6 + 0.2)/2; pass@2 = (0.9 + 0.4)/2; pass@5 = 1; pass@10 not reportable
expect_grep "$TMP/out" '^\{"pass@1":0\.(39999|4000)[0-9]*,"pass@2":0\.6(4999|5000)[0-9]*,"pass@5":1\.0,"n":2,"samples":10,' \
    "pass@k over 2 problems x 5 samples"
expect_grep "$TMP/out" '"index":4,"passed":false' "per-task index"

# a run killed half-way resumes: same configuration, only the missing samples run
sqlite3 multi.db "update runs set status = 'interrupted', finished_at = NULL; delete from samples where item in ('HumanEval/0#4', 'HumanEval/1#0', 'HumanEval/1#3'); delete from metrics"
expect_exit 0 "exec multi resumed" -- "$ASSAY" exec --task humaneval --completions multi.jsonl \
    --data-dir "$DATA" --db multi.db -k 1,2,5,10
expect_grep "$TMP/err" "resuming run 1: 7 of 10 samples already done" "resume message"
expect_grep "$TMP/out" "^pass@2 +0\.6500" "resumed pass@2"
[ "$(sqlite3 multi.db "select count(*) || ' ' || group_concat(status) from runs")" = "1 done" ] &&
    pass || fail "resume reused the run"
[ "$(sqlite3 multi.db "select count(*) from samples")" = 10 ] && pass || fail "resumed samples"

# ---- bad completion files: file:line, nothing runs ---------------------------------
printf '{"task_id": "HumanEval/0", "completion": "    return True\\n"}\nnot json\n' >bad1.jsonl
expect_exit 3 "not json" -- "$ASSAY" exec --task humaneval --completions bad1.jsonl --data-dir "$DATA" --db bad.db
expect_grep "$TMP/err" "bad1\.jsonl:2:" "not json names file:line"
printf '{"task_id": "HumanEval/0"}\n' >bad2.jsonl
expect_exit 3 "missing completion" -- "$ASSAY" exec --task humaneval --completions bad2.jsonl --data-dir "$DATA" --db bad.db
expect_grep "$TMP/err" "bad2\.jsonl:1: field 'completion' is missing" "missing field message"
printf '{"task_id": "HumanEval/0", "completion": ""}\n\n{"task_id": "HumanEval/999", "completion": ""}\n' >bad3.jsonl
expect_exit 3 "unknown task_id" -- "$ASSAY" exec --task humaneval --completions bad3.jsonl --data-dir "$DATA" --db bad.db
expect_grep "$TMP/err" "bad3\.jsonl:3: unknown task_id 'HumanEval/999'" "unknown task_id message"
[ ! -e bad.db ] && pass || fail "a bad completions file still opened the store"
expect_exit 2 "bad -k" -- "$ASSAY" exec --task humaneval --completions canon.jsonl -k 1,x

# ---- MBPP: reference code passes (task_id as a number or "Mbpp/N") -----------------
if [ -f "$DATA/mbpp/mbpp.jsonl" ]; then
    $PY - "$DATA/mbpp/mbpp.jsonl" >mbpp.jsonl <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]
for r in rows:
    if 11 <= r['task_id'] <= 20:
        tid = r['task_id'] if r['task_id'] % 2 else 'Mbpp/%d' % r['task_id']
        print(json.dumps({'task_id': tid, 'completion': r['code']}))
EOF
    expect_exit 0 "exec mbpp" -- "$ASSAY" exec --task mbpp --completions mbpp.jsonl \
        --data-dir "$DATA" --db mbpp.db --json -k 1
    expect_grep "$TMP/out" '^\{"pass@1":1\.0,"n":10,"samples":10' "mbpp references pass"
fi

finish
