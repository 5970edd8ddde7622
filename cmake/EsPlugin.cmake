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
