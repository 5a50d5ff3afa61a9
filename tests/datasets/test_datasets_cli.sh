#!/usr/bin/env bash
# `assay datasets`: list (text and --json), path, verify against the shared mirror (OK),
# a mirror with one corrupted file (MISMATCH, exit 3), missing files, and fetch from a
# mirror served on 127.0.0.1 by python3's http.server, which this script starts and stops.
. "$(dirname "$0")/../cli/lib.sh"
cd "$TMP"
MIRROR=${ASSAY_SHARED_DIR:-../shared}/datasets
export XDG_CACHE_HOME="$TMP/xdg"
unset ASSAY_DATA_DIR ASSAY_DATASETS_BASE_URL

expect_exit 0 "list" -- "$ASSAY" datasets list
expect_grep "$TMP/out" "^mmlu +171 " "list shows mmlu with 171 files"
expect_grep "$TMP/out" "winogrande_xl .*not in the mirror" "list marks winogrande_xl"
expect_exit 0 "list --json" -- "$ASSAY" datasets list --json
python3 - "$TMP/out" <<'PY' && pass || fail "list --json is not the registry"
import json, sys
d = json.load(open(sys.argv[1]))
names = [x["name"] for x in d]
assert "gsm8k" in names and "arc_challenge" in names, names
g = [x for x in d if x["name"] == "gsm8k"][0]
assert g["files"][0]["path"] == "gsm8k/test.jsonl" and len(g["files"][0]["sha256"]) == 64
PY
expect_exit 2 "unknown subcommand" -- "$ASSAY" datasets frob
expect_exit 2 "unknown dataset" -- "$ASSAY" datasets verify nope
expect_grep "$TMP/err" "unknown dataset 'nope'" "unknown dataset message"

# nothing fetched: path fails with a hint, verify NAME fails (1), verify all only reports
expect_exit 3 "path, nothing present" -- "$ASSAY" datasets path gsm8k test.jsonl
expect_grep "$TMP/err" "assay datasets fetch gsm8k" "path hint"
expect_exit 1 "verify missing" -- "$ASSAY" datasets verify gsm8k
expect_grep "$TMP/out" "^MISSING +gsm8k/test.jsonl" "verify says MISSING"

if [ -f "$MIRROR/MANIFEST.md" ]; then
    expect_exit 0 "verify all against the mirror" -- "$ASSAY" datasets verify --data-dir "$MIRROR"
    expect_grep "$TMP/err" "^316 OK, 1 missing, 0 mismatched" "every mirror file OK"
    expect_exit 0 "path via ASSAY_DATA_DIR" -- env ASSAY_DATA_DIR="$MIRROR" "$ASSAY" datasets path mmlu test/anatomy_test.csv
    expect_grep "$TMP/out" "mmlu/test/anatomy_test.csv$" "path output"

    # a copy of the gsm8k files with one byte changed
    mkdir -p bad/gsm8k
    cp "$MIRROR/gsm8k/train.jsonl.gz" bad/gsm8k/
    sed '1s/^{/ {/' "$MIRROR/gsm8k/test.jsonl" >bad/gsm8k/test.jsonl
    expect_exit 3 "verify mismatch" -- "$ASSAY" datasets verify gsm8k --data-dir bad
    expect_grep "$TMP/out" "^MISMATCH +gsm8k/test.jsonl" "MISMATCH line"
    expect_grep "$TMP/out" "expected 3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14" "expected hash shown"
    expect_grep "$TMP/out" "^OK +gsm8k/train.jsonl.gz" "the other file is OK"
    expect_exit 3 "verify --json mismatch" -- "$ASSAY" datasets verify gsm8k --data-dir bad --json
    expect_grep "$TMP/out" '"status": "MISMATCH"' "json status"

    # fetch from the mirror over HTTP (python3's http.server on an ephemeral port)
    if command -v python3 >/dev/null; then
        python3 -u -m http.server --bind 127.0.0.1 --directory "$MIRROR" 0 >"$TMP/http.log" 2>&1 &
        SRV=$!
        trap 'kill $SRV 2>/dev/null; rm -rf "$TMP"' EXIT
        port=""
        for _ in $(seq 50); do
            port=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$TMP/http.log" | head -1)
            [ -n "$port" ] && break
            sleep 0.1
        done
        if [ -n "$port" ]; then
            expect_exit 0 "fetch over http" -- "$ASSAY" datasets fetch gsm8k piqa --base-url "http://127.0.0.1:$port"
            expect_grep "$TMP/out" "^gsm8k: 2 of 2 files fetched into $TMP/xdg/assay/datasets" "fetch summary"
            expect_exit 0 "verify the cache" -- "$ASSAY" datasets verify gsm8k piqa
            expect_grep "$TMP/err" "^4 OK, 0 missing" "fetched files verify"
            expect_exit 0 "fetch again: nothing to do" -- "$ASSAY" datasets fetch gsm8k --base-url "http://127.0.0.1:$port"
            expect_grep "$TMP/out" "^gsm8k: 0 of 2 files" "second fetch is a no-op"
            expect_exit 0 "path from the cache" -- "$ASSAY" datasets path gsm8k test.jsonl
            expect_grep "$TMP/out" "^$TMP/xdg/assay/datasets/gsm8k/test.jsonl$" "cache path"
            expect_exit 3 "fetch a missing file: 404" -- "$ASSAY" datasets fetch winogrande_xl --base-url "http://127.0.0.1:$port" --retries 0
            expect_grep "$TMP/err" "HTTP 404" "404 reported"
        else
            fail "http.server did not start"
        fi
        kill $SRV 2>/dev/null
        wait $SRV 2>/dev/null
    fi
else
    echo "skipped: ../shared/datasets not present"
fi
finish
