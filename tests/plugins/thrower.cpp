// "thrower": writes 3 rows, then throws from collect() — unless plugin.thrower.fail = false,
// in which case the run succeeds (the quarantine test fixes it through its config).
#include "test_plugin.hpp"

namespace {

class Thrower : public exportsync::Plugin {
 public:
  static exportsync::PluginInfo info() {
    return {"thrower", "1.0.0", "Test plugin whose collect throws"};
  }
  void declare(exportsync::Schema& schema) override {
    exportsync::testplugins::declareRows(schema);
  }
  void configure(const exportsync::Config& config) override {
    fail_ = config.getBool("fail", true);
  }
  void collect(exportsync::CollectContext& ctx) override {
    exportsync::testplugins::writeRows(ctx, 3, "thrower");
    if (fail_) {
      throw std::runtime_error("thrower: deliberate failure after 3 rows");
    }
  }

 private:
  bool fail_ = true;
};

}  // namespace

ES_PLUGIN(Thrower)
