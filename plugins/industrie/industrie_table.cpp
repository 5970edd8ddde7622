#include "industrie_table.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>
#include <utility>

namespace exportsync::industrie {
namespace {

namespace v = exportsync::validate;

// --- Alias tables (display form; compared after normalizeHeader) ----------------------------

std::array<FieldSpec, kFieldCount> makeFieldSpecs() {
  return {{
      {Field::Ice,
       "ICE",
       true,
       {"ICE", "N° ICE", "Numéro ICE", "Code ICE", "Identifiant ICE",
        "Identifiant commun de l'entreprise"}},
      {Field::Name,
       "Raison sociale",
       true,
       {"Raison sociale", "Raison sociale (FR)", "Dénomination", "Nom de l'entreprise",
        "Entreprise", "Société", "Exportateur", "Nom"}},
      {Field::NameAr,
       "Raison sociale (AR)",
       false,
       {"Raison sociale (AR)", "Raison sociale (arabe)", "Raison sociale en arabe",
        "Dénomination (AR)", "Nom arabe", "Nom en arabe"}},
      {Field::Sector,
       "Secteur",
       true,
       {"Secteur", "Secteur d'activité", "Filière", "Branche", "Branche d'activité", "Activité"}},
      {Field::LegalForm,
       "Forme juridique",
       false,
       {"Forme juridique", "Statut juridique", "Forme"}},
      {Field::Employees,
       "Effectif",
       false,
       {"Effectif", "Effectifs", "Effectif total", "Nombre d'employés", "Nb employés", "Emplois"}},
      {Field::Turnover,
       "Chiffre d'affaires (MAD)",
       false,
       {"Chiffre d'affaires (MAD)", "Chiffre d'affaires (DH)", "Chiffre d'affaires",
        "Chiffre d'affaires HT", "CA (MAD)", "CA HT", "CA"}},
      {Field::City, "Ville", false, {"Ville", "Ville du siège", "Commune", "Localité"}},
      {Field::Region, "Région", false, {"Région", "Région du siège", "Code région"}},
      {Field::FirstExportYear,
       "Année premier export",
       false,
       {"Année premier export", "Année du premier export", "Premier export",
        "Année de première exportation"}},
      {Field::HsCode,
       "Code SH",
       true,
       {"Code SH", "SH", "Code HS", "HS", "Code SH (10)", "Nomenclature SH", "Code tarifaire",
        "Position tarifaire", "NGP"}},
      {Field::Destination,
       "Pays de destination",
       true,
       {"Pays de destination", "Pays destination", "Destination", "Code pays", "Pays"}},
      {Field::Period,
       "Mois",
       true,
       {"Mois", "Période", "Mois d'export", "Période d'export", "Mois/Année", "Date",
        "Date d'export"}},
      {Field::Year, "Année", false, {"Année", "Exercice", "Année d'export"}},
      {Field::Value,
       "Valeur FOB (MAD)",
       true,
       {"Valeur FOB (MAD)", "Valeur FOB (DH)", "Valeur FOB (DHS)", "Valeur FOB", "Valeur (MAD)",
        "Valeur (DH)", "Valeur", "Montant FOB (MAD)", "Montant FOB", "Montant (MAD)",
        "Montant (DH)", "Montant"}},
      {Field::Weight,
       "Poids net (kg)",
       false,
       {"Poids net (kg)", "Poids net", "Poids (kg)", "Masse nette (kg)", "Masse nette", "Poids",
        "PN (kg)"}},
  }};
}

struct SectorAlias {
  std::string_view label;
  core::Sector sector;
};
using S = core::Sector;
constexpr std::array kSectorAliases = {
    SectorAlias{"Automobile", S::Automotive},
    SectorAlias{"Automotive", S::Automotive},
    SectorAlias{"Industrie automobile", S::Automotive},
    SectorAlias{"Construction automobile", S::Automotive},
    SectorAlias{"Câblage automobile", S::Automotive},
    SectorAlias{"Équipementier automobile", S::Automotive},
    SectorAlias{"Équipementiers automobiles", S::Automotive},
    SectorAlias{"Composants automobiles", S::Automotive},
    SectorAlias{"Pièces automobiles", S::Automotive},
    SectorAlias{"Aéronautique", S::Aeronautics},
    SectorAlias{"Aéronautique et spatial", S::Aeronautics},
    SectorAlias{"Aérospatial", S::Aeronautics},
    SectorAlias{"Aerospace", S::Aeronautics},
    SectorAlias{"Câblage aéronautique", S::Aeronautics},
    SectorAlias{"Composants aéronautiques", S::Aeronautics},
    SectorAlias{"Textile", S::TextileLeather},
    SectorAlias{"Textile et habillement", S::TextileLeather},
    SectorAlias{"Textile-habillement", S::TextileLeather},
    SectorAlias{"Habillement", S::TextileLeather},
    SectorAlias{"Confection", S::TextileLeather},
    SectorAlias{"Bonneterie", S::TextileLeather},
    SectorAlias{"Textile et cuir", S::TextileLeather},
    SectorAlias{"Cuir", S::TextileLeather},
    SectorAlias{"Industrie du cuir", S::TextileLeather},
    SectorAlias{"Maroquinerie", S::TextileLeather},
    SectorAlias{"Chaussure", S::TextileLeather},
    SectorAlias{"Chaussures", S::TextileLeather},
    SectorAlias{"Tannerie", S::TextileLeather},
    SectorAlias{"Agroalimentaire", S::Agrifood},
    SectorAlias{"Industrie agroalimentaire", S::Agrifood},
    SectorAlias{"IAA", S::Agrifood},
    SectorAlias{"Conserverie", S::Agrifood},
    SectorAlias{"Conserves", S::Agrifood},
    SectorAlias{"Huilerie", S::Agrifood},
    SectorAlias{"Biscuiterie", S::Agrifood},
    SectorAlias{"Boissons", S::Agrifood},
    SectorAlias{"Agriculture", S::Agriculture},
    SectorAlias{"Agricole", S::Agriculture},
    SectorAlias{"Primeurs", S::Agriculture},
    SectorAlias{"Fruits et légumes", S::Agriculture},
    SectorAlias{"Agrumes", S::Agriculture},
    SectorAlias{"Maraîchage", S::Agriculture},
    SectorAlias{"Horticulture", S::Agriculture},
    SectorAlias{"Pêche", S::Fisheries},
    SectorAlias{"Produits de la mer", S::Fisheries},
    SectorAlias{"Halieutique", S::Fisheries},
    SectorAlias{"Industrie halieutique", S::Fisheries},
    SectorAlias{"Conserves de poisson", S::Fisheries},
    SectorAlias{"Pêche et aquaculture", S::Fisheries},
    SectorAlias{"Aquaculture", S::Fisheries},
    SectorAlias{"Valorisation des produits de la mer", S::Fisheries},
    SectorAlias{"Pharmacie", S::Pharmaceuticals},
    SectorAlias{"Pharmaceutique", S::Pharmaceuticals},
    SectorAlias{"Industrie pharmaceutique", S::Pharmaceuticals},
    SectorAlias{"Médicaments", S::Pharmaceuticals},
    SectorAlias{"Électronique", S::ElectricalElectronics},
    SectorAlias{"Électrique", S::ElectricalElectronics},
    SectorAlias{"Électrique et électronique", S::ElectricalElectronics},
    SectorAlias{"Électricité et électronique", S::ElectricalElectronics},
    SectorAlias{"Composants électroniques", S::ElectricalElectronics},
    SectorAlias{"Câbles électriques", S::ElectricalElectronics},
    SectorAlias{"Chimie", S::Chemicals},
    SectorAlias{"Parachimie", S::Chemicals},
    SectorAlias{"Chimie et parachimie", S::Chemicals},
    SectorAlias{"Plasturgie", S::Chemicals},
    SectorAlias{"Peintures", S::Chemicals},
    SectorAlias{"Phosphates", S::Phosphates},
    SectorAlias{"Phosphate", S::Phosphates},
    SectorAlias{"Phosphates et dérivés", S::Phosphates},
    SectorAlias{"Engrais", S::Phosphates},
    SectorAlias{"Fertilisants", S::Phosphates},
    SectorAlias{"Mines", S::Mining},
    SectorAlias{"Mine", S::Mining},
    SectorAlias{"Industrie minière", S::Mining},
    SectorAlias{"Minier", S::Mining},
    SectorAlias{"Métallurgie", S::MetalMechanical},
    SectorAlias{"Mécanique", S::MetalMechanical},
    SectorAlias{"Métallurgie et mécanique", S::MetalMechanical},
    SectorAlias{"IMME", S::MetalMechanical},
    SectorAlias{"Sidérurgie", S::MetalMechanical},
    SectorAlias{"Matériaux de construction", S::BuildingMaterials},
    SectorAlias{"Ciment", S::BuildingMaterials},
    SectorAlias{"Cimenterie", S::BuildingMaterials},
    SectorAlias{"Céramique", S::BuildingMaterials},
    SectorAlias{"Cosmétique", S::Cosmetics},
    SectorAlias{"Cosmétiques", S::Cosmetics},
    SectorAlias{"Produits cosmétiques", S::Cosmetics},
    SectorAlias{"Artisanat", S::Handicrafts},
    SectorAlias{"Autre", S::Other},
    SectorAlias{"Autres", S::Other},
    SectorAlias{"Divers", S::Other},
};

struct CountryName {
  std::string_view name;
  std::string_view code;
};
// French names of Morocco's main export markets; codes stay the reference.
constexpr std::array kCountryNames = {
    CountryName{"France", "FR"},
    CountryName{"Espagne", "ES"},
    CountryName{"Allemagne", "DE"},
    CountryName{"Italie", "IT"},
    CountryName{"États-Unis", "US"},
    CountryName{"États-Unis d'Amérique", "US"},
    CountryName{"Royaume-Uni", "GB"},
    CountryName{"Grande-Bretagne", "GB"},
    CountryName{"Pays-Bas", "NL"},
    CountryName{"Belgique", "BE"},
    CountryName{"Portugal", "PT"},
    CountryName{"Suisse", "CH"},
    CountryName{"Autriche", "AT"},
    CountryName{"Irlande", "IE"},
    CountryName{"Suède", "SE"},
    CountryName{"Danemark", "DK"},
    CountryName{"Pologne", "PL"},
    CountryName{"Roumanie", "RO"},
    CountryName{"Grèce", "GR"},
    CountryName{"République tchèque", "CZ"},
    CountryName{"Tchéquie", "CZ"},
    CountryName{"Slovaquie", "SK"},
    CountryName{"Hongrie", "HU"},
    CountryName{"Turquie", "TR"},
    CountryName{"Russie", "RU"},
    CountryName{"Chine", "CN"},
    CountryName{"Inde", "IN"},
    CountryName{"Japon", "JP"},
    CountryName{"Corée du Sud", "KR"},
    CountryName{"Singapour", "SG"},
    CountryName{"Brésil", "BR"},
    CountryName{"Canada", "CA"},
    CountryName{"Mexique", "MX"},
    CountryName{"Australie", "AU"},
    CountryName{"Tunisie", "TN"},
    CountryName{"Algérie", "DZ"},
    CountryName{"Libye", "LY"},
    CountryName{"Égypte", "EG"},
    CountryName{"Mauritanie", "MR"},
    CountryName{"Sénégal", "SN"},
    CountryName{"Mali", "ML"},
    CountryName{"Côte d'Ivoire", "CI"},
    CountryName{"Nigeria", "NG"},
    CountryName{"Ghana", "GH"},
    CountryName{"Cameroun", "CM"},
    CountryName{"Gabon", "GA"},
    CountryName{"Kenya", "KE"},
    CountryName{"Afrique du Sud", "ZA"},
    CountryName{"Arabie saoudite", "SA"},
    CountryName{"Émirats arabes unis", "AE"},
    CountryName{"Qatar", "QA"},
    CountryName{"Koweït", "KW"},
    CountryName{"Jordanie", "JO"},
    CountryName{"Liban", "LB"},
    CountryName{"Maroc", "MA"},  // refused by validate::destination, with its reason
};

struct MonthName {
  std::string_view name;  // normalised
  int32_t month;
};
constexpr std::array kMonthNames = {
    MonthName{"janvier", 1},   MonthName{"janv", 1},      MonthName{"jan", 1},
    MonthName{"fevrier", 2},   MonthName{"fevr", 2},      MonthName{"fev", 2},
    MonthName{"mars", 3},      MonthName{"mar", 3},       MonthName{"avril", 4},
    MonthName{"avr", 4},       MonthName{"mai", 5},       MonthName{"juin", 6},
    MonthName{"juillet", 7},   MonthName{"juil", 7},      MonthName{"aout", 8},
    MonthName{"septembre", 9}, MonthName{"sept", 9},      MonthName{"sep", 9},
    MonthName{"octobre", 10},  MonthName{"oct", 10},      MonthName{"novembre", 11},
    MonthName{"nov", 11},      MonthName{"decembre", 12}, MonthName{"dec", 12},
};

const std::vector<std::pair<std::string, core::Sector>>& sectorTable() {
  static const auto table = [] {
    std::vector<std::pair<std::string, core::Sector>> out;
    out.reserve(kSectorAliases.size());
    for (const auto& a : kSectorAliases) {
      out.emplace_back(normalizeHeader(a.label), a.sector);
    }
    return out;
  }();
  return table;
}

const std::vector<std::pair<std::string, std::string_view>>& countryTable() {
  static const auto table = [] {
    std::vector<std::pair<std::string, std::string_view>> out;
    out.reserve(kCountryNames.size());
    for (const auto& c : kCountryNames) {
      out.emplace_back(normalizeHeader(c.name), c.code);
    }
    return out;
  }();
  return table;
}

// --- Fast paths: the canonical forms most cells hold, accepted exactly as the validator
// would; anything else goes to the validator, for its normalisation and its message. ---------

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), v::internal::isDigit);
}

