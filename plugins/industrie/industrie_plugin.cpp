// industrie: industrial exporters by sector (automotive, aeronautics, textile, agri-food,
// pharmaceuticals, electronics, chemicals, fisheries …) from the office's spreadsheets.
//
// Reads every CSV/XLSX file dropped in its inbox (ExportSync::files), one line per firm × HS
// code × destination × month (or per declaration line: lines of one key are summed), and feeds
// the core datasets `exporters` and `export_flows` (docs/datasets.md). Headers, sectors and
// rules: plugins/industrie/README.md. Bad lines are rejected with their line, column and reason
// into the run report and <inbox>/rejected/<file>.errors.csv; a file without the required
// columns is refused whole.
#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "exportsync/core_datasets.hpp"
#include "exportsync/files/inbox.hpp"
#include "exportsync/plugin.hpp"
#include "industrie_table.hpp"

namespace {

namespace core = exportsync::core;
namespace files = exportsync::files;
namespace industrie = exportsync::industrie;
using exportsync::Code;
using exportsync::Status;

// The plugin's own settings, and those the agent reads in the same namespace.
constexpr std::array<std::string_view, 11> kKnownKeys = {
    "inbox",     "encoding",   "separator", "sheet",           "header_line", "decimal_mark",
    "min_age_s", "interval_s", "timeout_s", "memory_limit_mb", "cpu_limit_s"};

class IndustriePlugin : public exportsync::Plugin {
 public:
  static exportsync::PluginInfo info() {
    return {"industrie", "1.0.0",
            "Industrial exporters by sector: office CSV/XLSX files into exporters and "
            "export_flows"};
  }

  void declare(exportsync::Schema& schema) override { core::declareCoreDatasets(schema); }

  void configure(const exportsync::Config& config) override {
    for (const auto& key : config.keys()) {
      if (std::find(kKnownKeys.begin(), kKnownKeys.end(), key) == kKnownKeys.end()) {
        throw exportsync::ConfigError(
            "config key 'plugin.industrie." + key +
            "' is not a setting of industrie; the settings are inbox, encoding, separator, "
            "sheet, header_line, decimal_mark and min_age_s (plugins/industrie/README.md)");
      }
    }
    inbox_.folder = config.getString("inbox");
    inbox_.config_key = "plugin.industrie.inbox";
    inbox_.table = files::tableOptionsFromConfig(config);
    inbox_.min_age_seconds = static_cast<uint32_t>(config.getInt("min_age_s", 0, 0, 86400));
    const std::string mark = config.getString("decimal_mark", "auto");
    if (mark == "auto") {
      options_.decimal_mark = exportsync::validate::DecimalMark::Auto;
    } else if (mark == "comma" || mark == ",") {
      options_.decimal_mark = exportsync::validate::DecimalMark::Comma;
    } else if (mark == "point" || mark == ".") {
      options_.decimal_mark = exportsync::validate::DecimalMark::Point;
    } else {
      throw exportsync::ConfigError("config key 'plugin.industrie.decimal_mark': '" + mark +
                                    "' is not a decimal mark; write auto, comma or point");
    }
  }

  void collect(exportsync::CollectContext& ctx) override {
    options_.office_region = ctx.region();
    uint64_t flows = 0;
    uint64_t exporters = 0;
    auto stats = files::processInbox(ctx, inbox_, [&](files::InboxFile& file) {
      const auto& records = file.records();
      industrie::Batch batch;
      Status read = industrie::readRecords(
          file.header(), records, options_, batch,
          [&](size_t i, industrie::Problem&& p) {
            file.reject(records[i], std::move(p.column), std::move(p.value), std::move(p.reason));
          },
          [&ctx] { ctx.throwIfCancelled(); });
      if (!read) {
        return read;  // the whole file goes to rejected/ with this reason
      }
      for (const auto& e : batch.exporters()) {
        write(file, records[e.record], core::kExporters, e.row.toRow());
      }
      for (const industrie::Batch::Flow* f : batch.flowsInKeyOrder()) {
        write(file, records[f->first_record], core::kExportFlows, industrie::Batch::flowRow(*f));
      }
      exporters += batch.exporters().size();
      flows += batch.flows().size();
      return Status::ok();
    });
    if (!stats) {  // rows of earlier files may be written: fail the run so it rolls back
      throw exportsync::Error(stats.status().message(), stats.status().code());
    }
    if (stats->files > 0 || stats->files_skipped > 0) {
      ctx.log().info("industrie: " + std::to_string(stats->files_done) + " file(s) imported, " +
                     std::to_string(stats->files_rejected) + " refused, " +
                     std::to_string(stats->files_skipped) + " already imported; " +
                     std::to_string(exporters) + " exporters and " + std::to_string(flows) +
                     " export flows written, " + std::to_string(stats->rows_rejected) +
                     " lines rejected");
    }
  }

 private:
  // Writes a row built by a core builder; a row the builder or the agent refuses is rejected
  // (its line named), any other failure (the store) fails the run.
  static void write(files::InboxFile& file, const files::Record& record, const char* dataset,
                    const exportsync::Result<exportsync::Row>& row) {
    if (!row) {
      file.reject(record, "", "", row.status().message());
      return;
    }
    const Status st = file.upsert(record, dataset, *row);
    if (!st && st.code() != Code::Invalid) {
      throw exportsync::Error(st.message(), st.code());
    }
  }

  files::InboxOptions inbox_;
  industrie::ParseOptions options_;
};

}  // namespace

ES_PLUGIN(IndustriePlugin)
