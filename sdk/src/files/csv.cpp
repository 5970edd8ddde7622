#include "exportsync/files/csv.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "internal.hpp"

namespace exportsync::files {
namespace {

std::string separatorName(char sep) {
  switch (sep) {
    case ';': return "';'";
    case ',': return "','";
    case '\t': return "tab";
    default: return std::string("'") + sep + "'";
  }
}

bool allBlank(const std::vector<std::string>& fields) {
  for (const auto& f : fields) {
    if (!internal::trimView(f).empty()) {
      return false;
    }
  }
  return true;
}

class CsvTable final : public Table {
 public:
  CsvTable(std::string text, std::string source, TableOptions options)
      : text_(std::move(text)), source_(std::move(source)), options_(std::move(options)) {}

  Status start() {
    // Title lines above the header are free text: skipped as raw lines, quotes and all.
    while (line_ < options_.header_line && pos_ < text_.size()) {
      pos_ = std::min(text_.find_first_of("\r\n", pos_), text_.size());
      consumeLineEnd();
    }
    skipLineEnds();
    if (pos_ >= text_.size() && options_.header_line > 1) {
      return Status::invalid("file '" + source_ + "' has no header at or below line " +
                             std::to_string(options_.header_line) +
                             "; check the header_line setting");
    }
    if (pos_ >= text_.size()) {
      return Status::invalid("file '" + source_ +
                             "' is empty: no header line; export the sheet again with its header "
                             "row");
    }
    sep_ = options_.separator != 0 ? options_.separator
                                   : detectSeparator(std::string_view(text_).substr(pos_));
    Record first;
    const Got got = parse(first);
    if (got == Got::Error) {
      return status_;
    }
    if (got == Got::End) {
      return Status::invalid("file '" + source_ +
                             "' has no header line (only blank lines); export the sheet again "
                             "with its header row");
    }
    if (!first.ok()) {
      return Status::invalid("file '" + source_ + "' header (line " + std::to_string(first.line) +
                             "): " + first.problem);
    }
    auto header = Header::fromCells(std::move(first.fields), source_, first.line);
    if (!header) {
      return header.status();
    }
    header_ = std::move(*header);
    return Status::ok();
  }

  const std::string& source() const override { return source_; }
  const Header& header() const override { return header_; }
  const Status& status() const override { return status_; }

  bool next(Record& out) override {
    if (!status_) {
      return false;
    }
    const Got got = parse(out);
    if (got != Got::Record) {
      return false;
    }
    if (++records_ > options_.limits.max_records) {
      status_ = Status::invalid("file '" + source_ + "' line " + std::to_string(out.line) +
                                ": more than " + std::to_string(options_.limits.max_records) +
                                " records (max_records); split the file into smaller ones");
      return false;
    }
    fitToHeader(out);
    return true;
  }

 private:
  enum class Got { Record, End, Error };

  bool fail(uint64_t line, const std::string& what) {
    status_ = Status::invalid("file '" + source_ + "' line " + std::to_string(line) + ": " + what);
    return false;
  }

  // Consumes one line end at pos_ (CRLF, LF or CR) if there is one.
  bool consumeLineEnd() {
    if (pos_ < text_.size() && text_[pos_] == '\r') {
      ++pos_;
      if (pos_ < text_.size() && text_[pos_] == '\n') {
        ++pos_;
      }
      ++line_;
      return true;
    }
    if (pos_ < text_.size() && text_[pos_] == '\n') {
      ++pos_;
      ++line_;
      return true;
    }
    return false;
  }
  void skipLineEnds() {
    while (consumeLineEnd()) {
    }
  }

  // Appends text_[from, to) to `field`, counting the line ends in it.
  void appendCounting(std::string& field, size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      const char c = text_[i];
      if (c == '\n' || (c == '\r' && (i + 1 >= text_.size() || text_[i + 1] != '\n'))) {
        ++line_;
      }
    }
    field.append(text_, from, to - from);
  }

  bool checkFieldSize(const std::string& field, uint64_t record_line, size_t index) {
    if (field.size() <= options_.limits.max_field_bytes) {
      return true;
    }
    return fail(record_line,
                "field " + std::to_string(index + 1) + " is longer than " +
                    std::to_string(options_.limits.max_field_bytes) +
                    " bytes (max_field_bytes); if it should not be, a quote (\") opened on this "
                    "line may never be closed");
  }

  // Reads a quoted field starting at the opening quote at pos_.
  bool readQuoted(Record& out, std::string& field) {
    const uint64_t opened_at = line_;
    ++pos_;
    for (;;) {
      const size_t quote = text_.find('"', pos_);
      if (quote == std::string::npos) {
        return fail(opened_at,
                    "a quoted field (\") opened on this line is never closed; close the quote "
                    "or double the quote characters inside the value (\"\")");
      }
      appendCounting(field, pos_, quote);
      pos_ = quote + 1;
      if (!checkFieldSize(field, out.line, out.fields.size())) {
        return false;
      }
      if (pos_ < text_.size() && text_[pos_] == '"') {
        field += '"';
        ++pos_;
        continue;
      }
      break;
    }
    // Only the separator or a line end may follow the closing quote; keep stray text, flag it.
    const size_t rest = pos_;
    while (pos_ < text_.size() && text_[pos_] != sep_ && text_[pos_] != '\r' &&
           text_[pos_] != '\n') {
      ++pos_;
    }
    const std::string_view stray(text_.data() + rest, pos_ - rest);
    if (!internal::trimView(stray).empty()) {
      field.append(stray);
      if (out.problem.empty()) {
        out.problem = "field " + std::to_string(out.fields.size() + 1) +
                      " has text after its closing quote; quote the whole value and double "
                      "the quotes inside it (\"\")";
      }
    }
    return checkFieldSize(field, out.line, out.fields.size());
  }

