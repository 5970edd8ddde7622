// "good-b": a second well-behaved plugin with its own dataset name; writes 3 rows.
#include "test_plugin.hpp"

namespace {

class GoodB : public exportsync::Plugin {
 public:
  static exportsync::PluginInfo info() {
    return {"good-b", "2.1.0", "Second test plugin that works"};
  }
  void declare(exportsync::Schema& schema) override {
    exportsync::testplugins::declareRows(schema);
  }
  void collect(exportsync::CollectContext& ctx) override {
    exportsync::testplugins::writeRows(ctx, 3, "good-b");
  }
};

}  // namespace

ES_PLUGIN(GoodB)
