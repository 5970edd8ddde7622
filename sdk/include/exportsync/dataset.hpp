// Dataset declarations and typed values, shared by plugins (through plugin.hpp) and the agent.
//
// A dataset is a table of rows with typed columns and a primary key of one or more columns,
// declared by a plugin in `declare()`. Values of the seven column types are plain C++ value
// types here; they cross the plugin boundary as es_value (plugin_abi.h).
//
// THREAD: all types here are values; distinct objects may be used from distinct threads.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "exportsync/plugin_abi.h"

namespace exportsync {

/// The seven column types. Values match ES_TYPE_* in plugin_abi.h.
enum class ColumnType : int32_t {
  Text = ES_TYPE_TEXT,
  Integer = ES_TYPE_INTEGER,
  Real = ES_TYPE_REAL,
  Boolean = ES_TYPE_BOOLEAN,
  Date = ES_TYPE_DATE,
  Timestamp = ES_TYPE_TIMESTAMP,
  Money = ES_TYPE_MONEY,
};

/// Lower-case name of a type, as written in docs and error messages ("text", "money", ...).
inline const char* typeName(ColumnType type) {
  switch (type) {
    case ColumnType::Text: return "text";
    case ColumnType::Integer: return "integer";
    case ColumnType::Real: return "real";
    case ColumnType::Boolean: return "boolean";
    case ColumnType::Date: return "date";
    case ColumnType::Timestamp: return "timestamp";
    case ColumnType::Money: return "money";
  }
  return "unknown";
}

/// Parses a type name written by typeName(); nullopt if unknown.
inline std::optional<ColumnType> parseTypeName(std::string_view name) {
  for (auto type : {ColumnType::Text, ColumnType::Integer, ColumnType::Real, ColumnType::Boolean,
                    ColumnType::Date, ColumnType::Timestamp, ColumnType::Money}) {
    if (name == typeName(type)) {
      return type;
    }
  }
  return std::nullopt;
}

namespace detail {
// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's days_from_civil).
constexpr int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}
struct Civil {
  int64_t year;
  unsigned month;
  unsigned day;
};
constexpr Civil civilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2 ? 1 : 0), m, d};
}
constexpr bool isLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
constexpr unsigned daysInMonth(int64_t y, unsigned m) {
  constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && isLeap(y) ? 29 : kDays[m - 1];
}
inline bool parseDigits(std::string_view s, size_t pos, size_t n, int64_t& out) {
  if (pos + n > s.size()) {
    return false;
  }
  int64_t v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}
// Writes `v` as exactly `n` decimal digits, zero-padded (the high digits are dropped).
inline void putDigits(char* out, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i, v /= 10) {
    out[i] = static_cast<char>('0' + v % 10);
  }
}
}  // namespace detail

/// A calendar date, stored as days since 1970-01-01. Years 0001..9999.
class Date {
 public:
  constexpr Date() = default;
  static constexpr Date fromDays(int64_t days) { return Date(days); }
  /// nullopt when the date does not exist (e.g. 2023-02-29).
  static std::optional<Date> fromYmd(int64_t year, unsigned month, unsigned day) {
    if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 ||
        day > detail::daysInMonth(year, month)) {
      return std::nullopt;
    }
    return Date(detail::daysFromCivil(year, month, day));
  }
  /// Parses "YYYY-MM-DD"; nullopt otherwise.
  static std::optional<Date> parseIso(std::string_view s) {
    int64_t y = 0;
    int64_t m = 0;
    int64_t d = 0;
    if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !detail::parseDigits(s, 0, 4, y) ||
        !detail::parseDigits(s, 5, 2, m) || !detail::parseDigits(s, 8, 2, d)) {
      return std::nullopt;
    }
    return fromYmd(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  }
  constexpr int64_t days() const { return days_; }
  /// Longest ISO text: "YYYY-MM-DD".
  static constexpr size_t kIsoSize = 10;
  /// Writes "YYYY-MM-DD" to `out` (kIsoSize bytes, no terminator); returns the size.
  size_t toIso(char* out) const {
    const auto c = detail::civilFromDays(days_);
    detail::putDigits(out, static_cast<uint64_t>(c.year), 4);
    out[4] = '-';
    detail::putDigits(out + 5, c.month, 2);
    out[7] = '-';
    detail::putDigits(out + 8, c.day, 2);
    return kIsoSize;
  }
  /// "YYYY-MM-DD".
  std::string toIso() const {
    char buf[kIsoSize];
    return std::string(buf, toIso(buf));
  }
  friend constexpr bool operator==(Date a, Date b) { return a.days_ == b.days_; }
  friend constexpr bool operator!=(Date a, Date b) { return a.days_ != b.days_; }

 private:
  constexpr explicit Date(int64_t days) : days_(days) {}
  int64_t days_ = 0;
};

