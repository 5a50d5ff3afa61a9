#!/usr/bin/env bash
# The file `assay report` writes, opened from disk in headless Chromium (see report_html.py).
exec python3 "$(dirname "$0")/report_html.py"
