// The two core datasets every exporter plugin feeds, declared once here so that all plugins
// declare them identically and the hub can compute regional indicators across plugins:
//
//   exporters     one row per exporting firm, cooperative or artisan       key (exporter_id)
//   export_flows  exporter × HS product × destination × month, value in MAD
//                                     key (exporter_id, hs_code, destination, period)
//
// A plugin declares them in declare() and writes typed rows:
//
//   void declare(exportsync::Schema& schema) override {
//     exportsync::core::declareCoreDatasets(schema);
//   }
//   ...
//   exportsync::core::ExportFlowRow flow;
//   flow.exporter_id = id;  flow.hs_code = "5701.10";  flow.destination = "fr";
//   flow.period = *exportsync::validate::period("03/2024");
//   flow.value_mad = *exportsync::validate::nonNegativeAmount("12 500,00");
//   auto row = flow.toRow();           // validates and normalises every field
//   if (!row) { ctx.sink().reject({file, line, "", "", row.status().message()}); }
//   else if (auto st = ctx.sink().upsert(exportsync::core::kExportFlows, *row); !st) { ... }
//
// Column names are stable snake_case: the hub runs SQL over them. The columns, keys, value
// lists and the dataset versions are specified in docs/datasets.md; change both together, and
// only additively (new nullable columns, a higher version).
//
// OWNERSHIP: functions return values owned by the caller; the value tables are static.
// THREAD: pure functions and value types; safe from any thread.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "exportsync/dataset.hpp"
#include "exportsync/plugin.hpp"
#include "exportsync/status.hpp"
#include "exportsync/validate.hpp"

