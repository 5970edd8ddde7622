// Reading office spreadsheets the way clerks write them: French column headers with or without
// accents (an alias table per field), amounts and quantities in French or Excel notation, codes
// whose leading zeros a spreadsheet dropped, region names, several values in one cell, and the
// monthly sums of shipment lines.
//
// Shared by the artisanat and cooperatives plugins: built into the static library
// es_plugin_common (plugins/common/CMakeLists.txt), which each plugin's .so links in; it is not
// part of the SDK and is not installed. The plugins' own tables and rules stay in their folders.
// TODO(#plugins-kit): move FieldMap and CellReader into ExportSync::files.
//
// THREAD: values and pure functions; a FieldMap or FlowTotals is used by one thread.
// OWNERSHIP: everything returned is a value owned by the caller; FieldMap keeps a pointer to the
// static FieldSpec table it was resolved with.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "exportsync/core_datasets.hpp"
#include "exportsync/dataset.hpp"
#include "exportsync/files/table.hpp"
#include "exportsync/plugin.hpp"
#include "exportsync/status.hpp"
#include "exportsync/validate.hpp"

namespace exportsync::office_sheet {

/// Folds text for matching names typed by hand: lower case, Latin accents removed (é → e,
/// ç → c, œ → oe), Arabic alef forms unified (أ إ آ → ا), apostrophes, punctuation, degree
/// signs and spaces collapsed to one space, trimmed. "N° carte d'artisan" → "n carte d artisan".
std::string foldKey(std::string_view text);

/// Calls `fn` on each '|'-separated part of `list` ("tapis|zarbia"); stops at the first part for
/// which it returns true. Returns: whether one did.
template <typename Fn>
bool anyOf(std::string_view list, Fn fn) {
  while (!list.empty()) {
    const size_t bar = list.find('|');
    if (fn(list.substr(0, bar))) {
      return true;
    }
    list = bar == std::string_view::npos ? std::string_view() : list.substr(bar + 1);
  }
  return false;
}

/// The first of '|'-separated aliases, the one messages show: "tapis|zarbia" → "tapis".
inline std::string_view firstAlias(std::string_view aliases) {
  return aliases.substr(0, aliases.find('|'));
}

/// The entry of a plugin's name table (a craft, a product: entries with `code`, `label_fr` and
/// '|'-separated `aliases`) that `text` names, compared folded ("Poteries", "CÉRAMIQUE");
/// nullptr when none does or `text` is blank. OWNERSHIP: points into `table`.
template <typename Table>
const typename Table::value_type* findNamed(const Table& table, std::string_view text) {
  const std::string key = foldKey(text);
  if (key.empty()) {
    return nullptr;
  }
  for (const auto& entry : table) {
    const auto same = [&key](std::string_view name) { return foldKey(name) == key; };
    if (same(entry.code) || same(entry.label_fr) || anyOf(entry.aliases, same)) {
      return &entry;
    }
  }
  return nullptr;
}

/// The first alias of every entry of a name table, joined with ", ", for messages
/// ("tapis, kilim, poterie, …").
template <typename Table>
std::string firstAliases(const Table& table) {
  std::string out;
  for (const auto& entry : table) {
    out += (out.empty() ? "" : ", ") + std::string(firstAlias(entry.aliases));
  }
  return out;
}

/// One field a plugin reads, and the header names an office may give its column.
struct FieldSpec {
  std::string_view key;      ///< stable name, e.g. "value" (state keys, README)
  std::string_view label;    ///< how messages name the field, e.g. "the value in dirhams"
  std::string_view aliases;  ///< header names separated by '|'; the first is the preferred one
};

// Fields whose header names are the same in every office's sheets (the plugins' READMEs,
// "Columns"); a plugin puts them in its FieldSpec table beside its own with commonField().
inline constexpr std::array<FieldSpec, 9> kCommonFields = {{
    {"region", "the region of the seat", "Région|Code région|Région du siège|الجهة"},
    {"city", "the city", "Ville|Commune|Localité|Ville / Commune|Ville du siège|المدينة|الجماعة"},
    {"size_class", "the annual turnover",
     "Chiffre d'affaires|Chiffre d'affaires (MAD)|Chiffre d'affaires HT|CA|CA (MAD)|CA HT|"
     "رقم المعاملات"},
    {"hs_code", "the HS code",
     "Code SH|SH|N° SH|Code HS|HS|HS code|Code douanier|Nomenclature|Nomenclature douanière|"
     "Position tarifaire|NGP|رمز النظام المنسق"},
    {"destination", "the country of destination",
     "Pays de destination|Pays destination|Destination|Pays|Code pays|Pays (code ISO)|"
     "بلد الوجهة|البلد"},
    {"date", "the shipment date",
     "Date d'expédition|Date expédition|Date de l'expédition|Date d'export|"
     "Date d'exportation|Date d'envoi|Date DUM|Date de la DUM|Date|تاريخ الإرسال|تاريخ التصدير"},
    {"period", "the month of the shipment",
     "Mois|Période|Mois d'expédition|Mois d'export|Période d'export|الشهر"},
    {"unit", "the unit", "Unité|Unité de mesure|U|UM|الوحدة"},
    {"value", "the value in dirhams",
     "Valeur (MAD)|Valeur MAD|Valeur en MAD|Valeur (DH)|Valeur DH|Valeur en dirhams|Valeur|"
     "Valeur FOB|Valeur FOB (MAD)|Valeur FOB (DH)|Montant|Montant (MAD)|Montant (DH)|القيمة|"
     "القيمة بالدرهم"},
}};

/// The entry of kCommonFields keyed `key` ("hs_code"). Use it in a constant expression (a
/// plugin's constexpr table), where a key kCommonFields lacks does not compile.
constexpr FieldSpec commonField(std::string_view key) {
  for (const FieldSpec& spec : kCommonFields) {
    if (spec.key == key) {
      return spec;
    }
  }
  throw std::invalid_argument("office_sheet::commonField: unknown key");
}

/// The columns of a file, matched to a plugin's fields through their aliases (compared folded,
/// so "Date d'expédition", "DATE D'EXPEDITION" and "Date d’expédition" are one name).
class FieldMap {
 public:
  /// Matches every header column against `specs` (indexed by the plugin's field enum).
  /// Returns: the map, or Code::Invalid when two columns match one field ("Pays" and "Pays de
  /// destination"), naming both and what to do.
  [[nodiscard]] static Result<FieldMap> resolve(const files::Header& header, const FieldSpec* specs,
                                                size_t count);

