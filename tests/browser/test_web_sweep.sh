#!/usr/bin/env bash
# The sweep views of the web UI driven in headless Chromium (see web_sweep.py).
exec python3 "$(dirname "$0")/web_sweep.py"
