// office_sheet.hpp: reading office spreadsheets (header aliases, cells, shipment sums), shared
// by the artisanat and cooperatives plugins.
#include "office_sheet.hpp"

#include <algorithm>
#include <array>
#include <ctime>
#include <functional>
#include <string>
#include <utility>

namespace exportsync::office_sheet {
namespace {

namespace vi = validate::internal;

// Fold of the Latin-1 letters U+00C0..U+00FF (second byte 0x80..0xBF after 0xC3); "" for the
// signs × and ÷ (separators).
std::string_view latinFold(unsigned char second) {
  static constexpr std::array<std::string_view, 64> kFold = {
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
      "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
      "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y"};
  return kFold[second - 0x80];
}

unsigned char byteAt(std::string_view s, size_t i) { return static_cast<unsigned char>(s[i]); }

bool isPlainNumber(std::string_view s);

// True for a number as the XLSX reader writes a numeric cell: digits, an optional '.' and
// fraction without trailing zeros ("1234.5", never "1.250": that is a text cell, read like CSV).
bool isExcelNumber(std::string_view s) {
  if (s.find('.') != std::string_view::npos && !s.empty() && s.back() == '0') {
    return false;
  }
  return isPlainNumber(s);
}

bool isPlainNumber(std::string_view s) {
  size_t i = !s.empty() && s[0] == '-' ? 1 : 0;
  const size_t int_start = i;
  while (i < s.size() && vi::isDigit(s[i])) {
    ++i;
  }
  if (i == int_start) {
    return false;
  }
  if (i == s.size()) {
    return true;
  }
  if (s[i] != '.' || i + 1 == s.size()) {
    return false;
  }
  for (++i; i < s.size(); ++i) {
    if (!vi::isDigit(s[i])) {
      return false;
    }
  }
  return true;
}

std::string quotedList(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    out += (out.empty() ? "" : ", ") + vi::quoted(n);
  }
  return out.empty() ? "none" : out;
}

bool hasArabicLetter(std::string_view s) {
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0xD8 && b <= 0xDB) {
      return true;
    }
  }
  return false;
}

bool isBlank(const FieldMap& cols, const files::Record& record, size_t field) {
  return vi::trim(cols.get(record, field)).empty();
}

// The fields whose columns make a file, and whose cells make a line, a shipment.
std::array<size_t, 6> shipmentFields(const CoreFields& fields) {
  return {fields.destination, fields.value,   fields.date,
          fields.period,      fields.hs_code, fields.quantity};
}

std::vector<std::string_view> splitAliases(std::string_view aliases) {
  std::vector<std::string_view> out;
  while (!aliases.empty()) {
    const size_t bar = aliases.find('|');
    out.push_back(aliases.substr(0, bar));
    aliases = bar == std::string_view::npos ? std::string_view() : aliases.substr(bar + 1);
  }
  return out;
}

}  // namespace

