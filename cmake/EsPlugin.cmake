# es_add_plugin(<name> SOURCES ... [OUTPUT_DIR dir]): one MODULE library per plugin, linking only
# the SDK, hidden visibility (only the entry symbol is exported) and no undefined symbols.
function(es_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIR" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR ${ES_PLUGIN_OUTPUT_DIR})
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ExportSync::sdk ${ARG_LIBRARIES})
  es_settings(${name})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIR})
  if(NOT ES_SANITIZE)
    # With sanitizers the runtime's symbols come from the host executable.
    target_link_options(${name} PRIVATE -Wl,--no-undefined)
  endif()
endfunction()

# es_add_plugin_library(<name> SOURCES ... [LIBRARIES ...]): a static library that plugins link
# in (tests and benchmarks may link it too). Position-independent, so it can go into a plugin's
# .so; hidden visibility, so the plugin still exports only its entry symbol; our warnings and
# sanitizers. LIBRARIES are PUBLIC, and the calling folder is on its users' include path. Not
# installed: it ends up inside the plugins.
function(es_add_plugin_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_LIBRARIES})
  set_target_properties(${name} PROPERTIES
    POSITION_INDEPENDENT_CODE ON
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  es_settings(${name})
endfunction()
