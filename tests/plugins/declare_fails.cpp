// "declare-fails": its declare() throws, so the agent refuses it at scan time.
#include "test_plugin.hpp"

namespace {

class DeclareFails : public exportsync::Plugin {
 public:
  static exportsync::PluginInfo info() {
    return {"declare-fails", "1.0.0", "Test plugin whose declare throws"};
  }
  void declare(exportsync::Schema& /*schema*/) override {
    throw exportsync::Error("declare-fails: cannot build the schema", exportsync::Code::Schema);
  }
  void collect(exportsync::CollectContext& /*ctx*/) override {}
};

}  // namespace

ES_PLUGIN(DeclareFails)
