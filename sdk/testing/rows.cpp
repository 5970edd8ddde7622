// Values and rows as the harness keeps them (exportsync/testing/harness.hpp).
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

#include "exportsync/testing/harness.hpp"

namespace exportsync::testing {
namespace {

// Shortest %g form that reads back as the same double.
std::string formatReal(double v) {
  char buf[40];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) {
      break;
    }
  }
  return buf;
}

// Orders two values of any types: by type first (null first), then by value.
int compareValues(const Value& a, const Value& b) {
  const auto& x = a.storage();
  const auto& y = b.storage();
  if (x.index() != y.index()) {
    return x.index() < y.index() ? -1 : 1;
  }
  const auto cmp = [](auto l, auto r) { return l < r ? -1 : (r < l ? 1 : 0); };
  return std::visit(
      [&](const auto& l) -> int {
        using T = std::decay_t<decltype(l)>;
        const auto& r = std::get<T>(y);
        if constexpr (std::is_same_v<T, std::monostate>) {
          return 0;
        } else if constexpr (std::is_same_v<T, Date>) {
          return cmp(l.days(), r.days());
        } else if constexpr (std::is_same_v<T, Timestamp>) {
          return cmp(l.micros(), r.micros());
        } else if constexpr (std::is_same_v<T, Money>) {
          return cmp(l.centimes(), r.centimes());
        } else {
          return cmp(l, r);
        }
      },
      x);
}

}  // namespace

std::string formatValue(const Value& value) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return "NULL";
        } else if constexpr (std::is_same_v<T, std::string>) {
          return x;
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return std::to_string(x);
        } else if constexpr (std::is_same_v<T, double>) {
          return formatReal(x);
        } else if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, Money>) {
          return x.toString();
        } else {
          return x.toIso();  // Date, Timestamp
        }
      },
      value.storage());
}

Value valueFromAbi(const es_value& value) { return Value::fromAbi(value); }

// --- RowValues --------------------------------------------------------------------------------

RowValues::RowValues(std::shared_ptr<const std::vector<std::string>> columns,
                     std::vector<Value> values)
    : columns_(std::move(columns)), values_(std::move(values)) {}

const std::vector<std::string>& RowValues::columns() const {
  static const std::vector<std::string> none;
  return columns_ ? *columns_ : none;
}

bool RowValues::has(std::string_view column) const {
  for (const auto& c : columns()) {
    if (c == column) {
      return true;
    }
  }
  return false;
}

const Value& RowValues::operator[](std::string_view column) const {
  const auto& cols = columns();
  for (size_t i = 0; i < cols.size() && i < values_.size(); ++i) {
    if (cols[i] == column) {
      return values_[i];
    }
  }
  std::string names;
  for (const auto& c : cols) {
    names += (names.empty() ? "" : ", ") + c;
  }
  throw std::out_of_range("row has no column '" + std::string(column) +
                          "'; its columns: " + (names.empty() ? "(none)" : names));
}

std::string RowValues::text(std::string_view column) const { return formatValue((*this)[column]); }

std::string RowValues::toString() const {
  std::string out;
  const auto& cols = columns();
  for (size_t i = 0; i < cols.size() && i < values_.size(); ++i) {
    out += (i == 0 ? "" : ", ") + cols[i] + "=" + formatValue(values_[i]);
  }
  return out;
}

bool operator==(const RowValues& a, const RowValues& b) {
  return a.columns() == b.columns() && a.values_ == b.values_;
}

// --- DatasetRows ------------------------------------------------------------------------------

bool DatasetRows::KeyLess::operator()(const std::vector<Value>& a,
                                      const std::vector<Value>& b) const {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (const int c = compareValues(a[i], b[i]); c != 0) {
      return c < 0;
    }
  }
  return a.size() < b.size();
}

DatasetRows::DatasetRows(DatasetSpec spec) : spec_(std::move(spec)), key_(spec_.keyIndexes()) {}

const RowValues* DatasetRows::find(const Row& key) const {
  std::vector<Value> k(key_.size());
  std::vector<bool> seen(key_.size(), false);
  for (const auto& [name, value] : key.fields()) {
    bool found = false;
    for (size_t i = 0; i < key_.size(); ++i) {
      if (spec_.columns[key_[i]].name == name) {
        k[i] = value;
        seen[i] = true;
        found = true;
      }
    }
    if (!found) {
      return nullptr;  // not a key column: no row can match
    }
  }
  for (bool s : seen) {
    if (!s) {
      return nullptr;
    }
  }
  const auto it = rows_.find(k);
  return it == rows_.end() ? nullptr : &it->second;
}

std::vector<RowValues> DatasetRows::all() const {
  std::vector<RowValues> out;
  out.reserve(rows_.size());
  for (const auto& [key, row] : rows_) {
    out.push_back(row);
  }
  return out;
}

void DatasetRows::upsert(RowValues row) {
  std::vector<Value> key;
  key.reserve(key_.size());
  for (size_t i : key_) {
    key.push_back(row.values().at(i));
  }
  rows_.insert_or_assign(std::move(key), std::move(row));
}

void DatasetRows::remove(const std::vector<Value>& key) { rows_.erase(key); }

// --- RunResult --------------------------------------------------------------------------------

std::string Rejected::toString() const {
  std::string out = source;
  if (line != 0) {
    out += ":" + std::to_string(line);
  }
  if (!column.empty()) {
    out += " column '" + column + "'";
  }
  if (!value.empty()) {
    out += " value '" + value + "'";
  }
  return out + ": " + reason;
}

const DatasetRows& RunResult::rows(std::string_view dataset) const {
  const auto it = tables.find(dataset);
  if (it != tables.end()) {
    return it->second;
  }
  std::string names;
  for (const auto& [name, rows] : tables) {
    names += (names.empty() ? "" : ", ") + name;
  }
  throw std::out_of_range(
      "dataset '" + std::string(dataset) +
      "' was not declared in this run; declared: " + (names.empty() ? "(none)" : names));
}

std::string RunResult::summary() const {
  std::string out = ok() ? "run ok" : "run failed: " + status.message();
  out += "\n  " + std::to_string(upserted) + " upserted, " + std::to_string(removed) +
         " removed, " + std::to_string(refused) + " refused by the sink, " +
         std::to_string(rejections.size()) + " rejected";
  for (const auto& [name, rows] : tables) {
    out += "\n  " + name + ": " + std::to_string(rows.size()) + " rows";
  }
  constexpr size_t kMaxLines = 20;  // enough to see a pattern, short enough to read
  size_t shown = 0;
  for (const auto& c : calls) {
    if (!c.status.isOk() && shown++ < kMaxLines) {
      out += "\n  refused " + std::string(c.op == SinkCall::Op::Upsert ? "upsert" : "remove") +
             " into '" + c.dataset + "': " + c.status.message();
    }
  }
  shown = 0;
  for (const auto& r : rejections) {
    if (shown++ < kMaxLines) {
      out += "\n  rejected " + r.toString();
    }
  }
  shown = 0;
  for (const auto& l : logs) {
    if (shown++ < kMaxLines) {
      out += "\n  log " + std::to_string(l.level) + ": " + l.message;
    }
  }
  return out;
}

void PrintTo(const RowValues& row, std::ostream* os) { *os << "{" << row.toString() << "}"; }

}  // namespace exportsync::testing

namespace exportsync {
void PrintTo(const Value& value, std::ostream* os) {
  if (std::holds_alternative<std::string>(value.storage())) {
    *os << '"' << testing::formatValue(value) << '"';
  } else {
    *os << testing::formatValue(value);
  }
}
}  // namespace exportsync