std::string foldKey(std::string_view text) {
  std::string out;
  bool pending_space = false;
  auto put = [&](std::string_view piece) {
    if (piece.empty()) {
      pending_space = true;
      return;
    }
    if (pending_space && !out.empty()) {
      out += ' ';
    }
    pending_space = false;
    out += piece;
  };
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = byteAt(text, i);
    const size_t n = vi::utf8SequenceAt(text, i);
    if (n <= 1) {
      if (n == 1 &&
          (vi::isDigit(static_cast<char>(c)) || vi::isAsciiLetter(static_cast<char>(c)))) {
        const char lower = vi::toLower(static_cast<char>(c));
        put(std::string_view(&lower, 1));
      } else if (n == 1) {
        put({});  // ASCII punctuation and spaces separate words
      } else {
        put(text.substr(i, 1));  // an invalid byte stays, so it never matches a name
      }
      i += 1;
      continue;
    }
    const unsigned char c2 = byteAt(text, i + 1);
    if (c == 0xC3) {
      put(latinFold(c2));
    } else if (c == 0xC5 && (c2 == 0x92 || c2 == 0x93)) {
      put("oe");  // Œ œ
    } else if (c == 0xC5 && c2 == 0xB8) {
      put("y");  // Ÿ
    } else if (c == 0xC2 || (c == 0xE2 && c2 == 0x80) || (c == 0xD8 && c2 == 0x8C)) {
      put({});  // ° º « » no-break spaces, ’ ‘ “ ” – — …, the Arabic comma
    } else if (c == 0xD8 && (c2 == 0xA2 || c2 == 0xA3 || c2 == 0xA5)) {
      put("\xD8\xA7");  // آ أ إ → ا
    } else if (c == 0xD8 && c2 == 0xA9) {
      put("\xD9\x87");  // ة → ه (often typed one for the other at the end of a word)
    } else if (c == 0xD9 && c2 == 0x89) {
      put("\xD9\x8A");  // ى → ي
    } else if (c == 0xD9 && (c2 == 0x80 || (c2 >= 0x8B && c2 <= 0x92))) {
      // tatweel and short-vowel marks: dropped, they do not change a word
    } else {
      put(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

// --- FieldMap -----------------------------------------------------------------------------------

Result<FieldMap> FieldMap::resolve(const files::Header& header, const FieldSpec* specs,
                                   size_t count) {
  FieldMap map;
  map.header_ = &header;
  map.specs_ = specs;
  map.index_.assign(count, std::nullopt);
  map.names_ = header.names();
  map.source_ = header.source();
  std::vector<std::vector<std::string>> folded(count);
  for (size_t f = 0; f < count; ++f) {
    for (std::string_view alias : splitAliases(specs[f].aliases)) {
      folded[f].push_back(foldKey(alias));
    }
  }
  for (size_t col = 0; col < map.names_.size(); ++col) {
    const std::string key = foldKey(map.names_[col]);
    bool matched = false;
    for (size_t f = 0; f < count && !matched; ++f) {
      for (const auto& alias : folded[f]) {
        if (alias != key) {
          continue;
        }
        if (map.index_[f]) {
          const size_t other = *map.index_[f];
          return Status::invalid(
              "file '" + map.source_ + "' has two columns for " + std::string(specs[f].label) +
              ": " + vi::quoted(map.names_[other]) + " (column " + std::to_string(other + 1) +
              ") and " + vi::quoted(map.names_[col]) + " (column " + std::to_string(col + 1) +
              "); keep one of them or rename the other");
        }
        map.index_[f] = col;
        matched = true;
        break;
      }
    }
    if (!matched) {
      map.ignored_.push_back(map.names_[col]);
    }
  }
  return map;
}

const std::string& FieldMap::get(const files::Record& record, size_t field) const {
  return index_[field] ? record.at(*index_[field]) : empty_;
}

std::string FieldMap::column(size_t field) const {
  if (index_[field]) {
    return names_[*index_[field]];
  }
  return std::string(splitAliases(specs_[field].aliases).front());
}

std::string FieldMap::missing(size_t field) const {
  const auto aliases = splitAliases(specs_[field].aliases);
  std::string accepted;
  for (size_t i = 0; i < aliases.size() && i < 6; ++i) {
    accepted += (i == 0 ? "" : ", ") + vi::quoted(aliases[i]);
  }
  if (aliases.size() > 6) {
    accepted += " …";
  }
  return std::string(specs_[field].label) + " (a column headed " + accepted + ")";
}

Status FieldMap::require(std::initializer_list<size_t> fields) const {
  for (size_t f : fields) {
    if (!has(f)) {
      return Status::invalid("file '" + source_ + "' has no column for " + missing(f) +
                             "; add it to the header (line " + std::to_string(header_->line()) +
                             ", columns found: " + quotedList(names_) + ")");
    }
  }
  return Status::ok();
}

Status FieldMap::requireAny(std::initializer_list<size_t> fields) const {
  std::string wanted;
  for (size_t f : fields) {
    if (has(f)) {
      return Status::ok();
    }
    wanted += (wanted.empty() ? "" : " or ") + missing(f);
  }
  return Status::invalid("file '" + source_ + "' has no column for " + wanted +
                         "; add one to the header (line " + std::to_string(header_->line()) +
                         ", columns found: " + quotedList(names_) + ")");
}

// --- Core fields --------------------------------------------------------------------------------

bool hasShipmentColumns(const FieldMap& cols, const CoreFields& fields) {
  const auto shipment = shipmentFields(fields);
  return std::any_of(shipment.begin(), shipment.end(), [&cols](size_t f) { return cols.has(f); });
}

bool isShipmentLine(const FieldMap& cols, const files::Record& record, const CoreFields& fields) {
  const auto shipment = shipmentFields(fields);
  return std::any_of(shipment.begin(), shipment.end(),
                     [&](size_t f) { return !isBlank(cols, record, f); });
}

Status checkColumns(const FieldMap& cols, const CoreFields& fields) {
  if (auto st = cols.requireAny({fields.id, fields.ice}); !st) {
    return st;
  }
  if (auto st = cols.require({fields.name}); !st) {
    return st;
  }
  if (!hasShipmentColumns(cols, fields)) {
    return Status::ok();  // a register of exporters, without shipments
  }
  if (auto st = cols.require({fields.destination, fields.value}); !st) {
    return st;
  }
  if (auto st = cols.requireAny({fields.date, fields.period}); !st) {
    return st;
  }
  return cols.requireAny({fields.hs_code, fields.detail});
}

IceById mapIdsToIce(const std::vector<files::Record>& records, const FieldMap& cols,
                    const CellReader& reader, const CoreFields& fields, core::IdKind kind) {
  IceById out;
  for (const files::Record& rec : records) {
    if (isBlank(cols, rec, fields.ice) || isBlank(cols, rec, fields.id)) {
      continue;
    }
    auto ice = reader.ice(cols.get(rec, fields.ice));
    auto id = core::exporterId(kind, cols.get(rec, fields.id));
    if (ice && id) {
      out.try_emplace(*id, *ice, rec.line);
    }
  }
  return out;
}

// --- Cells --------------------------------------------------------------------------------------

Result<Money> CellReader::amount(std::string_view text) const {
  const std::string_view s = vi::trim(text);
  return validate::nonNegativeAmount(
      s, xlsx && isPlainNumber(s) ? validate::DecimalMark::Point : mark);
}

Result<double> CellReader::quantity(std::string_view text) const {
  const std::string_view s = vi::trim(text);
  return validate::quantity(s, xlsx && isExcelNumber(s) ? validate::DecimalMark::Point : mark);
}

Result<int64_t> CellReader::integer(std::string_view text, int64_t min, int64_t max) const {
  return validate::integer(text, min, max);
}

std::string CellReader::restoreZeros(std::string_view text, size_t length) const {
  const std::string_view s = vi::trim(text);
  const bool digits = !s.empty() && std::all_of(s.begin(), s.end(), vi::isDigit);
  if (xlsx && digits && s.size() < length && length - s.size() <= 3) {
    return std::string(length - s.size(), '0') + std::string(s);
  }
  return std::string(text);
}

Result<std::string> CellReader::ice(std::string_view text) const {
  return validate::ice(restoreZeros(text, 15));
}

Result<std::string> CellReader::hsCode(std::string_view text) const {
  std::string code(vi::trim(text));
  if (code.size() == 5 || code.size() == 7 || code.size() == 9) {
    code = restoreZeros(code, code.size() + 1);  // chapters 01-09 typed as numbers
  }
  return validate::hsCode(code);
}

Result<std::string> CellReader::sizeClass(std::string_view text) const {
  auto turnover = amount(text);
  if (!turnover) {
    return turnover.status();
  }
  return std::string(core::toCode(core::sizeClassFromTurnover(*turnover)));
}

Result<std::string> arabicName(std::string_view text, const std::string& latin_column) {
  auto name = validate::text(text, core::kMaxNameChars);
  if (name && !hasArabicLetter(*name)) {
    return Status::invalid(vi::quoted(*name) +
                           " has no Arabic letters; put a Latin-script name in '" + latin_column +
                           "'");
  }
  return name;
}

Result<core::QuantityUnit> quantityUnit(std::string_view text) {
  auto unit = core::parseQuantityUnit(text);
  if (unit) {
    return unit;
  }
  const std::string key = foldKey(text);
  if (key.size() > 2 && key.back() == 's') {
    if (auto singular = core::parseQuantityUnit(key.substr(0, key.size() - 1))) {
      return singular;
    }
  }
  return unit;
}

Result<validate::DecimalMark> parseDecimalMark(std::string_view text) {
  const std::string key = foldKey(text);
  if (key.empty() || key == "auto") {
    return validate::DecimalMark::Auto;
  }
  if (key == "comma" || key == "virgule" || vi::trim(text) == ",") {
    return validate::DecimalMark::Comma;
  }
  if (key == "point" || key == "dot" || vi::trim(text) == ".") {
    return validate::DecimalMark::Point;
  }
  return Status::invalid(vi::quoted(text) + " is not a decimal mark; write auto, comma or point");
}

Result<std::string> region(std::string_view text) {
  auto code = validate::region(text);
  if (code) {
    return code;
  }
  const std::string key = foldKey(text);
  for (const auto& r : validate::kRegions) {
    if (!key.empty() && (key == foldKey(r.name_fr) || key == foldKey(r.name_ar))) {
      return std::string(r.code);
    }
  }
  return Status::invalid(code.status().message() + ", or the region's name (e.g. Souss-Massa)");
}

Date today() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  return *Date::fromYmd(local.tm_year + 1900, static_cast<unsigned>(local.tm_mon + 1),
                        static_cast<unsigned>(local.tm_mday));
}

Result<Date> pastDate(std::string_view text, Date today) {
  auto d = validate::date(text);
  if (d && d->days() > today.days()) {
    return Status::invalid("date " + vi::quoted(vi::trim(text)) + " is in the future (today is " +
                           today.toIso() + "); check the year");
  }
  return d;
}

Result<validate::Period> pastPeriod(std::string_view text, Date today) {
  auto p = validate::period(text);
  if (p && validate::Period::of(today) < *p) {
    return Status::invalid("month " + vi::quoted(vi::trim(text)) + " has not begun (today is " +
                           today.toIso() + "); check the year");
  }
  return p;
}

std::vector<std::string> splitList(std::string_view text) {
  std::vector<std::string> out;
  std::string item;
  auto flush = [&] {
    const std::string_view t = vi::trim(item);
    if (!t.empty()) {
      out.emplace_back(t);
    }
    item.clear();
  };
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == ',' || c == ';' || c == '/' || c == '+' || c == '|') {
      flush();
      ++i;
    } else if (text.substr(i, 2) == "\xD8\x8C") {  // Arabic comma
      flush();
      i += 2;
    } else if (text.substr(i, 4) == " et " || text.substr(i, 4) == " ET ") {
      flush();
      i += 4;
    } else {
      item += c;
      ++i;
    }
  }
  flush();
  return out;
}

