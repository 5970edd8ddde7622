#include "exportsync/files/table.hpp"

#include <Poco/UTF8String.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "exportsync/files/csv.hpp"
#include "exportsync/files/xlsx.hpp"
#include "internal.hpp"

namespace exportsync::files {

namespace internal {

std::string_view trimView(std::string_view s) {
  auto space_at_front = [](std::string_view v) -> size_t {
    if (!v.empty() && (v[0] == ' ' || v[0] == '\t')) {
      return 1;
    }
    if (v.size() >= 2 && v.substr(0, 2) == "\xC2\xA0") {
      return 2;  // U+00A0 no-break space
    }
    if (v.size() >= 3 && v.substr(0, 3) == "\xE2\x80\xAF") {
      return 3;  // U+202F narrow no-break space (French thousands separator)
    }
    return 0;
  };
  auto space_at_back = [](std::string_view v) -> size_t {
    if (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
      return 1;
    }
    if (v.size() >= 2 && v.substr(v.size() - 2) == "\xC2\xA0") {
      return 2;
    }
    if (v.size() >= 3 && v.substr(v.size() - 3) == "\xE2\x80\xAF") {
      return 3;
    }
    return 0;
  };
  for (size_t n = space_at_front(s); n != 0; n = space_at_front(s)) {
    s.remove_prefix(n);
  }
  for (size_t n = space_at_back(s); n != 0; n = space_at_back(s)) {
    s.remove_suffix(n);
  }
  return s;
}

std::string foldName(std::string_view name) {
  return Poco::UTF8::toLower(std::string(trimView(name)));
}

std::string columnLetters(uint64_t index) {
  std::string out;
  for (uint64_t n = index + 1; n > 0; n = (n - 1) / 26) {
    out.insert(out.begin(), static_cast<char>('A' + (n - 1) % 26));
  }
  return out;
}

std::string errnoText(int error) {
  std::array<char, 256> buf{};
  return ::strerror_r(error, buf.data(), buf.size());  // GNU: returns the text, maybe static
}

std::string baseName(std::string_view path) {
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

Status readFileBounded(const std::string& path, uint64_t max_bytes, const std::string& source,
                       std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::io("file '" + source + "' cannot be opened: " + errnoText(errno) +
                      "; check that it exists and that the agent may read it");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::io("file '" + source + "' is not a regular file; put only files in the inbox");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return Status::invalid("file '" + source + "' is " + std::to_string(st.st_size) +
                           " bytes, more than the limit of " + std::to_string(max_bytes) +
                           " bytes (max_file_bytes); split it into smaller files");
  }
  out.clear();
  out.reserve(static_cast<size_t>(st.st_size));
  std::array<char, 65536> buf{};
  int read_error = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      read_error = errno;
      break;
    }
    if (n == 0) {
      break;
    }
    out.append(buf.data(), static_cast<size_t>(n));
    if (out.size() > max_bytes) {  // grew while we read
      ::close(fd);
      return Status::invalid("file '" + source + "' grew beyond the limit of " +
                             std::to_string(max_bytes) +
                             " bytes (max_file_bytes) while being read; wait until it is "
                             "completely copied, or split it");
    }
  }
  ::close(fd);
  if (read_error != 0) {
    return Status::io("file '" + source + "' cannot be read: " + errnoText(read_error));
  }
  return Status::ok();
}

}  // namespace internal

namespace {
const std::string& emptyField() {
  static const std::string empty;
  return empty;
}

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::string joinQuoted(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    out += (out.empty() ? "'" : ", '") + n + "'";
  }
  return out;
}
}  // namespace

const std::string& Record::at(size_t index) const {
  return index < fields.size() ? fields[index] : emptyField();
}

Header::Header(std::vector<std::string> names, std::string source, uint64_t line)
    : names_(std::move(names)), source_(std::move(source)), line_(line) {
  keys_.reserve(names_.size());
  for (const auto& n : names_) {
    keys_.push_back(internal::foldName(n));
  }
}

Result<Header> Header::fromCells(std::vector<std::string> names, std::string source,
                                 uint64_t line) {
  for (auto& n : names) {
    internal::trimInPlace(n);
  }
  while (!names.empty() && names.back().empty()) {
    names.pop_back();
  }
  const std::string where = "file '" + source + "' header (line " + std::to_string(line) + ")";
  if (names.empty()) {
    return Status::invalid(where +
                           " has no column names; the first non-empty line must name "
                           "the columns");
  }
  Header header(std::move(names), std::move(source), line);
  for (size_t i = 0; i < header.names_.size(); ++i) {
    if (header.names_[i].empty()) {
      return Status::invalid(where + ": column " + std::to_string(i + 1) + " (" +
                             internal::columnLetters(i) +
                             ") has no name; give every column a name in the header");
    }
    for (size_t j = 0; j < i; ++j) {
      if (header.keys_[j] == header.keys_[i]) {
        return Status::invalid(where + ": column name '" + header.names_[i] +
                               "' appears twice (columns " + std::to_string(j + 1) + " and " +
                               std::to_string(i + 1) + "); rename one of them");
      }
    }
  }
  return header;
}

std::optional<size_t> Header::find(std::string_view name) const {
  const std::string key = internal::foldName(name);
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) {
      return i;
    }
  }
  return std::nullopt;
}

Result<size_t> Header::require(std::string_view name) const {
  if (auto i = find(name)) {
    return *i;
  }
  return Status::invalid("file '" + source_ + "': required column '" + std::string(name) +
                         "' is missing from the header (line " + std::to_string(line_) +
                         "), which has " + joinQuoted(names_) +
                         "; add the column or correct its name in the header");
}