uint64_t digitsValue(std::string_view s) {
  uint64_t n = 0;
  for (char c : s) {
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

Status iceInto(std::string_view s, std::string& out) {
  if (s.size() == 15 && allDigits(s) && s.find_first_not_of('0') != std::string_view::npos) {
    out.assign(s);
    return Status::ok();
  }
  auto r = v::ice(s);
  if (!r) {
    return r.status();
  }
  out = std::move(*r);
  return Status::ok();
}

Status hsInto(std::string_view s, std::string& out) {
  if ((s.size() == 6 || s.size() == 8 || s.size() == 10) && allDigits(s)) {
    const int chapter = (s[0] - '0') * 10 + (s[1] - '0');
    if (chapter >= 1 && chapter <= 97 && chapter != 77) {
      out.assign(s);
      return Status::ok();
    }
  }
  auto r = v::hsCode(s);
  if (!r) {
    return r.status();
  }
  out = std::move(*r);
  return Status::ok();
}

bool isUpper(char c) { return c >= 'A' && c <= 'Z'; }

// Printable ASCII without surrounding spaces: what validate::text returns unchanged.
bool plainAscii(std::string_view s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ') {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
}

Status textInto(std::string_view s, size_t max_chars, std::string& out) {
  if (s.size() <= max_chars && plainAscii(s)) {
    out.assign(s);
    return Status::ok();
  }
  auto r = v::text(s, max_chars);
  if (!r) {
    return r.status();
  }
  out = std::move(*r);
  return Status::ok();
}

Status optionalTextInto(std::string_view s, size_t max_chars, std::optional<std::string>& out) {
  if (s.empty()) {
    out.reset();
    return Status::ok();
  }
  auto r = v::optionalText(s, max_chars);
  if (!r) {
    return r.status();
  }
  out = std::move(*r);
  return Status::ok();
}

// "1234", "1234,5", "1234.50" (the mark allowed by `mark`): centimes, or false for the
// validator to decide.
bool fastAmount(std::string_view s, v::DecimalMark mark, int64_t& centimes) {
  const size_t sep = s.find_first_of(",.");
  const std::string_view whole = s.substr(0, sep);
  if (whole.empty() || whole.size() > 15 || !allDigits(whole)) {
    return false;
  }
  int64_t frac = 0;
  if (sep != std::string_view::npos) {
    const char c = s[sep];
    if ((c == ',' && mark == v::DecimalMark::Point) ||
        (c == '.' && mark == v::DecimalMark::Comma)) {
      return false;
    }
    const std::string_view f = s.substr(sep + 1);
    if (f.empty() || f.size() > 2 || !allDigits(f)) {
      return false;
    }
    frac = static_cast<int64_t>(digitsValue(f)) * (f.size() == 1 ? 10 : 1);
  }
  centimes = static_cast<int64_t>(digitsValue(whole)) * 100 + frac;
  return true;
}

// "1250", "1250,5", "0,125" (not exactly 3 decimals, which may be ambiguous): the value as
// validate::quantity computes it, or false.
bool fastQuantity(std::string_view s, v::DecimalMark mark, double& value) {
  const size_t sep = s.find_first_of(",.");
  const std::string_view whole = s.substr(0, sep);
  if (whole.empty() || whole.size() > 15 || !allDigits(whole)) {
    return false;
  }
  std::array<char, 48> buf{};
  size_t n = 0;
  for (char c : whole) {
    buf[n++] = c;
  }
  buf[n++] = '.';
  if (sep == std::string_view::npos) {
    buf[n++] = '0';
  } else {
    const char c = s[sep];
    if ((c == ',' && mark == v::DecimalMark::Point) ||
        (c == '.' && mark == v::DecimalMark::Comma)) {
      return false;
    }
    const std::string_view f = s.substr(sep + 1);
    if (f.empty() || f.size() == 3 || f.size() > 20 || !allDigits(f)) {
      return false;
    }
    for (char d : f) {
      buf[n++] = d;
    }
  }
  const auto r = std::from_chars(buf.data(), buf.data() + n, value);
  return r.ec == std::errc() && std::isfinite(value);
}

Status amountInto(std::string_view s, v::DecimalMark mark, Money& out) {
  int64_t centimes = 0;
  if (fastAmount(s, mark, centimes)) {
    out = Money::fromCentimes(centimes);
    return Status::ok();
  }
  auto r = v::nonNegativeAmount(s, mark);
  if (!r) {
    return r.status();
  }
  out = *r;
  return Status::ok();
}

Status integerInto(std::string_view s, int64_t min, int64_t max, int64_t& out) {
  if (!s.empty() && s.size() <= 9 && allDigits(s)) {
    const auto n = static_cast<int64_t>(digitsValue(s));
    if (n >= min && n <= max) {
      out = n;
      return Status::ok();
    }
  }
  auto r = v::integer(s, min, max);
  if (!r) {
    return r.status();
  }
  out = *r;
  return Status::ok();
}

bool hasArabicLetter(std::string_view s) {
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b >= 0xD8 && b <= 0xDB) {
      return true;
    }
  }
  return false;
}

