// Datasets as SQLite tables, shared by the agent store and the hub store: column definitions,
// and the schema-evolution rule (additive changes accepted, incompatible ones refused).
//
// THREAD: pure functions.
#pragma once

#include <array>
#include <deque>
#include <string>
#include <vector>

#include "exportsync/dataset.hpp"
#include "exportsync/sqlite.hpp"
#include "exportsync/status.hpp"

namespace exportsync::schema {

/// SQLite storage class of a column type (STRICT tables).
const char* sqlType(ColumnType type);

/// `"name" TYPE [NOT NULL] [CHECK(...)]` for a column; checks keep plain-SQL writes in range.
std::string columnDef(const Column& column);

/// The key columns of a dataset, in declared order.
std::vector<const Column*> keyColumns(const DatasetSpec& spec);

/// Compares a newly declared dataset with the stored one. Returns why it is incompatible, or an
/// empty string; fills `added` with the declared columns the store lacks (all nullable).
std::string compareSpecs(const DatasetSpec& stored, const DatasetSpec& declared,
                         std::vector<Column>& added);

/// SQLite table of a plugin's dataset: <plugin>__<dataset>, '-' as '_'.
std::string tableName(const std::string& plugin, const std::string& dataset);

/// Replaces the `_columns` rows of a dataset (both stores share that table's shape) with
/// `spec`'s columns, in table order. Runs inside the caller's transaction.
Status writeColumns(sql::Db& db, int64_t dataset_id, const DatasetSpec& spec);

/// Region codes MA-01 … MA-12 (ISO 3166-2:MA).
bool isValidRegion(const std::string& code);

/// The ISO texts of the dates and timestamps bound to a statement, kept until its step so SQLite
/// needs no copy of each (SQLITE_TRANSIENT). clear() after the step.
class IsoTexts {
 public:
  /// Room for one ISO text; stays where it is until clear().
  char* slot() { return slots_.emplace_back().data(); }
  void clear() { slots_.clear(); }

 private:
  std::deque<std::array<char, 32>> slots_;
};

/// Binds `v` to parameter `i` of `s` the way a dataset table holds it (columnDef): money as
/// centimes, booleans as 0/1, dates and timestamps as ISO text, text bound without a copy (it
/// must outlive the statement's step). The ISO text goes into `iso` when given (it must outlive
/// the step too), else SQLite copies it.
void bindValue(sqlite3_stmt* s, int i, const Value& v, IsoTexts* iso = nullptr);

}  // namespace exportsync::schema
