// cooperatives: cooperatives of the social and solidarity economy (argan oil, saffron, dates,
// rose water, honey, couscous, olive oil, cactus …), their members, quality labels and export
// shipments, read from the spreadsheets an office drops in the plugin's inbox.
//
// Datasets: the core `exporters` and `export_flows` (docs/datasets.md), plus `cooperatives`
// (registration, creation date, members, women members, products, labels) and `product_flows`
// (the monthly flows by product). Files, header aliases, rules and config keys:
// plugins/cooperatives/README.md.
#include <algorithm>
#include <array>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "exportsync/core_datasets.hpp"
#include "exportsync/files/inbox.hpp"
#include "exportsync/plugin.hpp"
#include "exportsync/validate.hpp"
#include "office_inbox.hpp"
#include "office_sheet.hpp"
#include "products.hpp"

namespace exportsync::cooperatives {
namespace {

namespace sheet = office_sheet;
namespace v = validate;
using files::InboxFile;
using files::Record;

constexpr const char* kCooperatives = "cooperatives";
constexpr const char* kProductFlows = "product_flows";

// The fields read from a file; kFields gives their header aliases in the same order.
enum class Field : size_t {
  Ice,
  Registration,
  Name,
  NameAr,
  Region,
  City,
  CreationDate,
  Members,
  WomenMembers,
  Sector,
  Turnover,
  Products,
  Labels,
  Product,
  HsCode,
  Destination,
  Date,
  Period,
  Quantity,
  Unit,
  Value,
};

// Header aliases (README "Columns"). Matching folds case, accents and punctuation, so each
// name needs one spelling only: "Date de creation" also matches "DATE DE CRÉATION".
constexpr std::array<sheet::FieldSpec, static_cast<size_t>(Field::Value) + 1> kFields = {{
    {"ice", "the ICE",
     "ICE|N° ICE|Numéro ICE|Identifiant commun de l'entreprise|رقم التعريف الموحد"},
    {"registration_number", "the registration number (ODCo)",
     "N° ODCo|Numéro ODCo|ODCo|N° d'enregistrement|Numéro d'enregistrement|"
     "N° enregistrement ODCo|N° d'immatriculation|Numéro d'immatriculation|N° registre|"
     "N° au registre des coopératives|Registre des coopératives|رقم التسجيل|"
     "رقم التسجيل بسجل التعاونيات|رقم القيد"},
    {"name", "the cooperative's name",
     "Nom de la coopérative|Coopérative|Raison sociale|Dénomination|Nom|Nom / Raison sociale|"
     "Exportateur"},
    {"name_ar", "the name in Arabic",
     "Nom (arabe)|Nom en arabe|Nom arabe|Dénomination (arabe)|Dénomination en arabe|"
     "Nom de la coopérative (arabe)|اسم التعاونية|الاسم|الاسم بالعربية|التعاونية"},
    sheet::commonField("region"),
    sheet::commonField("city"),
    {"creation_date", "the creation date",
     "Date de création|Date création|Date de constitution|Créée le|Date d'immatriculation|"
     "تاريخ التأسيس|تاريخ الإحداث"},
    {"members", "the number of members",
     "Nombre d'adhérents|Nb adhérents|Adhérents|Nombre de membres|Nb membres|Membres|"
     "Effectif|عدد المنخرطين|عدد الأعضاء"},
    {"women_members", "the number of women members",
     "Dont femmes|Nombre d'adhérentes|Nb adhérentes|Adhérentes|Nombre de femmes|Femmes|"
     "Adhérents femmes|Membres femmes|Nombre de femmes adhérentes|عدد المنخرطات|عدد النساء"},
    {"sector", "the sector", "Secteur|Secteur d'activité|Filière|القطاع"},
    sheet::commonField("size_class"),
    {"products", "the cooperative's products",
     "Produits|Produits de la coopérative|Gamme de produits|Liste des produits|المنتوجات"},
    {"labels", "the quality labels",
     "Labels|Label|Signes de qualité|Signe de qualité|Signes distinctifs d'origine et de qualité|"
     "SDOQ|Certification|Certifications|Labels et certifications|علامات الجودة|الشارات"},
    {"product", "the product shipped",
     "Produit|Produit exporté|Désignation|Désignation du produit|Nature du produit|المنتوج|"
     "المنتوج المصدر"},
    sheet::commonField("hs_code"),
    sheet::commonField("destination"),
    sheet::commonField("date"),
    sheet::commonField("period"),
    {"quantity", "the quantity", "Quantité|Qté|Qte|Quantité expédiée|الكمية"},
    sheet::commonField("unit"),
    sheet::commonField("value"),
}};

constexpr size_t idx(Field f) { return static_cast<size_t>(f); }
static_assert(kFields.back().key == "value", "one FieldSpec per Field, in the order of Field");

// Where kFields puts the fields of the core datasets; the product is the detail of a shipment.
constexpr sheet::CoreFields kCore = {
    idx(Field::Ice),      idx(Field::Registration), idx(Field::Name), idx(Field::Product),
    idx(Field::HsCode),   idx(Field::Destination),  idx(Field::Date), idx(Field::Period),
    idx(Field::Quantity), idx(Field::Unit),         idx(Field::Value)};
static_assert(sheet::indexesCoreFields(kFields, kCore, "registration_number", "product"),
              "kCore names the core fields of kFields");

// Sectors as registers of cooperatives name them, besides the core aliases.
Result<core::Sector> parseSector(std::string_view text) {
  const std::string key = sheet::foldKey(text);
  for (std::string_view c : {"cosmetique", "cosmetiques", "produits naturels",
                             "cosmetique et produits naturels", "plantes aromatiques"}) {
    if (key == c) {
      return key == "plantes aromatiques" ? core::Sector::Agrifood : core::Sector::Cosmetics;
    }
  }
  if (key == "agricole" || key == "agriculture") {
    return core::Sector::Agriculture;
  }
  if (key == "peche" || key == "peche maritime" || key == "produits de la mer") {
    return core::Sector::Fisheries;
  }
  if (key == "artisanat" || key == "artisanal") {
    return core::Sector::Handicrafts;
  }
  return core::parseSector(text);
}

// One problem of a line: the file's column, the cell's value and why it is refused.
struct Problem {
  Field field;
  std::string value;
  std::string reason;
};

// What the lines of a file say about one cooperative; attributes must agree from line to line.
struct Cooperative {
  std::string exporter_id;
  std::map<Field, sheet::Given<std::string>> attributes;
  std::vector<std::string> products;  // codes, in order of first mention
  std::set<std::string> labels;
};

// Imports one inbox file: validates every line, merges what lines say about each cooperative,
// sums shipments per month, then writes. See README "How lines become rows".
class FileImport {
 public:
  FileImport(InboxFile& file, State& state, const sheet::FieldMap& cols, sheet::CellReader reader,
             std::string office_region, Date today)
      : file_(file),
        state_(state),
        cols_(cols),
        reader_(reader),
        office_region_(std::move(office_region)),
        today_(today),
        shipments_(sheet::hasShipmentColumns(cols, kCore)) {}

