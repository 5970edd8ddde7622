#include "exportsync/files/xlsx.hpp"

#include <Poco/Exception.h>
#include <Poco/SAX/Attributes.h>
#include <Poco/SAX/DefaultHandler.h>
#include <Poco/SAX/InputSource.h>
#include <Poco/SAX/SAXParser.h>
#include <Poco/UTF8String.h>
#include <Poco/Zip/ZipArchive.h>
#include <Poco/Zip/ZipStream.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <deque>
#include <istream>
#include <map>
#include <memory>
#include <streambuf>
#include <string>
#include <system_error>
#include <utility>

#include "exportsync/dataset.hpp"
#include "internal.hpp"

namespace exportsync::files {
namespace {

using Poco::XML::Attributes;
using Poco::XML::XMLChar;
using Poco::XML::XMLString;

// Read-only, seekable view over the file's bytes (Poco::Zip seeks to each entry).
class ViewBuf : public std::streambuf {
 public:
  explicit ViewBuf(const std::string& bytes) {
    char* p = const_cast<char*>(bytes.data());  // never written: no put area, no putback write
    setg(p, p, p + bytes.size());
  }

 protected:
  pos_type seekoff(off_type off, std::ios_base::seekdir dir, std::ios_base::openmode) override {
    char* base = dir == std::ios_base::beg ? eback() : dir == std::ios_base::cur ? gptr() : egptr();
    const off_type target = (base - eback()) + off;
    if (target < 0 || target > egptr() - eback()) {
      return {off_type(-1)};
    }
    setg(eback(), eback() + target, egptr());
    return {target};
  }
  pos_type seekpos(pos_type pos, std::ios_base::openmode which) override {
    return seekoff(off_type(pos), std::ios_base::beg, which);
  }
};

// Passes at most `limit` bytes of `in` through; notes when there was more (a zip bomb, or a
// size header that lies) or when `in` failed (a CRC error surfaces as a failed read).
class BoundedBuf : public std::streambuf {
 public:
  BoundedBuf(std::istream& in, uint64_t limit) : in_(in), limit_(limit) {}
  bool exceeded() const { return exceeded_; }
  bool failed() const { return failed_; }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) {
      return traits_type::to_int_type(*gptr());
    }
    if (exceeded_ || failed_) {
      return traits_type::eof();
    }
    in_.read(buf_, sizeof buf_);
    const std::streamsize n = in_.gcount();
    if (in_.bad()) {
      failed_ = true;
    }
    if (n <= 0) {
      return traits_type::eof();
    }
    total_ += static_cast<uint64_t>(n);
    if (total_ > limit_) {
      exceeded_ = true;
      return traits_type::eof();
    }
    setg(buf_, buf_, buf_ + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  std::istream& in_;
  uint64_t limit_;
  uint64_t total_ = 0;
  bool exceeded_ = false;
  bool failed_ = false;
  char buf_[65536];
};

bool isRelationshipsUri(const XMLString& uri) {
  return uri.find("relationships") != XMLString::npos;
}

// Attribute `name` without a namespace, or "".
std::string attr(const Attributes& attributes, const char* name) {
  for (int i = 0; i < attributes.getLength(); ++i) {
    if (attributes.getLocalName(i) == name && attributes.getURI(i).empty()) {
      return attributes.getValue(i);
    }
  }
  return {};
}

// OOXML writes characters XML cannot carry as _xHHHH_ (e.g. _x000D_ for a carriage return).
std::string decodeEscapes(std::string s) {
  if (s.find("_x") == std::string::npos) {
    return s;
  }
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '_' && i + 6 < s.size() && s[i + 1] == 'x' && s[i + 6] == '_') {
      uint32_t cp = 0;
      bool ok = true;
      for (size_t k = 2; k < 6; ++k) {
        const int h = hex(s[i + k]);
        ok = ok && h >= 0;
        cp = cp * 16 + static_cast<uint32_t>(h < 0 ? 0 : h);
      }
      if (ok && !(cp >= 0xD800 && cp <= 0xDFFF)) {
        internal::appendUtf8(out, cp);
        i += 7;
        continue;
      }
    }
    out += s[i++];
  }
  return out;
}

