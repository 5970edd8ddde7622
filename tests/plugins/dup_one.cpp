// "dup" (one of two): two different files declare the same plugin name; the agent loads the
// first (in file-name order) and refuses the second.
#include "test_plugin.hpp"

namespace {

class Dup : public exportsync::Plugin {
 public:
  static exportsync::PluginInfo info() { return {"dup", "0.1", "Duplicate name, file one"}; }
  void declare(exportsync::Schema& schema) override {
    exportsync::testplugins::declareRows(schema);
  }
  void collect(exportsync::CollectContext& ctx) override {
    exportsync::testplugins::writeRows(ctx, 1, "dup-one");
  }
};

}  // namespace

ES_PLUGIN(Dup)