  void run() {
    // A registration number given with an ICE on one line identifies the ICE's exporter on lines
    // without it.
    registration_ice_ =
        sheet::mapIdsToIce(file_.records(), cols_, reader_, kCore, core::IdKind::Cooperative);
    for (const Record& rec : file_.records()) {
      readLine(rec);
    }
    write();
  }

 private:
  [[nodiscard]] const std::string& cell(const Record& rec, Field f) const {
    return cols_.get(rec, idx(f));
  }
  [[nodiscard]] bool blank(const Record& rec, Field f) const {
    return v::internal::trim(cell(rec, f)).empty();
  }

  void readLine(const Record& rec) {
    std::vector<Problem> problems;
    std::vector<std::pair<Field, std::string>> attributes;
    std::vector<std::string> products;
    std::set<std::string> labels;
    auto problem = [&](Field f, std::string reason) {
      problems.push_back({f, cell(rec, f), std::move(reason)});
    };
    // Reads an optional cell with `parse` (returning Result<std::string>) into `attributes`.
    auto attribute = [&](Field f, auto parse) {
      if (blank(rec, f)) {
        return;
      }
      auto r = parse(cell(rec, f));
      if (!r) {
        problem(f, r.status().message());
      } else {
        attributes.emplace_back(f, std::move(*r));
      }
    };

    // Identity: the ICE when there is one (docs/datasets.md), else the registration number.
    std::string exporter_id;
    std::optional<std::string> registration_id;
    if (blank(rec, Field::Ice) && blank(rec, Field::Registration)) {
      problem(cols_.has(idx(Field::Registration)) ? Field::Registration : Field::Ice,
              "no identifier: give the cooperative's registration number (ODCo) or its ICE");
    }
    attribute(Field::Ice, [&](const std::string& s) {
      auto ice = reader_.ice(s);
      if (ice) {
        exporter_id = *ice;
      }
      return ice;
    });
    attribute(Field::Registration, [&](const std::string& s) -> Result<std::string> {
      auto id = core::exporterId(core::IdKind::Cooperative, s);
      if (!id) {
        return id.status().withContext("registration number");
      }
      registration_id = *id;
      return id->substr(id->find(':') + 1);
    });
    if (registration_id) {
      auto mapped = registration_ice_.find(*registration_id);
      if (mapped != registration_ice_.end() && !exporter_id.empty() &&
          mapped->second.first != exporter_id) {
        problem(Field::Registration,
                "registration number " + v::internal::quoted(cell(rec, Field::Registration)) +
                    " is given with ICE " + mapped->second.first + " on line " +
                    std::to_string(mapped->second.second) +
                    "; one registration belongs to one cooperative: check the ICE or the number");
      } else if (exporter_id.empty()) {
        exporter_id = mapped != registration_ice_.end() ? mapped->second.first : *registration_id;
      }
    }

    if (auto name = v::text(cell(rec, Field::Name), core::kMaxNameChars); !name) {
      problem(Field::Name, name.status().message());
    } else {
      attributes.emplace_back(Field::Name, std::move(*name));
    }
    attribute(Field::NameAr, [&](const std::string& s) {
      return sheet::arabicName(s, cols_.column(idx(Field::Name)));
    });
    attribute(Field::Region, [](const std::string& s) { return sheet::region(s); });
    attribute(Field::City, [](const std::string& s) { return v::text(s, core::kMaxCityChars); });
    attribute(Field::CreationDate, [&](const std::string& s) -> Result<std::string> {
      auto d = sheet::pastDate(s, today_);
      if (!d) {
        return d.status();
      }
      return d->toIso();
    });
    attribute(Field::Members, [&](const std::string& s) -> Result<std::string> {
      auto n = reader_.integer(s, 1, 1'000'000);
      if (!n) {
        return n.status();
      }
      return std::to_string(*n);
    });
    attribute(Field::WomenMembers, [&](const std::string& s) -> Result<std::string> {
      auto n = reader_.integer(s, 0, 1'000'000);
      if (!n) {
        return n.status();
      }
      return std::to_string(*n);
    });
    attribute(Field::Sector, [](const std::string& s) -> Result<std::string> {
      auto sector = parseSector(s);
      if (!sector) {
        return sector.status();
      }
      return std::string(core::toCode(*sector));
    });
    attribute(Field::Turnover, [&](const std::string& s) { return reader_.sizeClass(s); });
    for (const auto& item : sheet::splitList(cell(rec, Field::Products))) {
      if (const Product* p = findProduct(item)) {
        products.emplace_back(p->code);
      } else {
        problem(Field::Products, unknownProduct(item));
      }
    }
    for (const auto& item : sheet::splitList(cell(rec, Field::Labels))) {
      if (const Label* l = findLabel(item)) {
        labels.emplace(l->code);
      } else if (!meansNoLabel(item)) {
        problem(Field::Labels, "quality label " + v::internal::quoted(item) + " is not one of: " +
                                   labelList() + " (several are separated by commas)");
      }
    }

    const Product* product = nullptr;
    if (!blank(rec, Field::Product)) {
      product = findProduct(cell(rec, Field::Product));
      if (product == nullptr) {
        problem(Field::Product, unknownProduct(v::internal::trim(cell(rec, Field::Product))));
      }
    }

    std::optional<sheet::FlowLine> flow;
    if (shipments_ && sheet::isShipmentLine(cols_, rec, kCore)) {
      flow = readShipment(rec, product, problem);
    }

    if (problems.empty()) {
      checkMerge(rec, exporter_id, attributes, problems);
    }
    if (problems.empty() && flow) {
      flow->exporter_id = exporter_id;
      if (auto refused = totals_.add(*flow, rec)) {
        const Field f =
            refused->cell == sheet::FlowRefusal::Cell::Unit ? Field::Unit : Field::Value;
        problems.push_back({f, cell(rec, f), refused->reason});
      }
    }
    if (!problems.empty()) {
      for (auto& p : problems) {
        file_.reject(rec, cols_.column(idx(p.field)), std::move(p.value), std::move(p.reason));
      }
      return;
    }
    applyMerge(rec, exporter_id, attributes);
    Cooperative& c = cooperatives_.at(exporter_id);
    if (flow) {
      products.push_back(flow->detail);
    } else if (product != nullptr) {
      products.emplace_back(product->code);
    }
    for (auto& p : products) {
      if (std::find(c.products.begin(), c.products.end(), p) == c.products.end()) {
        c.products.push_back(std::move(p));
      }
    }
    c.labels.insert(labels.begin(), labels.end());
    accepted_.emplace_back(&rec, exporter_id);
  }