std::optional<std::string> joinCodes(const std::set<std::string>& codes) {
  if (codes.empty()) {
    return std::nullopt;
  }
  std::string out;
  for (const auto& c : codes) {
    out += (out.empty() ? "" : ",") + c;
  }
  return out;
}

// --- Known attributes --------------------------------------------------------------------------

Known loadKnown(const State& state, const std::string& exporter_id) {
  Known known;
  const auto text = state.get("exporter." + exporter_id);
  if (!text) {
    return known;
  }
  std::string_view rest = *text;
  while (!rest.empty()) {
    const size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    const size_t eq = line.find('=');
    if (eq != std::string_view::npos) {
      known.emplace(line.substr(0, eq), line.substr(eq + 1));
    }
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  }
  return known;
}

Status saveKnown(State& state, const std::string& exporter_id, const Known& known) {
  std::string text;
  for (const auto& [key, value] : known) {
    text.append(key).append("=").append(value).append("\n");
  }
  return state.put("exporter." + exporter_id, text);
}

std::vector<std::string> splitCodes(std::string_view joined) {
  std::vector<std::string> out;
  while (!joined.empty()) {
    const size_t comma = joined.find(',');
    if (comma != 0) {
      out.emplace_back(joined.substr(0, comma));
    }
    joined = comma == std::string_view::npos ? std::string_view() : joined.substr(comma + 1);
  }
  return out;
}

