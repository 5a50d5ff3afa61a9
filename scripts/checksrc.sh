#!/usr/bin/env bash
# Reject banned C calls (STYLE.md section 8, in the spirit of curl's checksrc.pl) and SQL
# text outside store/. Exits non-zero listing each offending line.
set -uo pipefail
cd "$(dirname "$0")/.."
rooms="base engine datasets evals memorization safety store reports web cli bench tests"
status=0
banned=$(grep -rn --include='*.c' --include='*.h' -E \
    '(^|[^_a-zA-Z0-9.>])(strcpy|strcat|sprintf|vsprintf|gets|atoi|atof|strtok)[[:space:]]*\(' \
    $rooms 2>/dev/null)
if [ -n "$banned" ]; then
    echo "checksrc: banned calls (use snprintf, strtol/strtod with errno and end checks):"
    echo "$banned"
    status=1
fi
sql=$(grep -rln --include='*.c' -E '"[[:space:]]*(SELECT|INSERT|UPDATE|DELETE|CREATE TABLE|PRAGMA) ' \
    $(echo $rooms | tr ' ' '\n' | grep -v -E '^(store|tests)$') 2>/dev/null)
if [ -n "$sql" ]; then
    echo "checksrc: SQL text outside store/:"
    echo "$sql"
    status=1
fi
[ $status -eq 0 ] && echo "checksrc: ok"
exit $status
