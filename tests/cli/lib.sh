# tests/cli/lib.sh - helpers for the command-line tests (sourced, not run).
# Each test script gets ASSAY_BIN, ASSAY_SOURCE_DIR, ASSAY_SHARED_DIR, ASSAY_TEST_TMP from ctest.
set -u
ASSAY=${ASSAY_BIN:?ASSAY_BIN not set}
TMP=$(mktemp -d "${ASSAY_TEST_TMP:-/tmp}/cli.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n_pass=0
n_fail=0

pass() { n_pass=$((n_pass + 1)); }
fail() { n_fail=$((n_fail + 1)); echo "FAIL: $*"; }

# expect_exit CODE DESCRIPTION -- command...   (stdout/stderr kept in $TMP/out, $TMP/err)
expect_exit() {
    local want=$1 what=$2
    shift 3
    "$@" >"$TMP/out" 2>"$TMP/err"
    local got=$?
    if [ "$got" -eq "$want" ]; then
        pass
    else
        fail "$what: exit $got, expected $want"
        echo "  command: $*"
        sed 's/^/  stderr: /' "$TMP/err" | head -5
    fi
}

# expect_grep FILE PATTERN DESCRIPTION
expect_grep() {
    if grep -qE -- "$2" "$1"; then pass; else
        fail "$3: '$2' not in $(basename "$1")"
        sed 's/^/  | /' "$1" | head -10
    fi
}

# interrupt_mid_run DB WHAT ERRFILE -- assay arguments...
# Start assay in the background (stdout discarded, stderr to ERRFILE), wait until DB holds
# two samples, then SIGINT it mid-run: the sample count is polled cheaply (the sqlite3
# shell, not assay + python: on a loaded machine a slow poll let the run finish first),
# and the process is stopped before the signal so it always lands mid-run, however the
# scheduler treats us. Checks that the process was still running and that it exits
# non-zero ("an interrupted WHAT exits 0" otherwise).
interrupt_mid_run() {
    local db=$1 what=$2 errfile=$3
    shift 4
    "$ASSAY" "$@" >/dev/null 2>"$errfile" &
    local pid=$! n
    for _ in $(seq 1 3000); do
        n=$(sqlite3 -readonly "$db" "SELECT count(*) FROM samples" 2>/dev/null || echo 0)
        [ "${n:-0}" -ge 2 ] && break
        sleep 0.01
    done
    if kill -STOP "$pid" 2>/dev/null; then pass; else fail "the $what ended before it could be interrupted"; fi
    kill -INT "$pid"
    kill -CONT "$pid"
    wait "$pid"
    [ $? -ne 0 ] && pass || fail "an interrupted $what exits 0"
}

finish() {
    echo "$n_pass passed, $n_fail failed"
    [ "$n_fail" -eq 0 ]
}