/// An instant in UTC, stored as microseconds since the Unix epoch.
class Timestamp {
 public:
  constexpr Timestamp() = default;
  static constexpr Timestamp fromMicros(int64_t us) { return Timestamp(us); }
  /// Parses "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" (a space may replace the T); nullopt otherwise.
  static std::optional<Timestamp> parseIso(std::string_view s) {
    if (s.size() < 20 || (s[10] != 'T' && s[10] != ' ') || s.back() != 'Z') {
      return std::nullopt;
    }
    const auto date = Date::parseIso(s.substr(0, 10));
    int64_t hh = 0;
    int64_t mm = 0;
    int64_t ss = 0;
    if (!date || s[13] != ':' || s[16] != ':' || !detail::parseDigits(s, 11, 2, hh) ||
        !detail::parseDigits(s, 14, 2, mm) || !detail::parseDigits(s, 17, 2, ss) || hh > 23 ||
        mm > 59 || ss > 59) {
      return std::nullopt;
    }
    int64_t frac = 0;
    const size_t rest = s.size() - 20;  // characters between seconds and 'Z'
    if (rest > 0) {
      if (s[19] != '.' || rest < 2 || rest > 7 || !detail::parseDigits(s, 20, rest - 1, frac)) {
        return std::nullopt;
      }
      for (size_t i = rest - 1; i < 6; ++i) {
        frac *= 10;
      }
    }
    return Timestamp(((date->days() * 86400) + hh * 3600 + mm * 60 + ss) * 1000000 + frac);
  }
  constexpr int64_t micros() const { return us_; }
  /// "YYYY-MM-DDTHH:MM:SS[.ffffff]Z"; the fraction only when not zero.
  /// Longest ISO text: "YYYY-MM-DDTHH:MM:SS.ffffffZ".
  static constexpr size_t kIsoSize = 27;
  /// Writes "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" to `out` (up to kIsoSize bytes, no terminator; the
  /// fraction only when not zero); returns the size.
  size_t toIso(char* out) const {
    int64_t secs = us_ / 1000000;
    int64_t frac = us_ % 1000000;
    if (frac < 0) {
      frac += 1000000;
      secs -= 1;
    }
    int64_t days = secs / 86400;
    int64_t sod = secs % 86400;
    if (sod < 0) {
      sod += 86400;
      days -= 1;
    }
    size_t n = Date::fromDays(days).toIso(out);
    out[n++] = 'T';
    detail::putDigits(out + n, static_cast<uint64_t>(sod / 3600), 2);
    out[n + 2] = ':';
    detail::putDigits(out + n + 3, static_cast<uint64_t>(sod / 60 % 60), 2);
    out[n + 5] = ':';
    detail::putDigits(out + n + 6, static_cast<uint64_t>(sod % 60), 2);
    n += 8;
    if (frac != 0) {
      out[n++] = '.';
      detail::putDigits(out + n, static_cast<uint64_t>(frac), 6);
      n += 6;
    }
    out[n++] = 'Z';
    return n;
  }
  /// "YYYY-MM-DDTHH:MM:SS[.ffffff]Z", the fraction only when not zero.
  std::string toIso() const {
    char buf[kIsoSize];
    return std::string(buf, toIso(buf));
  }
  friend constexpr bool operator==(Timestamp a, Timestamp b) { return a.us_ == b.us_; }
  friend constexpr bool operator!=(Timestamp a, Timestamp b) { return a.us_ != b.us_; }

 private:
  constexpr explicit Timestamp(int64_t us) : us_(us) {}
  int64_t us_ = 0;
};

