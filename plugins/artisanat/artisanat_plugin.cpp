// artisanat: craft exporters (carpets, pottery, leather, zellige, wood, brass, textiles …) and
// their shipments, read from the spreadsheets an office drops in the plugin's inbox.
//
// Datasets: the core `exporters` and `export_flows` (docs/datasets.md), plus `artisans` (one row
// per exporter: card number, workshop, gender, crafts) and `craft_flows` (the monthly flows by
// craft category). Files, header aliases, rules and config keys: plugins/artisanat/README.md.
#include <algorithm>
#include <array>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "crafts.hpp"
#include "exportsync/core_datasets.hpp"
#include "exportsync/files/inbox.hpp"
#include "exportsync/plugin.hpp"
#include "exportsync/validate.hpp"
#include "office_inbox.hpp"
#include "office_sheet.hpp"

namespace exportsync::artisanat {
namespace {

namespace sheet = office_sheet;
namespace v = validate;
using files::InboxFile;
using files::Record;

constexpr const char* kArtisans = "artisans";
constexpr const char* kCraftFlows = "craft_flows";

// The fields read from a file; kFields gives their header aliases in the same order.
enum class Field : size_t {
  Ice,
  Card,
  Name,
  NameAr,
  LegalForm,
  Region,
  City,
  Workshop,
  Gender,
  Employees,
  Turnover,
  Craft,
  HsCode,
  Destination,
  Date,
  Period,
  Quantity,
  Unit,
  Value,
};

// Header aliases (README "Columns"). Matching folds case, accents and punctuation, so each
// name needs one spelling only: "Date d'expedition" also matches "DATE D’EXPÉDITION".
constexpr std::array<sheet::FieldSpec, static_cast<size_t>(Field::Value) + 1> kFields = {{
    {"ice", "the ICE of a workshop registered as a firm",
     "ICE|N° ICE|Numéro ICE|ICE atelier|ICE de l'atelier|Identifiant commun de l'entreprise|"
     "Identifiant commun|رقم التعريف الموحد"},
    {"card_number", "the artisan card number",
     "N° carte artisan|N° carte d'artisan|Numéro carte artisan|Numéro de carte artisan|"
     "Numéro de la carte d'artisan|Carte artisan|Carte d'artisan|N° carte professionnelle|"
     "Carte professionnelle|N° RNA|RNA|Numéro RNA|N° registre national de l'artisanat|"
     "Registre national de l'artisanat|رقم بطاقة الصانع|بطاقة الصانع"},
    {"name", "the exporter's name",
     "Raison sociale|Nom / Raison sociale|Nom ou raison sociale|Nom et prénom / Raison sociale|"
     "Nom|Nom de l'artisan|Nom et prénom|Nom complet|Artisan|Exportateur|"
     "Nom de l'exportateur|Dénomination"},
    {"name_ar", "the name in Arabic",
     "Nom (arabe)|Nom en arabe|Nom arabe|Raison sociale (arabe)|Raison sociale en arabe|الاسم|"
     "الاسم الكامل|الاسم والنسب|اسم الصانع|الاسم بالعربية"},
    {"legal_form", "the legal form",
     "Forme juridique|Statut juridique|Forme|Statut|الشكل القانوني"},
    sheet::commonField("region"),
    sheet::commonField("city"),
    {"workshop", "the workshop or cooperative",
     "Atelier|Atelier / Coopérative|Coopérative / Atelier|Atelier ou coopérative|"
     "Nom de l'atelier|Coopérative|Complexe artisanal|Ensemble artisanal|الورشة|التعاونية"},
    {"gender", "the artisan's gender", "Sexe|Genre|Sexe de l'artisan|الجنس"},
    {"employees", "the headcount",
     "Effectif|Nombre d'employés|Nb employés|Nombre de salariés|Nombre d'artisans|عدد العمال"},
    sheet::commonField("size_class"),
    {"craft", "the craft category",
     "Catégorie|Catégorie artisanale|Catégorie de produit|Filière|Métier|Métier d'art|"
     "Type de produit|Produit|Nature du produit|الحرفة|الصنف"},
    sheet::commonField("hs_code"),
    sheet::commonField("destination"),
    sheet::commonField("date"),
    sheet::commonField("period"),
    {"quantity", "the quantity",
     "Quantité|Qté|Qte|Quantité expédiée|Nombre de pièces|Nb pièces|الكمية"},
    sheet::commonField("unit"),
    sheet::commonField("value"),
}};

constexpr size_t idx(Field f) { return static_cast<size_t>(f); }
static_assert(kFields.back().key == "value", "one FieldSpec per Field, in the order of Field");

// Where kFields puts the fields of the core datasets; the craft is the detail of a shipment.
constexpr sheet::CoreFields kCore = {idx(Field::Ice),   idx(Field::Card),   idx(Field::Name),
                                     idx(Field::Craft), idx(Field::HsCode), idx(Field::Destination),
                                     idx(Field::Date),  idx(Field::Period), idx(Field::Quantity),
                                     idx(Field::Unit),  idx(Field::Value)};
static_assert(sheet::indexesCoreFields(kFields, kCore, "card_number", "craft"),
              "kCore names the core fields of kFields");

// Gender as the office writes it → "female" / "male".
std::optional<std::string> parseGender(std::string_view text) {
  const std::string key = sheet::foldKey(text);
  for (std::string_view f :
       {"f", "femme", "feminin", "female", "woman", "w", "أنثى", "انثى", "امرأه"}) {
    if (key == sheet::foldKey(f)) {
      return "female";
    }
  }
  for (std::string_view m : {"h", "m", "homme", "masculin", "male", "man", "ذكر", "رجل"}) {
    if (key == sheet::foldKey(m)) {
      return "male";
    }
  }
  return std::nullopt;
}

// Legal forms, with the words artisans' registers use besides the core aliases.
Result<core::LegalForm> parseLegalForm(std::string_view text) {
  const std::string key = sheet::foldKey(text);
  if (key == "artisan" || key == "artisane" || key == "maalem" || key == "artisan individuel") {
    return core::LegalForm::Individual;
  }
  return core::parseLegalForm(text);
}

// One problem of a line: the file's column, the cell's value and why it is refused.
struct Problem {
  Field field;
  std::string value;
  std::string reason;
};

// What the lines of a file say about one exporter; attributes must agree from line to line.
struct Exporter {
  std::string exporter_id;
  std::map<Field, sheet::Given<std::string>> attributes;
  std::set<std::string> crafts;
};

// Imports one inbox file: validates every line, merges what lines say about each exporter,
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
    // A card given with an ICE on one line identifies the ICE's exporter on lines without it.
    card_ice_ = sheet::mapIdsToIce(file_.records(), cols_, reader_, kCore, core::IdKind::Artisan);
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

