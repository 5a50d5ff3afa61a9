#!/usr/bin/env bash
# Build the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang into build-fuzz and run each
# for a bounded time on a copy of its seed corpus. Exits non-zero when a target crashes,
# leaks or trips a sanitizer; the reproducer is left in build-fuzz/crashes/<name>/.
#
# Usage: scripts/fuzz.sh [name ...]          (default: every target)
# Environment: FUZZ_SECONDS (per target, default 60), FUZZ_JOBS (parallel workers, default
# 1), FUZZ_BUILD_DIR (default build-fuzz), CC (default clang).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
SECONDS_PER=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-1}
export CC=${CC:-clang}

cmake -S . -B "$BUILD" -G Ninja -DASSAY_FUZZ=ON -DASSAY_TESTS=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

if [ "$#" -gt 0 ]; then
    names=("$@")
else
    names=()
    for src in tests/fuzz/fuzz_*.c; do
        n=$(basename "$src" .c)
        names+=("${n#fuzz_}")
    done
fi

status=0
for name in "${names[@]}"; do
    tgt="fuzz_$name"
    # only what the target needs: no need for the whole library to build under clang
    ninja -C "$BUILD" "$tgt"
    work="$BUILD/corpus/$name"        # grows while fuzzing; the seeds in git stay small
    crashes="$BUILD/crashes/$name"
    mkdir -p "$work" "$crashes"
    seeds=tests/fuzz/corpus/$name
    [ -d "$seeds" ] || seeds=""
    echo "fuzz: $tgt for ${SECONDS_PER}s"
    par=()
    if [ "$JOBS" -gt 1 ]; then
        par=(-jobs="$JOBS" -workers="$JOBS")
    fi
    log="$BUILD/fuzz-$name.log"
    if "$BUILD/fuzz/$tgt" -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 \
            -max_len=65536 -print_final_stats=1 "${par[@]}" \
            -artifact_prefix="$crashes/" "$work" $seeds >"$log" 2>&1; then
        grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^Done ' "$log" | sed "s/^/fuzz: $name: /"
    else
        tail -n 60 "$log" >&2
        echo "fuzz: $tgt FAILED; reproducers in $crashes/, full log $log" >&2
        ls -l "$crashes" >&2 || true
        status=1
    fi
done
exit $status
