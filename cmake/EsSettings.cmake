# Compiler settings for our own targets only (never global): es_warnings, es_sanitizers.
add_library(es_warnings INTERFACE)
target_compile_options(es_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
    -Wimplicit-fallthrough -Wformat=2>
  $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wshadow -Wformat=2>
  $<$<BOOL:${ES_WERROR}>:-Werror>)

add_library(es_sanitizers INTERFACE)
if(ES_SANITIZE)
  target_compile_options(es_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(es_sanitizers INTERFACE -fsanitize=address,undefined)
endif()

# Applies both to one of our targets.
function(es_settings target)
  target_link_libraries(${target} PRIVATE es_warnings es_sanitizers)
endfunction()
