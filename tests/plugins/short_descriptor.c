/* "short-descriptor": ABI 1 but a struct_size that covers only the header fields. The agent
 * must refuse it before reading past struct_size or calling anything. */
#include "exportsync/plugin_abi.h"

static const es_plugin_v1 kDescriptor = {ES_ABI_MAJOR,
                                         ES_ABI_MINOR,
                                         16u,
                                         0u,
                                         "short-descriptor",
                                         "1.0.0",
                                         "Truncated descriptor",
                                         0,
                                         0,
                                         0,
                                         0,
                                         0};

ES_EXPORT const es_plugin_v1* exportsync_plugin_entry(uint32_t host_abi_major);
ES_EXPORT const es_plugin_v1* exportsync_plugin_entry(uint32_t host_abi_major) {
  (void)host_abi_major;
  return &kDescriptor;
}
