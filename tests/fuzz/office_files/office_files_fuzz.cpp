// libFuzzer target for the office-file readers; see office_files_fuzz.hpp.
#include "office_files_fuzz.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "exportsync/files/csv.hpp"
#include "exportsync/files/text.hpp"
#include "exportsync/files/xlsx.hpp"

namespace exportsync::files::fuzz {
namespace {

constexpr const char* kSource = "fuzz-input";

[[noreturn]] void die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "office_files fuzz: %s: %s\n", what, detail.c_str());
  std::abort();
}

// Small limits: inputs stay fast, and an over-allocation shows up as an out-of-memory report.
TableOptions fuzzOptions(Reader reader) {
  TableOptions o;
  o.limits.max_file_bytes = 1u << 20;
  o.limits.max_entry_bytes = 4u << 20;
  o.limits.max_field_bytes = 4096;
  o.limits.max_fields = 64;
  o.limits.max_records = 4096;
  o.encoding = reader == Reader::CsvWindows1252   ? Encoding::Windows1252
               : reader == Reader::CsvWindows1256 ? Encoding::Windows1256
                                                  : Encoding::Utf8;
  return o;
}

// A refusal or a fatal error is Code::Invalid (or Io) and names the file.
void requireReason(const Status& st, const char* when) {
  if (st.isOk()) {
    return;
  }
  if (st.code() != Code::Invalid && st.code() != Code::Io) {
    die(when, "unexpected code for: " + st.message());
  }
  if (st.message().find(kSource) == std::string::npos) {
    die(when, "a refusal that does not name the file: " + st.message());
  }
}

void requireText(std::string_view text, const TableOptions& o, const char* what) {
  if (!isValidUtf8(text)) {
    die(what, "not valid UTF-8");
  }
  if (text.size() > o.limits.max_field_bytes * 4) {  // a field may grow when transcoded
    die(what, "longer than the field limit allows: " + std::to_string(text.size()));
  }
}

}  // namespace

bool checkInput(std::string_view input) {
  if (input.empty()) {
    return false;
  }
  const auto reader = static_cast<Reader>(static_cast<uint8_t>(input[0]) % 4);
  const std::string bytes(input.substr(1));
  const TableOptions o = fuzzOptions(reader);
  auto table = reader == Reader::Xlsx ? openXlsx(bytes, kSource, o) : openCsv(bytes, kSource, o);
  if (!table) {
    requireReason(table.status(), "a refused file");
    return false;
  }
  const Header& header = (*table)->header();
  if (header.size() == 0 || header.size() > o.limits.max_fields) {
    die("an opened file", "header of " + std::to_string(header.size()) + " columns");
  }
  for (const auto& name : header.names()) {
    if (name.empty()) {
      die("an opened file", "an empty header name");
    }
    requireText(name, o, "a header name");
  }
  Record r;
  uint64_t records = 0;
  uint64_t last_line = 0;
  while ((*table)->next(r)) {
    if (++records > o.limits.max_records) {
      die("reading records", "more records than the limit");
    }
    if (r.line <= last_line && reader != Reader::Xlsx) {
      die("reading records", "CSV line numbers do not grow: " + std::to_string(r.line));
    }
    last_line = r.line;
    if (r.ok() && r.fields.size() != header.size()) {
      die("reading records", "a record without a problem but " + std::to_string(r.fields.size()) +
                                 " fields for " + std::to_string(header.size()) + " columns");
    }
    if (r.fields.size() > o.limits.max_fields) {
      die("reading records", "more fields than the limit");
    }
    for (const auto& f : r.fields) {
      requireText(f, o, "a field");
    }
  }
  requireReason((*table)->status(), "the end of reading");
  return true;
}

}  // namespace exportsync::files::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)exportsync::files::fuzz::checkInput(
      std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
