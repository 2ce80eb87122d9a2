# cmake --install: headers, libraries, ember.pc and a CMake package so that
# both `pkg-config --cflags --libs ember` and `find_package(ember)` work.
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
get_property(_mods GLOBAL PROPERTY EMBER_MODULES)
set(_targets ember ember_shared)
foreach(m IN LISTS _mods)
  list(APPEND _targets ember_${m})
endforeach()
install(TARGETS ${_targets} EXPORT emberTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT emberTargets NAMESPACE ember::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ember)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/emberConfig.cmake.in
  ${PROJECT_BINARY_DIR}/emberConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ember)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/emberConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/emberConfig.cmake
  ${PROJECT_BINARY_DIR}/emberConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ember)

set(EMBER_PC_LIBS_PRIVATE "-lpthread")
set(EMBER_PC_REQUIRES_PRIVATE "libcares libssl libcrypto libpsl zlib")
# From <libdir>/pkgconfig back up to the prefix ("../.." for lib/pkgconfig).
string(REGEX REPLACE "[^/]+" ".." EMBER_PC_UP "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
configure_file(${PROJECT_SOURCE_DIR}/cmake/ember.pc.in ${PROJECT_BINARY_DIR}/ember.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/ember.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