// Collects the text of <t> elements inside the element `item` (a <si> or an <is>), skipping
// phonetic runs (<rPh>). Shared by the shared-strings and the sheet handler.
class TextCollector {
 public:
  void start(const XMLString& local) {
    if (local == "rPh") {
      ++phonetic_;
    } else if (local == "t" && phonetic_ == 0) {
      in_t_ = true;
    }
  }
  void end(const XMLString& local) {
    if (local == "rPh") {
      --phonetic_;
    } else if (local == "t") {
      in_t_ = false;
    }
  }
  void characters(const XMLChar ch[], int start, int length) {
    if (in_t_) {
      text_.append(ch + start, static_cast<size_t>(length));
    }
  }
  std::string take() {
    std::string out = decodeEscapes(std::move(text_));
    text_.clear();
    in_t_ = false;
    phonetic_ = 0;
    return out;
  }
  size_t size() const { return text_.size(); }

 private:
  std::string text_;
  bool in_t_ = false;
  int phonetic_ = 0;
};

// --- part handlers ------------------------------------------------------------------------

struct Relationship {
  std::string id;
  std::string type;
  std::string target;
  bool external = false;
};

class RelsHandler : public Poco::XML::DefaultHandler {
 public:
  std::vector<Relationship> rels;
  void startElement(const XMLString&, const XMLString& local, const XMLString&,
                    const Attributes& attributes) override {
    if (local == "Relationship") {
      rels.push_back({attr(attributes, "Id"), attr(attributes, "Type"), attr(attributes, "Target"),
                      attr(attributes, "TargetMode") == "External"});
    }
  }
};

struct SheetEntry {
  std::string name;
  std::string rel_id;
};

class WorkbookHandler : public Poco::XML::DefaultHandler {
 public:
  std::vector<SheetEntry> sheets;
  bool date1904 = false;
  void startElement(const XMLString&, const XMLString& local, const XMLString&,
                    const Attributes& attributes) override {
    if (local == "workbookPr") {
      const std::string v = attr(attributes, "date1904");
      date1904 = v == "1" || v == "true";
    } else if (local == "sheet") {
      SheetEntry e;
      e.name = attr(attributes, "name");
      for (int i = 0; i < attributes.getLength(); ++i) {
        if (attributes.getLocalName(i) == "id" && isRelationshipsUri(attributes.getURI(i))) {
          e.rel_id = attributes.getValue(i);
        }
      }
      sheets.push_back(std::move(e));
    }
  }
};

class StylesHandler : public Poco::XML::DefaultHandler {
 public:
  std::map<uint32_t, std::string> formats;  // custom numFmtId → formatCode
  std::vector<uint32_t> cell_formats;       // cellXfs index → numFmtId
  void startElement(const XMLString&, const XMLString& local, const XMLString&,
                    const Attributes& attributes) override {
    if (local == "numFmt") {
      formats[toId(attr(attributes, "numFmtId"))] = attr(attributes, "formatCode");
    } else if (local == "cellXfs") {
      in_cell_xfs_ = true;
    } else if (local == "xf" && in_cell_xfs_) {
      cell_formats.push_back(toId(attr(attributes, "numFmtId")));
    }
  }
  void endElement(const XMLString&, const XMLString& local, const XMLString&) override {
    if (local == "cellXfs") {
      in_cell_xfs_ = false;
    }
  }

 private:
  static uint32_t toId(const std::string& s) {
    uint32_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
  }
  bool in_cell_xfs_ = false;
};

class SharedStringsHandler : public Poco::XML::DefaultHandler {
 public:
  explicit SharedStringsHandler(uint64_t max_field_bytes) : max_field_bytes_(max_field_bytes) {}
  std::vector<std::string> strings;
  bool too_long = false;

  void startElement(const XMLString&, const XMLString& local, const XMLString&,
                    const Attributes&) override {
    if (local == "si") {
      in_si_ = true;
      text_.take();
    } else if (in_si_) {
      text_.start(local);
    }
  }
  void endElement(const XMLString&, const XMLString& local, const XMLString&) override {
    if (local == "si") {
      in_si_ = false;
      strings.push_back(text_.take());
    } else if (in_si_) {
      text_.end(local);
    }
  }
  void characters(const XMLChar ch[], int start, int length) override {
    if (in_si_ && !too_long) {
      text_.characters(ch, start, length);
      too_long = text_.size() > max_field_bytes_;
    }
  }

