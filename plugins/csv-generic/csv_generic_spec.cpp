#include "csv_generic_spec.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <string_view>
#include <utility>

namespace exportsync::csv_generic {
namespace {

namespace v = exportsync::validate;

constexpr const char* kColumnsExample =
    "code:text:key, libelle:text, montant:money, date:date, quantite:real?";

// The plugin's top-level settings, and those the agent reads in the same namespace.
const std::set<std::string>& topLevelKeys() {
  static const std::set<std::string> keys = {
      "inbox",     "dataset",    "version",     "columns",         "decimal_mark", "encoding",
      "separator", "sheet",      "header_line", "patterns",        "min_age_s",    "core",
      "id_kind",   "interval_s", "timeout_s",   "memory_limit_mb", "cpu_limit_s"};
  return keys;
}

// A core dataset column csv-generic can fill: which dataset has it, whether that dataset needs
// it, and the header of a typical office file (for messages).
struct CoreColumn {
  std::string_view name;
  bool exporters;
  bool flows;
  bool required;
  std::string_view example;
};
constexpr std::array kCoreColumns = {
    CoreColumn{core::column::kExporterId, true, true, true, "ICE"},
    CoreColumn{core::column::kName, true, false, true, "Raison sociale"},
    CoreColumn{core::column::kNameAr, true, false, false, "Raison sociale (AR)"},
    CoreColumn{core::column::kLegalForm, true, false, true, "Forme juridique"},
    CoreColumn{core::column::kRegion, true, false, false, "Région"},
    CoreColumn{core::column::kCity, true, false, false, "Ville"},
    CoreColumn{core::column::kSector, true, false, true, "Secteur"},
    CoreColumn{core::column::kSizeClass, true, false, false, "Taille"},
    CoreColumn{core::column::kEmployees, true, false, false, "Effectif"},
    CoreColumn{core::column::kFirstExportYear, true, false, false, "Année premier export"},
    CoreColumn{core::column::kHsCode, false, true, true, "Code SH"},
    CoreColumn{core::column::kDestination, false, true, true, "Pays"},
    CoreColumn{core::column::kPeriod, false, true, true, "Mois"},
    CoreColumn{core::column::kValueMad, false, true, true, "Valeur (MAD)"},
    CoreColumn{core::column::kQuantity, false, true, false, "Poids net (kg)"},
    CoreColumn{core::column::kQuantityUnit, false, true, false, "Unité"},
};

const CoreColumn* findCoreColumn(std::string_view name) {
  for (const auto& c : kCoreColumns) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

std::string trimmed(std::string_view s) { return std::string(v::internal::trim(s)); }

std::vector<std::string> splitList(std::string_view s, std::string_view separators) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || separators.find(s[i]) != std::string_view::npos) {
      out.push_back(trimmed(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  return out;
}

bool isIdentifier(std::string_view s, size_t max_len) {
  if (s.empty() || s.size() > max_len || s[0] < 'a' || s[0] > 'z') {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

[[noreturn]] void fail(const std::string& key, const std::string& problem) {
  throw ConfigError("config key '" + fullKey(key) + "': " + problem);
}

[[noreturn]] void missing(const std::string& key, const std::string& what) {
  throw ConfigError("config key '" + fullKey(key) + "' is missing; " + what);
}

[[noreturn]] void emptyValue(const std::string& key, const std::string& what) {
  throw ConfigError("config key '" + fullKey(key) + "' is empty; " + what);
}

std::string columnNames(const std::vector<ColumnSpec>& columns) {
  std::string out;
  for (const auto& c : columns) {
    out += (out.empty() ? "" : ", ") + c.name;
  }
  return out;
}

void checkUnknownKeys(const Config& config) {
  for (const auto& key : config.keys()) {
    if (topLevelKeys().count(key) != 0 || key.rfind("column.", 0) == 0 ||
        key.rfind("map.", 0) == 0 || key.rfind("const.", 0) == 0) {
      continue;
    }
    throw ConfigError(
        "config key '" + fullKey(key) +
        "' is not a setting of csv-generic; the settings are inbox, dataset, version, columns, "
        "column.<name>.from, column.<name>.max_chars, core, id_kind, map.<core column>, "
        "const.<core column>, decimal_mark, encoding, separator, sheet, header_line, patterns "
        "and min_age_s (docs/plugins/csv-generic.md)");
  }
}

ColumnSpec parseColumnItem(const std::string& item, size_t position) {
  const std::string key = "columns";
  if (item.empty()) {
    fail(key, "item " + std::to_string(position) +
                  " is empty; separate the columns with single commas, e.g. " + kColumnsExample);
  }
  const auto parts = splitList(item, ":");
  if (parts.size() < 2) {
    fail(key, "item '" + item + "' has no type; write name:type[:key], e.g. code:text:key");
  }
  if (parts.size() > 3) {
    fail(key, "item '" + item + "' has too many ':'; write name:type[:key], e.g. code:text:key");
  }
  ColumnSpec c;
  c.name = parts[0];
  c.from = c.name;
  if (!isIdentifier(c.name, 63)) {
    fail(key, "'" + c.name +
                  "' is not a column name; write lower-case letters, digits and _ starting with "
                  "a letter (at most 63), e.g. montant_dh, and map it to the file's header with "
                  "plugin.csv-generic.column.<name>.from");
  }
  std::string type = parts[1];
  if (!type.empty() && type.back() == '?') {
    c.nullable = true;
    type = trimmed(std::string_view(type).substr(0, type.size() - 1));
  }
  if (type == "timestamp") {
    fail(key, "column '" + c.name +
                  "': type timestamp is not supported (office files hold local times without "
                  "a time zone); use date or text");
  }
  const auto parsed = parseTypeName(type);
  if (!parsed) {
    fail(key, "column '" + c.name + "': type '" + type +
                  "' is not one of text, integer, real, boolean, date, money (add ? for a column "
                  "whose cells may be empty, e.g. real?)");
  }
  c.type = *parsed;
  if (parts.size() == 3) {
    if (parts[2] != "key") {
      fail(key, "item '" + item + "': the third part may only be key (part of the row's key)");
    }
    c.key = true;
  }
  if (c.key && c.nullable) {
    fail(key, "key column '" + c.name + "' cannot be optional; remove the ? after its type");
  }
  return c;
}

void loadOwnDataset(const Config& config, Spec& spec) {
  const bool has_dataset = config.has("dataset");
  const bool has_columns = config.has("columns");
  if (!has_dataset && !has_columns) {
    return;
  }
  if (!has_dataset || config.getString("dataset", "").empty()) {
    missing("dataset",
            "name the dataset the rows of plugin.csv-generic.columns go to, e.g. "
            "plugin.csv-generic.dataset = prix_export");
  }
  spec.dataset = config.getString("dataset", "");
  if (!isIdentifier(spec.dataset, 63)) {
    fail("dataset", "'" + spec.dataset +
                        "' is not a dataset name; write lower-case letters, digits and _ "
                        "starting with a letter (at most 63), e.g. prix_export");
  }
  if (spec.dataset == core::kExporters || spec.dataset == core::kExportFlows) {
    fail("dataset", "'" + spec.dataset +
                        "' is a core dataset; give the file's own table another name, and feed "
                        "the core datasets with plugin.csv-generic.core");
  }
  spec.version = static_cast<uint32_t>(config.getInt("version", 1, 1, 1'000'000));
  const std::string list = config.getString("columns", "");
  if (list.empty()) {
    missing("columns",
            std::string("list the dataset's columns as name:type[:key], e.g. ") + kColumnsExample);
  }
  const auto items = splitList(list, ",");
  if (items.size() > 256) {
    fail("columns", std::to_string(items.size()) + " columns listed; a dataset has at most 256");
  }
  for (size_t i = 0; i < items.size(); ++i) {
    ColumnSpec c = parseColumnItem(items[i], i + 1);
    for (const auto& other : spec.columns) {
      if (other.name == c.name) {
        fail("columns", "column '" + c.name + "' is listed twice");
      }
    }
    spec.columns.push_back(std::move(c));
  }
  if (std::none_of(spec.columns.begin(), spec.columns.end(),
                   [](const ColumnSpec& c) { return c.key; })) {
    fail("columns",
         "no column is marked key; add :key to the column(s) that identify a row, e.g. "
         "code:text:key");
  }
  spec.own = true;
}

void loadColumnOptions(const Config& config, Spec& spec) {
  for (const auto& key : config.keys()) {
    if (key.rfind("column.", 0) != 0) {
      continue;
    }
    const std::string rest = key.substr(7);
    const size_t dot = rest.rfind('.');
    const std::string name = rest.substr(0, dot == std::string::npos ? 0 : dot);
    const std::string option = dot == std::string::npos ? rest : rest.substr(dot + 1);
    auto it = std::find_if(spec.columns.begin(), spec.columns.end(),
                           [&name](const ColumnSpec& c) { return c.name == name; });
    if (it == spec.columns.end()) {
      fail(key, "'" + name + "' is not a column of plugin.csv-generic.columns" +
                    (spec.columns.empty() ? std::string(" (not set)")
                                          : " (" + columnNames(spec.columns) + ")") +
                    "; write plugin.csv-generic.column.<column>.from = <header in the file>");
    }
    if (option == "from") {
      const std::string from = config.getString(key, "");
      if (from.empty()) {
        emptyValue(key, "write the header of the file's column, e.g. Montant (DH)");
      }
      it->from = from;
    } else if (option == "max_chars") {
      if (it->type != ColumnType::Text) {
        fail(key, std::string("column '") + it->name + "' is " + typeName(it->type) +
                      "; max_chars applies to text columns only");
      }
      it->max_chars = static_cast<size_t>(config.getInt(key, 1, 100'000));
    } else {
      fail(key, "'" + option + "' is not a column option; the options are from and max_chars");
    }
  }
}

void loadCoreList(const Config& config, Spec& spec) {
  const std::string list = config.getString("core", "none");
  for (const auto& item : splitList(list, ", ")) {
    if (item.empty() || item == "none") {
      continue;
    }
    if (item == core::kExporters) {
      spec.exporters = true;
    } else if (item == core::kExportFlows) {
      spec.flows = true;
    } else {
      fail("core", "'" + item +
                       "' is not a core dataset; write exporters, export_flows, both separated "
                       "by a comma, or none");
    }
  }
  if (config.has("id_kind")) {
    auto kind = core::parseIdKind(config.getString("id_kind", ""));
    if (!kind) {
      fail("id_kind", kind.status().message());
    }
    spec.id_kind = *kind;
  }
}

void loadCoreSources(const Config& config, Spec& spec) {
  for (const auto& key : config.keys()) {
    const bool is_map = key.rfind("map.", 0) == 0;
    if (!is_map && key.rfind("const.", 0) != 0) {
      continue;
    }
    const std::string name = key.substr(is_map ? 4 : 6);
    const CoreColumn* col = findCoreColumn(name);
    if (col == nullptr) {
      std::string names;
      for (const auto& c : kCoreColumns) {
        names += names.empty() ? "" : ", ";
        names += c.name;
      }
      fail(key, std::string("'")
                    .append(name)
                    .append("' is not a core dataset column; the columns are ")
                    .append(names));
    }
    const bool fed = (col->exporters && spec.exporters) || (col->flows && spec.flows);
    if (!fed) {
      fail(key,
           "'" + name + "' is a column of " +
               (col->exporters ? std::string(core::kExporters) : std::string(core::kExportFlows)) +
               ", which plugin.csv-generic.core does not include; add it to "
               "plugin.csv-generic.core or remove this key");
    }
    const std::string value = config.getString(key, "");
    if (value.empty()) {
      emptyValue(key,
                 is_map ? "write the header of the file's column, e.g. " + std::string(col->example)
                        : std::string("write the value every row gets"));
    }
    CoreSource& src = spec.core[name];
    if (!src.setting.empty()) {
      throw ConfigError("config keys '" + src.setting + "' and '" + fullKey(key) +
                        "' both set core column '" + name + "'; keep one");
    }
    src.setting = fullKey(key);
    if (is_map) {
      src.from = value;
      continue;
    }
    if (name == core::column::kExporterId) {
      fail(key,
           "exporter_id comes from the file; map its column with "
           "plugin.csv-generic.map.exporter_id");
    }
    src.constant = value;
    core::ExporterRow exporter;
    core::ExportFlowRow flow;
    if (auto st = applyCoreValue(name, value, spec, "MA-01", exporter, flow); !st) {
      fail(key, st.message());
    }
  }
  for (const auto& c : kCoreColumns) {
    const bool needed = c.required && c.name != core::column::kRegion &&
                        ((c.exporters && spec.exporters) || (c.flows && spec.flows));
    if (needed && spec.core.count(std::string(c.name)) == 0) {
      const char* dataset = c.flows && spec.flows ? core::kExportFlows : core::kExporters;
      missing("map." + std::string(c.name),
              std::string("plugin.csv-generic.core includes ") + dataset +
                  ", which needs the file's column of " + std::string(c.name) + ", e.g. " +
                  fullKey("map." + std::string(c.name)) + " = " + std::string(c.example) +
                  (c.name == core::column::kExporterId
                       ? std::string()
                       : " (or a constant: " + fullKey("const." + std::string(c.name)) + ")"));
    }
  }
  if (spec.core.count(core::column::kQuantity) != spec.core.count(core::column::kQuantityUnit)) {
    const bool has_quantity = spec.core.count(core::column::kQuantity) != 0;
    missing(has_quantity ? "map.quantity_unit" : "map.quantity",
            has_quantity ? "a quantity needs its unit: map the unit column "
                           "(plugin.csv-generic.map.quantity_unit = Unité) or give it "
                           "(plugin.csv-generic.const.quantity_unit = kg)"
                         : "a unit is set without a quantity; map the quantity column, e.g. "
                           "plugin.csv-generic.map.quantity = Poids net (kg), or remove the unit");
  }
}

void loadReading(const Config& config, Spec& spec) {
  const std::string mark = config.getString("decimal_mark", "auto");
  if (mark == "auto") {
    spec.decimal_mark = v::DecimalMark::Auto;
  } else if (mark == "comma" || mark == ",") {
    spec.decimal_mark = v::DecimalMark::Comma;
  } else if (mark == "point" || mark == ".") {
    spec.decimal_mark = v::DecimalMark::Point;
  } else {
    fail("decimal_mark", "'" + mark +
                             "' is not a decimal mark; write auto (refuses ambiguous values "
                             "like 1,234), comma (1 234,50) or point (1,234.50)");
  }
}

void loadInbox(const Config& config, Spec& spec) {
  const std::string folder = config.getString("inbox", "");
  if (folder.empty()) {
    missing("inbox",
            "set it to the folder where the office drops its files, e.g. "
            "plugin.csv-generic.inbox = /var/lib/exportsync/inbox/csv-generic");
  }
  if (folder[0] != '/') {
    fail("inbox", "'" + folder + "' is not an absolute path; write a path starting with /");
  }
  spec.inbox.folder = folder;
  spec.inbox.config_key = fullKey("inbox");
  spec.inbox.table = files::tableOptionsFromConfig(config);
  spec.inbox.min_age_seconds = static_cast<uint32_t>(config.getInt("min_age_s", 0, 0, 86400));
  if (config.has("patterns")) {
    spec.inbox.patterns.clear();
    for (const auto& p : splitList(config.getString("patterns", ""), ", ")) {
      if (!p.empty()) {
        spec.inbox.patterns.push_back(p);
      }
    }
    if (spec.inbox.patterns.empty()) {
      emptyValue("patterns", "list the file patterns to take, e.g. *.csv *.xlsx");
    }
  }
}

}  // namespace

std::string fullKey(const std::string& key) { return "plugin.csv-generic." + key; }

bool isUnconfigured(const Config& config) {
  return !config.has("dataset") && !config.has("columns") && !config.has("core");
}

Spec loadSpec(const Config& config) {
  checkUnknownKeys(config);
  Spec spec;
  loadReading(config, spec);
  loadOwnDataset(config, spec);
  loadColumnOptions(config, spec);
  loadCoreList(config, spec);
  if (!spec.own && !spec.exporters && !spec.flows) {
    missing("dataset",
            "set plugin.csv-generic.dataset and plugin.csv-generic.columns (the file's own "
            "table), or plugin.csv-generic.core (to feed exporters and export_flows), or both; "
            "see docs/plugins/csv-generic.md");
  }
  loadCoreSources(config, spec);
  loadInbox(config, spec);
  return spec;
}

void declareSpec(const Spec& spec, Schema& schema) {
  core::declareCoreDatasets(schema);
  if (!spec.own) {
    return;
  }
  DatasetBuilder d = schema.dataset(spec.dataset, spec.version);
  for (const auto& c : spec.columns) {
    if (c.key) {
      d.key(c.name, c.type);
    } else if (c.nullable) {
      d.nullable(c.name, c.type);
    } else {
      d.column(c.name, c.type);
    }
  }
}

Status applyCoreValue(std::string_view column, std::string_view text, const Spec& spec,
                      const std::string& office_region, core::ExporterRow& exporter,
                      core::ExportFlowRow& flow) {
  namespace col = core::column;
  const CoreColumn* c = findCoreColumn(column);
  if (c == nullptr) {
    return Status::internal("csv-generic: unknown core column '" + std::string(column) + "'");
  }
  const bool blank = v::internal::trim(text).empty();
  if (blank && !c->required) {
    if (column == col::kRegion) {
      exporter.region = office_region;
    } else if (column == col::kNameAr) {
      exporter.name_ar.reset();
    } else if (column == col::kCity) {
      exporter.city.reset();
    } else if (column == col::kSizeClass) {
      exporter.size_class.reset();
    } else if (column == col::kEmployees) {
      exporter.employees.reset();
    } else if (column == col::kFirstExportYear) {
      exporter.first_export_year.reset();
    } else if (column == col::kQuantity) {
      flow.quantity.reset();
    } else if (column == col::kQuantityUnit) {
      flow.quantity_unit.reset();
    }
    return Status::ok();
  }
  if (column == col::kExporterId) {
    auto id = core::exporterId(spec.id_kind, text, office_region);
    if (!id) {
      return id.status();
    }
    exporter.exporter_id = *id;
    flow.exporter_id = std::move(*id);
  } else if (column == col::kName) {
    auto t = v::text(text, core::kMaxNameChars);
    if (!t) {
      return t.status();
    }
    exporter.name = std::move(*t);
  } else if (column == col::kNameAr) {
    auto t = v::text(text, core::kMaxNameChars);
    if (!t) {
      return t.status();
    }
    if (std::none_of(t->begin(), t->end(), [](char ch) {
          const auto b = static_cast<unsigned char>(ch);
          return b >= 0xD8 && b <= 0xDB;
        })) {
      return Status::invalid(v::internal::quoted(*t) +
                             " has no Arabic letters; a Latin-script name goes in 'name'");
    }
    exporter.name_ar = std::move(*t);
  } else if (blank && (column == col::kLegalForm || column == col::kSector)) {
    return Status::invalid("value is empty; a value is required");
  } else if (column == col::kLegalForm) {
    auto f = core::parseLegalForm(text);
    if (!f) {
      return f.status();
    }
    exporter.legal_form = *f;
  } else if (column == col::kRegion) {
    auto r = v::region(text);
    if (!r) {
      return r.status();
    }
    exporter.region = std::move(*r);
  } else if (column == col::kCity) {
    auto t = v::text(text, core::kMaxCityChars);
    if (!t) {
      return t.status();
    }
    exporter.city = std::move(*t);
  } else if (column == col::kSector) {
    auto s = core::parseSector(text);
    if (!s) {
      return s.status();
    }
    exporter.sector = *s;
  } else if (column == col::kSizeClass) {
    auto s = core::parseSizeClass(text);
    if (!s) {
      return s.status();
    }
    exporter.size_class = *s;
  } else if (column == col::kEmployees) {
    auto n = v::integer(text, 0, 1'000'000);
    if (!n) {
      return n.status();
    }
    exporter.employees = *n;
  } else if (column == col::kFirstExportYear) {
    auto n = v::integer(text, v::kMinYear, v::kMaxYear);
    if (!n) {
      return n.status();
    }
    exporter.first_export_year = *n;
  } else if (column == col::kHsCode) {
    auto h = v::hsCode(text);
    if (!h) {
      return h.status();
    }
    flow.hs_code = std::move(*h);
  } else if (column == col::kDestination) {
    auto d = v::destination(text);
    if (!d) {
      return d.status();
    }
    flow.destination = std::move(*d);
  } else if (column == col::kPeriod) {
    auto p = v::period(text);
    if (!p) {
      return p.status();
    }
    flow.period = *p;
  } else if (column == col::kValueMad) {
    auto m = v::nonNegativeAmount(text, spec.decimal_mark);
    if (!m) {
      return m.status();
    }
    flow.value_mad = *m;
  } else if (column == col::kQuantity) {
    auto q = v::quantity(text, spec.decimal_mark);
    if (!q) {
      return q.status();
    }
    flow.quantity = *q;
  } else if (column == col::kQuantityUnit) {
    auto u = core::parseQuantityUnit(text);
    if (!u) {
      return u.status();
    }
    flow.quantity_unit = *u;
  }
  return Status::ok();
}

Result<bool> parseBoolean(std::string_view text) {
  const std::string s = v::internal::upper(v::internal::trim(text));
  for (const char* yes : {"OUI", "VRAI", "TRUE", "YES", "1"}) {
    if (s == yes) {
      return true;
    }
  }
  for (const char* no : {"NON", "FAUX", "FALSE", "NO", "0"}) {
    if (s == no) {
      return false;
    }
  }
  return Status::invalid("value " + v::internal::quoted(v::internal::trim(text)) +
                         " is not yes or no; write oui or non (also vrai/faux, true/false, "
                         "yes/no, 1/0)");
}

}  // namespace exportsync::csv_generic