const std::string& emptyString() {
  static const std::string empty;
  return empty;
}

}  // namespace

// --- Public functions --------------------------------------------------------------------

const std::array<FieldSpec, kFieldCount>& fieldSpecs() {
  static const std::array<FieldSpec, kFieldCount> specs = makeFieldSpecs();
  return specs;
}

std::string normalizeHeader(std::string_view text) {
  // U+00C0 … U+00FF without their accents; "" marks a separator (×, ÷).
  static constexpr std::array<std::string_view, 64> kLatin1 = {
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
      "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
      "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y"};
  std::string out;
  out.reserve(text.size());
  bool gap = false;
  auto word = [&out, &gap](std::string_view piece) {
    if (gap && !out.empty()) {
      out += ' ';
    }
    gap = false;
    out.append(piece);
  };
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
    if (c < 0x80) {
      if (v::internal::isDigit(text[i]) || v::internal::isAsciiLetter(text[i])) {
        const char lower = v::internal::toLower(text[i]);
        word(std::string_view(&lower, 1));
      } else {
        gap = true;
      }
      ++i;
    } else if (c == 0xC3 && next >= 0x80 && next <= 0xBF) {
      const std::string_view base = kLatin1[next - 0x80];
      if (base.empty()) {
        gap = true;
      } else {
        word(base);
      }
      i += 2;
    } else if (c == 0xC5 && (next == 0x92 || next == 0x93)) {
      word("oe");  // Œ œ
      i += 2;
    } else if (c == 0xC2 || c == 0xE2) {
      gap = true;  // °, no-break spaces, ’ “ ” …: punctuation
      const size_t n = v::internal::utf8SequenceAt(text, i);
      i += n == 0 ? 1 : n;
    } else {
      const size_t n = v::internal::utf8SequenceAt(text, i);
      word(text.substr(i, n == 0 ? 1 : n));  // other scripts (Arabic) are kept
      i += n == 0 ? 1 : n;
    }
  }
  return out;
}