 private:
  uint64_t max_field_bytes_;
  bool in_si_ = false;
  TextCollector text_;
};

struct SheetContext {
  std::string source;
  std::string part;
  const std::vector<std::string>* shared = nullptr;  // null when the workbook has none
  std::vector<bool> date_styles;                     // cellXfs index → shows a date
  bool date1904 = false;
  Limits limits;
};

// Streams the cells of a worksheet into records placed by their references.
class SheetHandler : public Poco::XML::DefaultHandler {
 public:
  explicit SheetHandler(const SheetContext& ctx) : ctx_(ctx) {}

  std::deque<Record> rows;
  std::string error;  // first fatal problem; later events are ignored

  void startElement(const XMLString&, const XMLString& local, const XMLString&,
                    const Attributes& attributes) override {
    if (!error.empty()) {
      return;
    }
    if (local == "row") {
      startRow(attr(attributes, "r"));
    } else if (local == "c") {
      startCell(attr(attributes, "r"), attr(attributes, "t"), attr(attributes, "s"));
    } else if (in_cell_ && local == "v") {
      in_v_ = true;
    } else if (in_cell_ && local == "is") {
      in_is_ = true;
    } else if (in_is_) {
      inline_.start(local);
    }
  }

  void endElement(const XMLString&, const XMLString& local, const XMLString&) override {
    if (!error.empty()) {
      return;
    }
    if (local == "v") {
      in_v_ = false;
    } else if (local == "is") {
      in_is_ = false;
    } else if (in_is_) {
      inline_.end(local);
    } else if (local == "c" && in_cell_) {
      endCell();
    } else if (local == "row") {
      endRow();
    }
  }

  void characters(const XMLChar ch[], int start, int length) override {
    if (!error.empty()) {
      return;
    }
    if (in_v_) {
      value_.append(ch + start, static_cast<size_t>(length));
    } else if (in_is_) {
      inline_.characters(ch, start, length);
    }
    if (value_.size() + inline_.size() > ctx_.limits.max_field_bytes) {
      setError("cell " + cellName() + " holds more than " +
               std::to_string(ctx_.limits.max_field_bytes) + " bytes (max_field_bytes)");
    }
  }

 private:
  void setError(std::string what) {
    if (error.empty()) {
      error = std::move(what);
    }
  }
  std::string cellName() const { return internal::columnLetters(col_) + std::to_string(row_); }

  void startRow(const std::string& r) {
    uint64_t n = 0;
    if (!r.empty()) {
      const auto res = std::from_chars(r.data(), r.data() + r.size(), n);
      if (res.ec != std::errc() || n == 0) {
        setError("row number '" + r + "' is not valid");
        return;
      }
    }
    row_ = r.empty() ? row_ + 1 : n;
    next_col_ = 0;
    current_ = Record{};
    current_.line = row_;
    in_row_ = true;
  }

  void startCell(const std::string& ref, std::string type, const std::string& style) {
    if (!in_row_) {
      startRow("");
    }
    uint64_t col = next_col_;
    if (!ref.empty()) {
      col = 0;
      size_t i = 0;
      for (; i < ref.size() && i < 4; ++i) {
        char c = ref[i];
        if (c >= 'a' && c <= 'z') {
          c = static_cast<char>(c - 'a' + 'A');
        }
        if (c < 'A' || c > 'Z') {
          break;
        }
        col = col * 26 + static_cast<uint64_t>(c - 'A' + 1);
      }
      if (i == 0 || i > 3) {
        setError("cell reference '" + ref + "' in row " + std::to_string(row_) + " is not valid");
        return;
      }
      col -= 1;
    }
    col_ = col;
    next_col_ = col + 1;
    if (col >= ctx_.limits.max_fields) {
      setError("cell " + cellName() + " is in column " + std::to_string(col + 1) +
               ", beyond the limit of " + std::to_string(ctx_.limits.max_fields) +
               " columns (max_fields); delete the cells right of the table");
      return;
    }
    type_ = std::move(type);
    style_ = -1;
    if (!style.empty()) {
      std::from_chars(style.data(), style.data() + style.size(), style_);
    }
    value_.clear();
    inline_.take();
    in_cell_ = true;
  }

