#!/usr/bin/env bash
# Quick start, part 2: install what is missing, build everything and run the complete test suite.
# Exits non-zero on any failure. Set LEGATO_CONFORMANCE_MODELS to the real-model suite folder
# to include it (skipped, saying so, when unset or absent).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $EUID -eq 0 ]]; then scripts/setup.sh; else sudo scripts/setup.sh; fi

start=$SECONDS
echo "[test] release build"
cmake --preset release
cmake --build --preset release
echo "[test] release tests"
# Serial on purpose: the paced real-time tests share the machine with nothing else.
ctest --preset release --timeout 600
echo "[test] all passed in $((SECONDS - start)) s"
