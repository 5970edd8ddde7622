// Helpers shared by the ExportSync::files sources; not installed.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>

#include "exportsync/files/table.hpp"

namespace exportsync::files::internal {

void appendUtf8(std::string& out, uint32_t code_point);

/// `s` without leading and trailing spaces, tabs, no-break spaces (U+00A0, U+202F).
std::string_view trimView(std::string_view s);
inline void trimInPlace(std::string& s) {
  const std::string_view t = trimView(s);
  if (t.size() != s.size()) {
    s = std::string(t);
  }
}

/// Trimmed and case-folded, for comparing column and sheet names.
std::string foldName(std::string_view name);

/// "A", "Z", "AA"… for a 0-based column index.
std::string columnLetters(uint64_t index);

/// Reads a whole file, refusing it beyond `max_bytes`. `source` names it in messages.
[[nodiscard]] Status readFileBounded(const std::string& path, uint64_t max_bytes,
                                     const std::string& source, std::string& out);

/// strerror(), thread-safe.
std::string errnoText(int error);

/// The file name part of a path.
std::string baseName(std::string_view path);

/// A table whose records are already parsed (the XLSX reader's result).
class MemoryTable final : public Table {
 public:
  MemoryTable(std::string source, Header header, std::deque<Record> records)
      : source_(std::move(source)), header_(std::move(header)), records_(std::move(records)) {}

  const std::string& source() const override { return source_; }
  const Header& header() const override { return header_; }
  bool next(Record& out) override {
    if (records_.empty()) {
      return false;
    }
    out = std::move(records_.front());
    records_.pop_front();
    return true;
  }
  const Status& status() const override { return status_; }

 private:
  std::string source_;
  Header header_;
  std::deque<Record> records_;
  Status status_;
};

}  // namespace exportsync::files::internal
