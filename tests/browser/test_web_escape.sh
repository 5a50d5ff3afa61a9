#!/usr/bin/env bash
# Hostile stored output renders as text in the web UI, PII masked (see web_escape.py).
exec python3 "$(dirname "$0")/web_escape.py"