namespace exportsync::core {

// --- Names and versions ---------------------------------------------------------------------

/// Dataset names.
inline constexpr const char* kExporters = "exporters";
inline constexpr const char* kExportFlows = "export_flows";

/// Dataset versions; raised when a column is added (docs/datasets.md, "Versions").
inline constexpr uint32_t kExportersVersion = 1;
inline constexpr uint32_t kExportFlowsVersion = 1;

/// Column names. exporter_id is shared: export_flows.exporter_id refers to exporters.
namespace column {
inline constexpr const char* kExporterId = "exporter_id";
// exporters
inline constexpr const char* kIdKind = "id_kind";
inline constexpr const char* kName = "name";
inline constexpr const char* kNameAr = "name_ar";
inline constexpr const char* kLegalForm = "legal_form";
inline constexpr const char* kRegion = "region";
inline constexpr const char* kCity = "city";
inline constexpr const char* kSector = "sector";
inline constexpr const char* kSizeClass = "size_class";
inline constexpr const char* kEmployees = "employees";
inline constexpr const char* kFirstExportYear = "first_export_year";
// export_flows
inline constexpr const char* kHsCode = "hs_code";
inline constexpr const char* kDestination = "destination";
inline constexpr const char* kPeriod = "period";
inline constexpr const char* kValueMad = "value_mad";
inline constexpr const char* kQuantity = "quantity";
inline constexpr const char* kQuantityUnit = "quantity_unit";
}  // namespace column

/// Maximum lengths (characters) of the text columns.
inline constexpr size_t kMaxNameChars = 200;
inline constexpr size_t kMaxCityChars = 100;
inline constexpr size_t kMaxIdentifierChars = 40;

// --- Value lists ----------------------------------------------------------------------------

/// One allowed value of a coded column: the code stored in the dataset, a French label for
/// reports, and other spellings parse*() accepts ('|'-separated; compared ignoring case, spaces
/// and punctuation).
template <typename E>
struct ValueInfo {
  E value;
  std::string_view code;
  std::string_view label_fr;
  std::string_view aliases;
};

/// How exporter_id identifies the exporter (column id_kind).
enum class IdKind {
  Ice,          ///< "ice": the 15-digit ICE; always used when the exporter has one
  Cooperative,  ///< "cooperative": registration number in the cooperatives register
  Artisan,      ///< "artisan": Registre national de l'artisanat / artisan card number
  Office,       ///< "office": a number the regional office assigned (no other identifier)
};
inline constexpr std::array<ValueInfo<IdKind>, 4> kIdKinds = {{
    {IdKind::Ice, "ice", "Identifiant commun de l'entreprise (ICE)", ""},
    {IdKind::Cooperative, "cooperative", "Numéro au registre des coopératives", "coop"},
    {IdKind::Artisan, "artisan", "Registre national de l'artisanat / carte d'artisan",
     "rna|carte artisan"},
    {IdKind::Office, "office", "Identifiant attribué par la délégation régionale", ""},
}};

/// Legal form (column legal_form).
enum class LegalForm {
  Sarl,
  SarlAu,
  Sa,
  Sas,
  Snc,
  Scs,
  Sca,
  Gie,
  Cooperative,
  Individual,
  AutoEntrepreneur,
  Branch,
  Other,
};
inline constexpr std::array<ValueInfo<LegalForm>, 13> kLegalForms = {{
    {LegalForm::Sarl, "sarl", "Société à responsabilité limitée (SARL)", ""},
    {LegalForm::SarlAu, "sarl_au", "SARL à associé unique (SARL AU)", "sarl unipersonnelle"},
    {LegalForm::Sa, "sa", "Société anonyme (SA)", ""},
    {LegalForm::Sas, "sas", "Société par actions simplifiée (SAS)", ""},
    {LegalForm::Snc, "snc", "Société en nom collectif (SNC)", ""},
    {LegalForm::Scs, "scs", "Société en commandite simple (SCS)", ""},
    {LegalForm::Sca, "sca", "Société en commandite par actions (SCA)", ""},
    {LegalForm::Gie, "gie", "Groupement d'intérêt économique (GIE)", ""},
    {LegalForm::Cooperative, "cooperative", "Coopérative (loi 112-12)", "coopérative|coop"},
    {LegalForm::Individual, "individual",
     "Entreprise individuelle / personne physique (dont artisans)",
     "ei|entreprise individuelle|personne physique|pp"},
    {LegalForm::AutoEntrepreneur, "auto_entrepreneur", "Auto-entrepreneur (loi 114-13)", "ae"},
    {LegalForm::Branch, "branch", "Succursale d'une société étrangère", "succursale"},
    {LegalForm::Other, "other", "Autre forme", "autre"},
}};

/// Main sector of activity (column sector).
enum class Sector {
  Agriculture,
  Agrifood,
  Fisheries,
  TextileLeather,
  Automotive,
  Aeronautics,
  ElectricalElectronics,
  Pharmaceuticals,
  Chemicals,
  Phosphates,
  Mining,
  MetalMechanical,
  BuildingMaterials,
  Cosmetics,
  Handicrafts,
  Other,
};
inline constexpr std::array<ValueInfo<Sector>, 16> kSectors = {{
    {Sector::Agriculture, "agriculture", "Agriculture (produits frais)", ""},
    {Sector::Agrifood, "agrifood", "Agroalimentaire", "agroalimentaire"},
    {Sector::Fisheries, "fisheries", "Produits de la mer", "peche"},
    {Sector::TextileLeather, "textile_leather", "Textile et cuir", "textile"},
    {Sector::Automotive, "automotive", "Automobile", "automobile"},
    {Sector::Aeronautics, "aeronautics", "Aéronautique", "aeronautique"},
    {Sector::ElectricalElectronics, "electrical_electronics", "Électrique et électronique",
     "electronique"},
    {Sector::Pharmaceuticals, "pharmaceuticals", "Industrie pharmaceutique", "pharmacie"},
    {Sector::Chemicals, "chemicals", "Chimie et parachimie", "chimie"},
    {Sector::Phosphates, "phosphates", "Phosphates et dérivés", ""},
    {Sector::Mining, "mining", "Mines (hors phosphates)", "mines"},
    {Sector::MetalMechanical, "metal_mechanical", "Métallurgie et mécanique", ""},
    {Sector::BuildingMaterials, "building_materials", "Matériaux de construction", ""},
    {Sector::Cosmetics, "cosmetics", "Cosmétique et produits naturels (argan, eau de rose)", ""},
    {Sector::Handicrafts, "handicrafts", "Artisanat", "artisanat"},
    {Sector::Other, "other", "Autre", "autre"},
}};

/// Size class (column size_class), from annual turnover as Bank Al-Maghrib's Observatoire
/// marocain de la TPME classes firms: micro ≤ 3 MDH, small (TPE) ≤ 10 MDH, medium (PME)
/// ≤ 175 MDH, large above. See sizeClassFromTurnover() and docs/datasets.md.
enum class SizeClass {
  Micro,
  Small,
  Medium,
  Large,
};
inline constexpr std::array<ValueInfo<SizeClass>, 4> kSizeClasses = {{
    {SizeClass::Micro, "micro", "Micro-entreprise (CA ≤ 3 MDH)", ""},
    {SizeClass::Small, "small", "Très petite entreprise (CA ≤ 10 MDH)", "tpe"},
    {SizeClass::Medium, "medium", "Petite et moyenne entreprise (CA ≤ 175 MDH)", "pme"},
    {SizeClass::Large, "large", "Grande entreprise (CA > 175 MDH)", "ge"},
}};

/// Unit of export_flows.quantity (column quantity_unit). Masses are in kilograms (convert
/// tonnes), volumes in litres or cubic metres.
enum class QuantityUnit {
  Kilogram,
  Litre,
  SquareMetre,
  CubicMetre,
  Unit,
  Pair,
};
inline constexpr std::array<ValueInfo<QuantityUnit>, 6> kQuantityUnits = {{
    {QuantityUnit::Kilogram, "kg", "Kilogramme (masse nette)", "kgm|kilo|kilogramme"},
    {QuantityUnit::Litre, "l", "Litre", "ltr|litre|liter"},
    {QuantityUnit::SquareMetre, "m2", "Mètre carré", "mtk|m²"},
    {QuantityUnit::CubicMetre, "m3", "Mètre cube", "mtq|m³"},
    {QuantityUnit::Unit, "unit", "Unité (pièces)", "u|nmb|pce|pcs|piece|pièce|unite|unité"},
    {QuantityUnit::Pair, "pair", "Paire", "pr|paire"},
}};

namespace internal {
// Lower-case ASCII letters and digits of `s`; other ASCII characters dropped, other bytes
// kept, so "SARL-AU", "sarl au" and "sarl_au" compare equal.
inline std::string valueKey(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || validate::internal::isDigit(c) || validate::internal::isAsciiLetter(c)) {
      out += validate::internal::toLower(c);
    }
  }
  return out;
}