  [[nodiscard]] bool has(size_t field) const { return index_[field].has_value(); }
  /// The field's value in `record` (trimmed UTF-8), or "" when the file has no such column.
  [[nodiscard]] const std::string& get(const files::Record& record, size_t field) const;
  /// The column as the file heads it ("Valeur (MAD)"), or the field's preferred alias when the
  /// file has none; this is what rejections name, so the office finds the cell.
  [[nodiscard]] std::string column(size_t field) const;
  /// Header columns that match no field (reported once per file in the log).
  [[nodiscard]] const std::vector<std::string>& ignored() const { return ignored_; }
  /// OK when the file has every one of `fields`; otherwise Code::Invalid naming the first
  /// missing field, the headers accepted for it and the columns found.
  [[nodiscard]] Status require(std::initializer_list<size_t> fields) const;
  /// OK when the file has at least one of `fields`.
  [[nodiscard]] Status requireAny(std::initializer_list<size_t> fields) const;

 private:
  [[nodiscard]] std::string missing(size_t field) const;
  const files::Header* header_ = nullptr;
  const FieldSpec* specs_ = nullptr;
  std::vector<std::optional<size_t>> index_;
  std::vector<std::string> names_;  // header names, as written
  std::vector<std::string> ignored_;
  std::string source_;
  std::string empty_;  // what get() returns for a field the file has no column for
};

/// Where a plugin's FieldSpec table puts the fields the core datasets are read from: the
/// exporter's identifiers and name, and the cells of a shipment. Each is an index into the table.
struct CoreFields {
  size_t ice;          ///< the ICE
  size_t id;           ///< the plugin's own identifier (artisan card, registration number)
  size_t name;         ///< the exporter's name
  size_t detail;       ///< the plugin's breakdown of a shipment (craft, product)
  size_t hs_code;      ///< the HS code
  size_t destination;  ///< the country of destination
  size_t date;         ///< the shipment date
  size_t period;       ///< the month of the shipment, used when the date is blank
  size_t quantity;     ///< the quantity
  size_t unit;         ///< the unit of the quantity
  size_t value;        ///< the value in dirhams
};

/// Whether `fields` indexes the entries of `specs` keyed "ice", `id_key`, "name", `detail_key`,
/// "hs_code", "destination", "date", "period", "quantity", "unit" and "value" (CoreFields'
/// members in order). For a static_assert beside a plugin's table: positions are easy to swap.
template <size_t N>
constexpr bool indexesCoreFields(const std::array<FieldSpec, N>& specs, const CoreFields& fields,
                                 std::string_view id_key, std::string_view detail_key) {
  const auto is = [&specs](size_t i, std::string_view key) { return i < N && specs[i].key == key; };
  return is(fields.ice, "ice") && is(fields.id, id_key) && is(fields.name, "name") &&
         is(fields.detail, detail_key) && is(fields.hs_code, "hs_code") &&
         is(fields.destination, "destination") && is(fields.date, "date") &&
         is(fields.period, "period") && is(fields.quantity, "quantity") &&
         is(fields.unit, "unit") && is(fields.value, "value");
}

/// Whether the file has a shipment column (destination, value, date, month, HS code or
/// quantity); a file without one is a register of exporters.
[[nodiscard]] bool hasShipmentColumns(const FieldMap& cols, const CoreFields& fields);
/// Whether a line has a shipment cell that is not blank; a line without one is a register line.
[[nodiscard]] bool isShipmentLine(const FieldMap& cols, const files::Record& record,
                                  const CoreFields& fields);
/// The columns a file must have: an identifier (the plugin's or the ICE) and a name; for
/// shipments, the destination, the value, a date or month, and an HS code or the detail.
/// Returns: OK, or Code::Invalid from FieldMap::require()/requireAny() naming what to add.
[[nodiscard]] Status checkColumns(const FieldMap& cols, const CoreFields& fields);

/// Reads numbers and codes from the cells of one file. XLSX numeric cells come the way Excel
/// shows them in General format ("12500.5": '.' decimal mark, no thousands separator, no
/// trailing zero in the fraction), so such a value from an XLSX file is read with '.' as its
/// decimal mark; anything else (CSV, text cells such as "12 500,50" or "1.250") follows `mark`
/// (docs/datasets.md, "Amounts").
struct CellReader {
  bool xlsx = false;
  validate::DecimalMark mark = validate::DecimalMark::Auto;

