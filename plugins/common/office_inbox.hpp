// The inbox side of a plugin that reads office spreadsheets (artisanat, cooperatives): its
// settings, the loop over the inbox's files that resolves and checks their columns before the
// plugin imports them, and writing rows. The plugin keeps its datasets, fields and rules.
//
// THREAD: the calling plugin's thread (configure, collect); no shared state.
// OWNERSHIP: everything returned is a value owned by the caller.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "exportsync/files/inbox.hpp"
#include "exportsync/plugin.hpp"
#include "exportsync/status.hpp"
#include "exportsync/validate.hpp"
#include "office_sheet.hpp"

namespace exportsync::office_sheet {

/// The settings of an office-sheet plugin (its README, "Configuration").
struct InboxSettings {
  files::InboxOptions inbox;
  validate::DecimalMark mark = validate::DecimalMark::Auto;
};

/// Reads the keys `inbox` (required, absolute), the table options (files::tableOptionsFromConfig),
/// `min_age_s` and `decimal_mark` of plugin `plugin` ("artisanat").
/// Throws: ConfigError naming the key `plugin.<plugin>.<key>` and what to write (as Config's
/// getters do), so call it from Plugin::configure().
InboxSettings readInboxSettings(const Config& config, std::string_view plugin);

/// Imports one file whose columns are resolved and checked: `cols` against the plugin's
/// FieldSpec table, `reader` set for the file's format and the decimal mark, `office_region` the
/// agent's region, `today` the run's date. Throws Error to fail the run.
using FileImporter =
    std::function<void(files::InboxFile& file, const FieldMap& cols, CellReader reader,
                       const std::string& office_region, Date today)>;

/// Runs files::processInbox() over the inbox: for each file, resolves its columns against
/// `specs` (`count` of them), refuses the whole file when two columns match one field or when
/// checkColumns() fails, logs the columns it will not read, then calls `import`. Logs the counts.
/// Throws: Error with the inbox's code when processInbox() fails (the run rolls back).
void importInbox(CollectContext& ctx, const InboxSettings& settings, const FieldSpec* specs,
                 size_t count, const CoreFields& fields, const FileImporter& import);

/// Writes `row` into `dataset` for `record`. A row the agent refuses rejects the line (the inbox
/// reports it); any other failure is the store's. Throws: Error, so the run rolls back.
void writeRow(files::InboxFile& file, const files::Record& record, const char* dataset,
              const Row& row);

/// The row, or throws Error("<plugin>: …"): the rows are built from validated fields, so a
/// refusal here is a bug.
Row rowOrThrow(Result<Row> row, std::string_view plugin);

}  // namespace exportsync::office_sheet
