// How the benchmarks write a row outside the agent: as CSV, for the "bytes per row" and wire
// ratio figures (RFC 4180, no header: shortest round-trip reals, money as 1234.50, ISO dates
// and timestamps, booleans as true/false, null as an empty field), and as SQLite bindings the
// way the agent's store holds values (dates and timestamps as ISO text, money in centimes and
// booleans as integers), for plain SQLite writes into a store's tables.
//
// THREAD: pure functions. OWNERSHIP: a string bound by bindValue() must outlive the statement's
// next step (it is bound SQLITE_STATIC); dates and timestamps are copied.
#pragma once

#include <sqlite3.h>

#include <charconv>
#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>

#include "exportsync/plugin.hpp"

namespace exportsync::bench {

/// Appends one value as a CSV field.
inline void appendCsv(const Value& value, std::string& out) {
  std::visit(
      [&out](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          // empty field
        } else if constexpr (std::is_same_v<T, std::string>) {
          if (x.find_first_of(",\"\r\n") == std::string::npos) {
            out += x;
          } else {
            out += '"';
            for (char c : x) {
              out += c;
              if (c == '"') {
                out += '"';
              }
            }
            out += '"';
          }
        } else if constexpr (std::is_same_v<T, int64_t>) {
          out += std::to_string(x);
        } else if constexpr (std::is_same_v<T, double>) {
          char buf[32];
          auto r = std::to_chars(buf, buf + sizeof buf, x);  // shortest round-trip form
          out.append(buf, r.ptr);
        } else if constexpr (std::is_same_v<T, bool>) {
          out += x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, Money>) {
          out += x.toString();
        } else {
          out += x.toIso();  // Date, Timestamp
        }
      },
      value.storage());
}

/// Appends a row as one CSV line (its fields in order, '\n' at the end).
inline void appendCsvRow(const Row& row, std::string& out) {
  const auto& fields = row.fields();
  for (size_t f = 0; f < fields.size(); ++f) {
    if (f != 0) {
      out += ',';
    }
    appendCsv(fields[f].second, out);
  }
  out += '\n';
}

/// Binds one value to parameter `i` of `s` the way the store holds it. `scratch` holds the ISO
/// text of a date or timestamp while it is bound (copied by SQLite).
inline void bindValue(sqlite3_stmt* s, int i, const Value& value, std::string& scratch) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          sqlite3_bind_null(s, i);
        } else if constexpr (std::is_same_v<T, std::string>) {
          sqlite3_bind_text(s, i, x.data(), static_cast<int>(x.size()), SQLITE_STATIC);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          sqlite3_bind_int64(s, i, x);
        } else if constexpr (std::is_same_v<T, double>) {
          sqlite3_bind_double(s, i, x);
        } else if constexpr (std::is_same_v<T, bool>) {
          sqlite3_bind_int64(s, i, x ? 1 : 0);
        } else if constexpr (std::is_same_v<T, Money>) {
          sqlite3_bind_int64(s, i, x.centimes());
        } else {
          scratch = x.toIso();  // Date, Timestamp
          sqlite3_bind_text(s, i, scratch.data(), static_cast<int>(scratch.size()),
                            SQLITE_TRANSIENT);
        }
      },
      value.storage());
}

/// `name` as an SQL identifier, in double quotes.
inline std::string quoteIdent(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

}  // namespace exportsync::bench
