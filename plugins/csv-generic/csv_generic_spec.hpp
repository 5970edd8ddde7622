// csv-generic's configuration: which inbox, which dataset with which typed columns taken from
// which source columns, how files are read, and whether (and how) rows also feed the core
// datasets. Every key is `plugin.csv-generic.<key>`; docs/plugins/csv-generic.md describes
// them with a worked example.
//
// THREAD: values; loadSpec() runs on the calling plugin call's thread.
// OWNERSHIP: a Spec is a value owned by the caller.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "exportsync/core_datasets.hpp"
#include "exportsync/files/inbox.hpp"
#include "exportsync/plugin.hpp"
#include "exportsync/validate.hpp"

namespace exportsync::csv_generic {

/// Full name of a setting, as messages show it: "plugin.csv-generic.<key>".
std::string fullKey(const std::string& key);

/// One column of the configured dataset.
struct ColumnSpec {
  std::string name;  ///< dataset column, [a-z][a-z0-9_]{0,62}
  ColumnType type = ColumnType::Text;
  bool key = false;
  bool nullable = false;   ///< declared with '?': an empty cell is null
  std::string from;        ///< the source header (column.<name>.from; default: the name)
  size_t max_chars = 200;  ///< text columns (column.<name>.max_chars)
};

/// Where a core dataset column comes from: a source header (map.<column>) or a constant
/// (const.<column>), already checked.
struct CoreSource {
  std::string from;      ///< source header, or empty
  std::string constant;  ///< constant value, or empty
  std::string setting;   ///< the key that set it, for messages ("plugin.csv-generic.map.hs_code")
};

struct Spec {
  /// A dataset of its own (dataset + columns), under plugin.csv-generic.dataset.
  bool own = false;
  std::string dataset;
  uint32_t version = 1;
  std::vector<ColumnSpec> columns;

  /// Which core datasets rows also feed (plugin.csv-generic.core).
  bool exporters = false;
  bool flows = false;
  core::IdKind id_kind = core::IdKind::Ice;
  std::map<std::string, CoreSource> core;  ///< by core column name

  validate::DecimalMark decimal_mark = validate::DecimalMark::Auto;
  files::InboxOptions inbox;
};

/// True when neither `dataset`, `columns` nor `core` is set: csv-generic is installed but not
/// set up (it then declares the core datasets only, and configure() says what to set).
bool isUnconfigured(const Config& config);

/// Reads and checks every setting. Throws ConfigError naming the full key and what to write.
Spec loadSpec(const Config& config);

/// Declares what `spec` describes: always the core datasets (so that switching `core` on later
/// changes no schema), and the own dataset when there is one.
void declareSpec(const Spec& spec, Schema& schema);

/// Reads `text` (a cell, or a const.<column> value) into core column `column` of `exporter` or
/// `flow` (exporter_id into both) as the row builders take it. Blank text leaves an optional
/// column unset, and gives `office_region` for region.
/// Returns the reason when the text is refused (without the column: the caller names it).
Status applyCoreValue(std::string_view column, std::string_view text, const Spec& spec,
                      const std::string& office_region, core::ExporterRow& exporter,
                      core::ExportFlowRow& flow);

/// Parses a yes/no cell: oui/non, vrai/faux, true/false, yes/no, 1/0 (any case).
Result<bool> parseBoolean(std::string_view text);

}  // namespace exportsync::csv_generic