  // Parses the next non-blank record.
  Got parse(Record& out) {
    for (;;) {
      skipLineEnds();
      if (pos_ >= text_.size()) {
        return Got::End;
      }
      out.line = line_;
      out.fields.clear();
      out.fields.reserve(header_.size());  // readAll() moves the last record's fields out
      out.problem.clear();
      for (;;) {
        std::string field;
        if (pos_ < text_.size() && text_[pos_] == '"') {
          if (!readQuoted(out, field)) {
            return Got::Error;
          }
        } else {
          const size_t begin = pos_;
          while (pos_ < text_.size() && text_[pos_] != sep_ && text_[pos_] != '\r' &&
                 text_[pos_] != '\n') {
            ++pos_;
          }
          field.assign(text_, begin, pos_ - begin);
          if (!checkFieldSize(field, out.line, out.fields.size())) {
            return Got::Error;
          }
        }
        if (options_.trim_fields) {
          internal::trimInPlace(field);
        }
        out.fields.push_back(std::move(field));
        if (out.fields.size() > options_.limits.max_fields) {
          fail(out.line, "more than " + std::to_string(options_.limits.max_fields) +
                             " fields (max_fields) separated by " + separatorName(sep_) +
                             "; check the separator setting or the file");
          return Got::Error;
        }
        if (pos_ < text_.size() && text_[pos_] == sep_) {
          ++pos_;
          continue;
        }
        consumeLineEnd();  // or the end of the text
        break;
      }
      if (!allBlank(out.fields)) {
        return Got::Record;
      }
    }
  }

  void fitToHeader(Record& out) const {
    const size_t width = header_.size();
    // Excel writes empty trailing fields for cells right of the table that were once used.
    while (out.fields.size() > width && internal::trimView(out.fields.back()).empty()) {
      out.fields.pop_back();
    }
    if (out.fields.size() != width && out.problem.empty()) {
      out.problem = "has " + std::to_string(out.fields.size()) + " fields, the header (line " +
                    std::to_string(header_.line()) + ") has " + std::to_string(width) +
                    "; a value may contain the separator " + separatorName(sep_) +
                    " without quotes, or a separator is missing";
    }
  }

  std::string text_;
  std::string source_;
  TableOptions options_;
  Header header_;
  Status status_;
  char sep_ = ';';
  size_t pos_ = 0;
  uint64_t line_ = 1;
  uint64_t records_ = 0;
};

}  // namespace

char detectSeparator(std::string_view header_line) {
  size_t semicolons = 0;
  size_t commas = 0;
  size_t tabs = 0;
  bool quoted = false;
  for (char c : header_line) {
    if (c == '"') {
      quoted = !quoted;  // a doubled quote toggles twice: no effect, as it should
    } else if (quoted) {
      continue;
    } else if (c == '\n' || c == '\r') {
      break;
    } else if (c == ';') {
      ++semicolons;
    } else if (c == ',') {
      ++commas;
    } else if (c == '\t') {
      ++tabs;
    }
  }
  if (commas > semicolons && commas >= tabs) {
    return ',';
  }
  if (tabs > semicolons && tabs > commas) {
    return '\t';
  }
  return ';';
}

std::string quoteCsvField(std::string_view field, char separator) {
  if (field.find_first_of(std::string{'"', '\r', '\n', separator}) == std::string_view::npos &&
      (field.empty() || (field.front() != ' ' && field.back() != ' '))) {
    return std::string(field);
  }
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') {
      out += '"';
    }
    out += c;
  }
  out += '"';
  return out;
}

Result<std::unique_ptr<Table>> openCsv(std::string bytes, std::string source,
                                       const TableOptions& options) {
  if (options.separator != 0 && options.separator != ';' && options.separator != ',' &&
      options.separator != '\t') {
    return Status::config("CSV separator must be ';', ',' or tab, not '" +
                          std::string(1, options.separator) + "'");
  }
  if (bytes.size() > options.limits.max_file_bytes) {
    return Status::invalid("file '" + source + "' is " + std::to_string(bytes.size()) +
                           " bytes, more than the limit of " +
                           std::to_string(options.limits.max_file_bytes) +
                           " bytes (max_file_bytes); split it into smaller files");
  }
  auto text = decodeText(bytes, options.encoding, source, options.encoding_key);
  if (!text) {
    return text.status();
  }
  std::string().swap(bytes);  // the decoded copy is all we need
  auto table = std::make_unique<CsvTable>(std::move(*text), std::move(source), options);
  if (auto st = table->start(); !st) {
    return st;
  }
  return std::unique_ptr<Table>(std::move(table));
}

}  // namespace exportsync::files