Result<Layout> Layout::resolve(const files::Header& header) {
  Layout layout;
  layout.index_.fill(-1);
  std::array<size_t, kFieldCount> rank{};
  rank.fill(SIZE_MAX);
  // Normalised aliases, built once: field → its aliases in priority order.
  static const auto normalised = [] {
    std::array<std::vector<std::string>, kFieldCount> out;
    for (const auto& spec : fieldSpecs()) {
      for (auto alias : spec.aliases) {
        out[static_cast<size_t>(spec.field)].push_back(normalizeHeader(alias));
      }
    }
    return out;
  }();
  const auto& names = header.names();
  for (size_t col = 0; col < names.size(); ++col) {
    const std::string key = normalizeHeader(names[col]);
    for (size_t f = 0; f < kFieldCount; ++f) {
      const auto& aliases = normalised[f];
      const auto it = std::find(aliases.begin(), aliases.end(), key);
      if (it == aliases.end()) {
        continue;
      }
      const auto r = static_cast<size_t>(it - aliases.begin());
      if (r < rank[f]) {
        rank[f] = r;
        layout.index_[f] = static_cast<int32_t>(col);
        layout.names_[f] = names[col];
      }
    }
  }
  std::string missing;
  for (const auto& spec : fieldSpecs()) {
    if (!spec.required || layout.has(spec.field)) {
      continue;
    }
    std::string accepted;
    for (auto alias : spec.aliases) {
      accepted += (accepted.empty() ? "" : ", ") + std::string(alias);
    }
    missing += (missing.empty() ? "" : "; ") + std::string(spec.label) +
               " (accepted headers: " + accepted + ")";
  }
  if (!missing.empty()) {
    std::string present;
    for (const auto& n : names) {
      present += (present.empty() ? "'" : ", '") + n + "'";
    }
    return Status::invalid("file '" + header.source() + "' (header on line " +
                           std::to_string(header.line()) + ") lacks the column of " + missing +
                           "; columns present: " + present +
                           ". Rename the column (case and accents do not matter) and drop the "
                           "file again");
  }
  return layout;
}

