#!/usr/bin/env bash
# Builds Legato's core (the same sources as the native library) to WebAssembly with pthreads
# on one shared memory, plus the C ABI in cpp/legato_web.cpp: dist/legato.mjs + dist/legato.wasm.
# Needs the toolchain scripts/setup.sh installs (emscripten 3.1.69, clang/lld 19, npm binaryen).
set -euo pipefail
cd "$(dirname "$0")/.."
WEB=$PWD
ROOT=$(cd .. && pwd)
DEPS="${LEGATO_DEPS_ROOT:-/opt/legato-deps}"
# shellcheck disable=SC1091
source "$DEPS/emscripten/env.sh"
# This checkout's binaryen (npm), not whichever checkout last ran setup.sh: the toolchain under
# $DEPS is shared by every clone on the machine (emscripten reads EM_<setting> overrides).
export EM_BINARYEN_ROOT="$WEB/node_modules/binaryen"
BUILD="$ROOT/build/web"
mkdir -p "$BUILD"  # a fresh clone has no build/ yet (the configure log goes beside it)
FLAGS="-pthread -matomics -mbulk-memory -msimd128 -fexceptions -Wno-function-effects -Wno-shorten-64-to-32"
emcmake cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -Wno-dev \
    -DLEGATO_BUILD_TESTS=OFF -DLEGATO_BUILD_EXAMPLES=OFF -DLEGATO_BUILD_INTEGRATIONS=OFF \
    -DLEGATO_BUILD_TOOLS=OFF -Dnlohmann_json_DIR="$WEB/cmake/nlohmann_json" \
    -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_C_FLAGS="-pthread -matomics -mbulk-memory" \
    -DCMAKE_EXE_LINKER_FLAGS=-sWASM_BIGINT >"$BUILD.configure.log" 2>&1 ||
    { cat "$BUILD.configure.log" >&2; exit 1; }
cmake --build "$BUILD" --target legato_static -j"$(nproc)"
mkdir -p dist src
# Memory: the app chooses its size when loading (Legato.load({ memoryMiB })); the package
# creates it with maximum == initial, so it never grows (docs/web.md "Memory"). Linking with
# growth allowed only declares a maximum (2 GiB) the chosen size may reach; 16 MiB is the least.
# The worker pool's threads and the JavaScript inference workers come from a pool of pthreads
# created at start-up: Legato.load() sets Module.legatoPthreads to 4 + its JS workers (a pool
# thread cannot be started while the main thread blocks, so the 4 stay free for Contexts).
em++ $FLAGS -O2 -std=c++20 -I"$ROOT/include" -I"$BUILD/include" cpp/legato_web.cpp cpp/js_bridge.cpp cpp/cpp_engines.cpp cpp/legato_worklet.cpp cpp/legato_node.cpp cpp/legato_bench.cpp cpp/worklet_thread.cpp cpp/js_worker_thread.cpp -I"$BUILD/nlohmann-json-include" \
    "$BUILD/src/liblegato.a" -o src/legato.mjs \
    -sWASM_BIGINT -sMODULARIZE -sEXPORT_ES6 -sEXPORT_NAME=createLegatoModule \
    -sENVIRONMENT=web,worker -sAUDIO_WORKLET -sWASM_WORKERS '-sPTHREAD_POOL_SIZE=Module.legatoPthreads||4' -sINITIAL_MEMORY=16MB -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=2GB \
    -sEXPORTED_FUNCTIONS=_malloc,_free -sEXPORTED_RUNTIME_METHODS=HEAPF32,HEAPF64,HEAP32,HEAPU8,UTF8ToString,stringToNewUTF8,emscriptenRegisterAudioObject,emscriptenGetAudioObject
echo "built $(du -h src/legato.wasm | cut -f1) src/legato.wasm"
# Emscripten 3.1.69 loads the audio worklet's bootstrap script relative to the *page*
# (addModule("legato.aw.js")): resolve it next to the module instead, wherever the page is.
sed -i 's|addModule("legato.aw.js")|addModule(new URL("legato.aw.js",import.meta.url))|' src/legato.mjs
grep -q 'addModule(new URL("legato.aw.js"' src/legato.mjs || { echo "legato.aw.js fix did not apply" >&2; exit 1; }
# The generated loader, module and worklet bootstrap ship beside the compiled TypeScript.
cp src/legato.mjs src/legato.wasm src/legato.aw.js dist/

