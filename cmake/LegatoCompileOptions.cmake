# Warning and sanitizer flags shared by every Legato target.
add_library(legato_build_options INTERFACE)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(legato_build_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                                                          -Wconversion -Wno-sign-conversion)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
        # GCC 12 reports std::string concatenation at -O3 as overlapping memcpy (GCC bug 105329).
        target_compile_options(legato_build_options INTERFACE -Wno-restrict)
    endif()
    if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 20)
        # Verifies at compile time that [[clang::nonblocking]] functions call only non-blocking
        # code (LEGATO_NONBLOCKING marks process() and everything it reaches).
        target_compile_options(legato_build_options INTERFACE -Wfunction-effects)
    endif()
    if(LEGATO_WARNINGS_AS_ERRORS)
        target_compile_options(legato_build_options INTERFACE -Werror)
    endif()
endif()

if(LEGATO_SANITIZER STREQUAL "address")
    set(_legato_san_flags -fsanitize=address,undefined -fno-sanitize-recover=all
                          -fno-omit-frame-pointer)
elseif(LEGATO_SANITIZER STREQUAL "thread")
    set(_legato_san_flags -fsanitize=thread -fno-omit-frame-pointer)
elseif(LEGATO_SANITIZER STREQUAL "realtime")
    set(_legato_san_flags -fsanitize=realtime -fno-omit-frame-pointer)
elseif(LEGATO_SANITIZER STREQUAL "fuzz")
    # libFuzzer coverage for everything; the fuzz targets add -fsanitize=fuzzer (their main).
    set(_legato_san_flags -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                          -fno-omit-frame-pointer)
elseif(NOT LEGATO_SANITIZER STREQUAL "")
    message(FATAL_ERROR "LEGATO_SANITIZER must be '', address, thread, realtime or fuzz; got '${LEGATO_SANITIZER}'")
endif()
if(_legato_san_flags)
    target_compile_options(legato_build_options INTERFACE ${_legato_san_flags})
    target_link_options(legato_build_options INTERFACE ${_legato_san_flags})
endif()
