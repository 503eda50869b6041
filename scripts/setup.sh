#!/usr/bin/env bash
# Legato: the single install step for building and testing on Debian 12 (bookworm), amd64, as root.
#
#   sudo scripts/setup.sh            # deps prefix: /opt/legato-deps
#   LEGATO_DEPS_ROOT=/x scripts/setup.sh
#
# 1. Debian packages (bookworm + bookworm-security): only the missing ones are installed,
#    already-installed packages are never upgraded (--no-upgrade).
# 2. Non-Debian dependencies, each pinned by sha256 and installed under $LEGATO_DEPS_ROOT:
#    onnxruntime/  ORT 1.30.0 runtime (npm onnxruntime-node) + ORT 1.21 C/C++ headers
#                  (Debian trixie libonnxruntime-dev .deb, unpacked, never installed)
#    tflite/       TensorFlow Lite 2.2.0 C API (npm node-tflite)
#    tflite-schema/schema.fbs  (from bookworm's armnn source package; for flatc)
#    Use with: cmake -DONNXRUNTIME_ROOT=$ROOT/onnxruntime -DTFLITE_ROOT=$ROOT/tflite
#    (both are the defaults of cmake/FindOnnxRuntime.cmake / FindTFLite.cmake).
# Idempotent: a re-run only checks dpkg state and file checksums (a few seconds).
set -euo pipefail

ROOT="${LEGATO_DEPS_ROOT:-/opt/legato-deps}"

# --- pins --------------------------------------------------------------------------------
APT_PACKAGES=(
    build-essential cmake ninja-build pkg-config git ca-certificates curl xz-utils
    libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev libsndfile1-dev
    python3-torch python3-onnx python3-numpy libtorch-dev flatbuffers-compiler libflatbuffers-dev zlib1g-dev
    clang-22 libclang-rt-22-dev llvm-22 gnuplot-nox   # clang/llvm 22 come from bookworm-security
    # Integrations (issue 6): JACK server + headers, LV2 spec + hosts, JUCE 7, CLAP headers (dpf)
    jackd2 libjack-jackd2-dev lv2-dev lilv-utils jalv juce-modules-source juce-tools dpf-source
    libasound2-dev libx11-dev libxext-dev libxrandr-dev libxinerama-dev libxcursor-dev
    libfreetype-dev libfontconfig-dev libgl-dev libcurl4-gnutls-dev
    libflac-dev libvorbis-dev libogg-dev
    # The native engine's SIMD kernels (Highway, header-only use) and its ONNX importer (ONNX's
    # protobuf classes; libprotobuf-dev comes with it) (docs/engines.md "native")
    libhwy-dev libonnx-dev libprotobuf-dev
    # The web build (web/, docs/web.md): clang/lld 19 for emscripten, Debian's acorn for its JS
    # optimiser, headless Chromium for the tests (node and npm: the machine's own, >= 18)
    clang-19 lld-19 llvm-19 node-acorn chromium
)

ORT_NPM_NAME=onnxruntime-node
ORT_NPM_VERSION=1.30.0
ORT_NPM_TGZ_SHA256=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
ORT_NPM_SO=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
ORT_SO_SHA256=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
ORT_DEB_PACKAGE=libonnxruntime-dev
ORT_DEB_VERSION=1.21.0+dfsg-1
ORT_DEB_SHA256=14f7d959d5deacbcf1504830d4189f91fc67382b399ed9ae9d3aa9c4050ced08
# sha256 over "sha256sum" lines of every header (sorted relative paths) as installed in include/
ORT_HEADERS_TREE_SHA256=4a19a1408126c4aa31d6912612988abba045481c036312048ee06b93204755af

