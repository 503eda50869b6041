#!/usr/bin/env bash
# Quick start, part 1: install what is missing, build, and stream a generated test signal
# through a model at real-time pace. Extra arguments go to the demo (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $EUID -eq 0 ]]; then scripts/setup.sh; else sudo scripts/setup.sh; fi
cmake --preset release >/dev/null
cmake --build --preset release --target legato_demo
exec build/release/examples/legato_demo "$@"
