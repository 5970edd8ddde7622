// "aborter": writes 3 rows, then calls abort() in the middle of its run.
#include <cstdlib>

#include "test_plugin.hpp"

namespace {

class Aborter : public exportsync::Plugin {
 public:
  static exportsync::PluginInfo info() {
    return {"aborter", "1.0.0", "Test plugin that aborts in collect"};
  }
  void declare(exportsync::Schema& schema) override {
    exportsync::testplugins::declareRows(schema);
  }
  void collect(exportsync::CollectContext& ctx) override {
    exportsync::testplugins::writeRows(ctx, 3, "aborter");
    std::abort();
  }
};

}  // namespace

ES_PLUGIN(Aborter)
