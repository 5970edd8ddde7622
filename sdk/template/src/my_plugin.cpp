// my-plugin: exporters and their export flows, from the spreadsheets an office drops in an inbox
// folder. A template: copy this folder, rename the plugin (info() below, CMakeLists.txt), and
// change the column names and the mapping to your files. See README.md and the plugin guide.
//
// Input: CSV (`;` or `,`, UTF-8 or Windows-1252) or XLSX files with one line per export flow:
//
//   ICE;Raison sociale;Forme juridique;Ville;Secteur;Code SH;Pays;Mois;Valeur (MAD)
//   001525148000067;Atlas Tapis;SARL;Marrakech;Artisanat;5701.10;FR;03/2024;125 000,00
//
// Output: the core datasets `exporters` (one row per ICE) and `export_flows` (one row per
// exporter, HS code, country and month). A line with a bad value is rejected, with the column and
// the reason, into <inbox>/rejected/<file>.errors.csv; the file then moves to <inbox>/done/.
//
// Config (agent.properties):
//   plugin.my-plugin.inbox     = /var/lib/exportsync/inbox/my-plugin   (required, absolute)
//   plugin.my-plugin.encoding  = windows-1252   (optional: utf-8 by default)
//   plugin.my-plugin.separator = ;              (optional: detected by default)
#include <optional>
#include <string>
#include <utility>

#include "exportsync/core_datasets.hpp"
#include "exportsync/files/inbox.hpp"
#include "exportsync/plugin.hpp"
#include "exportsync/validate.hpp"

namespace {

namespace core = exportsync::core;
namespace files = exportsync::files;
namespace validate = exportsync::validate;

// Column names in the office's files (matched ignoring case and surrounding spaces).
constexpr const char* kIce = "ICE";
constexpr const char* kName = "Raison sociale";
constexpr const char* kLegalForm = "Forme juridique";
constexpr const char* kCity = "Ville";  // optional
constexpr const char* kSector = "Secteur";
constexpr const char* kHsCode = "Code SH";
constexpr const char* kCountry = "Pays";
constexpr const char* kMonth = "Mois";
constexpr const char* kValue = "Valeur (MAD)";

class MyPlugin : public exportsync::Plugin {
 public:
  static exportsync::PluginInfo info() {
    return {"my-plugin", "1.0.0", "Exporters and export flows from office spreadsheets"};
  }

  void declare(exportsync::Schema& schema) override { core::declareCoreDatasets(schema); }

  void configure(const exportsync::Config& config) override {
    inbox_.folder = config.getString("inbox");  // throws ConfigError naming the key if missing
    inbox_.config_key = "plugin." + config.pluginName() + ".inbox";
    inbox_.table = files::tableOptionsFromConfig(config);
  }

  void collect(exportsync::CollectContext& ctx) override {
    const std::string region = ctx.region();  // exporters of this office's region
    auto stats = files::processInbox(ctx, inbox_, [&](files::InboxFile& file) {
      auto cols = files::Columns::resolve(
          file.header(), {kIce, kName, kLegalForm, kSector, kHsCode, kCountry, kMonth, kValue},
          {kCity});
      if (!cols) {
        return cols.status();  // a missing column: the whole file goes to rejected/
      }
      for (const files::Record& rec : file.records()) {
        ctx.throwIfCancelled();
        readLine(file, rec, *cols, region);
      }
      return exportsync::Status::ok();
    });
    if (!stats) {  // rows of earlier files may be written: fail the run so it rolls back
      throw exportsync::Error(stats.status().message(), stats.status().code());
    }
    ctx.log().info("inbox: " + std::to_string(stats->files) + " files, " +
                   std::to_string(stats->rows_accepted) + " lines accepted, " +
                   std::to_string(stats->rows_rejected) + " rejected");
  }

 private:
  // One line → one exporters row and one export_flows row, or a rejection naming the column.
  static void readLine(files::InboxFile& file, const files::Record& rec, const files::Columns& cols,
                       const std::string& region) {
    // The value of `result`, or nullopt after rejecting the line for `column`.
    const auto take = [&](auto result, const char* column) {
      if (!result) {
        file.reject(rec, column, cols.get(rec, column), result.status().message());
        return std::optional<std::decay_t<decltype(*result)>>();
      }
      return std::optional<std::decay_t<decltype(*result)>>(std::move(*result));
    };
    auto id = take(core::exporterId(core::IdKind::Ice, cols.get(rec, kIce)), kIce);
    if (!id) {
      return;
    }
    // Every field is checked, so the office sees all the problems of a line at once.
    auto name = take(validate::text(cols.get(rec, kName), core::kMaxNameChars), kName);
    auto legal_form = take(core::parseLegalForm(cols.get(rec, kLegalForm)), kLegalForm);
    auto sector = take(core::parseSector(cols.get(rec, kSector)), kSector);
    auto hs_code = take(validate::hsCode(cols.get(rec, kHsCode)), kHsCode);
    auto country = take(validate::destination(cols.get(rec, kCountry)), kCountry);
    auto period = take(validate::period(cols.get(rec, kMonth)), kMonth);
    auto value = take(validate::nonNegativeAmount(cols.get(rec, kValue)), kValue);
    if (!name || !legal_form || !sector || !hs_code || !country || !period || !value) {
      return;
    }

    core::ExporterRow exporter;
    exporter.exporter_id = *id;
    exporter.name = *name;
    exporter.legal_form = *legal_form;
    exporter.region = region;
    if (const std::string& city = cols.get(rec, kCity); !city.empty()) {
      exporter.city = city;
    }
    exporter.sector = *sector;

    core::ExportFlowRow flow;
    flow.exporter_id = *id;
    flow.hs_code = *hs_code;
    flow.destination = *country;
    flow.period = *period;
    flow.value_mad = *value;

    // toRow() checks the rows as a whole (and the city); its message names the dataset column.
    auto exporter_row = exporter.toRow();
    auto flow_row = flow.toRow();
    for (const auto* row : {&exporter_row, &flow_row}) {
      if (!*row) {
        file.reject(rec, "", "", row->status().message());
        return;
      }
    }
    // A row the agent refuses is rejected for us, with the agent's reason.
    if (file.upsert(rec, core::kExporters, *exporter_row).isOk()) {
      (void)file.upsert(rec, core::kExportFlows, *flow_row);
    }
  }

  files::InboxOptions inbox_;
};

}  // namespace

ES_PLUGIN(MyPlugin)
