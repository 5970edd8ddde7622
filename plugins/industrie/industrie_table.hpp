// Reading an industrie office file: which header is which field (a documented alias table,
// accents and case ignored), validating one line into typed values, and summing lines per
// export_flows key. The plugin (industrie_plugin.cpp) and the parsing benchmark
// (tests/bench/industrie/) both drive this code; it holds no plugin state.
//
// The header aliases, the sector table and the rules are listed in plugins/industrie/README.md;
// change both together.
//
// THREAD: values and const functions; a LineParser or Batch is used by one thread at a time.
// OWNERSHIP: everything returned is a value owned by the caller.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "exportsync/core_datasets.hpp"
#include "exportsync/files/table.hpp"
#include "exportsync/status.hpp"
#include "exportsync/validate.hpp"

namespace exportsync::industrie {

/// The fields an industrie file may carry. Required: Ice, Name, Sector, HsCode, Destination,
/// Period, Value. The others are optional columns.
enum class Field : uint8_t {
  Ice,
  Name,
  NameAr,
  Sector,
  LegalForm,
  Employees,
  Turnover,
  City,
  Region,
  FirstExportYear,
  HsCode,
  Destination,
  Period,
  Year,
  Value,
  Weight,
};
inline constexpr size_t kFieldCount = 16;

/// One field: the label used in messages, whether the file must have it, and the header names
/// accepted for it (normalised with normalizeHeader(); the first match in this order wins).
struct FieldSpec {
  Field field;
  std::string_view label;
  bool required;
  std::vector<std::string_view> aliases;
};

/// The alias table, in Field order.
const std::array<FieldSpec, kFieldCount>& fieldSpecs();

/// A header or label folded for comparison: ASCII lower case, accents of Latin letters removed
/// (é → e, œ → oe), every run of other characters (spaces, punctuation, °, ’) turned into one
/// space, trimmed. "N° ICE" → "n ice", "Valeur FOB (MAD)" → "valeur fob mad".
std::string normalizeHeader(std::string_view text);

/// Where each field is in a file's header.
class Layout {
 public:
  /// Matches the header's names against the alias table. Code::Invalid naming every missing
  /// required field, its accepted headers and the columns present, when one is missing.
  [[nodiscard]] static Result<Layout> resolve(const files::Header& header);

  /// Position of `field` in the records, or -1 when the file has no such column.
  [[nodiscard]] int32_t column(Field field) const { return index_[static_cast<size_t>(field)]; }
  [[nodiscard]] bool has(Field field) const { return column(field) >= 0; }
  /// The header of `field` as written in the file ("" when absent): the column named in
  /// rejections, as the office sees it.
  [[nodiscard]] const std::string& name(Field field) const {
    return names_[static_cast<size_t>(field)];
  }

 private:
  std::array<int32_t, kFieldCount> index_{};
  std::array<std::string, kFieldCount> names_;
};

struct ParseOptions {
  /// Decimal mark of amounts and weights (validate::DecimalMark; Auto refuses ambiguous values).
  validate::DecimalMark decimal_mark = validate::DecimalMark::Auto;
  /// The office's region, "MA-06": the seat's region when the file has no Région column.
  std::string office_region;
};

/// One line of the file, validated and normalised.
struct Line {
  std::string ice;  ///< 15 digits
  /// True when the firm's cells are those of its last good line in the file: the exporter
  /// fields below were not filled again (they hold another line's values).
  bool same_exporter = false;
  std::string name;
  std::optional<std::string> name_ar;
  core::Sector sector = core::Sector::Other;
  core::LegalForm legal_form = core::LegalForm::Other;
  std::optional<int64_t> employees;
  std::optional<core::SizeClass> size_class;
  std::optional<std::string> city;
  std::string region;  ///< "MA-06"
  std::optional<int64_t> first_export_year;
  std::string hs_code;      ///< digits only
  std::string destination;  ///< ISO alpha-2
  validate::Period period;
  Money value;
  std::optional<double> weight_kg;
};

/// Why a line is refused: the file's column (as written in its header; empty when the whole
/// line is at fault), the value found and the reason.
struct Problem {
  std::string column;
  std::string value;
  std::string reason;
};

/// Validates lines of one file. A firm's cells usually repeat on each of its lines: they are
/// validated again only when they differ from the firm's last good line (remember()).
class LineParser {
 public:
  LineParser(const Layout& layout, ParseOptions options);

  /// Validates every field of `record`. Returns true and fills `out` (see Line::same_exporter);
  /// or returns false with one Problem per bad field in `problems` (cleared first).
  bool parse(const files::Record& record, Line& out, std::vector<Problem>& problems);
  /// Records `record`, parsed into a Line now kept in the Batch, as its firm's last good line.
  void remember(const files::Record& record, uint64_t ice);