Result<core::Sector> parseSector(std::string_view text) {
  const std::string key = normalizeHeader(text);
  for (const auto& [alias, sector] : sectorTable()) {
    if (alias == key) {
      return sector;
    }
  }
  if (auto code = core::parseSector(text); code) {
    return *code;
  }
  if (key.empty()) {
    return Status::invalid("sector is empty; write the firm's sector, e.g. Automobile");
  }
  return Status::invalid("sector " + v::internal::quoted(v::internal::trim(text)) +
                         " is not in the industrie sector table; write a sector such as "
                         "Automobile, Aéronautique, Textile et habillement, Agroalimentaire, "
                         "Produits de la mer, Pharmacie, Électronique, Chimie et parachimie or "
                         "Phosphates et dérivés (full list in plugins/industrie/README.md)");
}

Result<std::string> parseDestination(std::string_view text) {
  if (text.size() == 2 && isUpper(text[0]) && isUpper(text[1]) && text != "MA" && text != "EH" &&
      v::isCountryCode(text)) {
    return std::string(text);
  }
  if (text.size() > 3) {
    const std::string key = normalizeHeader(text);
    for (const auto& [name, code] : countryTable()) {
      if (name == key) {
        return v::destination(code);
      }
    }
  }
  return v::destination(text);
}

Result<validate::Period> parsePeriod(std::string_view text) {
  // Fast paths: "MM/YYYY" and "YYYY-MM".
  if (text.size() == 7) {
    std::string_view y;
    std::string_view m;
    if (text[2] == '/') {
      m = text.substr(0, 2);
      y = text.substr(3);
    } else if (text[4] == '-') {
      y = text.substr(0, 4);
      m = text.substr(5);
    }
    if (allDigits(y) && allDigits(m)) {
      const validate::Period p{static_cast<int32_t>(digitsValue(y)),
                               static_cast<int32_t>(digitsValue(m))};
      if (p.isValid()) {
        return p;
      }
    }
  }
  if (std::any_of(text.begin(), text.end(), v::internal::isAsciiLetter)) {
    const std::string key = normalizeHeader(text);
    const size_t space = key.find(' ');
    if (space != std::string::npos && key.find(' ', space + 1) == std::string::npos) {
      const std::string_view name = std::string_view(key).substr(0, space);
      const std::string_view year = std::string_view(key).substr(space + 1);
      for (const auto& m : kMonthNames) {
        if (m.name != name) {
          continue;
        }
        if (year.size() == 4 && allDigits(year)) {
          const validate::Period p{static_cast<int32_t>(digitsValue(year)), m.month};
          if (!p.isValid()) {
            return Status::invalid("period " + v::internal::quoted(v::internal::trim(text)) +
                                   " has year " + std::string(year) +
                                   "; years 1900 to 2100 are accepted");
          }
          return p;
        }
        return Status::invalid("period " + v::internal::quoted(v::internal::trim(text)) +
                               " needs a 4-digit year; write e.g. mars 2024 or 03/2024");
      }
    }
  }
  return v::period(text);
}

std::optional<core::LegalForm> legalFormFromName(std::string_view name) {
  const std::string key = " " + normalizeHeader(name);
  auto ends = [&key](std::string_view suffix) {
    return key.size() >= suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(),
                                                      suffix.data(), suffix.size()) == 0;
  };
  using L = core::LegalForm;
  if (ends(" sarl au") || ends(" sarlau") || ends(" sarl a u")) {
    return L::SarlAu;
  }
  if (ends(" sarl")) {
    return L::Sarl;
  }
  if (ends(" sas") || ends(" s a s")) {
    return L::Sas;
  }
  if (ends(" sa") || ends(" s a")) {
    return L::Sa;
  }
  if (ends(" snc")) {
    return L::Snc;
  }
  if (ends(" gie")) {
    return L::Gie;
  }
  if (key.rfind(" cooperative ", 0) == 0) {
    return L::Cooperative;
  }
  return std::nullopt;
}

