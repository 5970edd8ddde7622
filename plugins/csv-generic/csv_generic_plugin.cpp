// csv-generic: spreadsheets no plugin knows, described entirely in the agent config
// (plugin.csv-generic.*): which inbox, which dataset with which typed columns from which source
// columns, how files are read, and optionally how rows feed the core datasets exporters and
// export_flows. Settings and a worked example: docs/plugins/csv-generic.md.
//
// Each file of the inbox (ExportSync::files) is read whole; a line with a bad cell is rejected
// (line, source column, reason) and nothing of it is written; a file lacking a configured
// source column is refused whole.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "csv_generic_spec.hpp"
#include "exportsync/core_datasets.hpp"
#include "exportsync/files/inbox.hpp"
#include "exportsync/plugin.hpp"
#include "exportsync/validate.hpp"

namespace {

namespace cg = exportsync::csv_generic;
namespace core = exportsync::core;
namespace files = exportsync::files;
namespace v = exportsync::validate;
using exportsync::Code;
using exportsync::ColumnType;
using exportsync::Result;
using exportsync::Row;
using exportsync::Status;
using exportsync::Value;

// A typed cell of the own dataset. Empty cells are handled by the caller.
Result<Value> parseCell(const cg::ColumnSpec& column, std::string_view text, v::DecimalMark mark) {
  switch (column.type) {
    case ColumnType::Text: {
      auto t = v::text(text, column.max_chars);
      return t ? Result<Value>(Value(std::move(*t))) : Result<Value>(t.status());
    }
    case ColumnType::Integer: {
      auto n = v::integer(text, INT64_MIN, INT64_MAX);
      return n ? Result<Value>(Value(static_cast<long long>(*n))) : Result<Value>(n.status());
    }
    case ColumnType::Real: {
      auto q = v::quantity(text, mark);
      return q ? Result<Value>(Value(*q)) : Result<Value>(q.status());
    }
    case ColumnType::Boolean: {
      auto b = cg::parseBoolean(text);
      return b ? Result<Value>(Value(*b)) : Result<Value>(b.status());
    }
    case ColumnType::Date: {
      auto d = v::date(text);
      return d ? Result<Value>(Value(*d)) : Result<Value>(d.status());
    }
    case ColumnType::Money: {
      auto m = v::amount(text, mark);
      return m ? Result<Value>(Value(*m)) : Result<Value>(m.status());
    }
    case ColumnType::Timestamp: break;
  }
  return Status::internal("csv-generic: column '" + column.name + "' has an unsupported type");
}

// The key of a parsed value, for spotting two lines with the same key in one file.
std::string keyPart(const Value& value) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return x;
        } else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, bool> ||
                             std::is_same_v<T, double>) {
          return std::to_string(x);
        } else if constexpr (std::is_same_v<T, exportsync::Date>) {
          return x.toIso();
        } else if constexpr (std::is_same_v<T, exportsync::Money>) {
          return x.toString();
        } else {
          return "";
        }
      },
      value.storage());
}

struct Counts {
  uint64_t rows = 0;
  uint64_t exporters = 0;
  uint64_t flows = 0;
};

// One file handed over by the inbox.
class FileImport {
 public:
  FileImport(const cg::Spec& spec, const std::string& region, files::InboxFile& file,
             exportsync::CollectContext& ctx, Counts& counts)
      : spec_(spec), region_(region), file_(file), ctx_(ctx), counts_(counts) {}

  Status run() {
    if (auto st = resolve(); !st) {
      return st;  // the whole file goes to rejected/ with this reason
    }
    const auto& records = file_.records();
    for (size_t i = 0; i < records.size(); ++i) {
      if (i % 4096 == 0) {
        ctx_.throwIfCancelled();
      }
      line(records[i]);
    }
    for (const auto& [row, record] : exporters_) {
      write(*record, core::kExporters, row.toRow());
    }
    for (const auto& f : flows_) {
      write(*f.record, core::kExportFlows, f.row.toRow());
    }
    counts_.exporters += exporters_.size();
    counts_.flows += flows_.size();
    return Status::ok();
  }

