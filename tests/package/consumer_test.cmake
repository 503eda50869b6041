# Installs Legato from a build tree into a fresh prefix and builds the consumer project
# (consumer/) against it twice, with find_package(legato) and with pkg-config; runs both.
# Fails (FATAL_ERROR, non-zero exit) at the first step that does not work.
#
#   cmake -DLEGATO_BUILD_DIR=... -DLEGATO_CONFIG=Release -DWORK_DIR=... -DCONSUMER_DIR=...
#         -DMODELS_DIR=... -DCXX_COMPILER=... -DGENERATOR=... -DPKG_CONFIG=... -P consumer_test.cmake
foreach(var LEGATO_BUILD_DIR WORK_DIR CONSUMER_DIR MODELS_DIR CXX_COMPILER GENERATOR PKG_CONFIG)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
        message(FATAL_ERROR "consumer_test.cmake: ${var} is not set")
    endif()
endforeach()
if(NOT LEGATO_CONFIG)
    set(LEGATO_CONFIG Release)
endif()

function(run step)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT result EQUAL 0)
        string(REPLACE ";" " " command "${ARGN}")
        message(FATAL_ERROR "${step} failed (${result}):\n  ${command}\n${out}\n${err}")
    endif()
    message(STATUS "${step}: ok")
    set(run_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# Only Legato's own components: other install rules of the tree (plugins) may not be built.
foreach(component legato_runtime legato_development)
    run("install ${component}" ${CMAKE_COMMAND} --install ${LEGATO_BUILD_DIR}
        --config ${LEGATO_CONFIG} --prefix ${prefix} --component ${component})
endforeach()

# 1. CMake: find_package(legato) + legato::legato, nothing else on the command line.
set(cmake_build ${WORK_DIR}/cmake-build)
run("configure the consumer" ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${cmake_build}
    -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_PREFIX_PATH=${prefix})
run("build the consumer" ${CMAKE_COMMAND} --build ${cmake_build} --config Release)
find_program(cmake_consumer legato_consumer PATHS ${cmake_build} ${cmake_build}/Release
             NO_DEFAULT_PATH REQUIRED)
# No LD_LIBRARY_PATH: the installed library must find its engines itself.
unset(ENV{LD_LIBRARY_PATH})
run("run the consumer (find_package)" ${cmake_consumer} ${MODELS_DIR})
message("${run_output}")

# 2. pkg-config: the flags alone must build and link it.
file(GLOB pc_files ${prefix}/*/pkgconfig/legato.pc ${prefix}/*/*/pkgconfig/legato.pc)
if(NOT pc_files)
    message(FATAL_ERROR "legato.pc was not installed under ${prefix}")
endif()
list(GET pc_files 0 pc_file)
get_filename_component(pc_dir ${pc_file} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
run("pkg-config --cflags --libs legato" ${PKG_CONFIG} --cflags --libs legato)
string(STRIP "${run_output}" pc_flags)
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
run("pkg-config --variable=libdir legato" ${PKG_CONFIG} --variable=libdir legato)
string(STRIP "${run_output}" pc_libdir)
set(pc_consumer ${WORK_DIR}/legato_consumer_pkgconfig)
# The prefix is not on the loader's path: the program records it (as any user of a private
# prefix would).
run("compile the consumer with pkg-config flags" ${CXX_COMPILER} -std=c++20 -O2
    ${CONSUMER_DIR}/main.cpp ${pc_flags} -Wl,-rpath,${pc_libdir} -o ${pc_consumer})
run("run the consumer (pkg-config)" ${pc_consumer} ${MODELS_DIR})
message("${run_output}")