  void endCell() {
    in_cell_ = false;
    std::string text;
    if (type_ == "s") {
      uint64_t index = 0;
      const auto res = std::from_chars(value_.data(), value_.data() + value_.size(), index);
      if (ctx_.shared == nullptr) {
        setError("cell " + cellName() +
                 " refers to a shared string but the workbook has no shared strings part");
        return;
      }
      if (value_.empty() || res.ec != std::errc() || index >= ctx_.shared->size()) {
        setError("cell " + cellName() + " refers to shared string '" + value_ + "', which the " +
                 std::to_string(ctx_.shared->size()) + " shared strings do not have");
        return;
      }
      text = (*ctx_.shared)[index];
    } else if (type_ == "inlineStr") {
      text = inline_.take();
    } else if (type_ == "str") {
      text = decodeEscapes(value_);
    } else if (type_ == "b") {
      text = value_.empty() ? "" : (value_ == "1" || value_ == "true" ? "TRUE" : "FALSE");
    } else if (type_ == "e") {
      text = value_;
    } else if (type_ == "d") {
      text = isoFromDateCell(value_);
    } else if (!value_.empty()) {
      double v = 0;
      const auto res = std::from_chars(value_.data(), value_.data() + value_.size(), v);
      if (res.ec != std::errc() || res.ptr != value_.data() + value_.size()) {
        text = value_;  // not a number after all; give what is there
      } else if (style_ >= 0 && static_cast<size_t>(style_) < ctx_.date_styles.size() &&
                 ctx_.date_styles[static_cast<size_t>(style_)]) {
        auto iso = excelSerialToIso(v, ctx_.date1904);
        text = iso ? *iso : formatExcelNumber(v);
      } else {
        text = formatExcelNumber(v);
      }
    }
    if (text.empty()) {
      return;
    }
    if (current_.fields.size() <= col_) {
      current_.fields.resize(col_ + 1);
    }
    current_.fields[col_] = std::move(text);
  }

  void endRow() {
    in_row_ = false;
    bool any = false;
    for (const auto& f : current_.fields) {
      any = any || !internal::trimView(f).empty();
    }
    if (!any) {
      return;
    }
    // One more than max_records: the header row.
    if (rows.size() > ctx_.limits.max_records) {
      setError("more than " + std::to_string(ctx_.limits.max_records) +
               " rows (max_records); split the sheet into smaller files");
      return;
    }
    rows.push_back(std::move(current_));
    current_ = Record{};
  }

  // A t="d" cell holds ISO 8601 text: keep the date, and the time when not midnight.
  static std::string isoFromDateCell(const std::string& v) {
    if (v.size() < 10) {
      return v;
    }
    std::string out = v.substr(0, 10);
    if (v.size() >= 19 && (v[10] == 'T' || v[10] == ' ') && v.compare(11, 8, "00:00:00") != 0) {
      out += ' ' + v.substr(11, 8);
    }
    return out;
  }

  const SheetContext& ctx_;
  Record current_;
  uint64_t row_ = 0;
  uint64_t col_ = 0;
  uint64_t next_col_ = 0;
  bool in_row_ = false;
  bool in_cell_ = false;
  bool in_v_ = false;
  bool in_is_ = false;
  std::string type_;
  int64_t style_ = -1;
  std::string value_;
  TextCollector inline_;
};

// --- the archive ----------------------------------------------------------------------------

std::string lowerAscii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return s;
}

// `target` of a relationship, relative to the folder `base` ("xl/"), as a part name.
std::string resolvePart(const std::string& base, const std::string& target) {
  std::string path = !target.empty() && target[0] == '/' ? target.substr(1) : base + target;
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) {
      slash = path.size();
    }
    const std::string piece = path.substr(start, slash - start);
    if (piece == "..") {
      if (!parts.empty()) {
        parts.pop_back();
      }
    } else if (!piece.empty() && piece != ".") {
      parts.push_back(piece);
    }
    start = slash + 1;
  }
  std::string out;
  for (const auto& p : parts) {
    out += (out.empty() ? "" : "/") + p;
  }
  return out;
}

std::string folderOf(const std::string& part) {
  const size_t slash = part.rfind('/');
  return slash == std::string::npos ? "" : part.substr(0, slash + 1);
}