  /// A non-negative amount in dirhams, as centimes.
  [[nodiscard]] Result<Money> amount(std::string_view text) const;
  /// A non-negative quantity.
  [[nodiscard]] Result<double> quantity(std::string_view text) const;
  /// A whole number in [min, max].
  [[nodiscard]] Result<int64_t> integer(std::string_view text, int64_t min, int64_t max) const;
  /// `text` with the leading zeros a spreadsheet drops from a code typed as a number put back:
  /// in XLSX files only, an all-digit value one to three digits short of `length` is padded
  /// ("1525148000067" → "001525148000067" for an ICE, "91020" → "091020" for an HS code when
  /// `length` is 6). Other values are returned unchanged for the validators to judge.
  [[nodiscard]] std::string restoreZeros(std::string_view text, size_t length) const;
  /// An ICE (validate::ice), its leading zeros restored.
  [[nodiscard]] Result<std::string> ice(std::string_view text) const;
  /// An HS code (validate::hsCode), trimmed; a code of 5, 7 or 9 digits gets back the leading
  /// zero of chapters 01-09 typed as numbers.
  [[nodiscard]] Result<std::string> hsCode(std::string_view text) const;
  /// An annual turnover in dirhams, as the code of its size class (core::sizeClassFromTurnover).
  [[nodiscard]] Result<std::string> sizeClass(std::string_view text) const;
};

/// A name in Arabic (validate::text, up to core::kMaxNameChars); Code::Invalid when it has no
/// Arabic letter, telling the office to put it in `latin_column`, the file's name column.
[[nodiscard]] Result<std::string> arabicName(std::string_view text,
                                             const std::string& latin_column);

/// Exporter id of the plugin's own identifier → the ICE given with it and the line that did.
using IceById = std::map<std::string, std::pair<std::string, uint64_t>>;

/// The plugin's identifier (of `kind`, e.g. an artisan card) that some line gives with an ICE
/// identifies that ICE's exporter on lines without it: maps each such identifier to the ICE of
/// the first line giving both. Lines where either is invalid are skipped (readers report them).
IceById mapIdsToIce(const std::vector<files::Record>& records, const FieldMap& cols,
                    const CellReader& reader, const CoreFields& fields, core::IdKind kind);

/// A unit of quantity (core::parseQuantityUnit), French plurals included ("paires",
/// "litres", "unités").
[[nodiscard]] Result<core::QuantityUnit> quantityUnit(std::string_view text);

/// Parses the `decimal_mark` setting: "auto" (default), "comma" (or ","), "point" (or ".").
[[nodiscard]] Result<validate::DecimalMark> parseDecimalMark(std::string_view text);

/// A region: a code ("MA-09", "ma-9") or the region's French or Arabic name, accents and case
/// ignored ("Souss-Massa", "souss massa", "سوس-ماسة"). Returns the code.
[[nodiscard]] Result<std::string> region(std::string_view text);

/// Today's date on this machine (local time).
Date today();

/// A date (validate::date) that is not after `today`.
[[nodiscard]] Result<Date> pastDate(std::string_view text, Date today);
/// A month (validate::period) that has begun by `today`.
[[nodiscard]] Result<validate::Period> pastPeriod(std::string_view text, Date today);

/// The values of a list cell: split on ',', ';', '/', '+', '|', the Arabic comma and " et ",
/// each trimmed; empty items dropped. "Bio, IGP" → {"Bio", "IGP"}.
std::vector<std::string> splitList(std::string_view text);

/// Codes joined with ',' in sorted order: {"igp", "organic"} → "igp,organic"; nullopt when
/// empty.
std::optional<std::string> joinCodes(const std::set<std::string>& codes);

/// A value given for an exporter, with the line that first gave it; later lines must agree.
template <typename T>
struct Given {
  std::optional<T> value;
  uint64_t line = 0;
};

/// Records the `attributes` of line `line` into `given` where no earlier line gave a value: the
/// first line to give one wins (readers check beforehand that later lines agree).
template <typename Field>
void keepFirst(std::map<Field, Given<std::string>>& given,
               const std::vector<std::pair<Field, std::string>>& attributes, uint64_t line) {
  for (const auto& [field, value] : attributes) {
    auto& slot = given[field];
    if (!slot.value) {
      slot.value = value;
      slot.line = line;
    }
  }
}

/// What a plugin knows about an exporter from every file it has read: attribute key → value
/// (FieldSpec::key, or a list of codes joined with ','). Rows are upserted whole, so without it a
/// file that leaves a column out (a monthly shipments file after the register) would erase what
/// an earlier file gave.
using Known = std::map<std::string, std::string>;

/// Reads what the plugin's State holds for `exporter_id` (key "exporter.<exporter_id>", one
/// "key=value" line per attribute); empty when nothing is known.
Known loadKnown(const State& state, const std::string& exporter_id);
/// Stores `known` for `exporter_id`, in the run's transaction (kept only if the run commits).
/// Values hold no line breaks (validate::text refuses them).
[[nodiscard]] Status saveKnown(State& state, const std::string& exporter_id, const Known& known);
/// The codes of a list joined with ',' ("igp,organic" → {"igp", "organic"}).
std::vector<std::string> splitCodes(std::string_view joined);

/// One shipment line, validated, as FlowTotals sums it.
struct FlowLine {
  std::string exporter_id;  ///< canonical
  std::string detail;       ///< the plugin's own breakdown (craft, product)
  std::string hs_code;      ///< normalised by validate::hsCode
  std::string destination;  ///< normalised by validate::destination
  validate::Period period;
  Money value;
  std::optional<double> quantity;  ///< with unit, or neither
  std::optional<core::QuantityUnit> unit;
  bool hs_default = false;  ///< the HS code came from the plugin's table, not the file
};

/// Reads the cells of a shipment line that follow its HS code: destination, date (else month),
/// value, quantity and unit, into `line`. A quantity given without a unit is in `default_unit`.
/// Calls `fail(field, reason)` for each cell refused, in that order, and leaves its part of
/// `line` unset.
void readShipmentCells(const FieldMap& cols, const files::Record& record, const CellReader& reader,
                       Date today, const CoreFields& fields, core::QuantityUnit default_unit,
                       FlowLine& line,
                       const std::function<void(size_t field, std::string reason)>& fail);

/// The sum of the lines of one key.
struct FlowSum {
  FlowLine total;              ///< key fields of the first line; value and quantity summed
  bool quantity_known = true;  ///< false once a line of the key has no quantity
  int64_t lines = 0;
  const files::Record* first = nullptr;  ///< the first line of the key (rows are reported on it)
  uint64_t unit_line = 0;                ///< the line that set the unit
};

/// Why FlowTotals refused a line, and which of its cells is at fault.
struct FlowRefusal {
  enum class Cell { Unit, Value };
  Cell cell = Cell::Value;
  std::string reason;
};

/// Sums shipment lines per month: by core key (exporter, HS code, destination, month) for
/// `export_flows`, and by the same key plus the plugin's detail for its own dataset.
class FlowTotals {
 public:
  /// Adds a line, or refuses it without changing anything: when its unit differs from the unit
  /// the key already has (one unit per flow; the reason names the line that set it) or when a
  /// total would overflow. `record` must outlive this object.
  [[nodiscard]] std::optional<FlowRefusal> add(const FlowLine& line, const files::Record& record);
  [[nodiscard]] const std::map<std::string, FlowSum>& core() const { return core_; }
  [[nodiscard]] const std::map<std::string, FlowSum>& detailed() const { return detailed_; }
  /// The `export_flows` row of a sum (quantity kept only when every line gave one).
  [[nodiscard]] static Result<Row> coreRow(const FlowSum& sum);
  /// The row of a sum in the plugin's own flows dataset: the `export_flows` columns plus the
  /// detail in `detail_column`, the lines summed (`shipments`) and `hs_default_column`, true
  /// when every line took the plugin's default HS code.
  [[nodiscard]] static Row detailRow(const FlowSum& sum, const std::string& detail_column,
                                     const std::string& hs_default_column);

 private:
  std::map<std::string, FlowSum> core_;
  std::map<std::string, FlowSum> detailed_;
};

}  // namespace exportsync::office_sheet