template <typename E, size_t N>
std::string_view codeOf(E value, const std::array<ValueInfo<E>, N>& table) {
  for (const auto& v : table) {
    if (v.value == value) {
      return v.code;
    }
  }
  return {};
}

template <typename E, size_t N>
Result<E> parseValue(std::string_view input, const std::array<ValueInfo<E>, N>& table,
                     const char* what) {
  const std::string key = valueKey(input);
  std::string codes;
  for (const auto& v : table) {
    if (!key.empty() && key == valueKey(v.code)) {
      return v.value;
    }
    for (std::string_view rest = v.aliases; !rest.empty();) {
      const size_t bar = rest.find('|');
      if (!key.empty() && key == valueKey(rest.substr(0, bar))) {
        return v.value;
      }
      rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
    }
    codes += (codes.empty() ? "" : ", ") + std::string(v.code);
  }
  return Status::invalid(std::string(what) + " " +
                         validate::internal::quoted(validate::internal::trim(input)) +
                         " is not one of: " + codes);
}
}  // namespace internal

/// The code stored in the dataset for a value ("sarl_au", "handicrafts", "kg", ...).
inline std::string_view toCode(IdKind v) { return internal::codeOf(v, kIdKinds); }
inline std::string_view toCode(LegalForm v) { return internal::codeOf(v, kLegalForms); }
inline std::string_view toCode(Sector v) { return internal::codeOf(v, kSectors); }
inline std::string_view toCode(SizeClass v) { return internal::codeOf(v, kSizeClasses); }
inline std::string_view toCode(QuantityUnit v) { return internal::codeOf(v, kQuantityUnits); }