class Workbook {
 public:
  Workbook(const std::string& bytes, std::string source, const Limits& limits)
      : buf_(bytes), in_(&buf_), source_(std::move(source)), limits_(limits) {}

  Status open() {
    try {
      zip_ = std::make_unique<Poco::Zip::ZipArchive>(in_);
    } catch (const Poco::Exception& e) {
      return Status::invalid(where() + "is not a readable zip archive (" + e.displayText() +
                             "); the file is damaged or not an .xlsx: open it in Excel and save "
                             "it again as .xlsx");
    }
    for (auto it = zip_->headerBegin(); it != zip_->headerEnd(); ++it) {
      names_[lowerAscii(it->first)] = it->first;
    }
    return Status::ok();
  }

  bool has(const std::string& part) const { return names_.count(lowerAscii(part)) != 0; }

  // Streams `part` through `handler`, at most max_entry_bytes of it.
  Status parse(const std::string& part, Poco::XML::DefaultHandler& handler) {
    const auto name = names_.find(lowerAscii(part));
    if (name == names_.end()) {
      return Status::invalid(where() + "has no part '" + part +
                             "'; it is not a complete Excel workbook: open it in Excel and save it "
                             "again as .xlsx");
    }
    const auto header = zip_->findHeader(name->second);
    if (header == zip_->headerEnd()) {
      return Status::internal(where() + "zip entry '" + part + "' vanished");
    }
    // The central directory has the true CRC and sizes, also for entries a streaming writer
    // zipped with a data descriptor (zeros in the local header): give Poco those, rather than
    // let it search for the descriptor in the data, which Poco 1.11 gets wrong.
    Poco::Zip::ZipLocalFileHeader entry = header->second;
    for (auto it = zip_->fileInfoBegin(); it != zip_->fileInfoEnd(); ++it) {
      if (it->first == name->second) {
        entry.setCRC(it->second.getCRC());
        entry.setCompressedSize(it->second.getCompressedSize());
        entry.setUncompressedSize(
            std::max(it->second.getUncompressedSize(), header->second.getUncompressedSize()));
        entry.setSearchCRCAndSizesAfterData(false);
      }
    }
    if (entry.getUncompressedSize() > limits_.max_entry_bytes) {
      return tooBig(part, entry.getUncompressedSize());
    }
    if (entry.isEncrypted()) {
      return Status::invalid(where() +
                             "is encrypted; remove its password in Excel and save it "
                             "again");
    }
    try {
      Poco::Zip::ZipInputStream zin(in_, entry, true);
      BoundedBuf bounded(zin, limits_.max_entry_bytes);
      std::istream stream(&bounded);
      Poco::XML::InputSource input(stream);
      Poco::XML::SAXParser parser;
      parser.setFeature(Poco::XML::XMLReader::FEATURE_NAMESPACES, true);
      parser.setFeature(Poco::XML::XMLReader::FEATURE_EXTERNAL_GENERAL_ENTITIES, false);
      parser.setFeature(Poco::XML::XMLReader::FEATURE_EXTERNAL_PARAMETER_ENTITIES, false);
      parser.setContentHandler(&handler);
      try {
        parser.parse(&input);
      } catch (const Poco::Exception& e) {
        if (bounded.exceeded()) {
          return tooBig(part, 0);
        }
        if (bounded.failed()) {
          return damaged(part, "its data fails the zip checksum");
        }
        return damaged(part, "not well-formed XML: " + e.displayText());
      }
      if (bounded.exceeded()) {
        return tooBig(part, 0);
      }
      if (bounded.failed()) {
        return damaged(part, "its data fails the zip checksum");
      }
    } catch (const Poco::Exception& e) {
      return damaged(part, e.displayText());
    } catch (const std::exception& e) {
      return damaged(part, e.what());
    }
    return Status::ok();
  }

  const std::string& source() const { return source_; }
  std::string where() const { return "file '" + source_ + "' "; }

 private:
  Status tooBig(const std::string& part, uint64_t declared) const {
    return Status::invalid(
        where() + "part '" + part + "' " +
        (declared != 0 ? "declares " + std::to_string(declared) + " bytes uncompressed, "
                       : std::string("inflates to ")) +
        "more than the limit of " + std::to_string(limits_.max_entry_bytes) +
        " bytes (max_entry_bytes); the file is refused as a possible zip bomb; if it is a genuine "
        "workbook, split it or save it as CSV");
  }
  Status damaged(const std::string& part, const std::string& why) const {
    return Status::invalid(where() + "part '" + part + "' cannot be read (" + why +
                           "); the file is damaged: open it in Excel and save it again");
  }

