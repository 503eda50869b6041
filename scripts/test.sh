#!/usr/bin/env bash
# Quick start, part 2: install what is missing, build everything and run the complete test suite:
# the release build, then AddressSanitizer + UBSan and ThreadSanitizer builds of the same tests.
# Exits non-zero on any failure. Set LEGATO_CONFORMANCE_MODELS to the real-model suite folder
# to include it (skipped, saying so, when unset or absent).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $EUID -eq 0 ]]; then scripts/setup.sh; else sudo scripts/setup.sh; fi

start=$SECONDS
# Serial tests on purpose: the paced real-time tests share the machine with nothing else.
for preset in release asan tsan; do
    echo "[test] $preset: build"
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset"
    echo "[test] $preset: tests"
    ctest --preset "$preset" --timeout 900
done
echo "[test] all passed in $((SECONDS - start)) s"