  static std::string unknownProduct(std::string_view item) {
    return "product " + v::internal::quoted(item) + " is unknown; write one of: " + productList() +
           " (autre needs the HS code)";
  }

  template <typename ProblemFn>
  std::optional<sheet::FlowLine> readShipment(const Record& rec, const Product* product,
                                              ProblemFn& problem) {
    sheet::FlowLine line;
    bool ok = true;
    auto fail = [&](Field f, std::string reason) {
      problem(f, std::move(reason));
      ok = false;
    };
    // The HS code: the file's when it gives one, else the product's default.
    if (!blank(rec, Field::HsCode)) {
      auto hs = reader_.hsCode(cell(rec, Field::HsCode));
      if (!hs) {
        fail(Field::HsCode, hs.status().message());
      } else {
        line.hs_code = *hs;
      }
    } else if (product != nullptr && !product->default_hs.empty()) {
      line.hs_code = std::string(product->default_hs);
      line.hs_default = true;
    } else if (product != nullptr) {
      fail(Field::HsCode, "HS code is empty and product " +
                              v::internal::quoted(v::internal::trim(cell(rec, Field::Product))) +
                              " has no default code; give the HS code");
    } else if (blank(rec, Field::Product)) {
      fail(Field::HsCode, "HS code is empty and no product is given; give either");
    } else {
      ok = false;  // the unknown product is already reported
    }
    const Product& detail = product != nullptr     ? *product
                            : line.hs_code.empty() ? kProducts.back()
                                                   : productForHs(line.hs_code);
    line.detail = std::string(detail.code);
    sheet::readShipmentCells(
        cols_, rec, reader_, today_, kCore, detail.unit, line,
        [&fail](size_t f, std::string reason) { fail(static_cast<Field>(f), std::move(reason)); });
    return ok ? std::optional<sheet::FlowLine>(std::move(line)) : std::nullopt;
  }

