// Plugins whose declarations the agent refuses, for the harness and exportsync-plugin-check
// tests; PROBE_VARIANT (set by CMakeLists.txt) picks one:
//   1 "probe-no-key":    a dataset without a key column
//   2 "probe-unstable":  declare() answers differently each time (a new dataset per call)
//   3 "probe-fake-core": declares `exporters` unlike the SDK's core declaration
#include <string>

#include "exportsync/plugin.hpp"

namespace {

using exportsync::ColumnType;

class BadDeclare : public exportsync::Plugin {
 public:
  static exportsync::PluginInfo info() {
#if PROBE_VARIANT == 1
    return {"probe-no-key", "1.0.0", "Declares a dataset without a key"};
#elif PROBE_VARIANT == 2
    return {"probe-unstable", "1.0.0", "Declares something else each time"};
#else
    return {"probe-fake-core", "1.0.0", "Declares exporters its own way"};
#endif
  }

  void declare(exportsync::Schema& schema) override {
#if PROBE_VARIANT == 1
    schema.dataset("things").column("name", ColumnType::Text);
#elif PROBE_VARIANT == 2
    static int calls = 0;  // survives between instances: the library stays loaded
    ++calls;
    for (int i = 0; i < calls; ++i) {
      schema.dataset("set_" + std::to_string(i)).key("id", ColumnType::Integer);
    }
#else
    schema.dataset("exporters")
        .key("exporter_id", ColumnType::Text)
        .column("name", ColumnType::Text);
#endif
  }

  void collect(exportsync::CollectContext& /*ctx*/) override {}
};

}  // namespace

ES_PLUGIN(BadDeclare)
