// The indicators of docs/indicators.md computed by SQL over the union of every plugin's core
// tables (<plugin>__exporters, <plugin>__export_flows) in the SQLite central store.
//
// THREAD: one call per connection at a time (it creates and drops temporary tables on `db`).
#pragma once

#include <string>
#include <vector>

#include "exportsync/central/central_store.hpp"
#include "exportsync/sqlite.hpp"

namespace exportsync::central {

/// The columns of a core dataset ("exporters" or "export_flows") as docs/datasets.md declares
/// them; nullptr for another name. OWNERSHIP: static storage.
const std::vector<Column>* coreColumns(const std::string& dataset);

/// True when `d` has every column of `core` with the same type (extra columns are allowed).
bool hasCoreColumns(const DatasetInfo& d, const std::vector<Column>& core);

/// Computes the indicators in one read transaction on `db`.
Result<Indicators> computeIndicators(sql::Db& db, const std::vector<DatasetInfo>& datasets,
                                     const IndicatorQuery& query);

}  // namespace exportsync::central