// --- LineParser --------------------------------------------------------------------------

namespace {

const std::string& cellOf(const Layout& layout, const files::Record& record, Field f) {
  const int32_t i = layout.column(f);
  return i < 0 ? emptyString() : record.at(static_cast<size_t>(i));
}

// Adds a Problem for `f` when `st` failed; returns whether it succeeded.
bool checked(const Layout& layout, const files::Record& record, Field f, const Status& st,
             std::vector<Problem>& problems) {
  if (!st) {
    problems.push_back({layout.name(f), cellOf(layout, record, f), st.message()});
  }
  return st.isOk();
}

// The fields a firm's lines repeat.
constexpr std::array<Field, 9> kFirmFields = {
    Field::Name,     Field::NameAr, Field::Sector, Field::LegalForm,      Field::Employees,
    Field::Turnover, Field::City,   Field::Region, Field::FirstExportYear};

}  // namespace

LineParser::LineParser(const Layout& layout, ParseOptions options)
    : layout_(&layout), options_(std::move(options)) {}

bool LineParser::sameFirmCells(const FirmCells& known, const files::Record& record) const {
  for (Field f : kFirmFields) {
    const int32_t i = layout_->column(f);
    if (i >= 0 && known[static_cast<size_t>(f)] != record.at(static_cast<size_t>(i))) {
      return false;
    }
  }
  return true;
}

void LineParser::remember(const files::Record& record, uint64_t ice) {
  FirmCells& known = firms_[ice];
  for (Field f : kFirmFields) {
    const int32_t i = layout_->column(f);
    if (i >= 0) {
      known[static_cast<size_t>(f)] = record.at(static_cast<size_t>(i));
    }
  }
}

bool LineParser::parse(const files::Record& record, Line& out, std::vector<Problem>& problems) {
  problems.clear();
  const Layout& layout = *layout_;
  auto cell = [&](Field f) -> const std::string& { return cellOf(layout, record, f); };
  auto check = [&](Field f, const Status& st) { return checked(layout, record, f, st, problems); };

  // Exporter.
  out.same_exporter = false;
  if (check(Field::Ice, iceInto(cell(Field::Ice), out.ice))) {
    const auto known = firms_.find(digitsValue(out.ice));
    out.same_exporter = known != firms_.end() && sameFirmCells(known->second, record);
  }
  if (!out.same_exporter) {
    parseFirm(record, out, problems);
  }
  parseFlow(record, out, problems);
  return problems.empty();
}

void LineParser::parseFirm(const files::Record& record, Line& out,
                           std::vector<Problem>& problems) const {
  const Layout& layout = *layout_;
  auto cell = [&](Field f) -> const std::string& { return cellOf(layout, record, f); };
  auto check = [&](Field f, const Status& st) { return checked(layout, record, f, st, problems); };
  const bool name_ok =
      check(Field::Name, textInto(cell(Field::Name), core::kMaxNameChars, out.name));
  if (layout.has(Field::NameAr)) {
    if (check(Field::NameAr,
              optionalTextInto(cell(Field::NameAr), core::kMaxNameChars, out.name_ar)) &&
        out.name_ar && !hasArabicLetter(*out.name_ar)) {
      (void)check(Field::NameAr,
                  Status::invalid(v::internal::quoted(*out.name_ar) +
                                  " has no Arabic letters; put a Latin-script name in '" +
                                  layout.name(Field::Name) + "'"));
    }
  } else {
    out.name_ar.reset();
  }
  if (auto s = parseSector(cell(Field::Sector)); check(Field::Sector, s.status())) {
    out.sector = *s;
  }
  const std::string& form = cell(Field::LegalForm);
  if (!form.empty()) {
    if (auto f = core::parseLegalForm(form); check(Field::LegalForm, f.status())) {
      out.legal_form = *f;
    }
  } else {
    out.legal_form = name_ok ? legalFormFromName(out.name).value_or(core::LegalForm::Other)
                             : core::LegalForm::Other;
  }
  out.employees.reset();
  if (const std::string& e = cell(Field::Employees); !e.empty()) {
    int64_t n = 0;
    if (check(Field::Employees, integerInto(e, 0, 1'000'000, n))) {
      out.employees = n;
    }
  }
  out.size_class.reset();
  if (const std::string& t = cell(Field::Turnover); !t.empty()) {
    Money turnover;
    if (check(Field::Turnover, amountInto(t, options_.decimal_mark, turnover))) {
      out.size_class = core::sizeClassFromTurnover(turnover);
    }
  } else if (out.employees) {
    out.size_class = core::sizeClassFromEmployees(*out.employees);
  }
  (void)check(Field::City, optionalTextInto(cell(Field::City), core::kMaxCityChars, out.city));
  if (const std::string& r = cell(Field::Region); !r.empty()) {
    if (auto reg = v::region(r); check(Field::Region, reg.status())) {
      out.region = std::move(*reg);
    }
  } else {
    out.region = options_.office_region;
  }
  out.first_export_year.reset();
  if (const std::string& y = cell(Field::FirstExportYear); !y.empty()) {
    int64_t year = 0;
    if (check(Field::FirstExportYear, integerInto(y, v::kMinYear, v::kMaxYear, year))) {
      out.first_export_year = year;
    }
  }
}

