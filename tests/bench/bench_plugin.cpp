// The ingest benchmark plugin: upserts `rows` shipments (tests/bench/shipments.hpp) into one
// dataset in one collect run, through the SDK Sink, as a plugin author would.
//
// Config (agent.properties, keys plugin.<name>.*):
//   rows    how many shipments to write per run (default 100000, 0..100000000)
//
// ES_BENCH_PLUGIN_NAME sets the plugin name, so the same source builds several plugins (the
// idle-memory benchmark runs three).
#include <string>

#include "exportsync/plugin.hpp"
#include "shipments.hpp"

#ifndef ES_BENCH_PLUGIN_NAME
#define ES_BENCH_PLUGIN_NAME "bench"
#endif

namespace {

class BenchPlugin : public exportsync::Plugin {
 public:
  static exportsync::PluginInfo info() {
    return {ES_BENCH_PLUGIN_NAME, "1.0.0", "Ingest benchmark: synthetic shipments"};
  }

  void declare(exportsync::Schema& schema) override { exportsync::bench::declareShipments(schema); }

  void configure(const exportsync::Config& config) override {
    rows_ = config.getInt("rows", 100'000, 0, 100'000'000);
  }

  void collect(exportsync::CollectContext& ctx) override {
    exportsync::Row row;
    for (int64_t i = 0; i < rows_; ++i) {
      if ((i & 1023) == 0) {
        ctx.throwIfCancelled();
      }
      exportsync::bench::fillShipment(i, row);
      if (auto st = ctx.sink().upsert(exportsync::bench::kDataset, row); !st) {
        throw exportsync::Error(st.message());  // our own rows must fit: a bug, fail the run
      }
    }
    ctx.log().info("wrote " + std::to_string(rows_) + " shipments");
  }

 private:
  int64_t rows_ = 100'000;
};

}  // namespace

ES_PLUGIN(BenchPlugin)
