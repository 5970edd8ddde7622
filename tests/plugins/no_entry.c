/* A valid shared library that is not a plugin: it exports a function, but not
 * exportsync_plugin_entry. */
#include "exportsync/plugin_abi.h"

ES_EXPORT int es_test_not_a_plugin(void);
ES_EXPORT int es_test_not_a_plugin(void) { return 42; }
