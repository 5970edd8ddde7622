/*
 * Compiled as C (not C++): proves plugin_abi.h is a valid C header, and reports the layout a C
 * compiler gives its structs so abi_test.cpp can compare it with the C++ view.
 */
#include <stddef.h>
#include <stdint.h>

#include "exportsync/plugin_abi.h"

#ifdef __cplusplus
#error "abi_c_test.c must be compiled as C"
#endif

/* The header promises the version fields come first, in this order, in every build. */
_Static_assert(offsetof(es_plugin_v1, abi_major) == 0, "abi_major first");
_Static_assert(offsetof(es_plugin_v1, abi_minor) == 4, "abi_minor second");
_Static_assert(offsetof(es_plugin_v1, struct_size) == 8, "struct_size third");
_Static_assert(offsetof(es_host_api, abi_major) == 0, "host abi_major first");
_Static_assert(offsetof(es_host_api, struct_size) == 8, "host struct_size third");
_Static_assert(sizeof(es_status) == 4 && sizeof(es_type) == 4, "fixed-width codes");

/* One entry per layout fact; the C++ side builds the same table and compares. */
typedef struct es_c_layout {
  const char* what;
  size_t value;
} es_c_layout;

#define ES_LAYOUT(expr) \
  { #expr, (size_t)(expr) }

static const es_c_layout kLayout[] = {
    ES_LAYOUT(sizeof(es_value)),
    ES_LAYOUT(offsetof(es_value, type)),
    ES_LAYOUT(offsetof(es_value, i64)),
    ES_LAYOUT(offsetof(es_value, f64)),
    ES_LAYOUT(offsetof(es_value, str)),
    ES_LAYOUT(offsetof(es_value, len)),
    ES_LAYOUT(sizeof(es_column_decl)),
    ES_LAYOUT(offsetof(es_column_decl, type)),
    ES_LAYOUT(offsetof(es_column_decl, flags)),
    ES_LAYOUT(sizeof(es_dataset_decl)),
    ES_LAYOUT(offsetof(es_dataset_decl, version)),
    ES_LAYOUT(offsetof(es_dataset_decl, name)),
    ES_LAYOUT(offsetof(es_dataset_decl, columns)),
    ES_LAYOUT(offsetof(es_dataset_decl, column_count)),
    ES_LAYOUT(sizeof(es_host_api)),
    ES_LAYOUT(offsetof(es_host_api, set_error)),
    ES_LAYOUT(offsetof(es_host_api, config_get)),
    ES_LAYOUT(offsetof(es_host_api, declare_dataset)),
    ES_LAYOUT(offsetof(es_host_api, sink_upsert)),
    ES_LAYOUT(offsetof(es_host_api, reject)),
    ES_LAYOUT(offsetof(es_host_api, state_get)),
    ES_LAYOUT(offsetof(es_host_api, cancelled)),
    ES_LAYOUT(offsetof(es_host_api, rename_after_commit)),
    ES_LAYOUT(sizeof(es_plugin_v1)),
    ES_LAYOUT(offsetof(es_plugin_v1, name)),
    ES_LAYOUT(offsetof(es_plugin_v1, description)),
    ES_LAYOUT(offsetof(es_plugin_v1, create)),
    ES_LAYOUT(offsetof(es_plugin_v1, collect)),
    ES_LAYOUT(offsetof(es_plugin_v1, destroy)),
    ES_LAYOUT(ES_ABI_MAJOR),
    ES_LAYOUT(ES_ABI_MINOR),
    ES_LAYOUT(ES_TYPE_MONEY),
    ES_LAYOUT(ES_ERR_INTERNAL),
};

/* Declared here (not in a header) on purpose: the C++ test declares the same prototypes. */
size_t es_c_layout_count(void);
const char* es_c_layout_what(size_t i);
size_t es_c_layout_value(size_t i);
uint32_t es_c_entry_symbol_matches(const char* name);
int32_t es_c_value_roundtrip(int64_t i64, double f64, int64_t* i64_out, double* f64_out);

size_t es_c_layout_count(void) { return sizeof kLayout / sizeof kLayout[0]; }
const char* es_c_layout_what(size_t i) { return kLayout[i].what; }
size_t es_c_layout_value(size_t i) { return kLayout[i].value; }

uint32_t es_c_entry_symbol_matches(const char* name) {
  const char* a = ES_PLUGIN_ENTRY_SYMBOL;
  while (*a != '\0' && *a == *name) {
    ++a;
    ++name;
  }
  return *a == *name ? 1u : 0u;
}

/* Fills an es_value the way a C plugin would and reads it back through a pointer cast. */
int32_t es_c_value_roundtrip(int64_t i64, double f64, int64_t* i64_out, double* f64_out) {
  es_value v;
  const es_value* p = &v;
  v.type = ES_TYPE_REAL;
  v.reserved = 0;
  v.i64 = i64;
  v.f64 = f64;
  v.str = NULL;
  v.len = 0;
  *i64_out = p->i64;
  *f64_out = p->f64;
  return p->type;
}