 private:
  struct CoreCell {
    std::string column;            // core column
    const cg::CoreSource* source;  // map or const
    int64_t index = -1;            // position in the file when mapped
  };
  struct Flow {
    core::ExportFlowRow row;
    const files::Record* record;
  };
  // A bad cell: the file's column (or the setting of a constant), the text and why.
  struct Problem {
    std::string column;
    std::string value;
    std::string reason;
  };

  // Finds every configured source column in the file's header.
  Status resolve() {
    const files::Header& header = file_.header();
    std::string missing;
    auto need = [&](const std::string& from, const std::string& setting) -> int64_t {
      const auto pos = header.find(from);
      if (!pos) {
        missing += std::string(missing.empty() ? "" : ", ") + "'" + from + "' (" + setting + ")";
        return -1;
      }
      return static_cast<int64_t>(*pos);
    };
    for (const auto& c : spec_.columns) {
      own_index_.push_back(need(c.from, c.from == c.name
                                            ? cg::fullKey("columns")
                                            : cg::fullKey("column." + c.name + ".from")));
    }
    for (const auto& [column, source] : spec_.core) {
      CoreCell cell{column, &source, -1};
      if (!source.from.empty()) {
        cell.index = need(source.from, source.setting);
      }
      core_cells_.push_back(std::move(cell));
    }
    if (missing.empty()) {
      return Status::ok();
    }
    std::string present;
    for (const auto& n : header.names()) {
      present += (present.empty() ? "'" : ", '") + n + "'";
    }
    return Status::invalid("file '" + file_.name() + "' (header on line " +
                           std::to_string(header.line()) + ") has no column " + missing +
                           "; columns present: " + present +
                           ". Rename the file's column or change the setting (case does not "
                           "matter)");
  }

  void line(const files::Record& record) {
    problems_.clear();
    Row own;
    std::string key;          // the parsed key values, for spotting a repeated key
    std::string key_columns;  // as the office sees them: headers and cells
    std::string key_cells;
    for (size_t i = 0; i < spec_.columns.size(); ++i) {
      const cg::ColumnSpec& c = spec_.columns[i];
      const std::string& text = record.at(static_cast<size_t>(own_index_[i]));
      const std::string& header = file_.header().names()[static_cast<size_t>(own_index_[i])];
      if (v::internal::trim(text).empty()) {
        if (!c.nullable) {
          problems_.push_back({header, text, "value is empty; a value is required"});
        }
        own.set(c.name, Value());
        continue;
      }
      auto value = parseCell(c, text, spec_.decimal_mark);
      if (!value) {
        problems_.push_back({header, text, value.status().message()});
        continue;
      }
      if (c.key) {
        key += keyPart(*value) + '\x1F';
        key_columns += (key_columns.empty() ? "" : " + ") + header;
        key_cells += (key_cells.empty() ? "" : " | ") + text;
      }
      own.set(c.name, std::move(*value));
    }

    core::ExporterRow exporter;
    core::ExportFlowRow flow;
    exporter.region = region_;
    for (const auto& cell : core_cells_) {
      const std::string& text =
          cell.index >= 0 ? record.at(static_cast<size_t>(cell.index)) : cell.source->constant;
      if (auto st = cg::applyCoreValue(cell.column, text, spec_, region_, exporter, flow); !st) {
        const std::string& where = cell.index >= 0
                                       ? file_.header().names()[static_cast<size_t>(cell.index)]
                                       : cell.source->setting;
        // A cell feeding both the own dataset and a core one is reported once.
        if (std::none_of(problems_.begin(), problems_.end(),
                         [&where](const Problem& p) { return p.column == where; })) {
          problems_.push_back({where, text, st.message()});
        }
      }
    }
    if (spec_.flows && flow.quantity.has_value() != flow.quantity_unit.has_value()) {
      if (flow.quantity) {
        const auto& unit = spec_.core.at(core::column::kQuantityUnit);
        problems_.push_back({unit.from.empty() ? unit.setting : unit.from, "",
                             "unit is empty; a quantity needs its unit (kg, l, m2, m3, unit, "
                             "pair)"});
      } else {
        flow.quantity_unit.reset();  // a unit without a quantity says nothing
      }
    }
    std::optional<Row> exporter_row;
    if (problems_.empty() && spec_.exporters) {
      auto r = exporter.toRow();
      if (r) {
        exporter_row = std::move(*r);
      } else {
        problems_.push_back({"", "", r.status().message()});
      }
    }
    if (problems_.empty() && spec_.flows) {
      if (auto r = flow.toRow(); !r) {
        problems_.push_back({"", "", r.status().message()});
      }
    }
    if (problems_.empty() && spec_.own) {
      const auto [at, fresh] = keys_.try_emplace(key, record.line);
      if (!fresh) {
        problems_.push_back({key_columns, key_cells,
                             "same key as line " + std::to_string(at->second) +
                                 "; the first line is kept. Make the key columns unique"});
      }
    }
    if (!problems_.empty()) {
      for (auto& p : problems_) {
        file_.reject(record, std::move(p.column), std::move(p.value), std::move(p.reason));
      }
      return;
    }

    if (spec_.own) {
      const Status st = file_.upsert(record, spec_.dataset, own);
      if (!st) {
        failOnStoreError(st);
        return;  // rejected for us, with the agent's reason
      }
      ++counts_.rows;
    }
    if (spec_.exporters) {
      const auto [at, fresh] = exporter_index_.try_emplace(exporter.exporter_id, exporters_.size());
      if (fresh) {
        exporters_.emplace_back(std::move(exporter), &record);
      } else {
        exporters_[at->second] = {std::move(exporter), &record};  // the last line wins
      }
    }
    if (spec_.flows) {
      addFlow(std::move(flow), record);
    }
  }