/// Parses a code or an alias of the value lists above, ignoring case, spaces and punctuation
/// ("SARL AU" → LegalForm::SarlAu). Errors list the codes: "legal form 'SARLX' is not one of:
/// sarl, sarl_au, ...".
inline Result<IdKind> parseIdKind(std::string_view s) {
  return internal::parseValue(s, kIdKinds, "identifier kind");
}
inline Result<LegalForm> parseLegalForm(std::string_view s) {
  return internal::parseValue(s, kLegalForms, "legal form");
}
inline Result<Sector> parseSector(std::string_view s) {
  return internal::parseValue(s, kSectors, "sector");
}
inline Result<SizeClass> parseSizeClass(std::string_view s) {
  return internal::parseValue(s, kSizeClasses, "size class");
}
inline Result<QuantityUnit> parseQuantityUnit(std::string_view s) {
  return internal::parseValue(s, kQuantityUnits, "quantity unit");
}

/// Size class from annual turnover (chiffre d'affaires hors taxes): ≤ 3 MDH micro,
/// ≤ 10 MDH small, ≤ 175 MDH medium, above large. A negative turnover counts as micro.
inline SizeClass sizeClassFromTurnover(Money annual_turnover) {
  constexpr int64_t kMdh = 100'000'000;  // 1 million dirhams in centimes
  const int64_t c = annual_turnover.centimes();
  if (c <= 3 * kMdh) {
    return SizeClass::Micro;
  }
  if (c <= 10 * kMdh) {
    return SizeClass::Small;
  }
  if (c <= 175 * kMdh) {
    return SizeClass::Medium;
  }
  return SizeClass::Large;
}

/// Size class from headcount, only when turnover is unknown: < 10 micro, < 50 small, < 200
/// medium, 200 or more large.
inline SizeClass sizeClassFromEmployees(int64_t employees) {
  if (employees < 10) {
    return SizeClass::Micro;
  }
  if (employees < 50) {
    return SizeClass::Small;
  }
  if (employees < 200) {
    return SizeClass::Medium;
  }
  return SizeClass::Large;
}

// --- Exporter identifiers -------------------------------------------------------------------

namespace internal {
// Identifier of a non-ICE kind: spaces removed, letters upper-cased, only A-Z 0-9 / . -
inline Result<std::string> localIdentifier(std::string_view input) {
  const std::string_view s = validate::internal::trim(input);
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (const size_t n = validate::internal::numberSpaceAt(s, i); n > 0) {
      i += n;
      continue;
    }
    const char c = s[i++];
    if (validate::internal::isDigit(c) || validate::internal::isAsciiLetter(c) || c == '/' ||
        c == '.' || c == '-') {
      out += validate::internal::toUpper(c);
    } else {
      return Status::invalid("identifier " + validate::internal::quoted(s) +
                             " may hold only letters, digits, '/', '.' and '-'");
    }
  }
  if (out.empty()) {
    return Status::invalid("identifier is empty; give the registration number");
  }
  if (out.size() > kMaxIdentifierChars) {
    return Status::invalid("identifier " + validate::internal::quoted(s) + " is " +
                           std::to_string(out.size()) + " characters long; at most " +
                           std::to_string(kMaxIdentifierChars) + " are allowed");
  }
  return out;
}
}  // namespace internal

/// Builds the canonical exporter_id, the same for an exporter in every plugin:
///   IdKind::Ice          the 15 digits (validate::ice)            "001525148000067"
///   IdKind::Cooperative  "cooperative:" + registration number     "cooperative:2019/1234"
///   IdKind::Artisan      "artisan:" + registration/card number    "artisan:RNA-45871"
///   IdKind::Office       "office:" + region + ":" + number        "office:MA-09:000123"
/// Registration numbers lose their spaces and are upper-cased; they may hold letters, digits,
/// '/', '.', '-' (at most 40). `office_region` is required for IdKind::Office only.
/// Use the ICE whenever the exporter has one: it is what lets the hub count a firm once.
/// @return the exporter_id, or why `identifier` is refused.
inline Result<std::string> exporterId(IdKind kind, std::string_view identifier,
                                      std::string_view office_region = {}) {
  if (kind == IdKind::Ice) {
    return validate::ice(identifier);
  }
  auto local = internal::localIdentifier(identifier);
  if (!local) {
    return local.status();
  }
  if (kind == IdKind::Office) {
    auto r = validate::region(office_region);
    if (!r) {
      return r.status().withContext("office identifier needs the office's region");
    }
    return "office:" + *r + ":" + *local;
  }
  return std::string(toCode(kind)) + ":" + *local;
}

