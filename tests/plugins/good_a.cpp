// "good-a": a well-behaved plugin. Writes plugin.good-a.rows rows (default 5) to `rows`.
#include "test_plugin.hpp"

namespace {

class GoodA : public exportsync::Plugin {
 public:
  static exportsync::PluginInfo info() { return {"good-a", "1.0.0", "Test plugin that works"}; }
  void declare(exportsync::Schema& schema) override {
    exportsync::testplugins::declareRows(schema);
  }
  void configure(const exportsync::Config& config) override {
    rows_ = config.getInt("rows", 5, 0, 1'000'000);
  }
  void collect(exportsync::CollectContext& ctx) override {
    exportsync::testplugins::writeRows(ctx, rows_, "good-a");
  }

 private:
  int64_t rows_ = 5;
};

}  // namespace

ES_PLUGIN(GoodA)