    // Identity: the ICE when there is one (docs/datasets.md), else the artisan card.
    std::string exporter_id;
    std::optional<std::string> card_id;
    if (blank(rec, Field::Ice) && blank(rec, Field::Card)) {
      problem(cols_.has(idx(Field::Card)) ? Field::Card : Field::Ice,
              "no identifier: give the artisan card number or, for a workshop registered as a "
              "firm, its ICE");
    }
    attribute(Field::Ice, [&](const std::string& s) {
      auto ice = reader_.ice(s);
      if (ice) {
        exporter_id = *ice;
      }
      return ice;
    });
    attribute(Field::Card, [&](const std::string& s) -> Result<std::string> {
      auto id = core::exporterId(core::IdKind::Artisan, s);
      if (!id) {
        return id.status().withContext("artisan card number");
      }
      card_id = *id;
      return id->substr(id->find(':') + 1);
    });
    if (card_id) {
      auto mapped = card_ice_.find(*card_id);
      if (mapped != card_ice_.end() && !exporter_id.empty() &&
          mapped->second.first != exporter_id) {
        problem(Field::Card, "artisan card " + v::internal::quoted(cell(rec, Field::Card)) +
                                 " is given with ICE " + mapped->second.first + " on line " +
                                 std::to_string(mapped->second.second) +
                                 "; one card belongs to one exporter: check the ICE or the card");
      } else if (exporter_id.empty()) {
        exporter_id = mapped != card_ice_.end() ? mapped->second.first : *card_id;
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
    attribute(Field::LegalForm, [](const std::string& s) -> Result<std::string> {
      auto form = parseLegalForm(s);
      if (!form) {
        return form.status();
      }
      return std::string(core::toCode(*form));
    });
    attribute(Field::Region, [](const std::string& s) { return sheet::region(s); });
    attribute(Field::City, [](const std::string& s) { return v::text(s, core::kMaxCityChars); });
    attribute(Field::Workshop, [](const std::string& s) { return v::text(s); });
    attribute(Field::Gender, [](const std::string& s) -> Result<std::string> {
      if (auto g = parseGender(s)) {
        return *g;
      }
      return Status::invalid("gender " + v::internal::quoted(v::internal::trim(s)) +
                             " is not understood; write F (femme) or H (homme)");
    });
    attribute(Field::Employees, [&](const std::string& s) -> Result<std::string> {
      auto n = reader_.integer(s, 0, 1'000'000);
      if (!n) {
        return n.status();
      }
      return std::to_string(*n);
    });
    attribute(Field::Turnover, [&](const std::string& s) { return reader_.sizeClass(s); });

    const Craft* craft = nullptr;
    if (!blank(rec, Field::Craft)) {
      craft = findCraft(cell(rec, Field::Craft));
      if (craft == nullptr) {
        problem(Field::Craft, "craft category " +
                                  v::internal::quoted(v::internal::trim(cell(rec, Field::Craft))) +
                                  " is unknown; write one of: " + craftList() +
                                  " (autre needs the HS code)");
      }
    }

    std::optional<sheet::FlowLine> flow;
    if (shipments_ && sheet::isShipmentLine(cols_, rec, kCore)) {
      flow = readShipment(rec, craft, problem);
    }

    if (problems.empty()) {
      checkMerge(rec, exporter_id, attributes, problems);
    }
    if (problems.empty() && flow) {
      flow->exporter_id = exporter_id;
      if (auto refused = totals_.add(*flow, rec)) {
        problems.push_back(
            {refused->cell == sheet::FlowRefusal::Cell::Unit ? Field::Unit : Field::Value,
             cell(rec,
                  refused->cell == sheet::FlowRefusal::Cell::Unit ? Field::Unit : Field::Value),
             refused->reason});
      }
    }
    if (!problems.empty()) {
      for (auto& p : problems) {
        file_.reject(rec, cols_.column(idx(p.field)), std::move(p.value), std::move(p.reason));
      }
      return;
    }
    applyMerge(rec, exporter_id, attributes);
    Exporter& e = exporters_.at(exporter_id);
    if (flow) {
      e.crafts.insert(flow->detail);
    } else if (craft != nullptr) {
      e.crafts.insert(std::string(craft->code));
    }
    accepted_.emplace_back(&rec, exporter_id);
  }

  template <typename ProblemFn>
  std::optional<sheet::FlowLine> readShipment(const Record& rec, const Craft* craft,
                                              ProblemFn& problem) {
    sheet::FlowLine line;
    bool ok = true;
    auto fail = [&](Field f, std::string reason) {
      problem(f, std::move(reason));
      ok = false;
    };
    // The HS code: the file's when it gives one, else the category's default.
    if (!blank(rec, Field::HsCode)) {
      auto hs = reader_.hsCode(cell(rec, Field::HsCode));
      if (!hs) {
        fail(Field::HsCode, hs.status().message());
      } else {
        line.hs_code = *hs;
      }
    } else if (craft != nullptr && !craft->default_hs.empty()) {
      line.hs_code = std::string(craft->default_hs);
      line.hs_default = true;
    } else if (craft != nullptr) {
      fail(Field::HsCode, "HS code is empty and category " +
                              v::internal::quoted(v::internal::trim(cell(rec, Field::Craft))) +
                              " has no default code; give the HS code");
    } else if (blank(rec, Field::Craft)) {
      fail(Field::HsCode, "HS code is empty and no craft category is given; give either");
    } else {
      ok = false;  // the unknown category is already reported
    }
    const Craft& detail = craft != nullptr       ? *craft
                          : line.hs_code.empty() ? kCrafts.back()
                                                 : craftForHs(line.hs_code);
    line.detail = std::string(detail.code);
    sheet::readShipmentCells(
        cols_, rec, reader_, today_, kCore, detail.unit, line,
        [&fail](size_t f, std::string reason) { fail(static_cast<Field>(f), std::move(reason)); });
    return ok ? std::optional<sheet::FlowLine>(std::move(line)) : std::nullopt;
  }

  // Adds a problem for each attribute of the line that contradicts an earlier line.
  void checkMerge(const Record& rec, const std::string& exporter_id,
                  const std::vector<std::pair<Field, std::string>>& attributes,
                  std::vector<Problem>& problems) const {
    auto it = exporters_.find(exporter_id);
    if (it == exporters_.end()) {
      return;
    }
    for (const auto& [field, value] : attributes) {
      auto before = it->second.attributes.find(field);
      if (before != it->second.attributes.end() && before->second.value &&
          sheet::foldKey(*before->second.value) != sheet::foldKey(value)) {
        problems.push_back({field, cell(rec, field),
                            v::internal::quoted(value) + " differs from " +
                                v::internal::quoted(*before->second.value) + " given on line " +
                                std::to_string(before->second.line) + " for the same exporter (" +
                                exporter_id + "); correct one of them"});
      }
    }
  }

  // Records what an accepted line says about its exporter (the first line to give a value wins;
  // checkMerge() made sure later lines agree).
  void applyMerge(const Record& rec, const std::string& exporter_id,
                  const std::vector<std::pair<Field, std::string>>& attributes) {
    Exporter& e = exporters_[exporter_id];
    e.exporter_id = exporter_id;
    sheet::keepFirst(e.attributes, attributes, rec.line);
  }

  // What is known of an exporter: what earlier files gave, overlaid with what this file gives
  // (a newer file corrects an older one; a column it leaves out keeps its value). Crafts add up.
  [[nodiscard]] sheet::Known overlay(const Exporter& e) const {
    sheet::Known known = sheet::loadKnown(state_, e.exporter_id);
    for (const auto& [field, given] : e.attributes) {
      if (given.value) {
        known[std::string(kFields[idx(field)].key)] = *given.value;
      }
    }
    std::set<std::string> crafts = e.crafts;
    for (auto& c : sheet::splitCodes(known["crafts"])) {
      crafts.insert(std::move(c));
    }
    known.erase("crafts");
    if (auto joined = sheet::joinCodes(crafts)) {
      known["crafts"] = *joined;
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
    const auto form = get(known, Field::LegalForm);
    // Without a legal form: a card holder is a person; a firm's form is unknown.
    row.legal_form = form                     ? *core::parseLegalForm(*form)
                     : get(known, Field::Ice) ? core::LegalForm::Other
                                              : core::LegalForm::Individual;
    row.region = get(known, Field::Region).value_or(office_region_);
    row.city = get(known, Field::City);
    row.sector = core::Sector::Handicrafts;
    if (const auto size = get(known, Field::Turnover)) {
      row.size_class = *core::parseSizeClass(*size);
    }
    if (const auto n = get(known, Field::Employees)) {
      row.employees = std::stoll(*n);
    }
    return orThrow(row.toRow());
  }

  static Row artisanRow(const std::string& id, const sheet::Known& known) {
    auto crafts = known.find("crafts");
    return Row{{"exporter_id", id},
               {"card_number", get(known, Field::Card)},
               {"ice", get(known, Field::Ice)},
               {"workshop", get(known, Field::Workshop)},
               {"gender", get(known, Field::Gender)},
               {"crafts", crafts == known.end() ? Value() : Value(crafts->second)}};
  }

  static Row orThrow(Result<Row> row) { return sheet::rowOrThrow(std::move(row), "artisanat"); }

  void upsert(const Record& rec, const char* dataset, const Row& row) {
    sheet::writeRow(file_, rec, dataset, row);
  }

  // Every accepted line writes its exporter's rows (identical rewrites record no change), so
  // the inbox counts it as imported; each monthly sum is written once, on its first line.
  void write() {
    std::map<std::string, std::pair<Row, Row>> rows;
    for (const auto& [id, e] : exporters_) {
      const sheet::Known k = overlay(e);
      if (auto st = sheet::saveKnown(state_, id, k); !st) {
        throw Error(st.message(), st.code());
      }
      rows.emplace(id, std::make_pair(exporterRow(id, k), artisanRow(id, k)));
    }
    for (const auto& [rec, id] : accepted_) {
      const auto& [exporter, artisan] = rows.at(id);
      upsert(*rec, core::kExporters, exporter);
      upsert(*rec, kArtisans, artisan);
    }
    for (const auto& [key, sum] : totals_.core()) {
      upsert(*sum.first, core::kExportFlows, orThrow(sheet::FlowTotals::coreRow(sum)));
    }
    for (const auto& [key, sum] : totals_.detailed()) {
      upsert(*sum.first, kCraftFlows,
             sheet::FlowTotals::detailRow(sum, "craft", "hs_from_category"));
    }
  }

  InboxFile& file_;
  State& state_;
  const sheet::FieldMap& cols_;
  const sheet::CellReader reader_;
  const std::string office_region_;
  const Date today_;
  const bool shipments_;     // the file has shipment columns
  sheet::IceById card_ice_;  // card id → ICE, line
  std::map<std::string, Exporter> exporters_;
  std::vector<std::pair<const Record*, std::string>> accepted_;  // line, exporter_id
  sheet::FlowTotals totals_;
};

class ArtisanatPlugin : public Plugin {
 public:
  static PluginInfo info() {
    return {"artisanat", "1.0.0",
            "Craft exporters and their shipments (carpets, pottery, leather, zellige, wood, "
            "brass, textiles) from the office's spreadsheets"};
  }

  void declare(Schema& schema) override {
    core::declareCoreDatasets(schema);
    schema.dataset(kArtisans, 1)
        .key("exporter_id", ColumnType::Text)
        .nullable("card_number", ColumnType::Text)
        .nullable("ice", ColumnType::Text)
        .nullable("workshop", ColumnType::Text)
        .nullable("gender", ColumnType::Text)
        .nullable("crafts", ColumnType::Text);
    schema.dataset(kCraftFlows, 1)
        .key("exporter_id", ColumnType::Text)
        .key("craft", ColumnType::Text)
        .key("hs_code", ColumnType::Text)
        .key("destination", ColumnType::Text)
        .key("period", ColumnType::Text)
        .column("value_mad", ColumnType::Money)
        .nullable("quantity", ColumnType::Real)
        .nullable("quantity_unit", ColumnType::Text)
        .column("shipments", ColumnType::Integer)
        .column("hs_from_category", ColumnType::Boolean);
  }

  void configure(const Config& config) override {
    settings_ = sheet::readInboxSettings(config, "artisanat");
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
}  // namespace exportsync::artisanat

ES_PLUGIN(exportsync::artisanat::ArtisanatPlugin)
