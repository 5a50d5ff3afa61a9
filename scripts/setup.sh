#!/usr/bin/env bash
# Install every Debian package assay needs to build, test and run.
# Idempotent and non-interactive; fast (no apt-get update) when everything is present.
# Run as root on Debian 12 (or with sudo available).
set -euo pipefail

PACKAGES=(
    build-essential cmake ninja-build pkg-config git
    libsqlite3-dev sqlite3
    libjansson-dev
    libssl-dev
    zlib1g-dev
    libcurl4-openssl-dev
    libarchive-dev
    libpcre2-dev
    libcmocka-dev
    clang libclang-rt-14-dev
    python3
    bubblewrap
    libmicrohttpd-dev
    chromium chromium-driver curl
)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#PACKAGES[@]} packages present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
