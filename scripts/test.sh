#!/usr/bin/env bash
# Quick start, part 2: install what is missing, build everything and run the complete test suite.
# Exits non-zero on any failure. Set LEGATO_CONFORMANCE_MODELS to the real-model suite folder
# to include it (skipped, saying so, when unset or absent).
#
#   release  every engine: all tests, examples, conformance
#   asan     AddressSanitizer + UBSan (gcc), every engine: the whole suite again
#   tsan     ThreadSanitizer (gcc), core: the concurrency tests (lifecycle, scheduling, resets,
#            engine switching, parameters, late inferences, fault injection, any-thread API)
#   rtsan    RealtimeSanitizer (clang 22), every engine: tests/realtime/rtsan_test.cpp and its
#            canary (an allocation inside process() must be reported)
#   fuzz     libFuzzer + ASan + UBSan (clang 22): regressions, then LEGATO_FUZZ_SECONDS
#            (default 60) per target: config validation, ONNX Runtime, LibTorch, TFLite loading
#   web      the core in WebAssembly + the TypeScript package (web/: npm run build), tested in
#            headless Chromium (npm test)
#
# LEGATO_TEST_STAGES (default "release asan tsan rtsan fuzz web") selects stages.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $EUID -eq 0 ]]; then scripts/setup.sh; else sudo scripts/setup.sh; fi

stages="${LEGATO_TEST_STAGES:-release asan tsan rtsan fuzz web}"
start=$SECONDS
summary=()
for stage in $stages; do
    stage_start=$SECONDS
    case $stage in
        release | asan | tsan | rtsan)
            echo "[test] $stage: build"
            cmake --preset "$stage" >/dev/null
            cmake --build --preset "$stage"
            echo "[test] $stage: tests"
            # Serial on purpose: the paced real-time tests share the machine with nothing else.
            # Except label "parallel" (tests/tools/CMakeLists.txt): offline, untimed runs of the
            # `legato` program, mostly its start-up; those go first, two at a time.
            if [[ $stage == release || $stage == asan ]]; then
                ctest --preset "$stage" --timeout 900 -L parallel -j 2
                ctest --preset "$stage" --timeout 900 -LE parallel
            else
                ctest --preset "$stage" --timeout 900
            fi
            ;;
        fuzz)
            scripts/fuzz.sh "${LEGATO_FUZZ_SECONDS:-60}"
            ;;
        web)
            echo "[test] web: build"
            (cd web && npm run --silent build)
            echo "[test] web: tests (headless Chromium)"
            (cd web && npm test --silent)
            ;;
        *)
            echo "[test] unknown stage '$stage'" >&2
            exit 2
            ;;
    esac
    summary+=("$stage $((SECONDS - stage_start)) s")
done
echo "[test] all passed in $((SECONDS - start)) s (${summary[*]})"
