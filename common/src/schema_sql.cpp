#include "exportsync/schema_sql.hpp"

#include "exportsync/sqlite.hpp"

namespace exportsync::schema {

const char* sqlType(ColumnType t) {
  switch (t) {
    case ColumnType::Text:
    case ColumnType::Date:
    case ColumnType::Timestamp: return "TEXT";
    case ColumnType::Real: return "REAL";
    case ColumnType::Integer:
    case ColumnType::Boolean:
    case ColumnType::Money: return "INTEGER";
  }
  return "ANY";
}

std::string columnDef(const Column& c) {
  const std::string q = sql::quoteIdent(c.name);
  std::string def = q + " " + sqlType(c.type);
  if (!c.nullable) {
    def += " NOT NULL";
  }
  // Checks keep writes made through plain SQLite to the same domain as the agent's.
  if (c.type == ColumnType::Boolean) {
    def += " CHECK(" + q + " IN (0,1))";
  } else if (c.type == ColumnType::Date) {
    // The '+0 days' modifier normalises the date: SQLite 3.40's date('2023-02-31') alone
    // returns it unchanged, so without it impossible days pass the check.
    def += " CHECK(date(" + q + ", '+0 days') IS " + q + ")";
  } else if (c.type == ColumnType::Timestamp) {
    // YYYY-MM-DDTHH:MM:SS[.ffffff]Z, as Timestamp::toIso writes it.
    def += " CHECK(" + q +
           " GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:"
           "[0-5][0-9]*Z' AND length(" +
           q + ") BETWEEN 20 AND 27)";
  }
  return def;
}

std::vector<const Column*> keyColumns(const DatasetSpec& spec) {
  std::vector<const Column*> out;
  for (const auto& c : spec.columns) {
    if (c.key) {
      out.push_back(&c);
    }
  }
  return out;
}

std::string compareSpecs(const DatasetSpec& stored, const DatasetSpec& declared,
                         std::vector<Column>& added) {
  const std::string fix =
      "; incompatible changes are refused: keep the old definition, or declare a dataset with a "
      "new name";
  if (declared.version < stored.version) {
    return "declares version " + std::to_string(declared.version) + " but the store holds " +
           std::to_string(stored.version) +
           "; a plugin may not go back to an older dataset "
           "version (install the newer plugin again)";
  }
  for (const auto& s : stored.columns) {
    const int i = declared.columnIndex(s.name);
    if (i < 0) {
      return "column '" + s.name +
             "' is no longer declared (dropping a column is not "
             "supported)" +
             fix;
    }
    const auto& d = declared.columns[static_cast<size_t>(i)];
    if (d.type != s.type) {
      return "column '" + s.name + "' changes type from " + typeName(s.type) + " to " +
             typeName(d.type) + fix;
    }
    if (d.nullable != s.nullable && !d.key && !s.key) {
      return "column '" + s.name + "' changes from " + (s.nullable ? "nullable" : "required") +
             " to " + (d.nullable ? "nullable" : "required") + fix;
    }
  }
  auto key_names = [](const DatasetSpec& spec) {
    std::string out;
    for (const auto* c : keyColumns(spec)) {
      out += (out.empty() ? "" : ", ") + c->name;
    }
    return "(" + out + ")";
  };
  if (key_names(stored) != key_names(declared)) {
    return "key changes from " + key_names(stored) + " to " + key_names(declared) + fix;
  }
  for (const auto& d : declared.columns) {
    if (stored.columnIndex(d.name) < 0) {
      if (!d.nullable) {
        return "new column '" + d.name +
               "' is required, but existing rows have no value for "
               "it; declare it nullable";
      }
      added.push_back(d);
    }
  }
  return {};
}

std::string tableName(const std::string& plugin, const std::string& dataset) {
  std::string t = plugin + "__" + dataset;
  for (auto& c : t) {
    if (c == '-') {
      c = '_';
    }
  }
  return t;
}

Status writeColumns(sql::Db& db, int64_t dataset_id, const DatasetSpec& spec) {
  if (auto st = db.exec("DELETE FROM _columns WHERE dataset_id = " + std::to_string(dataset_id));
      !st) {
    return st;
  }
  auto col = db.prepare(
      "INSERT INTO _columns(dataset_id, position, name, type, key_position, nullable) "
      "VALUES(?, ?, ?, ?, ?, ?)");
  if (!col) {
    return col.status();
  }
  int64_t key_pos = 0;
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    const auto& c = spec.columns[i];
    col->reset();
    col->bind(1, dataset_id);
    col->bind(2, static_cast<int64_t>(i));
    col->bind(3, c.name);
    col->bind(4, std::string(typeName(c.type)));
    if (c.key) {
      col->bind(5, key_pos++);
    } else {
      col->bindNull(5);
    }
    col->bind(6, static_cast<int64_t>(c.nullable ? 1 : 0));
    if (col->step() != SQLITE_DONE) {
      return db.error("recording the columns of dataset '" + spec.name + "'");
    }
  }
  return Status::ok();
}

bool isValidRegion(const std::string& code) {
  if (code.size() != 5 || code.compare(0, 3, "MA-") != 0 || code[3] < '0' || code[3] > '1' ||
      code[4] < '0' || code[4] > '9') {
    return false;
  }
  const int n = (code[3] - '0') * 10 + (code[4] - '0');
  return n >= 1 && n <= 12;
}

void bindValue(sqlite3_stmt* s, int i, const Value& v, IsoTexts* iso) {
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
        } else {  // Date, Timestamp (the decoder keeps them within years 0001-9999)
          char local[32];
          static_assert(Date::kIsoSize <= sizeof local && Timestamp::kIsoSize <= sizeof local);
          char* buf = iso != nullptr ? iso->slot() : local;
          const size_t n = x.toIso(buf);
          sqlite3_bind_text(s, i, buf, static_cast<int>(n),
                            iso != nullptr ? SQLITE_STATIC : SQLITE_TRANSIENT);
        }
      },
      v.storage());
}

}  // namespace exportsync::schema