 private:
  // The firm's cells (Field order, exporter fields only) of its last good line.
  using FirmCells = std::array<std::string, kFieldCount>;
  bool sameFirmCells(const FirmCells& known, const files::Record& record) const;
  void parseFirm(const files::Record& record, Line& out, std::vector<Problem>& problems) const;
  void parseFlow(const files::Record& record, Line& out, std::vector<Problem>& problems) const;

  const Layout* layout_;
  ParseOptions options_;
  std::unordered_map<uint64_t, FirmCells> firms_;  // by ICE
};

/// Maps a sector as offices write it ("Câblage automobile", "Textile et habillement", a core
/// code such as "automotive") to the core sector list; the table is in README.md.
Result<core::Sector> parseSector(std::string_view text);

/// A destination: an ISO 3166-1 alpha-2 code (validate::destination) or a country's French
/// name ("Espagne", "États-Unis"; table in README.md).
Result<std::string> parseDestination(std::string_view text);

/// A month: validate::period() forms, or a French month name and a 4-digit year ("mars 2024",
/// "Mars-2024").
Result<validate::Period> parsePeriod(std::string_view text);

/// The legal form a firm's name ends with ("… SARL AU", "… S.A."), if any.
std::optional<core::LegalForm> legalFormFromName(std::string_view name);

/// Lines summed per export_flows key (ICE × HS code × destination × month), in first-seen
/// order, and each exporter's details from its last line.
class Batch {
 public:
  struct Flow {
    core::ExportFlowRow row;  ///< value and weight summed over the lines of the key
    size_t first_record = 0;  ///< index of the first line of the key (rejections point there)
    uint32_t lines = 0;       ///< lines summed
  };
  struct Exporter {
    core::ExporterRow row;
    size_t record = 0;  ///< index of the last line that gave the details
  };

  /// Adds a valid line read from record number `record_index`. Returns false, with `problem`,
  /// when the key's total would overflow. PRECONDITION: when line.same_exporter, a line of the
  /// same firm was added before.
  bool add(Line&& line, size_t record_index, Problem& problem);

  /// Room for `lines` lines (avoids growing the tables while adding).
  void reserve(size_t lines);

  /// The export_flows row of `flow`, built directly from the values LineParser validated with
  /// the core rules: what flow.row.toRow() gives (debug builds check that it does), without
  /// validating every field a second time.
  [[nodiscard]] static Row flowRow(const Flow& flow);

  [[nodiscard]] const std::vector<Flow>& flows() const { return flows_; }
  /// The flows in the order of the export_flows key (exporter_id, hs_code, destination,
  /// period, as SQLite compares them): the store's table is keyed that way, and rows written in
  /// key order land at the end of its B-tree instead of all over it.
  [[nodiscard]] std::vector<const Flow*> flowsInKeyOrder() const;
  [[nodiscard]] const std::vector<Exporter>& exporters() const { return exporters_; }

 private:
  struct Key {
    uint64_t ice = 0;
    uint64_t hs = 0;     // digits * 16 + number of digits (keeps leading zeros apart)
    uint32_t where = 0;  // destination letters << 16 | period months since 1900
    bool operator==(const Key& o) const { return ice == o.ice && hs == o.hs && where == o.where; }
  };
  // Key → position in flows_, by open addressing (linear probing): no allocation per key.
  class FlowIndex {
   public:
    void reserve(size_t keys);
    /// The position of `key`, or `fresh` after inserting it (then `inserted` is true).
    size_t findOrInsert(const Key& key, size_t fresh, bool& inserted);

   private:
    struct Slot {
      Key key;
      size_t flow = SIZE_MAX;  // SIZE_MAX: empty
    };
    void rehash(size_t capacity);
    /// The slot of `key`, or the empty slot where it belongs.
    [[nodiscard]] size_t probe(const Key& key) const;
    std::vector<Slot> slots_;  // size is 0 or a power of two, at most half full
    size_t size_ = 0;
  };
  std::vector<Flow> flows_;
  FlowIndex flow_index_;
  std::vector<Exporter> exporters_;
  std::unordered_map<uint64_t, size_t> exporter_index_;
};

/// Reads the records of one file into `batch`: matches the header (Layout), validates every
/// record (LineParser) and sums the good ones (Batch). `reject` receives each bad cell of a
/// refused record (its index in `records`, the problem); `poll`, when set, is called every 4096
/// records (to honour cancellation: it may throw).
/// Returns Code::Invalid, before reading any record, when the header lacks a required column:
/// the whole file is refused with that reason.
Status readRecords(const files::Header& header, const std::vector<files::Record>& records,
                   const ParseOptions& options, Batch& batch,
                   const std::function<void(size_t, Problem&&)>& reject,
                   const std::function<void()>& poll = {});

}  // namespace exportsync::industrie
