// Reading office spreadsheets the way clerks write them: French column headers with or without
// accents (an alias table per field), amounts and quantities in French or Excel notation, codes
// whose leading zeros a spreadsheet dropped, region names, several values in one cell, and the
// monthly sums of shipment lines.
//
// plugins/artisanat/office_sheet.* and plugins/cooperatives/office_sheet.* are the same files:
// each plugin builds from its own folder and links only the SDK. Change both together.
// TODO(#plugins-kit): move FieldMap and CellReader into ExportSync::files.
//
// THREAD: values and pure functions; a FieldMap or FlowTotals is used by one thread.
// OWNERSHIP: everything returned is a value owned by the caller; FieldMap keeps a pointer to the
// static FieldSpec table it was resolved with.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
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

/// One field a plugin reads, and the header names an office may give its column.
struct FieldSpec {
  std::string_view key;      ///< stable name, e.g. "value" (state keys, README)
  std::string_view label;    ///< how messages name the field, e.g. "the value in dirhams"
  std::string_view aliases;  ///< header names separated by '|'; the first is the preferred one
};

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
};

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

 private:
  std::map<std::string, FlowSum> core_;
  std::map<std::string, FlowSum> detailed_;
};

}  // namespace exportsync::office_sheet
