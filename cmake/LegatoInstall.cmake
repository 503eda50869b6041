# Install rules: headers, the shared library, a CMake package (find_package(legato)) and a
# pkg-config file (legato.pc). docs/integration.md explains how a project uses them.
#
# The installed legato::legato is the SHARED library. It links the engines (ONNX Runtime,
# LibTorch, TFLite) privately and finds them through its RUNPATH (the directories it was linked
# against), so a consumer needs nothing but find_package(legato): no engine packages, no
# LibTorch compile flags, no LD_LIBRARY_PATH. The static library is not installed: its engine
# object code would pass the engines' link and compile requirements (LibTorch's ABI flag, the
# engine libraries of this machine) on to every consumer; projects that want static linking
# use add_subdirectory() instead.
#
# Components: legato_runtime (the shared library) and legato_development (headers, the
# linker name symlink, the CMake package, legato.pc). `cmake --install <build>` installs both.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

if(LEGATO_SANITIZER)
    # Sanitizer builds are for testing Legato itself; their link options name in-tree targets.
    message(STATUS "Legato: no install rules in sanitizer builds (LEGATO_SANITIZER=${LEGATO_SANITIZER})")
    return()
endif()

set(LEGATO_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/legato)

# The installed library finds its engine libraries where it was linked against them.
set_target_properties(legato_shared PROPERTIES
    EXPORT_NAME legato
    INSTALL_RPATH_USE_LINK_PATH ON)

install(TARGETS legato_shared EXPORT legatoTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
            COMPONENT legato_runtime NAMELINK_COMPONENT legato_development
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT legato_runtime
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/legato
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT legato_development
        FILES_MATCHING PATTERN "*.hpp")
# Generated at configure time: which engines this build contains.
install(FILES ${PROJECT_BINARY_DIR}/include/legato/build_config.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/legato
        COMPONENT legato_development)

install(EXPORT legatoTargets
        NAMESPACE legato::
        DESTINATION ${LEGATO_INSTALL_CMAKEDIR}
        COMPONENT legato_development)

set(LEGATO_INSTALLED_ENGINES bypass ${LEGATO_ENGINES})
string(REPLACE ";" " " LEGATO_PC_ENGINES "${LEGATO_INSTALLED_ENGINES}")
configure_package_config_file(
    ${PROJECT_SOURCE_DIR}/cmake/legatoConfig.cmake.in
    ${PROJECT_BINARY_DIR}/cmake/legatoConfig.cmake
    INSTALL_DESTINATION ${LEGATO_INSTALL_CMAKEDIR})
write_basic_package_version_file(
    ${PROJECT_BINARY_DIR}/cmake/legatoConfigVersion.cmake
    VERSION ${PROJECT_VERSION}
    COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/legatoConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/legatoConfigVersion.cmake
        DESTINATION ${LEGATO_INSTALL_CMAKEDIR}
        COMPONENT legato_development)

# pkg-config: relocatable (prefix from the .pc file's own place), so `cmake --install --prefix`
# to any directory gives a working file.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
    set(LEGATO_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
    set(LEGATO_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
    set(LEGATO_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
    file(RELATIVE_PATH _legato_pc_up "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
    string(REGEX REPLACE "/$" "" _legato_pc_up "${_legato_pc_up}")
    set(LEGATO_PC_PREFIX "\${pcfiledir}/${_legato_pc_up}")
    set(LEGATO_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
    set(LEGATO_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
    unset(_legato_pc_up)
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/legato.pc.in ${PROJECT_BINARY_DIR}/legato.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/legato.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT legato_development)