/// Checks that `exporter_id` is canonical (as exporterId() builds it) and returns its kind.
inline Result<IdKind> exporterIdKind(std::string_view exporter_id) {
  const auto refused = [&exporter_id] {
    return Status::invalid("exporter_id " + validate::internal::quoted(exporter_id) +
                           " is not canonical; build it with core::exporterId(): a 15-digit ICE, "
                           "cooperative:<number>, artisan:<number> or office:MA-NN:<number>");
  };
  const size_t colon = exporter_id.find(':');
  if (colon == std::string_view::npos) {
    auto ice = validate::ice(exporter_id);
    if (!ice) {
      return ice.status().withContext("exporter_id");
    }
    return *ice == exporter_id ? Result<IdKind>(IdKind::Ice) : Result<IdKind>(refused());
  }
  auto kind = parseIdKind(exporter_id.substr(0, colon));
  if (!kind || *kind == IdKind::Ice || toCode(*kind) != exporter_id.substr(0, colon)) {
    return refused();
  }
  std::string_view rest = exporter_id.substr(colon + 1);
  std::string_view region;
  if (*kind == IdKind::Office) {
    const size_t second = rest.find(':');
    if (second == std::string_view::npos) {
      return refused();
    }
    region = rest.substr(0, second);
    rest = rest.substr(second + 1);
  }
  auto rebuilt = exporterId(*kind, rest, region);
  if (!rebuilt) {
    return rebuilt.status().withContext("exporter_id " + validate::internal::quoted(exporter_id));
  }
  return *rebuilt == exporter_id ? Result<IdKind>(*kind) : Result<IdKind>(refused());
}

// --- Declarations ---------------------------------------------------------------------------

/// Declares `exporters` on `schema` (columns in docs/datasets.md).
/// THREAD: call from Plugin::declare().
inline void declareExporters(Schema& schema) {
  using T = ColumnType;
  schema.dataset(kExporters, kExportersVersion)
      .key(column::kExporterId, T::Text)
      .column(column::kIdKind, T::Text)
      .column(column::kName, T::Text)
      .nullable(column::kNameAr, T::Text)
      .column(column::kLegalForm, T::Text)
      .column(column::kRegion, T::Text)
      .nullable(column::kCity, T::Text)
      .column(column::kSector, T::Text)
      .nullable(column::kSizeClass, T::Text)
      .nullable(column::kEmployees, T::Integer)
      .nullable(column::kFirstExportYear, T::Integer);
}

/// Declares `export_flows` on `schema` (columns in docs/datasets.md).
inline void declareExportFlows(Schema& schema) {
  using T = ColumnType;
  schema.dataset(kExportFlows, kExportFlowsVersion)
      .key(column::kExporterId, T::Text)
      .key(column::kHsCode, T::Text)
      .key(column::kDestination, T::Text)
      .key(column::kPeriod, T::Text)
      .column(column::kValueMad, T::Money)
      .nullable(column::kQuantity, T::Real)
      .nullable(column::kQuantityUnit, T::Text);
}

/// Declares both core datasets.
inline void declareCoreDatasets(Schema& schema) {
  declareExporters(schema);
  declareExportFlows(schema);
}

/// The declarations as values (for the hub, tools and tests).
inline DatasetSpec exportersSpec() {
  Schema s;
  declareExporters(s);
  return s.datasets().front();
}
inline DatasetSpec exportFlowsSpec() {
  Schema s;
  declareExportFlows(s);
  return s.datasets().front();
}