  // Adds a problem for each attribute of the line that contradicts an earlier line, and when
  // women members would outnumber members, whichever lines gave each.
  void checkMerge(const Record& rec, const std::string& exporter_id,
                  const std::vector<std::pair<Field, std::string>>& attributes,
                  std::vector<Problem>& problems) const {
    const Cooperative* c = nullptr;
    if (auto it = cooperatives_.find(exporter_id); it != cooperatives_.end()) {
      c = &it->second;
    }
    auto given = [c](Field f) -> sheet::Given<std::string> {
      if (c == nullptr) {
        return {};
      }
      auto it = c->attributes.find(f);
      return it == c->attributes.end() ? sheet::Given<std::string>{} : it->second;
    };
    sheet::Given<std::string> members = given(Field::Members);
    sheet::Given<std::string> women = given(Field::WomenMembers);
    for (const auto& [field, value] : attributes) {
      const auto before = given(field);
      if (before.value && sheet::foldKey(*before.value) != sheet::foldKey(value)) {
        problems.push_back({field, cell(rec, field),
                            v::internal::quoted(value) + " differs from " +
                                v::internal::quoted(*before.value) + " given on line " +
                                std::to_string(before.line) + " for the same cooperative (" +
                                exporter_id + "); correct one of them"});
      } else if (field == Field::Members) {
        members = {value, rec.line};
      } else if (field == Field::WomenMembers) {
        women = {value, rec.line};
      }
    }
    if (problems.empty() && members.value && women.value &&
        std::stoll(*women.value) > std::stoll(*members.value)) {
      const std::string where =
          members.line == rec.line ? "" : ", line " + std::to_string(members.line);
      const Field blamed = women.line == rec.line ? Field::WomenMembers : Field::Members;
      problems.push_back({blamed, cell(rec, blamed),
                          "women members (" + *women.value + ") outnumber members (" +
                              *members.value + where +
                              "); women members are counted among the members"});
    }
  }

