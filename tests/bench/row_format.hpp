// How the benchmarks write a row outside the agent: as CSV, for the "bytes per row" and wire
// ratio figures (RFC 4180, no header: shortest round-trip reals, money as 1234.50, ISO dates
// and timestamps, booleans as true/false, null as an empty field). Plain SQLite writes into a
// store's tables bind values with schema::bindValue (exportsync/schema_sql.hpp), as the hub does.
//
// THREAD: pure functions.
#pragma once

#include <sqlite3.h>

#include <charconv>
#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>

#include "exportsync/plugin.hpp"
#include "exportsync/schema_sql.hpp"

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

using sql::quoteIdent;  // exportsync/sqlite.hpp, as the agent and the hub quote names

}  // namespace exportsync::bench
