#!/usr/bin/env bash
# tests/safety/test_pii_cli.sh - `assay pii`: types, scan text and JSONL (--json fields,
# --types, --min-likelihood), --redact leaves none of the findings it reports, bad input
# and usage errors, and --run storing findings of a run's outputs in the database.
. "${ASSAY_SOURCE_DIR:?}/tests/cli/lib.sh"
cd "$TMP" || exit 1

expect_exit 0 "pii types" -- "$ASSAY" pii types
expect_grep "$TMP/out" "^CREDIT_CARD +sensitive" "types lists severity"
expect_exit 0 "pii types --json" -- "$ASSAY" pii types --json
python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); sys.exit(0 if len(t)==27 and t[0]["type"]=="EMAIL_ADDRESS" else 1)' "$TMP/out" && pass || fail "types --json: 27 types"
expect_exit 0 "pii --help" -- "$ASSAY" pii --help
expect_grep "$TMP/out" "PERSON is found only" "help says how PERSON is found"

cat > in.txt <<'TXT'
Write to bob.smith@example.com or call (415) 555-2671.
Card 4111 1111 1111 1111; bad card 4111 1111 1111 1112; SSN 536-22-8726.
TXT
expect_exit 0 "scan --json" -- "$ASSAY" pii scan in.txt --json -q
python3 - "$TMP/out" <<'PY' && pass || fail "scan --json fields and offsets"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
text = open("in.txt", "rb").read()
want = {"EMAIL_ADDRESS": b"bob.smith@example.com", "PHONE_NUMBER": b"(415) 555-2671",
        "CREDIT_CARD": b"4111 1111 1111 1111", "US_SSN": b"536-22-8726"}
assert len(rows) == 4, rows
for r in rows:
    assert set(r) == {"file", "line", "type", "start", "end", "likelihood", "severity",
                      "detector", "validated"}, r
    assert text[r["start"]:r["end"]] == want[r["type"]], r
assert [r["line"] for r in rows] == [1, 1, 2, 2]
PY
expect_exit 0 "scan --types" -- "$ASSAY" pii scan in.txt --types US_SSN,CREDIT_CARD -q
[ "$(wc -l < "$TMP/out")" -eq 2 ] && pass || fail "--types keeps two findings"
expect_exit 0 "scan --min-likelihood" -- "$ASSAY" pii scan in.txt --min-likelihood VERY_LIKELY -q
expect_grep "$TMP/out" "CREDIT_CARD" "very likely card"
expect_exit 0 "scan --redact" -- "$ASSAY" pii scan in.txt --redact -q
cp "$TMP/out" redacted.txt
expect_grep redacted.txt "Write to \[EMAIL_ADDRESS\] or call \[PHONE_NUMBER\]" "redacted labels"
for s in bob.smith@example.com "555-2671" "4111 1111 1111 1111" 536-22-8726; do
    grep -qF -- "$s" redacted.txt && fail "redacted output still has $s" || pass
done
expect_exit 0 "rescan redacted" -- "$ASSAY" pii scan redacted.txt -q
[ ! -s "$TMP/out" ] && pass || fail "redacted text has no findings"

printf '{"text": "mail eve@example.org"}\nnot json\n{"text": "ip 10.1.2.3"}\n' > in.jsonl
expect_exit 0 "scan --field" -- "$ASSAY" pii scan in.jsonl --field text --json
expect_grep "$TMP/out" '"line":3,"type":"IP_ADDRESS","start":3,"end":11' "jsonl offsets into the field"
expect_grep "$TMP/err" "in.jsonl:2: not JSON" "jsonl warning names file and line"

printf 'x\0y mail eve@example.org' > bin.dat
expect_exit 0 "binary file skipped" -- "$ASSAY" pii scan bin.dat
expect_grep "$TMP/err" "bin.dat: binary file" "binary warning names the file"
expect_exit 2 "scan without files" -- "$ASSAY" pii scan
expect_exit 2 "bad likelihood" -- "$ASSAY" pii scan in.txt --min-likelihood SURE
expect_exit 2 "bad type" -- "$ASSAY" pii scan in.txt --types EMAIL
expect_exit 3 "missing file" -- "$ASSAY" pii scan nope.txt

# --run: a run's stored outputs (written here with sqlite3, as a run would have)
expect_exit 0 "create db" -- "$ASSAY" runs --db r.db
if command -v sqlite3 >/dev/null; then
    sqlite3 r.db "INSERT INTO runs (kind, config_json, config_hash, status, started_at, assay_version) VALUES ('generate', '{}', 'x', 'done', '2026-01-01T00:00:00Z', 't');
                  INSERT INTO samples (run_id, task, item, output, created_at) VALUES (1, 'g', '0', 'reach me at amy@example.com', 'now'), (1, 'g', '1', 'nothing here', 'now');"
    expect_exit 0 "scan --run" -- "$ASSAY" pii scan --run 1 --db r.db --json
    expect_grep "$TMP/out" '"file":"run:1","line":1,"sample_id":1,"type":"EMAIL_ADDRESS","start":12,"end":27' "run finding"
    [ "$(sqlite3 r.db 'SELECT type, start_byte, end_byte FROM pii_findings WHERE run_id = 1')" = "EMAIL_ADDRESS|12|27" ] && pass || fail "finding stored"
    expect_exit 0 "rescan --run replaces" -- "$ASSAY" pii scan --run 1 --db r.db
    [ "$(sqlite3 r.db 'SELECT count(*) FROM pii_findings')" = "1" ] && pass || fail "rescan replaces findings"
    expect_exit 3 "missing run" -- "$ASSAY" pii scan --run 9 --db r.db
fi
finish
