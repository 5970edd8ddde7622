// Shared by the deliberately broken (and the good) test plugins: one dataset `rows` and a
// helper that writes a few rows, so a test can check that a failed run left none behind.
//
// THREAD: as any plugin (one call at a time).
#pragma once

#include <cstdint>
#include <string>

#include "exportsync/plugin.hpp"

namespace exportsync::testplugins {

/// Declares `rows(id INTEGER key, note TEXT, region TEXT)`.
inline void declareRows(Schema& schema) {
  schema.dataset("rows", 1)
      .key("id", ColumnType::Integer)
      .column("note", ColumnType::Text)
      .column("region", ColumnType::Text);
}

/// Upserts rows 0 .. count-1 and records the number of runs in the plugin state; throws on a
/// refused row (our own rows must fit).
inline void writeRows(CollectContext& ctx, int64_t count, const std::string& note) {
  for (int64_t i = 0; i < count; ++i) {
    const Row row{{"id", static_cast<long long>(i)}, {"note", note}, {"region", ctx.region()}};
    if (auto st = ctx.sink().upsert("rows", row); !st) {
      throw Error(st.message());
    }
  }
  const int64_t runs = std::stoll(ctx.state().get("runs").value_or("0")) + 1;
  if (auto st = ctx.state().put("runs", std::to_string(runs)); !st) {
    throw Error(st.message());
  }
}

}  // namespace exportsync::testplugins
