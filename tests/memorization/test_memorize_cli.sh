#!/usr/bin/env bash
# tests/memorization/test_memorize_cli.sh - `assay memorize`: --help, the --json line
# format (one line per audited document, then a summary), short documents counted and
# skipped, the same seed sampling the same documents, a stored run with its metrics, and
# bad input (unreadable file, JSONL line without the field, empty corpus) named by file
# and line with exit status 3 (2 for usage), and the run's section in `assay report`.
. "${ASSAY_SOURCE_DIR:?}/tests/cli/lib.sh"
cd "$TMP" || exit 1
MODEL="${ASSAY_SHARED_DIR:?}/fixtures/models/gemma3-tiny/gemma3-tiny-Q8_0.gguf"
DATA="${ASSAY_SOURCE_DIR}/tests/data/memorization"

expect_exit 0 "memorize --help" -- "$ASSAY" memorize --help
expect_grep "$TMP/out" "--offset K\|random" "help lists --offset"
expect_grep "$TMP/out" "Wilson" "help says which interval"
expect_exit 2 "no --corpus" -- "$ASSAY" memorize --model "$MODEL" --db t.db
expect_grep "$TMP/err" "--corpus is required" "usage message"
expect_exit 2 "bad --offset" -- "$ASSAY" memorize --model "$MODEL" --corpus "$DATA/docs.txt" --offset x --db t.db
expect_exit 3 "missing file" -- "$ASSAY" memorize --model "$MODEL" --corpus nope.txt --db t.db
expect_grep "$TMP/err" "^assay: nope.txt: cannot read" "missing file named"
expect_exit 3 "JSONL line without the field" -- "$ASSAY" memorize --model "$MODEL" --corpus "$DATA/nofield.jsonl" --db t.db
expect_grep "$TMP/err" "nofield.jsonl:3: no member 'text'" "file:line of the bad line"
: > empty.txt
expect_exit 3 "empty corpus" -- "$ASSAY" memorize --model "$MODEL" --corpus empty.txt --db t.db
expect_grep "$TMP/err" "empty.txt: empty corpus" "empty corpus named"
[ -e t.db ] && fail "bad input must not create the database before the corpus is read" || pass

if [ ! -f "$MODEL" ]; then
    echo "skipped: $MODEL not present"
    finish
    exit $?
fi

# docs.txt: 7 documents separated by blank lines, 2 of them too short for 20 + 20 tokens
expect_exit 0 "memorize --json" -- "$ASSAY" memorize --model "$MODEL" --corpus "$DATA/docs.txt" \
    --separator '\n\n' --prefix 20 --suffix 20 --json -q --db m.db -t 2
cp "$TMP/out" all.jsonl
python3 - all.jsonl <<'PY' && pass || fail "--json lines and summary"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
docs, summary = lines[:-1], lines[-1]
assert summary["summary"] is True and summary["n"] == len(docs) == 5, summary
assert summary["n_skipped_short"] == 2, summary
keys = ["source", "doc", "exact", "approximate", "edit_distance", "lcp", "generated_ids", "true_ids"]
for d in docs:
    assert list(d) == keys, d
    assert d["source"] == "docs.txt"
    assert len(d["true_ids"]) == 20 and len(d["generated_ids"]) == 20
    lcp = 0
    while lcp < 20 and d["generated_ids"][lcp] == d["true_ids"][lcp]:
        lcp += 1
    assert d["lcp"] == lcp and d["exact"] == (lcp == 20), d
    assert d["approximate"] == (d["edit_distance"] <= 2), d
lo, hi = summary["exact_ci"]
assert 0 <= lo <= summary["exact_rate"] <= hi <= 1, summary
assert len(summary["lcp_histogram"]) == 21 and sum(summary["lcp_histogram"]) == 5
assert set(summary["by_source"]) == {"docs.txt"}
PY

# the same seed samples the same documents; another seed another set
for s in 1 1 2; do
    "$ASSAY" memorize --model "$MODEL" --corpus "$DATA/docs.txt" --separator '\n\n' --prefix 20 \
        --suffix 20 --docs 3 --seed $s --json -q --db "s$s.db" -t 2 | head -n -1 | cut -d, -f2 > "docs.$s.$RANDOM"
done
[ "$(cat docs.1.* | sort | uniq -c | wc -l)" -eq 3 ] && pass || fail "seed 1 twice: the same 3 documents"
[ "$(cat docs.1.* | sort -u)" != "$(cat docs.2.* | sort -u)" ] && pass || fail "seed 2 samples other documents"

# the run is stored with its metrics; the text output has the table and the histogram
expect_exit 0 "memorize text" -- "$ASSAY" memorize --model "$MODEL" --corpus "$DATA/docs.txt" \
    --separator '\n\n' --prefix 20 --suffix 20 --offset random -q --db m.db -t 2
expect_grep "$TMP/out" "^docs.txt +5 +2 " "per-source row: 5 audited, 2 short"
expect_grep "$TMP/out" "^longest common prefix" "lcp distribution"
expect_exit 0 "runs show" -- "$ASSAY" runs show 2 --db m.db
expect_grep "$TMP/out" "memorize" "run kind"
expect_grep "$TMP/out" "approx_rate_ci_hi" "Wilson bound stored"

# the report renders the run with the memorization section (reports/report_memo.c)
expect_exit 0 "report of a memorize run" -- "$ASSAY" report --db m.db --run 2 -o r.html -q
expect_grep r.html "<h3>Memorization rates</h3>" "rates table"
expect_grep r.html "<td>docs.txt</td><td class=\"n\">5</td><td class=\"n\">2</td>" "per-source row"
expect_grep r.html "<h3>Longest common prefix</h3>" "lcp chart"
expect_grep r.html "LCP [0-9]+: [0-9]+ documents" "lcp bars"
finish
