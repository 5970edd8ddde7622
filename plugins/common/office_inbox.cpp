// office_inbox.hpp: settings, inbox loop and row writing of the office-sheet plugins.
#include "office_inbox.hpp"

#include <cstdint>
#include <string>
#include <utility>

#include "exportsync/files/table.hpp"

namespace exportsync::office_sheet {

InboxSettings readInboxSettings(const Config& config, std::string_view plugin) {
  const std::string prefix = "config key 'plugin." + std::string(plugin) + ".";
  InboxSettings settings;
  settings.inbox.folder = config.getString("inbox");
  settings.inbox.config_key = "plugin." + std::string(plugin) + ".inbox";
  if (settings.inbox.folder[0] != '/') {
    throw ConfigError(prefix + "inbox': '" + settings.inbox.folder +
                      "' is not an absolute path; give the inbox folder from /");
  }
  settings.inbox.table = files::tableOptionsFromConfig(config);
  settings.inbox.min_age_seconds = static_cast<uint32_t>(config.getInt("min_age_s", 0, 0, 86'400));
  auto mark = parseDecimalMark(config.getString("decimal_mark", "auto"));
  if (!mark) {
    throw ConfigError(prefix + "decimal_mark': " + mark.status().message());
  }
  settings.mark = *mark;
  return settings;
}

void importInbox(CollectContext& ctx, const InboxSettings& settings, const FieldSpec* specs,
                 size_t count, const CoreFields& fields, const FileImporter& import) {
  const Date run_date = today();
  const std::string region = ctx.region();
  auto stats = files::processInbox(ctx, settings.inbox, [&](files::InboxFile& file) -> Status {
    auto cols = FieldMap::resolve(file.header(), specs, count);
    if (!cols) {
      return cols.status();
    }
    if (auto st = checkColumns(*cols, fields); !st) {
      return st;
    }
    if (!cols->ignored().empty()) {
      std::string names;
      for (const auto& n : cols->ignored()) {
        names += (names.empty() ? "'" : ", '") + n + "'";
      }
      ctx.log().info("'" + file.name() + "': columns not read: " + names);
    }
    auto format = files::formatForPath(file.name());
    const CellReader reader{format && *format == files::TableFormat::Xlsx, settings.mark};
    import(file, *cols, reader, region, run_date);
    return Status::ok();
  });
  if (!stats) {
    throw Error(stats.status().message(), stats.status().code());
  }
  ctx.log().info("inbox: " + std::to_string(stats->files) + " files, " +
                 std::to_string(stats->rows_accepted) + " lines imported, " +
                 std::to_string(stats->rows_rejected) + " rejected");
}

void writeRow(files::InboxFile& file, const files::Record& record, const char* dataset,
              const Row& row) {
  if (auto st = file.upsert(record, dataset, row); !st && st.code() != Code::Invalid) {
    throw Error(st.message(), st.code());  // the store failed: roll the run back
  }
}

Row rowOrThrow(Result<Row> row, std::string_view plugin) {
  if (!row) {  // every field was validated line by line: a bug
    throw Error(std::string(plugin) + ": " + row.status().message());
  }
  return std::move(row).value();
}

}  // namespace exportsync::office_sheet