  ViewBuf buf_;
  std::istream in_;
  std::string source_;
  Limits limits_;
  std::unique_ptr<Poco::Zip::ZipArchive> zip_;
  std::map<std::string, std::string> names_;  // lower-case part name → name in the zip
};

struct WorkbookParts {
  std::string workbook;  // e.g. xl/workbook.xml
  WorkbookHandler info;
  std::vector<Relationship> rels;  // of the workbook
};

Status readWorkbookParts(Workbook& book, WorkbookParts& out) {
  out.workbook = "xl/workbook.xml";
  if (book.has("_rels/.rels")) {
    RelsHandler root;
    if (auto st = book.parse("_rels/.rels", root); !st) {
      return st;
    }
    for (const auto& r : root.rels) {
      if (!r.external && r.type.size() >= 15 &&
          r.type.compare(r.type.size() - 15, 15, "/officeDocument") == 0) {
        out.workbook = resolvePart("", r.target);
      }
    }
  }
  if (!book.has(out.workbook)) {
    return Status::invalid(book.where() + "has no workbook part '" + out.workbook +
                           "', so it is not an Excel workbook; open it in Excel and save it "
                           "again as .xlsx");
  }
  if (auto st = book.parse(out.workbook, out.info); !st) {
    return st;
  }
  const std::string rels_part =
      folderOf(out.workbook) + "_rels/" + internal::baseName(out.workbook) + ".rels";
  RelsHandler rels;
  if (auto st = book.parse(rels_part, rels); !st) {
    return st;
  }
  out.rels = std::move(rels.rels);
  return Status::ok();
}

std::string partOfType(const WorkbookParts& parts, const std::string& suffix) {
  for (const auto& r : parts.rels) {
    if (!r.external && r.type.size() >= suffix.size() &&
        r.type.compare(r.type.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return resolvePart(folderOf(parts.workbook), r.target);
    }
  }
  return {};
}

std::string sheetList(const std::vector<SheetEntry>& sheets) {
  std::string out;
  for (const auto& s : sheets) {
    out += (out.empty() ? "'" : ", '") + s.name + "'";
  }
  return out;
}

}  // namespace

bool isDateFormat(uint32_t num_fmt_id, std::string_view format_code) {
  if (format_code.empty()) {
    return (num_fmt_id >= 14 && num_fmt_id <= 22) || (num_fmt_id >= 45 && num_fmt_id <= 47);
  }
  bool quoted = false;
  for (size_t i = 0; i < format_code.size(); ++i) {
    const char c = format_code[i];
    if (c == '"') {
      quoted = !quoted;
    } else if (quoted) {
      continue;
    } else if (c == '\\' || c == '_' || c == '*') {
      ++i;  // the next character is a literal, a space width or a fill
    } else if (c == '[') {
      const size_t close = format_code.find(']', i);
      if (close == std::string_view::npos) {
        return false;
      }
      i = close;  // colours, conditions, locales ([$-40C]) and elapsed time ([h])
    } else if (c == 'd' || c == 'D' || c == 'm' || c == 'M' || c == 'y' || c == 'Y') {
      return true;
    }
  }
  return false;
}