# The in-worklet module (docs/web.md "In-worklet native engine"): the native engine alone with
# the C ABI in cpp/native_worklet.cpp, for pages without cross-origin isolation. No pthreads,
# no atomics, no shared memory: its own 32 MiB memory that never grows, instantiated inside the
# AudioWorklet from a WebAssembly.Module the main thread compiled (instantiateWasm, synchronous:
# WASM_ASYNC_COMPILATION=0). The same engine sources as natively; SIMD128 kernels through
# Highway's WASM target when Debian's Highway headers are there (header-only use, as natively).
NATIVE_FLAGS="-O2 -std=c++20 -msimd128 -mbulk-memory -fexceptions -Wno-function-effects -Wno-shorten-64-to-32"
NATIVE_FLAGS="$NATIVE_FLAGS -I$ROOT/include -I$BUILD/include -I$ROOT/src -I$BUILD/nlohmann-json-include"
NATIVE=$ROOT/src/engines/native
NATIVE_SOURCES="$NATIVE/kernels.cpp $NATIVE/layers.cpp $NATIVE/sequential.cpp $NATIVE/rtneural_json.cpp
    $NATIVE/nam_file.cpp $NATIVE/nam_model.cpp $NATIVE/nam_lstm.cpp $NATIVE/nam_wavenet.cpp $NATIVE/nam_slimmable.cpp $NATIVE/native_model_file.cpp
    $ROOT/src/core/tensor_rules.cpp $WEB/cpp/native_worklet.cpp"
HWY_INCLUDE="$ROOT/build/web-native-include"
if [ -f /usr/include/hwy/highway.h ]; then
    # Only hwy/ from /usr/include: the whole folder would shadow emscripten's libc headers.
    mkdir -p "$HWY_INCLUDE"
    ln -sfn /usr/include/hwy "$HWY_INCLUDE/hwy"
    NATIVE_FLAGS="$NATIVE_FLAGS -isystem $HWY_INCLUDE -DLEGATO_NATIVE_SIMD=1"
    NATIVE_SOURCES="$NATIVE_SOURCES $NATIVE/simd_kernels.cpp"
else
    echo "Highway headers not found: the in-worklet native engine uses the scalar kernels" >&2
fi
# One object per source, $(nproc) at a time; a source is recompiled when it or a header is newer
# than its object, and every object when the flags change.
compile_native() {
    local object="$NATIVE_BUILD/$(basename "$1" .cpp).o"
    if [ ! -f "$object" ] || [ "$1" -nt "$object" ] || [ -n "$(find "$(dirname "$1")" "$ROOT/include" -name '*.hpp' -newer "$object" -print -quit)" ]; then
        em++ $NATIVE_FLAGS -c "$1" -o "$object"
    fi
}
export -f compile_native
# build_native <folder> <output name> <extra flags>: the module's objects in build/<folder>,
# linked to src/<output name>.mjs + .wasm.
build_native() {
    NATIVE_BUILD="$ROOT/build/$1"
    local flags="$NATIVE_FLAGS $3"
    mkdir -p "$NATIVE_BUILD"
    if [ "$(cat "$NATIVE_BUILD/flags" 2>/dev/null)" != "$flags" ]; then
        rm -f "$NATIVE_BUILD"/*.o
        echo "$flags" > "$NATIVE_BUILD/flags"
    fi
    NATIVE_FLAGS="$flags" NATIVE_BUILD="$NATIVE_BUILD" ROOT="$ROOT" bash -c \
        'echo $0 | tr " " "\n" | xargs -P"$(nproc)" -I{} bash -c "compile_native {}"' "$NATIVE_SOURCES"
    local objects=""
    for source in $NATIVE_SOURCES; do objects="$objects $NATIVE_BUILD/$(basename "$source" .cpp).o"; done
    em++ -O2 -fexceptions $objects -o "src/$2.mjs" \
        -sWASM_BIGINT -sMODULARIZE -sEXPORT_ES6 -sEXPORT_NAME=createNativeModule -sENVIRONMENT=web \
        -sWASM_ASYNC_COMPILATION=0 -sFILESYSTEM=0 -sINITIAL_MEMORY=32MB -sALLOW_MEMORY_GROWTH=0 \
        -sEXPORTED_FUNCTIONS=_malloc,_free -sEXPORTED_RUNTIME_METHODS=HEAPF32,HEAPU8,UTF8ToString
    echo "built $(du -h "src/$2.wasm" | cut -f1) src/$2.wasm"
}
# Two builds of the same sources: WASM SIMD128 for every browser, and SIMD128 with relaxed SIMD
# (-mrelaxed-simd: a fused multiply-add, which Highway 1.0.3's WASM target lacks; in Chromium
# and Firefox, not in Safari), which createNativeNode() picks when the browser validates it.
# One loader serves both (the main thread compiles the .wasm; the loader only instantiates it),
# so the two links must give the same loader but for the file name it would fetch by itself.
build_native web-native legato-native ""
build_native web-native-relaxed legato-native-relaxed "-mrelaxed-simd"
if ! sed 's/legato-native-relaxed\.wasm/legato-native.wasm/g' src/legato-native-relaxed.mjs |
        cmp -s - src/legato-native.mjs; then
    echo "the relaxed-SIMD module's loader differs from the SIMD128 one's" >&2
    exit 1
fi
rm src/legato-native-relaxed.mjs
cp src/legato-native.mjs src/legato-native.wasm src/legato-native-relaxed.wasm dist/
