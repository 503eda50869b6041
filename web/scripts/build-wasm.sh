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
# The worker pool's threads come from a pool created at start-up (PTHREAD_POOL_SIZE >= worker_threads).
em++ $FLAGS -O2 -std=c++20 -I"$ROOT/include" -I"$BUILD/include" cpp/legato_web.cpp cpp/js_bridge.cpp cpp/cpp_engines.cpp cpp/legato_worklet.cpp cpp/legato_node.cpp cpp/legato_bench.cpp cpp/worklet_thread.cpp -I"$BUILD/nlohmann-json-include" \
    "$BUILD/src/liblegato.a" -o src/legato.mjs \
    -sWASM_BIGINT -sMODULARIZE -sEXPORT_ES6 -sEXPORT_NAME=createLegatoModule \
    -sENVIRONMENT=web,worker -sAUDIO_WORKLET -sWASM_WORKERS -sPTHREAD_POOL_SIZE=4 -sINITIAL_MEMORY=16MB -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=2GB \
    -sEXPORTED_FUNCTIONS=_malloc,_free -sEXPORTED_RUNTIME_METHODS=HEAPF32,HEAPF64,HEAP32,HEAPU8,UTF8ToString,stringToNewUTF8,emscriptenRegisterAudioObject,emscriptenGetAudioObject
echo "built $(du -h src/legato.wasm | cut -f1) src/legato.wasm"
# Emscripten 3.1.69 loads the audio worklet's bootstrap script relative to the *page*
# (addModule("legato.aw.js")): resolve it next to the module instead, wherever the page is.
sed -i 's|addModule("legato.aw.js")|addModule(new URL("legato.aw.js",import.meta.url))|' src/legato.mjs
grep -q 'addModule(new URL("legato.aw.js"' src/legato.mjs || { echo "legato.aw.js fix did not apply" >&2; exit 1; }
# The generated loader, module and worklet bootstrap ship beside the compiled TypeScript.
cp src/legato.mjs src/legato.wasm src/legato.aw.js dist/