  // Records what an accepted line says about its cooperative (the first line to give a value
  // wins; checkMerge() made sure later lines agree).
  void applyMerge(const Record& rec, const std::string& exporter_id,
                  const std::vector<std::pair<Field, std::string>>& attributes) {
    Cooperative& c = cooperatives_[exporter_id];
    c.exporter_id = exporter_id;
    sheet::keepFirst(c.attributes, attributes, rec.line);
  }

  // What is known of a cooperative: what earlier files gave, overlaid with what this file gives
  // (a newer file corrects an older one; a column it leaves out keeps its value). The lists
  // (products, in order of first mention, and labels) are replaced by a file that has their
  // column; otherwise shipped products add to the known ones.
  [[nodiscard]] sheet::Known overlay(const Cooperative& c) const {
    sheet::Known known = sheet::loadKnown(state_, c.exporter_id);
    for (const auto& [field, given] : c.attributes) {
      if (given.value) {
        known[std::string(kFields[idx(field)].key)] = *given.value;
      }
    }
    const std::string products_key(kFields[idx(Field::Products)].key);
    std::vector<std::string> products;
    if (!cols_.has(idx(Field::Products))) {
      products = sheet::splitCodes(known[products_key]);
    }
    for (const auto& p : c.products) {
      if (std::find(products.begin(), products.end(), p) == products.end()) {
        products.push_back(p);
      }
    }
    std::string joined;
    for (const auto& p : products) {
      joined += (joined.empty() ? "" : ",") + p;
    }
    known[products_key] = joined;
    const std::string labels_key(kFields[idx(Field::Labels)].key);
    if (cols_.has(idx(Field::Labels))) {
      known[labels_key] = sheet::joinCodes(c.labels).value_or("");
    }
    for (const auto& key : {products_key, labels_key}) {
      if (known[key].empty()) {
        known.erase(key);
      }
    }
    return known;
  }

  static std::optional<std::string> get(const sheet::Known& known, Field f) {
    auto it = known.find(std::string(kFields[idx(f)].key));
    return it == known.end() ? std::nullopt : std::optional<std::string>(it->second);
  }

  [[nodiscard]] Row exporterRow(const std::string& id, const sheet::Known& known) const {
    core::ExporterRow row;
    row.exporter_id = id;
    row.name = get(known, Field::Name).value_or("");
    row.name_ar = get(known, Field::NameAr);
    row.legal_form = core::LegalForm::Cooperative;
    row.region = get(known, Field::Region).value_or(office_region_);
    row.city = get(known, Field::City);
    // The sector a file gave, else the sector of the first product mentioned.
    const auto products = sheet::splitCodes(get(known, Field::Products).value_or(""));
    if (const auto sector = get(known, Field::Sector)) {
      row.sector = *core::parseSector(*sector);
    } else if (!products.empty()) {
      const auto& first = products.front();
      const auto it = std::find_if(kProducts.begin(), kProducts.end(),
                                   [&first](const Product& q) { return q.code == first; });
      row.sector = it != kProducts.end() ? it->sector : core::Sector::Other;
    } else {
      row.sector = core::Sector::Other;
    }
    if (const auto size = get(known, Field::Turnover)) {
      row.size_class = *core::parseSizeClass(*size);
    }
    if (const auto n = get(known, Field::Members)) {
      row.employees = std::stoll(*n);  // members, for a cooperative (docs/datasets.md)
    }
    return orThrow(row.toRow());
  }

  static Row cooperativeRow(const std::string& id, const sheet::Known& known) {
    const auto created = get(known, Field::CreationDate);
    const auto members = get(known, Field::Members);
    const auto women = get(known, Field::WomenMembers);
    const auto products = sheet::splitCodes(get(known, Field::Products).value_or(""));
    const auto labels = sheet::splitCodes(get(known, Field::Labels).value_or(""));
    return Row{
        {"exporter_id", id},
        {"registration_number", get(known, Field::Registration)},
        {"ice", get(known, Field::Ice)},
        {"creation_date", created ? Value(Date::parseIso(*created)) : Value()},
        {"members", members ? Value(static_cast<long long>(std::stoll(*members))) : Value()},
        {"women_members", women ? Value(static_cast<long long>(std::stoll(*women))) : Value()},
        {"products", sheet::joinCodes({products.begin(), products.end()})},
        {"labels", sheet::joinCodes({labels.begin(), labels.end()})}};
  }

