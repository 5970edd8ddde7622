// "crasher": writes 3 rows, then dies of SIGSEGV (a crash after writes, before the commit).
// Under AddressSanitizer the sanitizer's SEGV handler reports it and exits instead.
#include <csignal>

#include "test_plugin.hpp"

namespace {

class Crasher : public exportsync::Plugin {
 public:
  static exportsync::PluginInfo info() {
    return {"crasher", "1.0.0", "Test plugin that segfaults after writing rows"};
  }
  void declare(exportsync::Schema& schema) override {
    exportsync::testplugins::declareRows(schema);
  }
  void collect(exportsync::CollectContext& ctx) override {
    exportsync::testplugins::writeRows(ctx, 3, "crasher");
    std::raise(SIGSEGV);
  }
};

}  // namespace

ES_PLUGIN(Crasher)