void LineParser::parseFlow(const files::Record& record, Line& out,
                           std::vector<Problem>& problems) const {
  const Layout& layout = *layout_;
  auto cell = [&](Field f) -> const std::string& { return cellOf(layout, record, f); };
  auto check = [&](Field f, const Status& st) { return checked(layout, record, f, st, problems); };
  (void)check(Field::HsCode, hsInto(cell(Field::HsCode), out.hs_code));
  if (auto d = parseDestination(cell(Field::Destination)); check(Field::Destination, d.status())) {
    out.destination = std::move(*d);
  }
  const std::string& month = cell(Field::Period);
  const std::string& year = cell(Field::Year);
  if (!year.empty() && !month.empty() && month.size() <= 2 && allDigits(month)) {
    // Separate "Année" and "Mois" (1..12) columns.
    int64_t y = 0;
    if (check(Field::Year, integerInto(year, v::kMinYear, v::kMaxYear, y))) {
      auto p = v::period(std::to_string(y) + "-" + (month.size() == 1 ? "0" : "") + month);
      if (check(Field::Period, p.status())) {
        out.period = *p;
      }
    }
  } else if (auto p = parsePeriod(month); check(Field::Period, p.status())) {
    out.period = *p;
    if (!year.empty()) {
      int64_t y = 0;
      if (check(Field::Year, integerInto(year, v::kMinYear, v::kMaxYear, y)) &&
          y != out.period.year) {
        (void)check(
            Field::Year,
            Status::invalid("year " + std::to_string(y) + " does not match the month " +
                            out.period.toString() + " in '" + layout.name(Field::Period) + "'"));
      }
    }
  }
  (void)check(Field::Value, amountInto(cell(Field::Value), options_.decimal_mark, out.value));
  out.weight_kg.reset();
  if (const std::string& w = cell(Field::Weight); !w.empty()) {
    double kg = 0;
    if (fastQuantity(w, options_.decimal_mark, kg)) {
      out.weight_kg = kg;
    } else if (auto q = v::quantity(w, options_.decimal_mark); check(Field::Weight, q.status())) {
      out.weight_kg = *q;
    }
  }
}

// --- Batch -------------------------------------------------------------------------------

bool Batch::add(Line&& line, size_t record_index, Problem& problem) {
  const auto dest = static_cast<uint32_t>((line.destination[0] << 8) | line.destination[1]);
  const auto months = static_cast<uint32_t>((line.period.year - 1900) * 12 + line.period.month - 1);
  const Key key{digitsValue(line.ice), digitsValue(line.hs_code) * 16 + line.hs_code.size(),
                dest << 16 | months};
  const uint64_t ice = key.ice;
  bool inserted = false;
  const size_t at = flow_index_.findOrInsert(key, flows_.size(), inserted);
  if (inserted) {
    Flow f;
    f.row.exporter_id = line.ice;
    f.row.hs_code = std::move(line.hs_code);
    f.row.destination = std::move(line.destination);
    f.row.period = line.period;
    f.row.value_mad = line.value;
    if (line.weight_kg) {
      f.row.quantity = line.weight_kg;
      f.row.quantity_unit = core::QuantityUnit::Kilogram;
    }
    f.first_record = record_index;
    f.lines = 1;
    flows_.push_back(std::move(f));
  } else {
    Flow& f = flows_[at];
    int64_t sum = 0;
    if (__builtin_add_overflow(f.row.value_mad->centimes(), line.value.centimes(), &sum)) {
      problem = {"", "",
                 "the total value of ICE " + line.ice + ", HS " + f.row.hs_code + ", " +
                     f.row.destination + ", " + f.row.period.toString() +
                     " would exceed the largest amount (92 233 720 368 547 758,07 MAD) with this "
                     "line; check the amounts"};
      return false;
    }
    f.row.value_mad = Money::fromCentimes(sum);
    // The total weight is known only when every line of the key gives one.
    if (f.row.quantity && line.weight_kg) {
      *f.row.quantity += *line.weight_kg;
    } else {
      f.row.quantity.reset();
      f.row.quantity_unit.reset();
    }
    ++f.lines;
  }

  const auto [ex, fresh] = exporter_index_.try_emplace(ice, exporters_.size());
  if (fresh) {
    exporters_.emplace_back();
  }
  Exporter& e = exporters_[ex->second];
  e.record = record_index;
  if (line.same_exporter && !fresh) {
    return true;  // the details are those already kept
  }
  core::ExporterRow& row = e.row;
  row.exporter_id = std::move(line.ice);
  row.name = std::move(line.name);
  row.name_ar = std::move(line.name_ar);
  row.legal_form = line.legal_form;
  row.region = std::move(line.region);
  row.city = std::move(line.city);
  row.sector = line.sector;
  row.size_class = line.size_class;
  row.employees = line.employees;
  row.first_export_year = line.first_export_year;
  return true;
}

void Batch::FlowIndex::reserve(size_t keys) {
  size_t capacity = 16;
  while (capacity < keys * 2) {
    capacity *= 2;
  }
  if (capacity > slots_.size()) {
    rehash(capacity);
  }
}

void Batch::FlowIndex::rehash(size_t capacity) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{});
  for (const Slot& s : old) {
    if (s.flow != SIZE_MAX) {
      slots_[probe(s.key)] = s;
    }
  }
}

