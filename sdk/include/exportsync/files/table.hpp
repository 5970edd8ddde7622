// One table interface for the office files plugins read: CSV (and .txt) exports and XLSX
// workbooks give the same thing, a header row of column names and records of UTF-8 text fields,
// each with the line (CSV) or row (XLSX) number where it starts.
//
//   files::TableOptions options = files::tableOptionsFromConfig(ctx.config());
//   auto table = files::openTable("/srv/inbox/ventes.xlsx", options);
//   if (!table) { ... table.status().message() ... }
//   auto cols = files::Columns::resolve((*table)->header(), {"ICE", "Raison sociale"});
//   files::Record rec;
//   while ((*table)->next(rec)) { if (!rec.ok()) { reject(rec.problem); continue; } ... }
//   if (!(*table)->status()) { ... fatal read error ... }
//
// Part of ExportSync::files (link it next to ExportSync::sdk); see docs/plugins/files.md.
//
// THREAD: a Table is used by one thread at a time; distinct tables are independent. Header,
// Record and Columns are values.
// OWNERSHIP: openTable() returns a Table owned by the caller; references it returns are valid
// while it lives.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exportsync/files/text.hpp"
#include "exportsync/plugin.hpp"
#include "exportsync/status.hpp"

namespace exportsync::files {

/// Bounds on what a file may make the reader do. A file beyond any of them is refused whole
/// with a message naming the limit; raise a limit only for a file you trust.
struct Limits {
  uint64_t max_file_bytes = 64ULL << 20;    ///< size of the file on disk
  uint64_t max_entry_bytes = 256ULL << 20;  ///< XLSX: uncompressed size of one part (zip bombs)
  uint64_t max_field_bytes = 128ULL << 10;  ///< one field (Excel allows 32,767 characters)
  uint64_t max_fields = 1024;               ///< fields of one record, columns of a sheet
  uint64_t max_records = 1048576;           ///< data records (Excel's row limit)
};

/// How to read a table. Defaults suit Excel exports from French-locale offices.
struct TableOptions {
  Encoding encoding = Encoding::Utf8;  ///< CSV only; a byte-order mark wins
  char separator = 0;                  ///< CSV: ',', ';' or '\t'; 0 detects it from the header line
  std::string sheet;        ///< XLSX: sheet name (case-insensitive); empty for the first sheet
  bool trim_fields = true;  ///< strip spaces, tabs and no-break spaces around every field
  /// Line (CSV) or row (XLSX) where the header is, when titles sit above it: the header is the
  /// first non-empty line from there; lines above are ignored. 0: the first non-empty line.
  uint64_t header_line = 0;
  Limits limits;
  /// The setting names quoted in error messages, so they tell the office what to change.
  std::string encoding_key = "encoding";
  std::string sheet_key = "sheet";
};

/// Reads the table settings of a plugin from its config (keys `encoding`, `separator` (`;`,
/// `,`, `tab` or `auto`), `sheet` and `header_line`, all optional), e.g.
/// plugin.artisanat.encoding.
/// Throws ConfigError naming the full key when a value is not understood.
/// THREAD: the collect or configure call's thread.
TableOptions tableOptionsFromConfig(const Config& config);

/// Parses a separator setting: ";", ",", "tab" (or a tab), "semicolon", "comma"; "auto" or an
/// empty value give 0 (detect). Code::Config otherwise.
[[nodiscard]] Result<char> parseSeparator(std::string_view text);

/// One record of a table.
struct Record {
  uint64_t line = 0;                ///< CSV: physical line where it starts; XLSX: row number
  std::vector<std::string> fields;  ///< UTF-8 text, one per header column when ok()
  /// Non-empty when the record is malformed (e.g. a wrong field count); `fields` then holds what
  /// was read. Reject such a record; the file itself is still readable.
  std::string problem;

  [[nodiscard]] bool ok() const { return problem.empty(); }
  /// The field at `index`, or an empty string beyond the end.
  [[nodiscard]] const std::string& at(size_t index) const;
};

/// The column names of a table's header row: trimmed, unique when compared case-insensitively,
/// none empty (trailing empty header cells are dropped).
class Header {
 public:
  Header() = default;
  /// `source` names the file in messages; `line` is the header's line or row number.
  Header(std::vector<std::string> names, std::string source, uint64_t line);

