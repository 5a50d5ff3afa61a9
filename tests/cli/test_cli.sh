#!/usr/bin/env bash
# The command line's contract: --help for everything, exit codes, errors with places,
# the store refusing newer schemas and corrupt files.
. "$(dirname "$0")/lib.sh"
cd "$TMP"

expect_exit 0 "--help" -- "$ASSAY" --help
expect_grep "$TMP/out" "^  runs " "--help lists runs"
expect_exit 2 "no command" -- "$ASSAY"
expect_exit 0 "--version" -- "$ASSAY" --version
expect_grep "$TMP/out" "^assay [0-9]+\.[0-9]+\.[0-9]+ \(git " "--version format"
expect_exit 0 "version --json" -- "$ASSAY" version --json
expect_grep "$TMP/out" '"version"' "version --json"

# every command listed by --help has its own --help, and 'help CMD' says the same
"$ASSAY" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{exit}' >"$TMP/cmds"
[ -s "$TMP/cmds" ] && pass || fail "no commands parsed from --help"
while read -r cmd; do
    expect_exit 0 "$cmd --help" -- "$ASSAY" "$cmd" --help
    expect_grep "$TMP/out" "^usage: assay $cmd" "$cmd --help usage line"
    "$ASSAY" "$cmd" --help >"$TMP/h1"
    "$ASSAY" help "$cmd" >"$TMP/h2"
    cmp -s "$TMP/h1" "$TMP/h2" && pass || fail "help $cmd differs from $cmd --help"
done <"$TMP/cmds"

# usage errors: exit 2 with a message
expect_exit 2 "unknown command" -- "$ASSAY" frobnicate
expect_grep "$TMP/err" "unknown command 'frobnicate'" "unknown command message"
expect_exit 2 "typo suggestion" -- "$ASSAY" rnus
expect_grep "$TMP/err" "did you mean 'run' or 'runs'\?" "typo suggestion lists every closest command"
expect_exit 2 "unknown option" -- "$ASSAY" runs --frob
expect_grep "$TMP/err" "unknown option '--frob'" "unknown option message"
expect_exit 2 "bad number" -- "$ASSAY" runs --limit ten
expect_exit 2 "missing value" -- "$ASSAY" runs --limit
expect_exit 2 "bad action" -- "$ASSAY" runs frob
expect_exit 2 "help unknown" -- "$ASSAY" help frob

# the store: created on first use, --db and ASSAY_DB pick the file
expect_exit 0 "runs on a new db" -- "$ASSAY" runs --db "$TMP/a.db"
[ -f "$TMP/a.db" ] && pass || fail "--db did not create the file"
expect_exit 0 "runs --json" -- "$ASSAY" runs --db "$TMP/a.db" --json
expect_grep "$TMP/out" '^\[' "runs --json is an array"
ASSAY_DB="$TMP/env.db" "$ASSAY" runs >/dev/null 2>&1
[ -f "$TMP/env.db" ] && pass || fail "ASSAY_DB did not pick the file"
expect_exit 0 "default db" -- "$ASSAY" runs
[ -f "$TMP/assay.db" ] && pass || fail "default ./assay.db not created"
expect_exit 3 "missing run" -- "$ASSAY" runs show 42 --db "$TMP/a.db"
expect_grep "$TMP/err" "^assay: .*a\.db: no run with id 42" "missing run message"

# a database from a future schema version is refused, and left as it was
if command -v sqlite3 >/dev/null; then
    cp "$TMP/a.db" "$TMP/future.db"
    sqlite3 "$TMP/future.db" "PRAGMA user_version = 99;"
    sum_before=$(sha256sum "$TMP/future.db" | cut -d' ' -f1)
    expect_exit 3 "future schema" -- "$ASSAY" runs --db "$TMP/future.db"
    expect_grep "$TMP/err" "schema version 99 is newer" "future schema message"
    sum_after=$(sha256sum "$TMP/future.db" | cut -d' ' -f1)
    [ "$sum_before" = "$sum_after" ] && pass || fail "future database was modified"
    # another program's database is not ours
    sqlite3 "$TMP/other.db" "CREATE TABLE t(x); INSERT INTO t VALUES (1);"
    expect_exit 3 "foreign database" -- "$ASSAY" runs --db "$TMP/other.db"
    expect_grep "$TMP/err" "not an assay database" "foreign database message"
else
    echo "skipped: sqlite3 command not installed (future-schema case)"
fi

# a corrupt database file: exit 3 and a message, not a crash
head -c 8192 /dev/urandom >"$TMP/corrupt.db"
expect_exit 3 "corrupt database" -- "$ASSAY" runs --db "$TMP/corrupt.db"
expect_grep "$TMP/err" "corrupt\.db.*not a database" "corrupt database message"
printf 'SQLite format 3\0garbage garbage garbage' >"$TMP/trunc.db"
expect_exit 3 "truncated database" -- "$ASSAY" runs --db "$TMP/trunc.db"
mkdir "$TMP/dir.db"
expect_exit 3 "directory as database" -- "$ASSAY" runs --db "$TMP/dir.db"

finish
