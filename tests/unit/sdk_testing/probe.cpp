// "probe": a plugin for the harness tests that does what its config says, so every host service
// can be observed. Dataset `items(id INTEGER key, label TEXT, weight REAL nullable)`.
// Config (all optional):
//   rows    items 0 .. rows-1 to write (default 3), stopping at once when cancelled
//   remove  an id to remove after writing
//   bad     "type": also upserts a text id (refused by the host), rejected with its reason
//   fail    "true": throw at the end of collect (after every write and rename request)
//   move    an absolute file path to rename to <path>.done after the commit
// It logs one line per run and counts its runs in the state key `runs`.
#include <string>

#include "exportsync/plugin.hpp"

namespace {

using exportsync::ColumnType;
using exportsync::Row;

class Probe : public exportsync::Plugin {
 public:
  static exportsync::PluginInfo info() { return {"probe", "2.3.4", "Harness test plugin"}; }

  void declare(exportsync::Schema& schema) override {
    schema.dataset("items", 2)
        .key("id", ColumnType::Integer)
        .column("label", ColumnType::Text)
        .nullable("weight", ColumnType::Real);
  }

  void configure(const exportsync::Config& config) override {
    rows_ = config.getInt("rows", 3, 0, 1000);
    remove_ = config.getInt("remove", -1, -1, 1000);
    bad_ = config.getString("bad", "");
    fail_ = config.getBool("fail", false);
    move_ = config.getString("move", "");
  }

  void collect(exportsync::CollectContext& ctx) override {
    for (int64_t i = 0; i < rows_; ++i) {
      ctx.throwIfCancelled();
      // An integer in the real column: the host stores it as a real.
      const Row row{{"id", static_cast<long long>(i)},
                    {"label", "item " + std::to_string(i)},
                    {"weight", static_cast<long long>(i * 2)}};
      if (auto st = ctx.sink().upsert("items", row); !st) {
        throw exportsync::Error(st.message());
      }
    }
    if (remove_ >= 0) {
      if (auto st = ctx.sink().remove("items", Row{{"id", static_cast<long long>(remove_)}}); !st) {
        throw exportsync::Error(st.message());
      }
    }
    if (bad_ == "type") {
      if (auto st = ctx.sink().upsert("items", Row{{"id", "seven"}, {"label", "bad"}}); !st) {
        ctx.sink().reject({"probe-input", 7, "id", "seven", st.message()});
      }
    }
    if (!move_.empty()) {
      if (auto st = ctx.renameAfterCommit(move_, move_ + ".done"); !st) {
        throw exportsync::Error(st.message());
      }
    }
    const int64_t runs = std::stoll(ctx.state().get("runs").value_or("0")) + 1;
    if (auto st = ctx.state().put("runs", std::to_string(runs)); !st) {
      throw exportsync::Error(st.message());
    }
    ctx.log().notice("probe run " + std::to_string(runs) + " in " + ctx.region());
    if (fail_) {
      throw exportsync::Error("probe: failing as configured", exportsync::Code::Io);
    }
  }

 private:
  int64_t rows_ = 3;
  int64_t remove_ = -1;
  std::string bad_;
  bool fail_ = false;
  std::string move_;
};

}  // namespace

ES_PLUGIN(Probe)