std::optional<std::string> excelSerialToIso(double serial, bool date1904) {
  if (!std::isfinite(serial) || serial < 0 || serial >= 2958466.0) {
    return std::nullopt;
  }
  const auto total = static_cast<int64_t>(std::llround(serial * 86400.0));
  const int64_t days = total / 86400;
  const int64_t secs = total % 86400;
  char time[16];
  std::snprintf(time, sizeof time, "%02d:%02d:%02d", static_cast<int>(secs / 3600),
                static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  if (!date1904 && days == 0) {
    return std::string(time);  // "1900-01-00": Excel's way of writing a time of day alone
  }
  if (!date1904 && days == 60) {
    const std::string date = "1900-02-29";  // Lotus 1-2-3's leap-year bug, kept by Excel
    return secs == 0 ? date : date + " " + time;
  }
  // Days since 1970-01-01 of serial 0 (1904: 1904-01-01; 1900: 1899-12-31 before the phantom
  // 1900-02-29, 1899-12-30 after it).
  const int64_t epoch = date1904    ? detail::daysFromCivil(1904, 1, 1)
                        : days < 60 ? detail::daysFromCivil(1899, 12, 31)
                                    : detail::daysFromCivil(1899, 12, 30);
  if (epoch + days > detail::daysFromCivil(9999, 12, 31)) {
    return std::nullopt;
  }
  const std::string date = Date::fromDays(epoch + days).toIso();
  return secs == 0 ? date : date + " " + time;
}

std::string formatExcelNumber(double value) {
  if (!std::isfinite(value)) {
    return std::isnan(value) ? "NaN" : (value > 0 ? "INF" : "-INF");
  }
  if (value == 0) {
    return "0";
  }
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific, 14);
  std::string_view s(buf, static_cast<size_t>(res.ptr - buf));  // [-]d.ddddddddddddddde±XX
  const bool negative = s[0] == '-';
  if (negative) {
    s.remove_prefix(1);
  }
  const size_t e = s.find('e');
  std::string digits(1, s[0]);
  digits.append(s.substr(2, e - 2));
  int exponent = 0;
  const auto exp_text = s.substr(e + 1);
  std::from_chars(exp_text.data() + (exp_text[0] == '+' ? 1 : 0), exp_text.data() + exp_text.size(),
                  exponent);
  while (digits.size() > 1 && digits.back() == '0') {
    digits.pop_back();
  }
  std::string out = negative ? "-" : "";
  if (exponent >= 21 || exponent < -20) {
    out += digits[0];
    if (digits.size() > 1) {
      out += "." + digits.substr(1);
    }
    return out + (exponent < 0 ? "E-" : "E+") + std::to_string(std::abs(exponent));
  }
  if (exponent >= 0) {
    const auto int_len = static_cast<size_t>(exponent) + 1;
    if (digits.size() <= int_len) {
      return out + digits + std::string(int_len - digits.size(), '0');
    }
    return out + digits.substr(0, int_len) + "." + digits.substr(int_len);
  }
  return out + "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
}

Result<std::vector<std::string>> xlsxSheetNames(const std::string& bytes, std::string_view source,
                                                const Limits& limits) {
  Workbook book(bytes, std::string(source), limits);
  if (auto st = book.open(); !st) {
    return st;
  }
  WorkbookParts parts;
  if (auto st = readWorkbookParts(book, parts); !st) {
    return st;
  }
  std::vector<std::string> names;
  for (const auto& s : parts.info.sheets) {
    names.push_back(s.name);
  }
  return names;
}

