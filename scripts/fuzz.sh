#!/usr/bin/env bash
# Fuzzes configuration validation, JSON config files and each engine's model loading with libFuzzer (clang 22,
# ASan + UBSan): first replays every input in fuzz/regressions/<target>/ (crashes found before,
# kept as regression tests), then fuzzes each target for SECONDS (default 60) seeded with the
# project's models. Exits non-zero on any crash, sanitizer report, leak, timeout or
# out-of-memory; the offending input is left in build/fuzz/artifacts/.
#
# LEGATO_FUZZ_SEED (default 0: a random seed each run, printed by libFuzzer as "Seed:") repeats
# a run's first mutations, e.g. a CI run's, starting from the seed models alone. Runs are not
# exactly repeatable: coverage from the engine and worker threads varies with timing. Crashes
# found go to fuzz/regressions/<target>/ with their fix.
#
#   scripts/fuzz.sh [SECONDS]
#   LEGATO_FUZZ_SEED=1234 scripts/fuzz.sh 60
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
seed="${LEGATO_FUZZ_SEED:-0}"
[[ $seed =~ ^[0-9]+$ ]] || { echo "[fuzz] LEGATO_FUZZ_SEED must be a number, got '$seed'" >&2; exit 2; }
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

# [one target] Replays its regressions, then fuzzes it for $seconds; its output goes to its log.
fuzz_one() {
    local target=$1 binary="$build/fuzz/fuzz_$1"
    if compgen -G "fuzz/regressions/$target/*" >/dev/null; then
        echo "[fuzz] $target: replaying fuzz/regressions/$target"
        "$binary" "fuzz/regressions/$target"/* >"$build/$target.replay.log" 2>&1 || {
            tail -n 60 "$build/$target.replay.log"
            echo "[fuzz] $target: a regression input FAILED (log in $build/$target.replay.log)"
            return 1
        }
    fi
    local corpus="$build/corpus/$target"
    if ((seed != 0)); then
        corpus="$build/corpus-seed$seed/$target"
        rm -rf "$corpus"
    fi
    local seeds="$build/seeds/$target"
    rm -rf "$seeds" && mkdir -p "$corpus" "$seeds"
    case $target in
        json) cp models/*.json "$seeds"/ ;;
        onnxruntime) cp models/*.onnx models/bad/*.onnx "$seeds"/ ;;
        libtorch) cp models/*.pt models/bad/*.pt "$seeds"/ ;;
        tflite) cp models/*.tflite models/bad/*.tflite "$seeds"/ ;;
        native) cp models/native/*.json models/native/*.nam "$seeds"/ ;;
        onnx) cp models/native/*.onnx "$seeds"/ ;;
    esac
    if ((seed != 0)); then echo "[fuzz] $target: ${seconds} s, seed $seed"; else echo "[fuzz] $target: ${seconds} s"; fi
    "$binary" -seed="$seed" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -malloc_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" "$corpus" "$seeds" \
        >"$build/$target.log" 2>&1 || {
        tail -n 60 "$build/$target.log"
        grep -m1 "INFO: Seed:" "$build/$target.log" || true
        echo "[fuzz] $target: FAILED (input in $build/artifacts/, log in $build/$target.log)"
        return 1
    }
    echo "[fuzz] $target: clean; $(grep -m1 "INFO: Seed:" "$build/$target.log" || true)" \
        "$(grep -E "stat::number_of_executed_units" "$build/$target.log" | tail -n 1)"
}

# The targets run side by side, one per core: each is a single-threaded libFuzzer process, so
# each still gets its full $seconds of fuzzing, and the stage takes about a third less time.
jobs_max=$(nproc)
failed=0
running=0
for target in config json onnxruntime libtorch tflite native onnx; do
    [[ -x "$build/fuzz/fuzz_$target" ]] || { echo "[fuzz] $target: not built (engine or importer off), skipped"; continue; }
    if ((running >= jobs_max)); then
        wait -n || failed=1
        running=$((running - 1))
    fi
    fuzz_one "$target" &
    running=$((running + 1))
done
while ((running > 0)); do
    wait -n || failed=1
    running=$((running - 1))
done
((failed == 0)) || { echo "[fuzz] FAILED"; exit 1; }
echo "[fuzz] all targets clean"
