#!/usr/bin/env bash
# The web UI of `assay serve` driven in headless Chromium (see web_ui.py).
exec python3 "$(dirname "$0")/web_ui.py"
