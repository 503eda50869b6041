#!/usr/bin/env bash
# Fuzzes configuration validation, JSON config files and each engine's model loading with libFuzzer (clang 22,
# ASan + UBSan): first replays every input in fuzz/regressions/<target>/ (crashes found before,
# kept as regression tests), then fuzzes each target for SECONDS (default 60) seeded with the
# project's models. Exits non-zero on any crash, sanitizer report, leak, timeout or
# out-of-memory; the offending input is left in build/fuzz/artifacts/.
#
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
build=build/fuzz
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

# A single allocation above 2 GB fails (returns null, so operator new throws std::bad_alloc),
# as under a memory limit: a corrupt model may make an engine attempt one (LibTorch's unpickler
# trusts length fields), and the wrapper must turn that into a legato::Error. An exception other
# than legato::Error escaping a target is a crash; so is anything reaching -malloc_limit_mb.
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=2048:suppressions=$PWD/tests/sanitizers/asan.supp"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
mkdir -p "$build/artifacts"
for target in config json onnxruntime libtorch tflite; do
    binary="$build/fuzz/fuzz_$target"
    [[ -x $binary ]] || { echo "[fuzz] $target: not built (engine off), skipped"; continue; }
    if compgen -G "fuzz/regressions/$target/*" >/dev/null; then
        echo "[fuzz] $target: replaying fuzz/regressions/$target"
        "$binary" "fuzz/regressions/$target"/* 2>&1 | tail -n 3
    fi
    corpus="$build/corpus/$target"
    seeds="$build/seeds/$target"
    rm -rf "$seeds" && mkdir -p "$corpus" "$seeds"
    case $target in
        json) cp models/*.json "$seeds"/ ;;
        onnxruntime) cp models/*.onnx models/bad/*.onnx "$seeds"/ ;;
        libtorch) cp models/*.pt models/bad/*.pt "$seeds"/ ;;
        tflite) cp models/*.tflite models/bad/*.tflite "$seeds"/ ;;
    esac
    echo "[fuzz] $target: ${seconds} s"
    "$binary" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -malloc_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" "$corpus" "$seeds" \
        >"$build/$target.log" 2>&1 || {
        tail -n 60 "$build/$target.log"
        echo "[fuzz] $target: FAILED (input in $build/artifacts/, log in $build/$target.log)"
        exit 1
    }
    grep -E "stat::number_of_executed_units|cov:" "$build/$target.log" | tail -n 2
done
echo "[fuzz] all targets clean"
