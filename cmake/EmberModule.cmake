# ember_module(<name> DEPS <targets...>)
# Builds <name>/*.c into an object library (PIC, hidden visibility) and a
# static library ember_<name> linking only the lower layers given in DEPS
# (and external libraries such as c-ares or OpenSSL).
# SIMD kernels get their flags from their file name: *_sse42.c -> -msse4.2,
# *_avx2.c -> -mavx2; they are chosen at run time, never at build time.
set_property(GLOBAL PROPERTY EMBER_OBJECT_LIBS "")
set_property(GLOBAL PROPERTY EMBER_EXTERNAL_DEPS "")

function(ember_module name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${name}/*.c)
  if(NOT srcs)
    message(STATUS "ember: module '${name}' has no sources yet; skipped")
    return()
  endif()
  foreach(src IN LISTS srcs)
    if(src MATCHES "_sse42\\.c$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "-msse4.2")
    elseif(src MATCHES "_avx2\\.c$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "-mavx2;-mbmi;-mbmi2")
    endif()
  endforeach()

  add_library(ember_${name}_obj OBJECT ${srcs})
  set_target_properties(ember_${name}_obj PROPERTIES
    POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)
  target_compile_options(ember_${name}_obj PRIVATE ${EMBER_C_WARNINGS})
  target_compile_definitions(ember_${name}_obj PRIVATE EMBER_BUILDING)
  target_include_directories(ember_${name}_obj
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    PRIVATE ${PROJECT_SOURCE_DIR}/${name})
  # Lower layers' include paths and external libraries flow through DEPS.
  foreach(dep IN LISTS ARG_DEPS)
    if(dep MATCHES "^ember_")
      target_include_directories(ember_${name}_obj PRIVATE
        $<TARGET_PROPERTY:${dep},INTERFACE_INCLUDE_DIRECTORIES>)
    else()
      target_link_libraries(ember_${name}_obj PUBLIC ${dep})
      set_property(GLOBAL APPEND PROPERTY EMBER_EXTERNAL_DEPS ${dep})
    endif()
  endforeach()

  add_library(ember_${name} STATIC $<TARGET_OBJECTS:ember_${name}_obj>)
  target_include_directories(ember_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(ember_${name} PUBLIC ${ARG_DEPS})
  add_library(ember::${name} ALIAS ember_${name})
  set_property(GLOBAL APPEND PROPERTY EMBER_OBJECT_LIBS ember_${name}_obj)
  set_property(GLOBAL APPEND PROPERTY EMBER_MODULES ${name})
endfunction()

# ember (static) and ember_shared (libember.so): every module in one library.
function(ember_umbrella_library)
  get_property(objlibs GLOBAL PROPERTY EMBER_OBJECT_LIBS)
  get_property(ext GLOBAL PROPERTY EMBER_EXTERNAL_DEPS)
  list(REMOVE_DUPLICATES ext)
  set(objs "")
  foreach(o IN LISTS objlibs)
    list(APPEND objs $<TARGET_OBJECTS:${o}>)
  endforeach()
  add_library(ember STATIC ${objs})
  add_library(ember_shared SHARED ${objs})
  set_target_properties(ember_shared PROPERTIES OUTPUT_NAME ember
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
  foreach(t ember ember_shared)
    target_include_directories(${t} PUBLIC
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    target_link_libraries(${t} PUBLIC ${ext})
  endforeach()
  add_library(ember::ember ALIAS ember)
  add_library(ember::ember_shared ALIAS ember_shared)
endfunction()