  static Row orThrow(Result<Row> row) { return sheet::rowOrThrow(std::move(row), "cooperatives"); }

  void upsert(const Record& rec, const char* dataset, const Row& row) {
    sheet::writeRow(file_, rec, dataset, row);
  }

  // Every accepted line writes its cooperative's rows (identical rewrites record no change), so
  // the inbox counts it as imported; each monthly sum is written once, on its first line.
  void write() {
    std::map<std::string, std::pair<Row, Row>> rows;
    for (const auto& [id, c] : cooperatives_) {
      const sheet::Known k = overlay(c);
      if (auto st = sheet::saveKnown(state_, id, k); !st) {
        throw Error(st.message(), st.code());
      }
      rows.emplace(id, std::make_pair(exporterRow(id, k), cooperativeRow(id, k)));
    }
    for (const auto& [rec, id] : accepted_) {
      const auto& [exporter, cooperative] = rows.at(id);
      upsert(*rec, core::kExporters, exporter);
      upsert(*rec, kCooperatives, cooperative);
    }
    for (const auto& [key, sum] : totals_.core()) {
      upsert(*sum.first, core::kExportFlows, orThrow(sheet::FlowTotals::coreRow(sum)));
    }
    for (const auto& [key, sum] : totals_.detailed()) {
      upsert(*sum.first, kProductFlows,
             sheet::FlowTotals::detailRow(sum, "product", "hs_from_product"));
    }
  }

  InboxFile& file_;
  State& state_;
  const sheet::FieldMap& cols_;
  const sheet::CellReader reader_;
  const std::string office_region_;
  const Date today_;
  const bool shipments_;             // the file has shipment columns
  sheet::IceById registration_ice_;  // registration id → ICE, line
  std::map<std::string, Cooperative> cooperatives_;
  std::vector<std::pair<const Record*, std::string>> accepted_;  // line, exporter_id
  sheet::FlowTotals totals_;
};

class CooperativesPlugin : public Plugin {
 public:
  static PluginInfo info() {
    return {"cooperatives", "1.0.0",
            "Cooperatives of the social and solidarity economy (argan oil, saffron, dates, rose "
            "water, honey …): members, labels and export shipments from the office's "
            "spreadsheets"};
  }

  void declare(Schema& schema) override {
    core::declareCoreDatasets(schema);
    schema.dataset(kCooperatives, 1)
        .key("exporter_id", ColumnType::Text)
        .nullable("registration_number", ColumnType::Text)
        .nullable("ice", ColumnType::Text)
        .nullable("creation_date", ColumnType::Date)
        .nullable("members", ColumnType::Integer)
        .nullable("women_members", ColumnType::Integer)
        .nullable("products", ColumnType::Text)
        .nullable("labels", ColumnType::Text);
    schema.dataset(kProductFlows, 1)
        .key("exporter_id", ColumnType::Text)
        .key("product", ColumnType::Text)
        .key("hs_code", ColumnType::Text)
        .key("destination", ColumnType::Text)
        .key("period", ColumnType::Text)
        .column("value_mad", ColumnType::Money)
        .nullable("quantity", ColumnType::Real)
        .nullable("quantity_unit", ColumnType::Text)
        .column("shipments", ColumnType::Integer)
        .column("hs_from_product", ColumnType::Boolean);
  }

  void configure(const Config& config) override {
    settings_ = sheet::readInboxSettings(config, "cooperatives");
  }

  void collect(CollectContext& ctx) override {
    sheet::importInbox(
        ctx, settings_, kFields.data(), kFields.size(), kCore,
        [&ctx](InboxFile& file, const sheet::FieldMap& cols, sheet::CellReader reader,
               const std::string& office_region, Date today) {
          FileImport(file, ctx.state(), cols, reader, office_region, today).run();
        });
  }

 private:
  sheet::InboxSettings settings_;
};

}  // namespace
}  // namespace exportsync::cooperatives

ES_PLUGIN(exportsync::cooperatives::CooperativesPlugin)