Result<Columns> Columns::resolve(const Header& header,
                                 std::initializer_list<std::string_view> required,
                                 std::initializer_list<std::string_view> optional) {
  std::vector<std::string> req(required.begin(), required.end());
  std::vector<std::string> opt(optional.begin(), optional.end());
  return resolve(header, req, opt);
}

Result<Columns> Columns::resolve(const Header& header, const std::vector<std::string>& required,
                                 const std::vector<std::string>& optional) {
  Columns out;
  std::vector<std::string> missing;
  for (const auto& name : required) {
    auto index = header.find(name);
    if (!index) {
      missing.push_back(name);
    }
    out.entries_.push_back({internal::foldName(name), index});
  }
  for (const auto& name : optional) {
    out.entries_.push_back({internal::foldName(name), header.find(name)});
  }
  if (!missing.empty()) {
    return Status::invalid(
        "file '" + header.source() + "': required column" + (missing.size() > 1 ? "s " : " ") +
        joinQuoted(missing) + (missing.size() > 1 ? " are" : " is") +
        " missing from the header (line " + std::to_string(header.line()) + "), which has " +
        joinQuoted(header.names()) + "; add the column or correct its name in the header");
  }
  return out;
}

const Columns::Entry& Columns::entry(std::string_view name) const {
  const std::string key = internal::foldName(name);
  for (const auto& e : entries_) {
    if (e.key == key) {
      return e;
    }
  }
  throw Error("Columns: column '" + std::string(name) +
              "' was not passed to Columns::resolve(); list it there (plugin bug)");
}

bool Columns::has(std::string_view name) const { return entry(name).index.has_value(); }

const std::string& Columns::get(const Record& record, std::string_view name) const {
  const auto& e = entry(name);
  return e.index ? record.at(*e.index) : emptyField();
}

Result<char> parseSeparator(std::string_view text) {
  const std::string t = lowerAscii(text);
  if (t.empty() || t == "auto") {
    return '\0';
  }
  if (t == ";" || t == "semicolon") {
    return ';';
  }
  if (t == "," || t == "comma") {
    return ',';
  }
  if (t == "\t" || t == "tab" || t == "\\t") {
    return '\t';
  }
  return Status::config("unknown separator '" + std::string(text) + "'; use ';', ',', tab or auto");
}

TableOptions tableOptionsFromConfig(const Config& config) {
  TableOptions options;
  const std::string prefix = "plugin." + config.pluginName() + ".";
  options.encoding_key = prefix + "encoding";
  options.sheet_key = prefix + "sheet";
  if (config.has("encoding")) {
    auto encoding = parseEncoding(config.getString("encoding", ""));
    if (!encoding) {
      throw ConfigError("config key '" + options.encoding_key +
                        "': " + encoding.status().message());
    }
    options.encoding = *encoding;
  }
  if (config.has("separator")) {
    auto separator = parseSeparator(config.getString("separator", ""));
    if (!separator) {
      throw ConfigError("config key '" + prefix + "separator': " + separator.status().message());
    }
    options.separator = *separator;
  }
  options.sheet = std::string(internal::trimView(config.getString("sheet", "")));
  options.header_line = static_cast<uint64_t>(config.getInt("header_line", 0, 0, 1048576));
  return options;
}

Result<TableFormat> formatForPath(std::string_view path) {
  const std::string name = internal::baseName(path);
  const size_t dot = name.rfind('.');
  const std::string ext = dot == std::string::npos ? "" : lowerAscii(name.substr(dot));
  if (ext == ".csv" || ext == ".txt") {
    return TableFormat::Csv;
  }
  if (ext == ".xlsx" || ext == ".xlsm") {
    return TableFormat::Xlsx;
  }
  if (ext == ".xls") {
    return Status::invalid("file '" + name +
                           "' is in the old Excel 97-2003 format (.xls), which is not read; "
                           "open it in Excel and save it as .xlsx or as CSV");
  }
  return Status::invalid("file '" + name +
                         "' has an extension that is not read; expected .csv, .txt or .xlsx");
}

Result<std::unique_ptr<Table>> openTableFromBytes(std::string bytes, TableFormat format,
                                                  std::string source, const TableOptions& options) {
  if (bytes.size() > options.limits.max_file_bytes) {
    return Status::invalid("file '" + source + "' is " + std::to_string(bytes.size()) +
                           " bytes, more than the limit of " +
                           std::to_string(options.limits.max_file_bytes) +
                           " bytes (max_file_bytes); split it into smaller files");
  }
  if (format == TableFormat::Xlsx) {
    return openXlsx(bytes, std::move(source), options);
  }
  return openCsv(std::move(bytes), std::move(source), options);
}

Result<std::unique_ptr<Table>> openTable(const std::string& path, const TableOptions& options) {
  const std::string source = internal::baseName(path);
  auto format = formatForPath(path);
  if (!format) {
    return format.status();
  }
  std::string bytes;
  if (auto st = internal::readFileBounded(path, options.limits.max_file_bytes, source, bytes);
      !st) {
    return st;
  }
  return openTableFromBytes(std::move(bytes), *format, source, options);
}

Result<std::vector<Record>> readAll(Table& table) {
  std::vector<Record> out;
  Record rec;
  while (table.next(rec)) {
    out.push_back(std::move(rec));
  }
  if (!table.status()) {
    return table.status();
  }
  return out;
}

}  // namespace exportsync::files