  /// Checks header cell texts and builds a Header; Code::Invalid when a name is empty (except
  /// trailing ones, dropped) or repeated. `names` are trimmed first.
  [[nodiscard]] static Result<Header> fromCells(std::vector<std::string> names, std::string source,
                                                uint64_t line);

  [[nodiscard]] const std::vector<std::string>& names() const { return names_; }
  [[nodiscard]] size_t size() const { return names_.size(); }
  [[nodiscard]] const std::string& source() const { return source_; }
  [[nodiscard]] uint64_t line() const { return line_; }

  /// Position of the column called `name` (trimmed, case-insensitive), if any.
  [[nodiscard]] std::optional<size_t> find(std::string_view name) const;
  /// Like find(), but a missing column is an error (Code::Invalid) naming the file, the column,
  /// the columns present and what to do.
  [[nodiscard]] Result<size_t> require(std::string_view name) const;

 private:
  std::vector<std::string> names_;
  std::vector<std::string> keys_;  // case-folded names_, for find()
  std::string source_;
  uint64_t line_ = 0;
};

/// The columns a plugin reads, resolved once against a header, then looked up by name per record.
///   auto cols = Columns::resolve(header, {"ICE", "Pays"}, {"Téléphone"});
///   const std::string& ice = cols->get(record, "ICE");
class Columns {
 public:
  /// Resolves `required` (all must be present; the error lists every missing one) and
  /// `optional` names. Code::Invalid when a required column is missing.
  [[nodiscard]] static Result<Columns> resolve(
      const Header& header, std::initializer_list<std::string_view> required,
      std::initializer_list<std::string_view> optional = {});
  [[nodiscard]] static Result<Columns> resolve(const Header& header,
                                               const std::vector<std::string>& required,
                                               const std::vector<std::string>& optional = {});

  /// True when the column `name` (resolved before) is in the header.
  [[nodiscard]] bool has(std::string_view name) const;
  /// The field of `record` under column `name`; an empty string for an optional column the
  /// header lacks. Throws exportsync::Error when `name` was not passed to resolve() (a bug).
  [[nodiscard]] const std::string& get(const Record& record, std::string_view name) const;

 private:
  struct Entry {
    std::string key;  // case-folded name
    std::optional<size_t> index;
  };
  [[nodiscard]] const Entry& entry(std::string_view name) const;
  std::vector<Entry> entries_;
};

/// A table being read. Records come in file order; blank records are skipped.
class Table {
 public:
  virtual ~Table() = default;

  /// File name used in messages.
  [[nodiscard]] virtual const std::string& source() const = 0;
  [[nodiscard]] virtual const Header& header() const = 0;
  /// Reads the next record into `out`. Returns false at the end or on a fatal error; then
  /// status() tells which. A malformed record is not fatal: it comes with `problem` set.
  virtual bool next(Record& out) = 0;
  /// OK, or the fatal error that ended reading (limits, unclosed quote, corrupt file...).
  [[nodiscard]] virtual const Status& status() const = 0;
};

/// File formats, chosen by extension.
enum class TableFormat { Csv, Xlsx };

/// .csv and .txt → Csv; .xlsx and .xlsm → Xlsx (case-insensitive); anything else (including the
/// old binary .xls) is Code::Invalid with what to do.
[[nodiscard]] Result<TableFormat> formatForPath(std::string_view path);

/// Opens a CSV or XLSX file (by extension) and reads its header. Checks the size against
/// options.limits.max_file_bytes before reading.
/// Returns: the table, or an error naming the file and what to do (Code::Io when it cannot be
/// read, Code::Invalid when its content is refused).
/// OWNERSHIP: the caller owns the table. THREAD: any; the table is not shared.
[[nodiscard]] Result<std::unique_ptr<Table>> openTable(const std::string& path,
                                                       const TableOptions& options = {});

/// Same, from the bytes of a file already read; `source` names it in messages.
[[nodiscard]] Result<std::unique_ptr<Table>> openTableFromBytes(std::string bytes,
                                                                TableFormat format,
                                                                std::string source,
                                                                const TableOptions& options = {});

/// Reads every remaining record of `table` (well-formed or not).
/// Returns: the records, or the table's fatal error.
[[nodiscard]] Result<std::vector<Record>> readAll(Table& table);

}  // namespace exportsync::files
