# nlohmann-json for the web build: Debian's header-only library (nlohmann-json3-dev), seen
# through a folder that holds only its headers. Its own package config would put /usr/include on
# the include path, where glibc's headers would shadow emscripten's libc.
set(_legato_json_dir ${CMAKE_BINARY_DIR}/nlohmann-json-include)
file(MAKE_DIRECTORY ${_legato_json_dir})
file(CREATE_LINK /usr/include/nlohmann ${_legato_json_dir}/nlohmann SYMBOLIC)
if(NOT TARGET nlohmann_json::nlohmann_json)
    add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
    set_target_properties(nlohmann_json::nlohmann_json PROPERTIES
                          INTERFACE_INCLUDE_DIRECTORIES ${_legato_json_dir})
endif()