// --- Shipments ---------------------------------------------------------------------------------

void readShipmentCells(const FieldMap& cols, const files::Record& record, const CellReader& reader,
                       Date today, const CoreFields& fields, core::QuantityUnit default_unit,
                       FlowLine& line,
                       const std::function<void(size_t field, std::string reason)>& fail) {
  const auto cell = [&](size_t field) -> const std::string& { return cols.get(record, field); };
  const auto blank = [&](size_t field) { return isBlank(cols, record, field); };

  if (auto dest = validate::destination(cell(fields.destination)); !dest) {
    fail(fields.destination, dest.status().message());
  } else {
    line.destination = *dest;
  }

  if (!blank(fields.date)) {
    auto d = pastDate(cell(fields.date), today);
    if (!d) {
      fail(fields.date, d.status().message());
    } else {
      line.period = validate::Period::of(*d);
    }
  } else if (!blank(fields.period)) {
    auto p = pastPeriod(cell(fields.period), today);
    if (!p) {
      fail(fields.period, p.status().message());
    } else {
      line.period = *p;
    }
  } else {
    fail(cols.has(fields.date) ? fields.date : fields.period,
         "shipment date is empty; give the date (DD/MM/YYYY) or the month (MM/YYYY)");
  }

  if (auto value = reader.amount(cell(fields.value)); !value) {
    fail(fields.value, value.status().message());
  } else {
    line.value = *value;
  }

  if (!blank(fields.quantity)) {
    auto q = reader.quantity(cell(fields.quantity));
    if (!q) {
      fail(fields.quantity, q.status().message());
    } else {
      line.quantity = *q;
      line.unit = default_unit;
    }
    if (!blank(fields.unit)) {
      auto unit = quantityUnit(cell(fields.unit));
      if (!unit) {
        fail(fields.unit, unit.status().message());
      } else {
        line.unit = *unit;
      }
    }
  }
}