  // Lines of one export_flows key are summed (a file may list declaration lines).
  void addFlow(core::ExportFlowRow&& flow, const files::Record& record) {
    const std::string key = flow.exporter_id + '\x1F' + flow.hs_code + '\x1F' + flow.destination +
                            '\x1F' + flow.period.toString();
    const auto [at, fresh] = flow_index_.try_emplace(key, flows_.size());
    if (fresh) {
      flows_.push_back({std::move(flow), &record});
      return;
    }
    core::ExportFlowRow& sum = flows_[at->second].row;
    int64_t total = 0;
    if (__builtin_add_overflow(sum.value_mad->centimes(), flow.value_mad->centimes(), &total)) {
      file_.reject(record, "", "",
                   "the total value of this exporter, HS code, destination and month would "
                   "exceed the largest amount with this line; check the amounts");
      return;
    }
    sum.value_mad = exportsync::Money::fromCentimes(total);
    if (sum.quantity && flow.quantity) {
      *sum.quantity += *flow.quantity;
    } else {
      sum.quantity.reset();  // known only when every line of the key gives it
      sum.quantity_unit.reset();
    }
  }

  void write(const files::Record& record, const char* dataset, const Result<Row>& row) {
    if (!row) {
      file_.reject(record, "", "", row.status().message());
      return;
    }
    failOnStoreError(file_.upsert(record, dataset, *row));
  }

  // A row the agent refuses is a rejected line; anything else (the store) fails the run.
  static void failOnStoreError(const Status& st) {
    if (!st && st.code() != Code::Invalid) {
      throw exportsync::Error(st.message(), st.code());
    }
  }

  const cg::Spec& spec_;
  const std::string& region_;
  files::InboxFile& file_;
  exportsync::CollectContext& ctx_;
  Counts& counts_;
  std::vector<int64_t> own_index_;
  std::vector<CoreCell> core_cells_;
  std::vector<Problem> problems_;
  std::unordered_map<std::string, uint64_t> keys_;  // own key → line
  std::vector<std::pair<core::ExporterRow, const files::Record*>> exporters_;
  std::unordered_map<std::string, size_t> exporter_index_;
  std::vector<Flow> flows_;
  std::unordered_map<std::string, size_t> flow_index_;
};

