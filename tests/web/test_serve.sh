#!/usr/bin/env bash
# `assay serve` on the command line: usage errors, a missing database, a port in use,
# --port 0 printing its URL, the API through curl (CSP, nosniff, 400 with a message, 405
# for POST), and a clean stop on SIGINT and SIGTERM.
. "$ASSAY_SOURCE_DIR/tests/cli/lib.sh"
cd "$TMP"

expect_exit 0 "serve --help" -- "$ASSAY" serve --help
expect_grep "$TMP/out" "--port N" "serve --help lists --port"
expect_grep "$TMP/out" "masked" "serve --help says text is masked"
expect_exit 2 "port out of range" -- "$ASSAY" serve --port 70000 --db x.db
expect_exit 2 "port not a number" -- "$ASSAY" serve --port http --db x.db
expect_exit 2 "bind not numeric" -- "$ASSAY" serve --bind localhost --port 0 --db x.db
expect_grep "$TMP/err" "not a numeric IPv4 or IPv6 address" "bind message"
expect_exit 3 "missing database" -- "$ASSAY" serve --port 0 --db missing.db
expect_grep "$TMP/err" "missing.db" "missing database named"
[ ! -e missing.db ] && pass || fail "serve created the missing database"
"$ASSAY" runs --db empty.db >/dev/null 2>&1

# start on a free port: the first line of --json output has the URL
start() {
    rm -f serve.out serve.err
    "$ASSAY" serve --db empty.db --port 0 --json "$@" >serve.out 2>serve.err &
    PID=$!
    for _ in $(seq 100); do
        [ -s serve.out ] && break
        sleep 0.05
    done
    URL=$(sed -n 's/.*"url": *"\([^"]*\)".*/\1/p' serve.out)
}
start
case "$URL" in http://127.0.0.1:[0-9]*/) pass ;; *) fail "no URL printed: $(cat serve.out serve.err)" ;; esac
PORT=$(echo "$URL" | sed 's/.*:\([0-9]*\)\/$/\1/')

curl -s -D h.txt -o b.txt "${URL}api/runs"
expect_grep h.txt "^HTTP/1.1 200" "runs 200"
expect_grep h.txt "^Content-Security-Policy: default-src 'self'; script-src 'self'" "CSP header"
expect_grep h.txt "^X-Content-Type-Options: nosniff" "nosniff header"
expect_grep h.txt "^Content-Type: application/json" "json content type"
expect_grep b.txt '^\{"runs":\[\]\}$' "empty runs list"
curl -s -D h.txt -o b.txt "${URL}api/runs?limit=zero"
expect_grep h.txt "^HTTP/1.1 400" "bad limit 400"
expect_grep b.txt '"error":"parameter .limit. must be an integer' "bad limit message"
curl -s -D h.txt -o b.txt "${URL}api/runs/1/samples?correct=perhaps"
expect_grep h.txt "^HTTP/1.1 400" "bad correct 400"
curl -s -D h.txt -o b.txt "${URL}api/compare?a=1"
expect_grep h.txt "^HTTP/1.1 400" "compare without b 400"
expect_grep b.txt "'a' and 'b'" "compare message"
curl -s -D h.txt -o b.txt "${URL}api/runs/1"
expect_grep h.txt "^HTTP/1.1 404" "missing run 404"
curl -s -D h.txt -o b.txt -X POST -d x=1 "${URL}api/runs"
expect_grep h.txt "^HTTP/1.1 405" "POST 405"
expect_grep h.txt "^Allow: GET, HEAD" "Allow header"
curl -s -D h.txt -o b.txt -X DELETE "${URL}"
expect_grep h.txt "^HTTP/1.1 405" "DELETE 405"
curl -s -D h.txt -o b.txt "${URL}"
expect_grep h.txt "^Content-Type: text/html" "index is html"
expect_grep b.txt '<script src="/app.js" defer></script>' "index loads app.js"
curl -s -D h.txt -o b.txt -H "Host: attacker.example" "${URL}api/runs"
expect_grep h.txt "^HTTP/1.1 421" "foreign Host refused"

# a second server on the same port fails with a message, exit 1
expect_exit 1 "port in use" -- "$ASSAY" serve --db empty.db --port "$PORT"
expect_grep "$TMP/err" "cannot listen" "port in use message"

kill -INT "$PID"
wait "$PID"
rc=$?
[ "$rc" -eq 0 ] && pass || fail "SIGINT: exit $rc"
expect_grep serve.err "SIGINT received, stopping" "SIGINT noted"

# a schema-1 database is not migrated by a read-only server: refused with the way out
if command -v sqlite3 >/dev/null; then
    "$ASSAY" runs --db old.db >/dev/null 2>&1
    sqlite3 old.db "DROP TABLE pii_findings; PRAGMA user_version = 1;"
    "$ASSAY" serve --db old.db --port 0 >old.out 2>old.err
    rc=$?
    [ "$rc" -ne 0 ] && pass || fail "schema 1: serve started"
    expect_grep old.err "older than" "schema 1 message"
    [ "$(sqlite3 old.db 'PRAGMA user_version')" = 1 ] && pass || fail "serve migrated the database"
else
    echo "sqlite3 not installed: schema-1 case not run"
fi

start
kill -TERM "$PID"
wait "$PID"
rc=$?
[ "$rc" -eq 0 ] && pass || fail "SIGTERM: exit $rc"
curl -s -o /dev/null --max-time 2 "$URL" && fail "still answering after SIGTERM" || pass
finish
