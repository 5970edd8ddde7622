/* "bad-abi": a hand-written C descriptor claiming ABI 99.0. The agent must refuse it from the
 * version fields alone, without calling any of its (null) callbacks. */
#include "exportsync/plugin_abi.h"

static const es_plugin_v1 kDescriptor = {
    99u, 0u, sizeof(es_plugin_v1), 0u, "bad-abi", "9.9.9", "Built against a future ABI", 0, 0, 0,
    0,   0};

ES_EXPORT const es_plugin_v1* exportsync_plugin_entry(uint32_t host_abi_major);
ES_EXPORT const es_plugin_v1* exportsync_plugin_entry(uint32_t host_abi_major) {
  (void)host_abi_major; /* answers any host, so the host's own check is what refuses it */
  return &kDescriptor;
}