class CsvGeneric : public exportsync::Plugin {
 public:
  static exportsync::PluginInfo info() {
    return {"csv-generic", "1.0.0",
            "Spreadsheets described in the agent config: a dataset of typed columns, "
            "optionally feeding exporters and export_flows"};
  }

  // Called before declare() by the entry point below: the datasets come from the settings.
  void loadSettings(const exportsync::Config& config) {
    if (cg::isUnconfigured(config)) {
      spec_.reset();  // installed but not set up: configure() will say what to set
      return;
    }
    spec_ = cg::loadSpec(config);
  }

  void declare(exportsync::Schema& schema) override {
    if (spec_) {
      cg::declareSpec(*spec_, schema);
    } else {
      core::declareCoreDatasets(schema);
    }
  }

  void configure(const exportsync::Config& config) override { spec_ = cg::loadSpec(config); }

  void collect(exportsync::CollectContext& ctx) override {
    const cg::Spec& spec = *spec_;
    const std::string region = ctx.region();
    Counts counts;
    auto stats = files::processInbox(ctx, spec.inbox, [&](files::InboxFile& file) {
      return FileImport(spec, region, file, ctx, counts).run();
    });
    if (!stats) {  // rows of earlier files may be written: fail the run so it rolls back
      throw exportsync::Error(stats.status().message(), stats.status().code());
    }
    if (stats->files > 0 || stats->files_skipped > 0) {
      ctx.log().info("csv-generic: " + std::to_string(stats->files_done) + " file(s) imported, " +
                     std::to_string(stats->files_rejected) + " refused, " +
                     std::to_string(stats->files_skipped) + " already imported; " +
                     std::to_string(counts.rows) + " rows" +
                     (spec.own ? " into " + spec.dataset : std::string()) + ", " +
                     std::to_string(counts.exporters) + " exporters, " +
                     std::to_string(counts.flows) + " export flows; " +
                     std::to_string(stats->rows_rejected) + " lines rejected");
    }
  }

 private:
  std::optional<cg::Spec> spec_;
};

// ES_PLUGIN's descriptor, with a declare step that first hands the settings to the plugin:
// csv-generic's dataset is whatever its settings describe. The agent answers config_get in every
// phase, describe included (agent/src/plugin_runtime.cpp), and passes each enabled plugin its
// settings when describing (plugin_host.cpp).
es_status declareWithSettings(es_plugin_ptr self, const es_host_api* host, es_host_ptr ctx) {
  auto& inst = *reinterpret_cast<exportsync::detail::Instance<CsvGeneric>*>(self);
  return exportsync::detail::guard(host, ctx, [&] {
    inst.plugin->loadSettings(
        exportsync::Config(exportsync::detail::Call{host, ctx}, CsvGeneric::info().name));
    (void)exportsync::detail::declareInto(inst, host, ctx);
  });
}

}  // namespace

// The ABI's entry symbol (its C name is fixed by plugin_abi.h).
// NOLINTNEXTLINE(readability-identifier-naming)
extern "C" ES_EXPORT const es_plugin_v1* exportsync_plugin_entry(uint32_t host_abi_major);
// NOLINTNEXTLINE(readability-identifier-naming)
extern "C" ES_EXPORT const es_plugin_v1* exportsync_plugin_entry(uint32_t host_abi_major) {
  const es_plugin_v1* base = exportsync::detail::entry<CsvGeneric>(host_abi_major);
  if (base == nullptr) {
    return nullptr;
  }
  static const es_plugin_v1 descriptor = [base] {
    es_plugin_v1 d = *base;
    d.declare = &declareWithSettings;
    return d;
  }();
  return &descriptor;
}