// --- Typed rows -----------------------------------------------------------------------------

namespace internal {
inline Status columnError(const char* dataset, const char* col, const Status& st) {
  return st.withContext(std::string(dataset) + " column '" + col + "'");
}
inline Status missing(const char* dataset, const char* col) {
  return Status::invalid(std::string(dataset) + " column '" + col + "' is required but not set");
}
// True when `s` holds at least one letter of the Arabic block (U+0600..U+06FF).
inline bool hasArabicLetter(std::string_view s) {
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b >= 0xD8 && b <= 0xDB) {
      return true;
    }
  }
  return false;
}
}  // namespace internal

/// One row of `exporters`. Fill the fields, then call toRow(). std::optional marks what may be
/// unknown; legal_form and sector are optional only so that forgetting them is caught.
struct ExporterRow {
  std::string exporter_id;                   ///< canonical, from exporterId()
  std::string name;                          ///< name in Latin script, ≤ 200 characters
  std::optional<std::string> name_ar;        ///< name in Arabic script, ≤ 200 characters
  std::optional<LegalForm> legal_form;       ///< required
  std::string region;                        ///< seat's region, "MA-06" (validate::region forms)
  std::optional<std::string> city;           ///< seat's city or commune, ≤ 100 characters
  std::optional<Sector> sector;              ///< required: the main sector
  std::optional<SizeClass> size_class;       ///< unknown → null
  std::optional<int64_t> employees;          ///< headcount, 0..1,000,000
  std::optional<int64_t> first_export_year;  ///< 1900..2100

  /// Validates every field and builds the row, normalised (region "ma-6" → "MA-06", text
  /// trimmed; id_kind derived from exporter_id).
  /// @return the row, or the first problem, naming the column: "exporters column 'name': text
  /// is empty; a value is required".
  /// OWNERSHIP: the row is the caller's. THREAD: any.
  Result<Row> toRow() const {
    const char* d = kExporters;
    auto kind = exporterIdKind(exporter_id);
    if (!kind) {
      return internal::columnError(d, column::kExporterId, kind.status());
    }
    auto nm = validate::text(name, kMaxNameChars);
    if (!nm) {
      return internal::columnError(d, column::kName, nm.status());
    }
    std::optional<std::string> ar;
    if (name_ar) {
      auto t = validate::optionalText(*name_ar, kMaxNameChars);
      if (!t) {
        return internal::columnError(d, column::kNameAr, t.status());
      }
      if (*t && !internal::hasArabicLetter(**t)) {
        return internal::columnError(
            d, column::kNameAr,
            Status::invalid(validate::internal::quoted(**t) +
                            " has no Arabic letters; put a Latin-script name in 'name'"));
      }
      ar = std::move(*t);
    }
    if (!legal_form) {
      return internal::missing(d, column::kLegalForm);
    }
    auto reg = validate::region(region);
    if (!reg) {
      return internal::columnError(d, column::kRegion, reg.status());
    }
    std::optional<std::string> ct;
    if (city) {
      auto t = validate::optionalText(*city, kMaxCityChars);
      if (!t) {
        return internal::columnError(d, column::kCity, t.status());
      }
      ct = std::move(*t);
    }
    if (!sector) {
      return internal::missing(d, column::kSector);
    }
    if (employees && (*employees < 0 || *employees > 1'000'000)) {
      return internal::columnError(
          d, column::kEmployees,
          Status::invalid(std::to_string(*employees) + " is out of range; expected 0 to 1000000"));
    }
    if (first_export_year &&
        (*first_export_year < validate::kMinYear || *first_export_year > validate::kMaxYear)) {
      return internal::columnError(d, column::kFirstExportYear,
                                   Status::invalid(std::to_string(*first_export_year) +
                                                   " is out of range; expected 1900 to 2100"));
    }
    std::optional<std::string> size;
    if (size_class) {
      size = std::string(toCode(*size_class));
    }
    Row row;
    row.set(column::kExporterId, exporter_id)
        .set(column::kIdKind, std::string(toCode(*kind)))
        .set(column::kName, std::move(*nm))
        .set(column::kNameAr, std::move(ar))
        .set(column::kLegalForm, std::string(toCode(*legal_form)))
        .set(column::kRegion, std::move(*reg))
        .set(column::kCity, std::move(ct))
        .set(column::kSector, std::string(toCode(*sector)))
        .set(column::kSizeClass, std::move(size))
        .set(column::kEmployees, Value(employees))
        .set(column::kFirstExportYear, Value(first_export_year));
    return row;
  }

