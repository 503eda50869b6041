# FindTFLite
# ----------
# Finds the TensorFlow Lite C API installed by scripts/setup.sh (TFLite 2.2.0 from npm
# node-tflite): <root>/include/tensorflow/lite/c/c_api.h and <root>/lib/libtensorflowlite_c.so.
#
# Search root: TFLITE_ROOT (CMake cache var, else env var), default /opt/legato-deps/tflite
# (or $LEGATO_DEPS_ROOT/tflite).
#
# Result:
#   tflite::tflite_c            IMPORTED SHARED target
#   TFLite_FOUND
#   TFLite_INCLUDE_DIR, TFLite_LIBRARY
# (No version macro is shipped in the C API headers, so no TFLite_VERSION.)

# A normal or cache variable set by the caller wins; then the environment; then the default.
if(NOT TFLITE_ROOT)
    if(DEFINED ENV{TFLITE_ROOT})
        set(_tfl_root "$ENV{TFLITE_ROOT}")
    elseif(DEFINED ENV{LEGATO_DEPS_ROOT})
        set(_tfl_root "$ENV{LEGATO_DEPS_ROOT}/tflite")
    else()
        set(_tfl_root "/opt/legato-deps/tflite")
    endif()
    set(TFLITE_ROOT "${_tfl_root}" CACHE PATH "TensorFlow Lite C API root (include/, lib/)")
    unset(_tfl_root)
endif()

find_path(TFLite_INCLUDE_DIR
    NAMES tensorflow/lite/c/c_api.h
    HINTS "${TFLITE_ROOT}"
    PATH_SUFFIXES include
    NO_DEFAULT_PATH)
find_library(TFLite_LIBRARY
    NAMES tensorflowlite_c
    HINTS "${TFLITE_ROOT}"
    PATH_SUFFIXES lib lib64
    NO_DEFAULT_PATH)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(TFLite
    REQUIRED_VARS TFLite_LIBRARY TFLite_INCLUDE_DIR
    REASON_FAILURE_MESSAGE "run scripts/setup.sh or set TFLITE_ROOT (searched ${TFLITE_ROOT})")

if(TFLite_FOUND AND NOT TARGET tflite::tflite_c)
    add_library(tflite::tflite_c SHARED IMPORTED)
    set_target_properties(tflite::tflite_c PROPERTIES
        IMPORTED_LOCATION "${TFLite_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${TFLite_INCLUDE_DIR}")
endif()

mark_as_advanced(TFLite_INCLUDE_DIR TFLite_LIBRARY)
