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

finish() {
    echo "$n_pass passed, $n_fail failed"
    [ "$n_fail" -eq 0 ]
}