/// An amount of money in centimes (1/100 MAD), exact.
class Money {
 public:
  constexpr Money() = default;
  static constexpr Money fromCentimes(int64_t c) { return Money(c); }
  constexpr int64_t centimes() const { return c_; }
  /// "-1234.50": the plain decimal form.
  std::string toString() const {
    const bool neg = c_ < 0;
    // Work in unsigned to keep INT64_MIN exact.
    const uint64_t abs = neg ? 0 - static_cast<uint64_t>(c_) : static_cast<uint64_t>(c_);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%llu.%02llu", neg ? "-" : "",
                  static_cast<unsigned long long>(abs / 100),
                  static_cast<unsigned long long>(abs % 100));
    return buf;
  }
  friend constexpr bool operator==(Money a, Money b) { return a.c_ == b.c_; }
  friend constexpr bool operator!=(Money a, Money b) { return a.c_ != b.c_; }

 private:
  constexpr explicit Money(int64_t c) : c_(c) {}
  int64_t c_ = 0;
};

/// A typed value or null. Integer and Boolean are distinct alternatives; an integer is accepted
/// for a real column, nothing else converts implicitly.
class Value {
 public:
  using Storage =
      std::variant<std::monostate, std::string, int64_t, double, bool, Date, Timestamp, Money>;

  Value() = default;
  Value(std::nullptr_t) {}                             // NOLINT(google-explicit-constructor)
  Value(std::string s) : v_(std::move(s)) {}           // NOLINT(google-explicit-constructor)
  Value(std::string_view s) : v_(std::string(s)) {}    // NOLINT(google-explicit-constructor)
  Value(const char* s) : v_(std::string(s)) {}         // NOLINT(google-explicit-constructor)
  Value(int v) : v_(static_cast<int64_t>(v)) {}        // NOLINT(google-explicit-constructor)
  Value(long v) : v_(static_cast<int64_t>(v)) {}       // NOLINT(google-explicit-constructor)
  Value(long long v) : v_(static_cast<int64_t>(v)) {}  // NOLINT(google-explicit-constructor)
  Value(unsigned v) : v_(static_cast<int64_t>(v)) {}   // NOLINT(google-explicit-constructor)
  Value(double v) : v_(v) {}                           // NOLINT(google-explicit-constructor)
  Value(bool v) : v_(v) {}                             // NOLINT(google-explicit-constructor)
  Value(Date v) : v_(v) {}                             // NOLINT(google-explicit-constructor)
  Value(Timestamp v) : v_(v) {}                        // NOLINT(google-explicit-constructor)
  Value(Money v) : v_(v) {}                            // NOLINT(google-explicit-constructor)
  template <typename T>
  Value(std::optional<T> v) {  // NOLINT(google-explicit-constructor)
    if (v) {
      *this = Value(std::move(*v));
    }
  }

  bool isNull() const { return std::holds_alternative<std::monostate>(v_); }
  const Storage& storage() const { return v_; }

  /// Fills an es_value pointing into this object (valid while it lives, unchanged).
  es_value toAbi() const {
    es_value out{};
    std::visit(
        [&out](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            out.type = ES_TYPE_NULL;
          } else if constexpr (std::is_same_v<T, std::string>) {
            out.type = ES_TYPE_TEXT;
            out.str = x.data();
            out.len = x.size();
          } else if constexpr (std::is_same_v<T, int64_t>) {
            out.type = ES_TYPE_INTEGER;
            out.i64 = x;
          } else if constexpr (std::is_same_v<T, double>) {
            out.type = ES_TYPE_REAL;
            out.f64 = x;
          } else if constexpr (std::is_same_v<T, bool>) {
            out.type = ES_TYPE_BOOLEAN;
            out.i64 = x ? 1 : 0;
          } else if constexpr (std::is_same_v<T, Date>) {
            out.type = ES_TYPE_DATE;
            out.i64 = x.days();
          } else if constexpr (std::is_same_v<T, Timestamp>) {
            out.type = ES_TYPE_TIMESTAMP;
            out.i64 = x.micros();
          } else {
            out.type = ES_TYPE_MONEY;
            out.i64 = x.centimes();
          }
        },
        v_);
    return out;
  }

  /// Rebuilds a Value from an es_value (copies text).
  static Value fromAbi(const es_value& v) {
    switch (v.type) {
      case ES_TYPE_TEXT: return Value(std::string(v.str == nullptr ? "" : v.str, v.len));
      case ES_TYPE_INTEGER: return Value(static_cast<long long>(v.i64));
      case ES_TYPE_REAL: return Value(v.f64);
      case ES_TYPE_BOOLEAN: return Value(v.i64 != 0);
      case ES_TYPE_DATE: return Value(Date::fromDays(v.i64));
      case ES_TYPE_TIMESTAMP: return Value(Timestamp::fromMicros(v.i64));
      case ES_TYPE_MONEY: return Value(Money::fromCentimes(v.i64));
      default: return Value();
    }
  }

  friend bool operator==(const Value& a, const Value& b) { return a.v_ == b.v_; }
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

 private:
  Storage v_;
};