TFLITE_NPM_NAME=node-tflite
TFLITE_NPM_VERSION=0.0.2
TFLITE_NPM_TGZ_SHA256=80e040b24096cbe4365b4960c8a93ff71218765a815e1b5f90180e2868dc930a
TFLITE_SO_SHA256=edb5236b8cbb497775fb36f4f134f89881b81c1cb7d32b897b66787e7040bd40
TFLITE_C_API_H_SHA256=5b536dfc0e04c2e6eef26055e2939f759984e261e7872f82c063c442070c166a
TFLITE_COMMON_H_SHA256=87312ffc1ceca469422131658582c129eefa16e5935d056328ea6e518fdc3393

ARMNN_SRC_VERSION=20.08-12
ARMNN_DEBIAN_TAR=armnn_${ARMNN_SRC_VERSION}.debian.tar.xz
ARMNN_DEBIAN_TAR_SHA256=e2396a6ed697e3bd87247dbdf791c83f44cf0b168519bade00a768334eb1b3e5
ARMNN_SCHEMA_PATCH=debian/patches/add-schema.fbs-and-generate-header.patch
SCHEMA_SHA256=15118f844c984a2128ab4878b8e02727839392f7f54ab4d5e65dde1a8a06e36d

# Emscripten 3.1.69 from trixie: downloaded and unpacked, never installed (it would pull a newer
# libc); it ships a prebuilt sysroot (pthreads, Wasm Workers, Audio Worklets) used frozen.
EMSDK_DEB_PACKAGE=emscripten
EMSDK_DEB_VERSION=3.1.69+dfsg-3
EMSDK_DEB_SHA256=d2ac788b952c56ab6736b4db2ac0825aa63cfb4c08b8abaefe19e324779d1b2d

DEBIAN_MIRROR=http://deb.debian.org/debian
DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# --- helpers -----------------------------------------------------------------------------
log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
file_ok() { [[ -f $1 ]] && [[ $(sha256_of "$1") == "$2" ]]; }
verify() { # file expected-sha256 description
    local got
    got=$(sha256_of "$1")
    [[ $got == "$2" ]] || die "checksum mismatch for $3: expected sha256 $2, got $got"
}
tree_sha256() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum | cut -d' ' -f1); }
# Verify, then install atomically: copy next to the destination and rename over it.
install_file() { # src dest mode expected-sha256
    local tmp
    verify "$1" "$4" "$(basename "$2") (to be installed as $2)"
    mkdir -p "$(dirname "$2")"
    tmp=$(mktemp "$2.tmp.XXXXXX")
    { cp "$1" "$tmp" && chmod "$3" "$tmp" && mv -f "$tmp" "$2"; } || { rm -f "$tmp"; die "could not install $2"; }
}

START=$SECONDS
[[ $EUID -eq 0 ]] || die "run as root (apt-get and $ROOT need it)"
[[ $(dpkg --print-architecture) == amd64 ]] || die "only amd64 is supported (prebuilt x86_64 binaries)"
# shellcheck disable=SC1091
. /etc/os-release
[[ ${VERSION_CODENAME:-} == bookworm ]] || log "warning: written for Debian 12 bookworm, this is ${PRETTY_NAME:-unknown}"

mkdir -p "$ROOT"
exec 9>"$ROOT/.setup.lock"
flock 9 # serialize concurrent runs
WORK=$(mktemp -d /tmp/legato-setup.XXXXXX)
chmod 755 "$WORK" # apt's _apt sandbox user must reach the temporary lists/download dirs
trap 'rm -rf "$WORK"' EXIT

