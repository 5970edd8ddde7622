// Test helpers for ExportSync::files: temporary folders, file I/O and an XLSX builder that writes
// the minimal parts of a workbook with Poco::Zip, so fixtures are readable in the test itself.
#pragma once

#include <Poco/DateTime.h>
#include <Poco/Path.h>
#include <Poco/Zip/Compress.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace exportsync::files::testing {

/// A fresh folder under $TMPDIR, removed with everything in it at the end of the test
/// (support/temp_dir.hpp); `dir / "name"` is a path in it.
class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("es-files") {}
  std::string operator/(const std::string& name) const { return file(name); }
};

/// Writes a fixture; throws when it cannot.
inline void writeFile(const std::string& path, const std::string& bytes) {
  if (!test_support::writeFile(path, bytes)) {
    throw std::runtime_error("cannot write " + path);
  }
}

using test_support::readFile;

/// Zips `parts` (name → content), deflated, in order.
inline std::string zipParts(const std::vector<std::pair<std::string, std::string>>& parts) {
  std::ostringstream out(std::ios::binary);
  Poco::Zip::Compress zip(out, true);
  for (const auto& [name, content] : parts) {
    std::istringstream in(content);
    zip.addFile(in, Poco::DateTime(), Poco::Path(name, Poco::Path::PATH_UNIX),
                Poco::Zip::ZipCommon::CM_DEFLATE, Poco::Zip::ZipCommon::CL_NORMAL);
  }
  zip.close();
  return out.str();
}

/// Builds a minimal .xlsx: sheets given as the XML inside <sheetData>, optional shared strings,
/// cell formats (numFmtId per cellXfs index) and custom number formats.
class XlsxBuilder {
 public:
  XlsxBuilder& sheet(std::string name, std::string sheet_data) {
    sheets_.emplace_back(std::move(name), std::move(sheet_data));
    return *this;
  }
  /// Each entry is the XML inside one <si> (e.g. "<t>Agadir</t>").
  XlsxBuilder& sharedStrings(std::vector<std::string> items) {
    shared_ = std::move(items);
    has_shared_ = true;
    return *this;
  }
  XlsxBuilder& cellFormats(std::vector<int> num_fmt_ids) {
    cell_formats_ = std::move(num_fmt_ids);
    return *this;
  }
  XlsxBuilder& customFormat(int id, std::string code) {
    custom_formats_.emplace_back(id, std::move(code));
    return *this;
  }
  XlsxBuilder& date1904(bool on = true) {
    date1904_ = on;
    return *this;
  }
  /// Leaves a part out (to test missing parts).
  XlsxBuilder& without(std::string part) {
    without_.push_back(std::move(part));
    return *this;
  }

  std::vector<std::pair<std::string, std::string>> parts() const {
    const std::string ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    const std::string rel_ns =
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    const std::string pkg_ns = "http://schemas.openxmlformats.org/package/2006/relationships";
    std::vector<std::pair<std::string, std::string>> out;
    out.emplace_back("[Content_Types].xml",
                     "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types "
                     "xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>");
    out.emplace_back("_rels/.rels",
                     "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships "
                     "xmlns=\"" +
                         pkg_ns + "\"><Relationship Id=\"rId1\" Type=\"" + rel_ns +
                         "/officeDocument\" Target=\"xl/workbook.xml\"/>"
                         "</Relationships>");
    std::string wb = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><workbook xmlns=\"" + ns +
                     "\" xmlns:r=\"" + rel_ns + "\">";
    if (date1904_) {
      wb += "<workbookPr date1904=\"1\"/>";
    }
    wb += "<sheets>";
    std::string rels =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"" + pkg_ns + "\">";
    for (size_t i = 0; i < sheets_.size(); ++i) {
      const std::string n = std::to_string(i + 1);
      wb +=
          "<sheet name=\"" + sheets_[i].first + "\" sheetId=\"" + n + "\" r:id=\"rId" + n + "\"/>";
      rels += "<Relationship Id=\"rId" + n + "\" Type=\"" + rel_ns +
              "/worksheet\" Target=\"worksheets/sheet" + n + ".xml\"/>";
      out.emplace_back("xl/worksheets/sheet" + n + ".xml",
                       "<?xml version=\"1.0\" encoding=\"UTF-8\"?><worksheet xmlns=\"" + ns +
                           "\"><sheetData>" + sheets_[i].second + "</sheetData></worksheet>");
    }
    wb += "</sheets></workbook>";
    rels += "<Relationship Id=\"rIdS\" Type=\"" + rel_ns +
            "/styles\" Target=\"styles.xml\"/><Relationship Id=\"rIdT\" Type=\"" + rel_ns +
            "/sharedStrings\" Target=\"/xl/sharedStrings.xml\"/></Relationships>";
    out.emplace_back("xl/workbook.xml", wb);
    out.emplace_back("xl/_rels/workbook.xml.rels", rels);
    std::string styles = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><styleSheet xmlns=\"" + ns +
                         "\"><numFmts count=\"" + std::to_string(custom_formats_.size()) + "\">";
    for (const auto& [id, code] : custom_formats_) {
      styles += "<numFmt numFmtId=\"" + std::to_string(id) + "\" formatCode=\"" + code + "\"/>";
    }
    // cellStyleXfs comes first in real files and must not be mistaken for cellXfs.
    styles += "</numFmts><cellStyleXfs count=\"1\"><xf numFmtId=\"14\"/></cellStyleXfs><cellXfs>";
    for (int id : cell_formats_) {
      styles += "<xf numFmtId=\"" + std::to_string(id) + "\" applyNumberFormat=\"1\"/>";
    }
    styles += "</cellXfs></styleSheet>";
    out.emplace_back("xl/styles.xml", styles);
    if (has_shared_) {
      std::string sst = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><sst xmlns=\"" + ns + "\">";
      for (const auto& s : shared_) {
        sst += "<si>" + s + "</si>";
      }
      out.emplace_back("xl/sharedStrings.xml", sst + "</sst>");
    }
    std::vector<std::pair<std::string, std::string>> kept;
    for (auto& p : out) {
      bool drop = false;
      for (const auto& w : without_) {
        drop = drop || p.first == w;
      }
      if (!drop) {
        kept.push_back(std::move(p));
      }
    }
    return kept;
  }

  std::string build() const { return zipParts(parts()); }

 private:
  std::vector<std::pair<std::string, std::string>> sheets_;
  std::vector<std::string> shared_;
  bool has_shared_ = false;
  std::vector<int> cell_formats_{0};
  std::vector<std::pair<int, std::string>> custom_formats_;
  bool date1904_ = false;
  std::vector<std::string> without_;
};

}  // namespace exportsync::files::testing