  /// The key only, for Sink::remove().
  Result<Row> keyRow() const {
    auto kind = exporterIdKind(exporter_id);
    if (!kind) {
      return internal::columnError(kExporters, column::kExporterId, kind.status());
    }
    return Row{{column::kExporterId, exporter_id}};
  }
};

/// One row of `export_flows`: what an exporter shipped of one product to one country in one
/// month. hs_code and destination may be raw text: toRow() normalises them.
struct ExportFlowRow {
  std::string exporter_id;         ///< canonical, from exporterId()
  std::string hs_code;             ///< 6, 8 or 10 digits (validate::hsCode forms)
  std::string destination;         ///< ISO 3166-1 alpha-2 (validate::destination)
  validate::Period period;         ///< the month of the shipments
  std::optional<Money> value_mad;  ///< required: FOB value in MAD, ≥ 0
  std::optional<double> quantity;  ///< ≥ 0; set with quantity_unit or not at all
  std::optional<QuantityUnit> quantity_unit;

  /// Validates every field and builds the row, normalised ("5701.10" → "570110", "fr" → "FR",
  /// period → "2024-03").
  /// @return the row, or the first problem, naming the column.
  /// OWNERSHIP: the row is the caller's. THREAD: any.
  Result<Row> toRow() const {
    const char* d = kExportFlows;
    auto key = keyFields();
    if (!key) {
      return key.status();
    }
    if (!value_mad) {
      return internal::missing(d, column::kValueMad);
    }
    if (value_mad->centimes() < 0) {
      return internal::columnError(
          d, column::kValueMad,
          Status::invalid(value_mad->toString() + " MAD is negative; a value of 0 or more is "
                                                  "expected"));
    }
    if (quantity.has_value() != quantity_unit.has_value()) {
      return Status::invalid(std::string(d) + " columns '" + column::kQuantity + "' and '" +
                             column::kQuantityUnit + "' go together: set both or neither");
    }
    if (quantity && (!std::isfinite(*quantity) || *quantity < 0)) {
      return internal::columnError(
          d, column::kQuantity,
          Status::invalid(std::to_string(*quantity) + " is not a quantity of 0 or more"));
    }
    std::optional<std::string> unit;
    if (quantity_unit) {
      unit = std::string(toCode(*quantity_unit));
    }
    Row row = std::move(*key);
    row.set(column::kValueMad, *value_mad)
        .set(column::kQuantity, Value(quantity))
        .set(column::kQuantityUnit, std::move(unit));
    return row;
  }

  /// The key only, for Sink::remove().
  Result<Row> keyRow() const { return keyFields(); }

 private:
  Result<Row> keyFields() const {
    const char* d = kExportFlows;
    if (auto kind = exporterIdKind(exporter_id); !kind) {
      return internal::columnError(d, column::kExporterId, kind.status());
    }
    auto hs = validate::hsCode(hs_code);
    if (!hs) {
      return internal::columnError(d, column::kHsCode, hs.status());
    }
    auto dest = validate::destination(destination);
    if (!dest) {
      return internal::columnError(d, column::kDestination, dest.status());
    }
    if (!period.isValid()) {
      return internal::columnError(
          d, column::kPeriod,
          Status::invalid("period " + period.toString() +
                          " is not a month of years 1900 to 2100; parse it with "
                          "validate::period()"));
    }
    Row row;
    row.set(column::kExporterId, exporter_id)
        .set(column::kHsCode, std::move(*hs))
        .set(column::kDestination, std::move(*dest))
        .set(column::kPeriod, period.toString());
    return row;
  }
};

}  // namespace exportsync::core
