// "hog": writes 1 row, then allocates (and touches) memory without bound until the worker's
// memory limit stops it. Gives up at 1 GiB so a missing limit fails the test instead of
// exhausting the machine.
#include <cstring>
#include <memory>
#include <vector>

#include "test_plugin.hpp"

namespace {

class Hog : public exportsync::Plugin {
 public:
  static exportsync::PluginInfo info() {
    return {"hog", "1.0.0", "Test plugin that allocates without bound"};
  }
  void declare(exportsync::Schema& schema) override {
    exportsync::testplugins::declareRows(schema);
  }
  void collect(exportsync::CollectContext& ctx) override {
    exportsync::testplugins::writeRows(ctx, 1, "hog");
    constexpr size_t kChunk = size_t{16} << 20;
    constexpr size_t kGiveUp = size_t{1} << 30;
    std::vector<std::unique_ptr<char[]>> chunks;
    for (size_t total = 0; total < kGiveUp; total += kChunk) {
      chunks.emplace_back(new char[kChunk]);
      std::memset(chunks.back().get(), 0x5a, kChunk);
    }
    throw exportsync::Error("hog: allocated 1 GiB without hitting a memory limit");
  }
};

}  // namespace

ES_PLUGIN(Hog)