Result<std::unique_ptr<Table>> openXlsx(const std::string& bytes, std::string source,
                                        const TableOptions& options) {
  const Limits& limits = options.limits;
  if (bytes.size() > limits.max_file_bytes) {
    return Status::invalid("file '" + source + "' is " + std::to_string(bytes.size()) +
                           " bytes, more than the limit of " +
                           std::to_string(limits.max_file_bytes) +
                           " bytes (max_file_bytes); split it into smaller files");
  }
  if (bytes.compare(0, 4, "\xD0\xCF\x11\xE0") == 0) {
    return Status::invalid("file '" + source +
                           "' is an old Excel 97-2003 workbook or a password-protected one; open "
                           "it in Excel and save it as .xlsx without a password");
  }
  if (bytes.compare(0, 4, "PK\x03\x04") != 0) {
    return Status::invalid("file '" + source +
                           "' is not an .xlsx workbook (no zip signature); if it is a CSV export, "
                           "name it .csv, else save it again from Excel as .xlsx");
  }
  Workbook book(bytes, source, limits);
  if (auto st = book.open(); !st) {
    return st;
  }
  WorkbookParts parts;
  if (auto st = readWorkbookParts(book, parts); !st) {
    return st;
  }
  const auto& sheets = parts.info.sheets;
  if (sheets.empty()) {
    return Status::invalid(book.where() + "has no sheet; save a workbook with the data sheet");
  }
  const SheetEntry* sheet = &sheets.front();
  if (!options.sheet.empty()) {
    sheet = nullptr;
    const std::string wanted = internal::foldName(options.sheet);
    for (const auto& s : sheets) {
      if (internal::foldName(s.name) == wanted) {
        sheet = &s;
      }
    }
    if (sheet == nullptr) {
      return Status::invalid(book.where() + "has no sheet named '" + options.sheet +
                             "' (its sheets: " + sheetList(sheets) +
                             "); rename the sheet or set '" + options.sheet_key +
                             "' to one of them");
    }
  }
  std::string sheet_part;
  for (const auto& r : parts.rels) {
    if (r.id == sheet->rel_id && !r.external) {
      sheet_part = resolvePart(folderOf(parts.workbook), r.target);
    }
  }
  if (sheet_part.empty() || !book.has(sheet_part)) {
    return Status::invalid(book.where() + "sheet '" + sheet->name + "' has no data part" +
                           (sheet_part.empty() ? std::string() : " ('" + sheet_part + "')") +
                           " (a chart sheet, or a damaged file); choose a worksheet with '" +
                           options.sheet_key + "' or save the file again from Excel");
  }

  SheetContext ctx;
  ctx.source = source;
  ctx.part = sheet_part;
  ctx.limits = limits;
  ctx.date1904 = parts.info.date1904;

  std::vector<std::string> shared;
  // A missing shared strings or styles part is only an error when a cell needs it.
  if (const std::string part = partOfType(parts, "/sharedStrings");
      !part.empty() && book.has(part)) {
    SharedStringsHandler handler(limits.max_field_bytes);
    if (auto st = book.parse(part, handler); !st) {
      return st;
    }
    if (handler.too_long) {
      return Status::invalid(book.where() + "holds a text longer than " +
                             std::to_string(limits.max_field_bytes) +
                             " bytes (max_field_bytes); shorten it");
    }
    shared = std::move(handler.strings);
    ctx.shared = &shared;
  }
  if (const std::string part = partOfType(parts, "/styles"); !part.empty() && book.has(part)) {
    StylesHandler handler;
    if (auto st = book.parse(part, handler); !st) {
      return st;
    }
    for (uint32_t id : handler.cell_formats) {
      const auto custom = handler.formats.find(id);
      ctx.date_styles.push_back(
          isDateFormat(id, custom == handler.formats.end() ? "" : custom->second));
    }
  }

  SheetHandler handler(ctx);
  if (auto st = book.parse(sheet_part, handler); !st) {
    return st;
  }
  if (!handler.error.empty()) {
    return Status::invalid(book.where() + "sheet '" + sheet->name + "': " + handler.error);
  }
  while (!handler.rows.empty() && handler.rows.front().line < options.header_line) {
    handler.rows.pop_front();  // titles above the header
  }
  if (handler.rows.empty() && options.header_line > 1) {
    return Status::invalid(book.where() + "sheet '" + sheet->name +
                           "' has no header at or below row " +
                           std::to_string(options.header_line) + "; check the header_line setting");
  }
  if (handler.rows.empty()) {
    return Status::invalid(book.where() + "sheet '" + sheet->name +
                           "' is empty: no header row; put the column names in its first row");
  }
  std::deque<Record> rows = std::move(handler.rows);
  Record first = std::move(rows.front());
  rows.pop_front();
  auto header = Header::fromCells(std::move(first.fields), source, first.line);
  if (!header) {
    return header.status();
  }
  const size_t width = header->size();
  for (auto& rec : rows) {
    if (options.trim_fields) {
      for (auto& f : rec.fields) {
        internal::trimInPlace(f);
      }
    }
    while (rec.fields.size() > width && rec.fields.back().empty()) {
      rec.fields.pop_back();
    }
    if (rec.fields.size() > width) {
      rec.problem = "has a value in column " + internal::columnLetters(rec.fields.size() - 1) +
                    " (cell " + internal::columnLetters(rec.fields.size() - 1) +
                    std::to_string(rec.line) + "), right of the header's " + std::to_string(width) +
                    " columns; clear that cell or give its column a name in the header";
    } else {
      rec.fields.resize(width);  // sparse rows: missing cells are empty
    }
  }
  return std::unique_ptr<Table>(std::make_unique<internal::MemoryTable>(
      std::move(source), std::move(*header), std::move(rows)));
}

}  // namespace exportsync::files
