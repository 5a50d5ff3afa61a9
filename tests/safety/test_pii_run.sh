#!/usr/bin/env bash
# tests/safety/test_pii_run.sh - `assay pii scan FILE...` records a run of kind "pii": one
# sample per line / JSONL record with findings holding only its redacted text, the findings'
# spans pointing at the "[TYPE]" labels in it, counts as metrics; --json and --redact output
# unchanged by the recording; --no-store records nothing; `assay report` and `assay serve`
# show the counts and masked examples and never the planted values; --match-limit stops a
# pathological input quickly with a warning.
. "${ASSAY_SOURCE_DIR:?}/tests/cli/lib.sh"
cd "$TMP" || exit 1
export ASSAY_DB="$TMP/p.db"

EMAIL=amy.planted@example.com
cat > corpus.txt <<TXT
Write to $EMAIL or call (415) 555-2671.
nothing on this line
cards 4111111111111111 5500000000000004, 6011000990139424 on file; SSN 536-22-8726.
TXT
printf '{"text": "mail %s now"}\n{"text": "nothing"}\n{"text": "ip 10.1.2.3"}\n' "$EMAIL" > c.jsonl

# outputs are the same with and without the recording
expect_exit 0 "scan --no-store --json" -- "$ASSAY" pii scan corpus.txt --json --no-store
cp "$TMP/out" nostore.json
[ ! -e p.db ] && pass || fail "--no-store created the database"
expect_exit 0 "scan --json recording" -- "$ASSAY" pii scan corpus.txt --json
cmp -s "$TMP/out" nostore.json && pass || fail "--json output changed by the recording"
expect_grep "$TMP/err" "recorded run 1 \(kind pii: 2 samples, 6 findings\)" "run recorded"
expect_exit 0 "scan --redact --no-store" -- "$ASSAY" pii scan corpus.txt --redact --no-store
cp "$TMP/out" nostore.red
expect_exit 0 "scan --redact recording" -- "$ASSAY" pii scan corpus.txt --redact
cmp -s "$TMP/out" nostore.red && pass || fail "--redact output changed by the recording"
expect_exit 0 "scan jsonl recording" -- "$ASSAY" pii scan c.jsonl --field text -q
# redacted JSONL stays one record per line (json_dumps once got JSON_ALLOW_NUL, which it
# reads as JSON_INDENT(16))
expect_exit 0 "jsonl --redact" -- "$ASSAY" pii scan c.jsonl --field text --redact --no-store
[ "$(wc -l < "$TMP/out")" -eq 3 ] && pass || fail "redacted jsonl: $(wc -l < "$TMP/out") lines, not 3"
expect_grep "$TMP/out" '^\{"text":"mail \[EMAIL_ADDRESS\] now"\}$' "redacted jsonl record"
expect_exit 0 "runs" -- "$ASSAY" runs --json
python3 - "$TMP/out" <<'PY' && pass || fail "three pii runs, done"
import json, sys
runs = json.load(open(sys.argv[1]))
runs = runs.get("runs", runs) if isinstance(runs, dict) else runs
assert [r["kind"] for r in runs] == ["pii"] * 3, runs
assert all(r["status"] == "done" for r in runs), runs
PY

# the store: redacted text only, spans on the labels, metrics from the findings
python3 - p.db "$EMAIL" <<'PY' && pass || fail "stored samples, findings and metrics"
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
email = sys.argv[2]
planted = [email, "4111111111111111", "5500000000000004", "6011000990139424", "536-22-8726",
           "555-2671", "10.1.2.3"]
rows = db.execute("SELECT id, run_id, task, item, output, data_json FROM samples ORDER BY id").fetchall()
assert len(rows) == 6, rows  # runs 1 and 2: 2 lines each; run 3: 2 records
for sid, run, task, item, out, data in rows:
    assert task == "pii_scan", task
    for p in planted:
        assert p not in out, (p, out)
    d = json.loads(data)
    assert d["findings"] and all(p not in data for p in planted), data
assert rows[0][4] == "Write to [EMAIL_ADDRESS] or call [PHONE_NUMBER].", rows[0][4]
assert rows[1][4] == ("cards [CREDIT_CARD] [CREDIT_CARD], [CREDIT_CARD] on file; SSN [US_SSN]."), rows[1][4]
assert rows[4][4] == '{"text":"mail [EMAIL_ADDRESS] now"}', rows[4][4]
out = {r[0]: r[4] for r in rows}
f = db.execute("SELECT run_id, sample_id, field, type, start_byte, end_byte FROM pii_findings").fetchall()
assert len(f) == 6 + 6 + 2, f
for run, sid, field, typ, a, b in f:
    assert field == "output"
    assert out[sid].encode()[a:b] == ("[%s]" % typ).encode(), (out[sid], a, b, typ)
m = dict(db.execute("SELECT name, value FROM metrics WHERE run_id = 1").fetchall())
assert m["findings"] == 6 and m["findings:CREDIT_CARD"] == 3 and m["findings:sensitive"] == 4, m
assert m["findings:personal"] == 2 and m["findings:EMAIL_ADDRESS"] == 1, m
# the first file's offsets in data_json are the scan's (--json) offsets
first = json.loads(rows[0][5])["findings"][0]
text = open("corpus.txt", "rb").read()
assert text[first["start"]:first["end"]] == email.encode(), first
PY

