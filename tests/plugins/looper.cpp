// "looper": writes 3 rows, logs "looper: looping", then spins forever. It ignores the
// agent's cancellation unless plugin.looper.cooperative = true, in which case it polls
// ctx.cancelled() and gives up as a well-behaved plugin should.
#include "test_plugin.hpp"

namespace {

class Looper : public exportsync::Plugin {
 public:
  static exportsync::PluginInfo info() {
    return {"looper", "1.0.0", "Test plugin that never returns from collect"};
  }
  void declare(exportsync::Schema& schema) override {
    exportsync::testplugins::declareRows(schema);
  }
  void configure(const exportsync::Config& config) override {
    cooperative_ = config.getBool("cooperative", false);
  }
  void collect(exportsync::CollectContext& ctx) override {
    exportsync::testplugins::writeRows(ctx, 3, "looper");
    ctx.log().notice("looper: looping");
    volatile uint64_t spins = 0;
    for (;;) {
      spins = spins + 1;
      if (cooperative_ && spins % 4096 == 0) {
        ctx.throwIfCancelled();
      }
    }
  }

 private:
  bool cooperative_ = false;
};

}  // namespace

ES_PLUGIN(Looper)
