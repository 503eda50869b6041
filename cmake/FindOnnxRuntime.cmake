# FindOnnxRuntime
# ---------------
# Finds the ONNX Runtime C/C++ API assembled by scripts/setup.sh: headers under
# <root>/include (flat: <onnxruntime_cxx_api.h>) and <root>/lib/libonnxruntime.so[.1].
# The .deb's own onnxruntimeConfig.cmake is not used (it names a different .so).
#
# Search root: ONNXRUNTIME_ROOT (CMake cache var, else env var), default
# /opt/legato-deps/onnxruntime (or $LEGATO_DEPS_ROOT/onnxruntime).
#
# Result:
#   onnxruntime::onnxruntime    IMPORTED SHARED target
#   OnnxRuntime_FOUND
#   OnnxRuntime_INCLUDE_DIR, OnnxRuntime_LIBRARY
#   OnnxRuntime_API_VERSION     ORT_API_VERSION from onnxruntime_c_api.h (e.g. 21)
#   OnnxRuntime_VERSION         1.<ORT_API_VERSION> (version of the *headers*; the runtime may
#                               be newer: the C API is backward compatible)

# A normal or cache variable set by the caller wins; then the environment; then the default.
if(NOT ONNXRUNTIME_ROOT)
    if(DEFINED ENV{ONNXRUNTIME_ROOT})
        set(_ort_root "$ENV{ONNXRUNTIME_ROOT}")
    elseif(DEFINED ENV{LEGATO_DEPS_ROOT})
        set(_ort_root "$ENV{LEGATO_DEPS_ROOT}/onnxruntime")
    else()
        set(_ort_root "/opt/legato-deps/onnxruntime")
    endif()
    set(ONNXRUNTIME_ROOT "${_ort_root}" CACHE PATH "ONNX Runtime root (include/, lib/)")
    unset(_ort_root)
endif()

find_path(OnnxRuntime_INCLUDE_DIR
    NAMES onnxruntime_cxx_api.h
    HINTS "${ONNXRUNTIME_ROOT}"
    PATH_SUFFIXES include include/onnxruntime
    NO_DEFAULT_PATH)
find_library(OnnxRuntime_LIBRARY
    NAMES onnxruntime libonnxruntime.so.1
    HINTS "${ONNXRUNTIME_ROOT}"
    PATH_SUFFIXES lib lib64
    NO_DEFAULT_PATH)

unset(OnnxRuntime_VERSION)
unset(OnnxRuntime_API_VERSION)
if(OnnxRuntime_INCLUDE_DIR AND EXISTS "${OnnxRuntime_INCLUDE_DIR}/onnxruntime_c_api.h")
    file(STRINGS "${OnnxRuntime_INCLUDE_DIR}/onnxruntime_c_api.h" _ort_api_line
         REGEX "^#define[ \t]+ORT_API_VERSION[ \t]+[0-9]+")
    if(_ort_api_line MATCHES "ORT_API_VERSION[ \t]+([0-9]+)")
        set(OnnxRuntime_API_VERSION "${CMAKE_MATCH_1}")
        set(OnnxRuntime_VERSION "1.${CMAKE_MATCH_1}")
    endif()
    unset(_ort_api_line)
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OnnxRuntime
    REQUIRED_VARS OnnxRuntime_LIBRARY OnnxRuntime_INCLUDE_DIR
    VERSION_VAR OnnxRuntime_VERSION
    REASON_FAILURE_MESSAGE "run scripts/setup.sh or set ONNXRUNTIME_ROOT (searched ${ONNXRUNTIME_ROOT})")

if(OnnxRuntime_FOUND AND NOT TARGET onnxruntime::onnxruntime)
    add_library(onnxruntime::onnxruntime SHARED IMPORTED)
    set_target_properties(onnxruntime::onnxruntime PROPERTIES
        IMPORTED_LOCATION "${OnnxRuntime_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${OnnxRuntime_INCLUDE_DIR}")
    # The runtime's DT_SONAME is libonnxruntime.so.1 (what executables record as NEEDED).
    get_filename_component(_ort_lib_real "${OnnxRuntime_LIBRARY}" REALPATH)
    get_filename_component(_ort_lib_name "${_ort_lib_real}" NAME)
    if(_ort_lib_name MATCHES "^libonnxruntime\\.so\\.[0-9]+$")
        set_target_properties(onnxruntime::onnxruntime PROPERTIES IMPORTED_SONAME "${_ort_lib_name}")
    endif()
    unset(_ort_lib_real)
    unset(_ort_lib_name)
endif()

mark_as_advanced(OnnxRuntime_INCLUDE_DIR OnnxRuntime_LIBRARY)