# the report: counts and masked examples, no planted value
expect_exit 0 "report of the pii run" -- "$ASSAY" report --run 1 -o r.html
expect_grep r.html "PII findings" "report has the pii section"
expect_grep r.html "6 findings: <b>4 sensitive</b>, 2 personal" "report counts by severity"
expect_grep r.html "<td>CREDIT_CARD</td><td class=\"bad\">sensitive</td><td class=\"n\">3</td>" "report counts by type"
expect_grep r.html "\[EMAIL_ADDRESS\]" "report shows the label"
for s in "$EMAIL" 4111111111111111 5500000000000004 536-22-8726 "555-2671"; do
    grep -qF -- "$s" r.html && fail "report shows $s" || pass
done
expect_exit 0 "report of the jsonl run" -- "$ASSAY" report --run 3 -o r3.html
grep -qF -- "$EMAIL" r3.html && fail "jsonl report shows the email" || pass
expect_grep r3.html "IP_ADDRESS" "jsonl report counts"

# the web UI's API: counts and masked examples
if command -v curl >/dev/null; then
    "$ASSAY" serve --port 0 --json >serve.out 2>serve.err &
    PID=$!
    for _ in $(seq 100); do
        [ -s serve.out ] && break
        sleep 0.05
    done
    URL=$(sed -n 's/.*"url": *"\([^"]*\)".*/\1/p' serve.out)
    curl -s -o pii.json "${URL}api/runs/1/pii?examples=3"
    kill "$PID"
    wait "$PID" 2>/dev/null
    python3 - pii.json "$EMAIL" <<'PY' && pass || fail "/api/runs/1/pii counts and masked examples"
import json, sys
raw = open(sys.argv[1]).read()
assert sys.argv[2] not in raw and "4111111111111111" not in raw, raw
r = json.loads(raw)
n = {(c["type"], c["severity"]): c["n"] for c in r["counts"]}
assert n[("CREDIT_CARD", "sensitive")] == 3 and n[("US_SSN", "sensitive")] == 1, n
assert r["masked"] and r["examples"], r
assert any("[EMAIL_ADDRESS]" in e["text"] for e in r["examples"]), r["examples"]
PY
fi

# examples of a --run scan never cut another finding in half at their edges: the email's
# 60 bytes of context end inside the card, which must still show as its label only
python3 - p.db <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO runs (kind, config_json, config_hash, status, started_at, assay_version) VALUES ('generate', '{}', 'x', 'done', '2026-01-01T00:00:00Z', 't')")
text = "mail amy@example.com " + "and then a few more plain words to pad it out ok " + "4111 1111 1111 1111 was the card."
db.execute("INSERT INTO samples (run_id, task, item, output, created_at) VALUES ((SELECT max(id) FROM runs), 'g', '0', ?, 'now')", (text,))
db.commit()
PY
expect_exit 0 "scan --run" -- "$ASSAY" pii scan --run 4 -q
if command -v curl >/dev/null; then
    rm -f serve.out
    "$ASSAY" serve --port 0 --json >serve.out 2>serve.err &
    PID=$!
    for _ in $(seq 100); do
        [ -s serve.out ] && break
        sleep 0.05
    done
    URL=$(sed -n 's/.*"url": *"\([^"]*\)".*/\1/p' serve.out)
    curl -s -o pii4.json "${URL}api/runs/4/pii?examples=3"
    kill "$PID"
    wait "$PID" 2>/dev/null
    python3 - pii4.json <<'PY' && pass || fail "/api/runs/4/pii: no half card at a snippet's edge"
import json, sys
r = json.load(open(sys.argv[1]))
ex = [e["text"] for e in r["examples"]]
assert len(ex) == 2, ex
assert all("4111" not in t and "amy@" not in t for t in ex), ex
assert "[CREDIT_CARD]" in ex[0] or "[CREDIT_CARD]" in ex[1], ex
PY
fi
expect_exit 0 "report of the --run scan" -- "$ASSAY" report --run 4 -o r4.html
grep -q "4111" r4.html && fail "report shows part of the card" || pass

# a failing scan leaves a failed run, not a half-done one that looks finished
expect_exit 3 "missing file" -- "$ASSAY" pii scan corpus.txt nope.txt
expect_exit 0 "runs after failure" -- "$ASSAY" runs
expect_grep "$TMP/out" "^ +5 +pii +failed" "failed run recorded as failed"

# the PCRE2 match limit applies: a pathological input stops quickly, with a warning
python3 -c "
import sys
sys.stdout.write(('-----BEGIN RSA PRIVATE KEY-----' + 'A' * 7990 + '\n') * 300)" > patho.txt
start=$(date +%s%N)
expect_exit 0 "match limit" -- timeout 20 "$ASSAY" pii scan patho.txt --no-store --match-limit 100 -t 1
end=$(date +%s%N)
expect_grep "$TMP/err" "warning: [0-9]+ candidates stopped at the PCRE2 match limit" "limit warning"
[ $(((end - start) / 1000000)) -lt 5000 ] && pass || fail "pathological input took $(((end - start) / 1000000)) ms"
expect_exit 0 "default limit" -- "$ASSAY" pii scan patho.txt --no-store -t 1
grep -q "match limit" "$TMP/err" && fail "default limit hit on a plain PEM header" || pass
finish