// --- FlowTotals ---------------------------------------------------------------------------------

std::optional<FlowRefusal> FlowTotals::add(const FlowLine& line, const files::Record& record) {
  const std::string core_key = line.exporter_id + '\x1F' + line.hs_code + '\x1F' +
                               line.destination + '\x1F' + line.period.toString();
  const std::string detail_key = core_key + '\x1F' + line.detail;
  // Check both sums before changing either, so a refused line leaves no trace.
  for (auto* sums : {&core_, &detailed_}) {
    auto it = sums->find(sums == &core_ ? core_key : detail_key);
    if (it == sums->end()) {
      continue;
    }
    const FlowSum& sum = it->second;
    if (line.unit && sum.total.unit && *line.unit != *sum.total.unit) {
      return FlowRefusal{FlowRefusal::Cell::Unit,
                         "unit " + vi::quoted(core::toCode(*line.unit)) + " differs from " +
                             vi::quoted(core::toCode(*sum.total.unit)) + " on line " +
                             std::to_string(sum.unit_line) +
                             " for the same exporter, HS code, destination and month; a monthly "
                             "flow has one unit: "
                             "convert the quantity"};
    }
    int64_t total = 0;
    if (__builtin_add_overflow(sum.total.value.centimes(), line.value.centimes(), &total)) {
      return FlowRefusal{FlowRefusal::Cell::Value,
                         "the month's total value for this exporter, HS code and destination is "
                         "too large; check the amounts"};
    }
  }
  for (auto* sums : {&core_, &detailed_}) {
    auto [it, fresh] = sums->try_emplace(sums == &core_ ? core_key : detail_key);
    FlowSum& sum = it->second;
    if (fresh) {
      sum.total = line;
      sum.first = &record;
      sum.quantity_known = line.quantity.has_value();
      sum.unit_line = line.unit ? record.line : 0;
      sum.lines = 1;
      continue;
    }
    sum.total.value = Money::fromCentimes(sum.total.value.centimes() + line.value.centimes());
    sum.total.hs_default = sum.total.hs_default && line.hs_default;
    if (line.quantity) {
      sum.total.quantity = sum.total.quantity.value_or(0.0) + *line.quantity;
      if (!sum.total.unit) {
        sum.total.unit = line.unit;
        sum.unit_line = record.line;
      }
    } else {
      sum.quantity_known = false;
    }
    ++sum.lines;
  }
  return std::nullopt;
}

Result<Row> FlowTotals::coreRow(const FlowSum& sum) {
  core::ExportFlowRow f;
  f.exporter_id = sum.total.exporter_id;
  f.hs_code = sum.total.hs_code;
  f.destination = sum.total.destination;
  f.period = sum.total.period;
  f.value_mad = sum.total.value;
  if (sum.quantity_known && sum.total.quantity && sum.total.unit) {
    f.quantity = sum.total.quantity;
    f.quantity_unit = sum.total.unit;
  }
  return f.toRow();
}

Row FlowTotals::detailRow(const FlowSum& sum, const std::string& detail_column,
                          const std::string& hs_default_column) {
  const auto& t = sum.total;
  const bool with_quantity = sum.quantity_known && t.quantity && t.unit;
  return Row{{"exporter_id", t.exporter_id},
             {detail_column, t.detail},
             {"hs_code", t.hs_code},
             {"destination", t.destination},
             {"period", t.period.toString()},
             {"value_mad", t.value},
             {"quantity", with_quantity ? Value(*t.quantity) : Value()},
             {"quantity_unit", with_quantity ? Value(std::string(core::toCode(*t.unit))) : Value()},
             {"shipments", static_cast<long long>(sum.lines)},
             {hs_default_column, t.hs_default}};
}

}  // namespace exportsync::office_sheet