size_t Batch::FlowIndex::probe(const Key& key) const {
  uint64_t h = key.ice * 0x9E3779B97F4A7C15ULL;
  h ^= key.hs + 0x632BE59BD9B4E019ULL + (h << 6) + (h >> 2);
  h ^= key.where + 0x94D049BB133111EBULL + (h << 6) + (h >> 2);
  h ^= h >> 29;
  const size_t mask = slots_.size() - 1;
  size_t i = static_cast<size_t>(h) & mask;
  while (slots_[i].flow != SIZE_MAX && !(slots_[i].key == key)) {
    i = (i + 1) & mask;
  }
  return i;
}

size_t Batch::FlowIndex::findOrInsert(const Key& key, size_t fresh, bool& inserted) {
  if ((size_ + 1) * 2 > slots_.size()) {
    rehash(std::max<size_t>(16, slots_.size() * 2));
  }
  Slot& slot = slots_[probe(key)];
  inserted = slot.flow == SIZE_MAX;
  if (inserted) {
    slot.key = key;
    slot.flow = fresh;
    ++size_;
  }
  return slot.flow;
}

std::vector<const Batch::Flow*> Batch::flowsInKeyOrder() const {
  // Integers that order as SQLite orders the key's text: the ICE (15 digits), the HS code's
  // digits left-aligned on 10 then its length (a prefix sorts first), the destination, the
  // period.
  struct Entry {
    uint64_t ice;
    uint64_t hs;
    uint32_t where;
    const Flow* flow;
  };
  std::vector<Entry> entries;
  entries.reserve(flows_.size());
  for (const Flow& f : flows_) {
    const std::string& hs = f.row.hs_code;
    uint64_t aligned = digitsValue(hs);
    for (size_t n = hs.size(); n < 10; ++n) {
      aligned *= 10;
    }
    const std::string& d = f.row.destination;
    entries.push_back(
        {digitsValue(f.row.exporter_id), aligned * 16 + hs.size(),
         static_cast<uint32_t>(d[0]) << 24 | static_cast<uint32_t>(d[1]) << 16 |
             static_cast<uint32_t>((f.row.period.year - 1900) * 12 + f.row.period.month - 1),
         &f});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.ice != b.ice ? a.ice < b.ice : a.hs != b.hs ? a.hs < b.hs : a.where < b.where;
  });
  std::vector<const Flow*> out;
  out.reserve(entries.size());
  for (const Entry& e : entries) {
    out.push_back(e.flow);
  }
  return out;
}

void Batch::reserve(size_t lines) {
  flows_.reserve(lines);
  flow_index_.reserve(lines);
}

Row Batch::flowRow(const Flow& flow) {
  namespace col = core::column;
  const core::ExportFlowRow& f = flow.row;
  // "YYYY-MM", as validate::Period::toString() writes it.
  std::array<char, 7> period{};
  exportsync::detail::putDigits(period.data(), static_cast<uint64_t>(f.period.year), 4);
  period[4] = '-';
  exportsync::detail::putDigits(period.data() + 5, static_cast<uint64_t>(f.period.month), 2);
  Row row{{col::kExporterId, f.exporter_id},
          {col::kHsCode, f.hs_code},
          {col::kDestination, f.destination},
          {col::kPeriod, std::string(period.data(), period.size())},
          {col::kValueMad, *f.value_mad},
          {col::kQuantity, Value(f.quantity)},
          {col::kQuantityUnit,
           f.quantity_unit ? Value(std::string(core::toCode(*f.quantity_unit))) : Value()}};
#ifndef NDEBUG
  // Debug builds (the tests) check that this is the core builder's row.
  const auto built = f.toRow();
  bool same = built.isOk() && built->fields().size() == row.fields().size();
  for (size_t i = 0; same && i < row.fields().size(); ++i) {
    same = built->fields()[i].first == row.fields()[i].first &&
           built->fields()[i].second.storage() == row.fields()[i].second.storage();
  }
  if (!same) {
    throw Error("industrie: the export_flows row of " + f.exporter_id + " " + f.hs_code +
                " differs from core::ExportFlowRow::toRow(); this is a bug of the plugin");
  }
#endif
  return row;
}

// --- readRecords -------------------------------------------------------------------------

Status readRecords(const files::Header& header, const std::vector<files::Record>& records,
                   const ParseOptions& options, Batch& batch,
                   const std::function<void(size_t, Problem&&)>& reject,
                   const std::function<void()>& poll) {
  auto layout = Layout::resolve(header);
  if (!layout) {
    return layout.status();
  }
  LineParser parser(*layout, options);
  batch.reserve(records.size());
  Line line;
  std::vector<Problem> problems;
  Problem overflow;
  for (size_t i = 0; i < records.size(); ++i) {
    if (poll && i % 4096 == 0) {
      poll();
    }
    if (!parser.parse(records[i], line, problems)) {
      for (auto& p : problems) {
        reject(i, std::move(p));
      }
      continue;
    }
    const uint64_t ice = digitsValue(line.ice);
    if (batch.add(std::move(line), i, overflow)) {
      parser.remember(records[i], ice);
    } else {
      overflow.column = layout->name(Field::Value);
      overflow.value = records[i].at(static_cast<size_t>(layout->column(Field::Value)));
      reject(i, std::move(overflow));
    }
  }
  return Status::ok();
}

}  // namespace exportsync::industrie