# --- 1. Debian packages ------------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
# jackd2 asks whether to enable real-time limits; answer before installing (tests run jackd
# with --no-realtime on the dummy driver anyway).
echo 'jackd2 jackd/tweak_rt_limits boolean false' | debconf-set-selections
APT_LOG="$ROOT/logs/apt-get.log"
missing=()
for p in "${APT_PACKAGES[@]}"; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || missing+=("$p")
done
apt_installed=0
if ((${#missing[@]} == 0)); then
    log "apt: all ${#APT_PACKAGES[@]} packages already installed"
else
    mkdir -p "$(dirname "$APT_LOG")"
    : >"$APT_LOG"
    apt_update() {
        log "apt: apt-get update"
        apt-get update >>"$APT_LOG" 2>&1 || log "warning: apt-get update reported errors (see $APT_LOG)"
    }
    apt_install() {
        apt-get install -y --no-install-recommends --no-upgrade "${missing[@]}" >>"$APT_LOG" 2>&1
    }
    # Refresh the package lists only if they are missing (no candidate for a wanted package);
    # if the install fails on stale lists (404), refresh once and retry.
    for p in "${missing[@]}"; do
        pol=$(apt-cache policy "$p" 2>/dev/null || true)
        if [[ $pol != *Candidate:* || $pol == *"Candidate: (none)"* ]]; then apt_update; break; fi
    done
    log "apt: installing ${#missing[@]} missing package(s): ${missing[*]} (log: $APT_LOG)"
    if ! apt_install; then
        apt_update
        apt_install || { tail -n 30 "$APT_LOG" >&2; die "apt-get install failed (full log: $APT_LOG)"; }
    fi
    apt_installed=${#missing[@]}
fi

# --- helpers for the non-apt downloads ---------------------------------------------------
# A throw-away apt environment (own sources list, lists dir, cache; the system's apt state
# and sources are neither read for sources nor written). Hooks that would refresh system
# caches after "update" are cleared.
tmp_apt_init() { # dir sources-line
    mkdir -p "$1/lists/partial" "$1/cache/archives/partial"
    printf '%s\n' "$2" >"$1/sources.list"
    cat >"$1/apt.conf" <<'EOF'
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
Acquire::Languages "none";
EOF
}
tmp_apt() { # dir apt-get-args...
    local d=$1
    shift
    apt-get -q -c "$d/apt.conf" \
        -o Dir::Etc::SourceList="$d/sources.list" -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache" \
        -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= "$@"
}
# npm pack downloads the registry tarball without running any install script.
npm_fetch() { # name version expected-tgz-sha256 -> prints path of the .tgz
    local dir="$WORK/npm-$1" tgz
    mkdir -p "$dir"
    if command -v npm >/dev/null; then
        (cd "$dir" && npm pack "$1@$2" --ignore-scripts --loglevel=error >/dev/null) ||
            die "npm pack $1@$2 failed"
    else # same bytes straight from the registry
        curl -fsSL --retry 3 -o "$dir/$1-$2.tgz" "https://registry.npmjs.org/$1/-/$1-$2.tgz" ||
            die "download of $1@$2 from registry.npmjs.org failed"
    fi
    tgz="$dir/$1-$2.tgz"
    [[ -f $tgz ]] || die "npm pack $1@$2 produced no $tgz"
    verify "$tgz" "$3" "npm tarball $1@$2"
    printf '%s\n' "$tgz"
}

# --- 2a. ONNX Runtime headers (trixie .deb, unpacked only) -------------------------------
ORT="$ROOT/onnxruntime"
if [[ -d $ORT/include ]] && [[ $(tree_sha256 "$ORT/include") == "$ORT_HEADERS_TREE_SHA256" ]]; then
    log "onnxruntime headers ($ORT_DEB_VERSION): up to date"
else
    log "onnxruntime headers: downloading $ORT_DEB_PACKAGE $ORT_DEB_VERSION from trixie (temporary sources list)"
    A="$WORK/apt-trixie"
    tmp_apt_init "$A" "deb [signed-by=$DEBIAN_KEYRING] $DEBIAN_MIRROR trixie main"
    tmp_apt "$A" update >"$WORK/trixie-update.log" 2>&1 || { cat "$WORK/trixie-update.log" >&2; die "apt-get update (trixie, temporary) failed"; }
    mkdir -p "$WORK/deb"
    chown _apt "$WORK/deb" 2>/dev/null || true
    (cd "$WORK/deb" && tmp_apt "$A" download "$ORT_DEB_PACKAGE=$ORT_DEB_VERSION" >"$WORK/trixie-download.log" 2>&1) ||
        { cat "$WORK/trixie-download.log" >&2; die "apt-get download $ORT_DEB_PACKAGE=$ORT_DEB_VERSION failed (superseded in trixie? then re-pin)"; }
    deb=$(ls "$WORK"/deb/"${ORT_DEB_PACKAGE}"_*.deb)
    verify "$deb" "$ORT_DEB_SHA256" "$(basename "$deb")"
    dpkg-deb -x "$deb" "$WORK/deb/x"
    # The .deb has usr/include/onnxruntime/{onnxruntime_cxx_api.h,...,core/providers/}: flatten
    # so that <onnxruntime_cxx_api.h> resolves from $ORT/include.
    new="$ORT/.include.new.$$"
    rm -rf "$new"
    mkdir -p "$new"
    cp -a "$WORK/deb/x/usr/include/onnxruntime/." "$new/"
    got=$(tree_sha256 "$new")
    [[ $got == "$ORT_HEADERS_TREE_SHA256" ]] || { rm -rf "$new"; die "onnxruntime header tree checksum mismatch: expected $ORT_HEADERS_TREE_SHA256, got $got"; }
    rm -rf "$ORT/.include.old"
    [[ -e $ORT/include ]] && mv "$ORT/include" "$ORT/.include.old"
    mv "$new" "$ORT/include"
    rm -rf "$ORT/.include.old"
fi

# --- 2b. ONNX Runtime runtime (npm onnxruntime-node) -------------------------------------
if file_ok "$ORT/lib/libonnxruntime.so.1" "$ORT_SO_SHA256"; then
    log "onnxruntime runtime ($ORT_NPM_VERSION): up to date"
else
    log "onnxruntime runtime: fetching $ORT_NPM_NAME@$ORT_NPM_VERSION (~110 MB)"
    tgz=$(npm_fetch "$ORT_NPM_NAME" "$ORT_NPM_VERSION" "$ORT_NPM_TGZ_SHA256")
    tar -xzf "$tgz" -C "$WORK/npm-$ORT_NPM_NAME" "$ORT_NPM_SO"
    install_file "$WORK/npm-$ORT_NPM_NAME/$ORT_NPM_SO" "$ORT/lib/libonnxruntime.so.1" 0644 "$ORT_SO_SHA256"
fi
[[ $(readlink "$ORT/lib/libonnxruntime.so" 2>/dev/null) == libonnxruntime.so.1 ]] ||
    ln -sfn libonnxruntime.so.1 "$ORT/lib/libonnxruntime.so"

# --- 2c. TensorFlow Lite C API (npm node-tflite) -----------------------------------------
TFL="$ROOT/tflite"
if file_ok "$TFL/lib/libtensorflowlite_c.so" "$TFLITE_SO_SHA256" &&
    file_ok "$TFL/include/tensorflow/lite/c/c_api.h" "$TFLITE_C_API_H_SHA256" &&
    file_ok "$TFL/include/tensorflow/lite/c/common.h" "$TFLITE_COMMON_H_SHA256"; then
    log "tflite C API (2.2.0): up to date"
else
    log "tflite C API: fetching $TFLITE_NPM_NAME@$TFLITE_NPM_VERSION"
    tgz=$(npm_fetch "$TFLITE_NPM_NAME" "$TFLITE_NPM_VERSION" "$TFLITE_NPM_TGZ_SHA256")
    x="$WORK/npm-$TFLITE_NPM_NAME"
    tar -xzf "$tgz" -C "$x" package/tflite/linux_x86_64/libtensorflowlite_c.so package/tflite/include/tensorflow/lite/c
    install_file "$x/package/tflite/include/tensorflow/lite/c/c_api.h" "$TFL/include/tensorflow/lite/c/c_api.h" 0644 "$TFLITE_C_API_H_SHA256"
    install_file "$x/package/tflite/include/tensorflow/lite/c/common.h" "$TFL/include/tensorflow/lite/c/common.h" 0644 "$TFLITE_COMMON_H_SHA256"
    install_file "$x/package/tflite/linux_x86_64/libtensorflowlite_c.so" "$TFL/lib/libtensorflowlite_c.so" 0644 "$TFLITE_SO_SHA256"
fi

# --- 2d. TFLite schema.fbs (bookworm armnn source package, a new-file patch) -------------
SCHEMA="$ROOT/tflite-schema/schema.fbs"
if file_ok "$SCHEMA" "$SCHEMA_SHA256"; then
    log "tflite schema.fbs: up to date"
else
    log "tflite schema.fbs: fetching armnn $ARMNN_SRC_VERSION source (temporary deb-src list)"
    A="$WORK/apt-src"
    tmp_apt_init "$A" "deb-src [signed-by=$DEBIAN_KEYRING] $DEBIAN_MIRROR bookworm main"
    tmp_apt "$A" update >"$WORK/src-update.log" 2>&1 || { cat "$WORK/src-update.log" >&2; die "apt-get update (deb-src bookworm, temporary) failed"; }
    # Only the small .debian.tar.xz is needed; take its URL and hash from the signed Sources index.
    line=$(tmp_apt "$A" --print-uris source "armnn=$ARMNN_SRC_VERSION" 2>/dev/null | grep -F "'" | grep -F "/$ARMNN_DEBIAN_TAR'" || true)
    [[ -n $line ]] || die "armnn $ARMNN_SRC_VERSION not found in bookworm Sources"
    url=$(printf '%s\n' "$line" | cut -d"'" -f2)
    idx_sha=$(printf '%s\n' "$line" | grep -o 'SHA256:[0-9a-f]*' | cut -d: -f2)
    [[ $idx_sha == "$ARMNN_DEBIAN_TAR_SHA256" ]] || die "bookworm Sources lists $ARMNN_DEBIAN_TAR with sha256 $idx_sha, pinned $ARMNN_DEBIAN_TAR_SHA256"
    curl -fsSL --retry 3 -o "$WORK/$ARMNN_DEBIAN_TAR" "$url" || die "download of $url failed"
    verify "$WORK/$ARMNN_DEBIAN_TAR" "$ARMNN_DEBIAN_TAR_SHA256" "$ARMNN_DEBIAN_TAR"
    tar -xJf "$WORK/$ARMNN_DEBIAN_TAR" -C "$WORK" "$ARMNN_SCHEMA_PATCH"
    # The patch creates third-party/tensorflow/schema.fbs: keep the '+' lines of that hunk.
    awk '/^\+\+\+ .*\/schema\.fbs$/ {f = 1; next}
         f && /^@@/ {next}
         f && /^\+/ {print substr($0, 2); next}
         f {exit}' "$WORK/$ARMNN_SCHEMA_PATCH" >"$WORK/schema.fbs"
    install_file "$WORK/schema.fbs" "$SCHEMA" 0644 "$SCHEMA_SHA256"
fi

# --- 3. Web toolchain: emscripten (trixie .deb, unpacked only) + the web package's npm deps --
EM_ROOT="$ROOT/emscripten"
EM="$EM_ROOT/usr/share/emscripten"
if [[ -f $EM_ROOT/.stamp-$EMSDK_DEB_SHA256 ]]; then
    log "emscripten ($EMSDK_DEB_VERSION): up to date"
else
    log "emscripten: downloading $EMSDK_DEB_PACKAGE $EMSDK_DEB_VERSION from trixie (~240 MB, temporary sources list)"
    A="$WORK/apt-trixie-em"
    tmp_apt_init "$A" "deb [signed-by=$DEBIAN_KEYRING] $DEBIAN_MIRROR trixie main"
    tmp_apt "$A" update >"$WORK/trixie-em-update.log" 2>&1 || { cat "$WORK/trixie-em-update.log" >&2; die "apt-get update (trixie, temporary) failed"; }
    mkdir -p "$WORK/emdeb"
    chown _apt "$WORK/emdeb" 2>/dev/null || true
    (cd "$WORK/emdeb" && tmp_apt "$A" download "$EMSDK_DEB_PACKAGE=$EMSDK_DEB_VERSION" >"$WORK/trixie-em-download.log" 2>&1) ||
        { cat "$WORK/trixie-em-download.log" >&2; die "apt-get download $EMSDK_DEB_PACKAGE=$EMSDK_DEB_VERSION failed (superseded in trixie? then re-pin)"; }
    deb=$(ls "$WORK"/emdeb/"${EMSDK_DEB_PACKAGE}"_*.deb)
    verify "$deb" "$EMSDK_DEB_SHA256" "$(basename "$deb")"
    new="$ROOT/.emscripten.new.$$"
    rm -rf "$new" && mkdir -p "$new"
    dpkg-deb -x "$deb" "$new"
    touch "$new/.stamp-$EMSDK_DEB_SHA256"
    rm -rf "$EM_ROOT" && mv "$new" "$EM_ROOT"
fi
# Its ESM JS optimiser ignores NODE_PATH: Debian's acorn next to it.
mkdir -p "$EM/node_modules" && ln -sfn /usr/share/nodejs/acorn "$EM/node_modules/acorn"

# npm packages of web/ (binaryen for emscripten, TypeScript, playwright-core, onnxruntime-web),
# pinned by its lockfile: `npm ci` checks every tarball's sha512. Skipped while the lockfile is
# unchanged.
WEB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/web"
command -v node >/dev/null && command -v npm >/dev/null || die "the web build needs node (>= 18) and npm"
if [[ -f $WEB_DIR/package-lock.json ]]; then
    lock_sha=$(sha256_of "$WEB_DIR/package-lock.json")
    if [[ -f $WEB_DIR/node_modules/.legato-stamp && $(cat "$WEB_DIR/node_modules/.legato-stamp") == "$lock_sha" ]]; then
        log "web npm packages: up to date"
    else
        log "web npm packages: npm ci"
        (cd "$WEB_DIR" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) || die "npm ci in web/ failed"
        printf '%s' "$lock_sha" >"$WEB_DIR/node_modules/.legato-stamp"
    fi
    # Emscripten's configuration: bookworm's clang/lld 19, npm binaryen (its bin/ holds node
    # scripts; no wasm-emscripten-finalize, hence -sWASM_BIGINT on every link), frozen cache.
    # These links point at the checkout that ran setup last; web/scripts/build-wasm.sh sets
    # EM_BINARYEN_ROOT to its own checkout's binaryen, so other clones are unaffected.
    mkdir -p "$EM_ROOT/binaryen/bin"
    for t in wasm-opt wasm-metadce wasm-ctor-eval wasm-dis wasm-as wasm2js wasm-merge; do
        ln -sfn "$WEB_DIR/node_modules/binaryen/bin/$t" "$EM_ROOT/binaryen/bin/$t"
    done
    cat >"$EM_ROOT/em_config.py" <<EOF
LLVM_ROOT = '/usr/lib/llvm-19/bin'
BINARYEN_ROOT = '$EM_ROOT/binaryen'
NODE_JS = '$(command -v node)'
CACHE = '$EM/cache'
FROZEN_CACHE = True
EOF
    cat >"$EM_ROOT/env.sh" <<EOF
# source this: emcc, em++ and emcmake on PATH, configured for Legato's web build
export EM_CONFIG=$EM_ROOT/em_config.py
export PATH=$EM:\$PATH
export LEGATO_CHROMIUM=/usr/lib/chromium/chromium
EOF
fi

log "done in $((SECONDS - START))s: apt ${apt_installed} installed/${#APT_PACKAGES[@]} wanted; onnxruntime $ORT_NPM_VERSION (headers ${ORT_DEB_VERSION%%+*}), tflite 2.2.0, schema.fbs under $ROOT"
