# es_add_test(<name> LABEL unit|integration|fault|fuzz SOURCES ... [LIBRARIES ...])
find_package(GTest REQUIRED)
include(GoogleTest)
function(es_add_test name)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "SOURCES;LIBRARIES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBRARIES} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    ES_TEST_PLUGIN_DIR="${CMAKE_BINARY_DIR}/tests/plugins"
    ES_PLUGIN_DIR="${ES_PLUGIN_OUTPUT_DIR}"
    ES_BINARY_DIR="${CMAKE_BINARY_DIR}"
    ES_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  es_settings(${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  gtest_discover_tests(${name}
    PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT}
      ENVIRONMENT "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1;ASAN_OPTIONS=detect_leaks=1"
    DISCOVERY_TIMEOUT 60)
endfunction()