/// One declared column.
struct Column {
  std::string name;
  ColumnType type = ColumnType::Text;
  bool key = false;
  bool nullable = false;
};

/// One declared dataset: a name, a version, typed columns and the key (the columns with key).
struct DatasetSpec {
  std::string name;
  uint32_t version = 1;
  std::vector<Column> columns;

  /// Index of a column by name, or -1.
  int columnIndex(std::string_view column) const {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (columns[i].name == column) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }
  /// Indexes of the key columns, in declared order.
  std::vector<size_t> keyIndexes() const {
    std::vector<size_t> out;
    for (size_t i = 0; i < columns.size(); ++i) {
      if (columns[i].key) {
        out.push_back(i);
      }
    }
    return out;
  }
};

/// Checks a name against [a-z][a-z0-9_]{0,62}.
inline bool isValidIdentifier(std::string_view name) {
  if (name.empty() || name.size() > 63 || name[0] < 'a' || name[0] > 'z') {
    return false;
  }
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

/// Checks a dataset declaration; returns an empty string when valid, else the reason.
inline std::string checkDatasetSpec(const DatasetSpec& spec) {
  if (!isValidIdentifier(spec.name)) {
    return "dataset name '" + spec.name + "' must match [a-z][a-z0-9_]{0,62}";
  }
  const std::string where = "dataset '" + spec.name + "': ";
  if (spec.version < 1) {
    return where + "version must be 1 or more";
  }
  if (spec.columns.empty() || spec.columns.size() > 256) {
    return where + "must have 1 to 256 columns, has " + std::to_string(spec.columns.size());
  }
  bool has_key = false;
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    const auto& c = spec.columns[i];
    if (!isValidIdentifier(c.name) || c.name[0] == '_') {
      return where + "column name '" + c.name + "' must match [a-z][a-z0-9_]{0,62}";
    }
    for (size_t j = 0; j < i; ++j) {
      if (spec.columns[j].name == c.name) {
        return where + "column '" + c.name + "' is declared twice";
      }
    }
    if (c.key && c.nullable) {
      return where + "key column '" + c.name + "' cannot be nullable";
    }
    if (static_cast<int32_t>(c.type) < ES_TYPE_TEXT ||
        static_cast<int32_t>(c.type) > ES_TYPE_MONEY) {
      return where + "column '" + c.name + "' has an unknown type";
    }
    has_key = has_key || c.key;
  }
  if (!has_key) {
    return where + "declares no key column; mark one or more columns as key";
  }
  return {};
}

/// Checks that `v` fits column `c`; returns an empty string when it does, else the reason.
inline std::string checkValue(const Column& c, const es_value& v) {
  if (v.type == ES_TYPE_NULL) {
    return c.nullable ? std::string() : "column '" + c.name + "' may not be empty (null)";
  }
  const auto want = static_cast<es_type>(c.type);
  if (v.type == want || (want == ES_TYPE_REAL && v.type == ES_TYPE_INTEGER)) {
    if (v.type == ES_TYPE_REAL && !std::isfinite(v.f64)) {
      return "column '" + c.name + "' holds a non-finite real";
    }
    if (v.type == ES_TYPE_BOOLEAN && v.i64 != 0 && v.i64 != 1) {
      return "column '" + c.name + "' holds a boolean that is neither 0 nor 1";
    }
    if (v.type == ES_TYPE_DATE && (v.i64 < -719162 || v.i64 > 2932896)) {
      return "column '" + c.name + "' holds a date outside years 0001-9999";
    }
    // 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z, what ISO text can carry.
    if (v.type == ES_TYPE_TIMESTAMP &&
        (v.i64 < -62135596800000000LL || v.i64 > 253402300799999999LL)) {
      return "column '" + c.name + "' holds a timestamp outside years 0001-9999";
    }
    if (v.type == ES_TYPE_TEXT && v.str == nullptr && v.len != 0) {
      return "column '" + c.name + "' holds a null text pointer";
    }
    return {};
  }
  const char* got = v.type >= ES_TYPE_TEXT && v.type <= ES_TYPE_MONEY
                        ? typeName(static_cast<ColumnType>(v.type))
                        : "an unknown type";
  return "column '" + c.name + "' expects " + typeName(c.type) + ", got " + got;
}

}  // namespace exportsync
