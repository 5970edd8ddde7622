// XLSX reader (Office Open XML workbooks, as Excel saves them) with Poco::Zip and Poco::XML SAX.
//
// Reads one sheet: the first of the workbook, or the one TableOptions::sheet names (found
// through xl/workbook.xml and its relationships). Cells give text the way a plugin needs it:
//  - shared and inline strings (rich-text runs joined, phonetic hints dropped);
//  - numbers without binary noise, at most 15 significant digits as Excel shows them
//    ("1234.5", not "1234.4999999999998"), never in exponent form below 1e21;
//  - booleans as "TRUE" / "FALSE"; error cells as their code ("#N/A");
//  - numbers whose cell style is a date format (built-in 14–22 and 45–47, or a custom format
//    with d, m or y outside quotes and [..]) as "YYYY-MM-DD", or "YYYY-MM-DD HH:MM:SS" when the
//    value has a time of day; the workbook's 1900 or 1904 date system is honoured;
//  - formulas as their cached result.
// Sparse rows and cells (r="C5") land in the right column; the row number is the Record::line.
// Rows with no value are skipped; the first row with one is the header. Each zip part is refused
// when its uncompressed size exceeds Limits::max_entry_bytes, declared or actual (zip bombs).
// The sheet is parsed as a stream; its records are kept in memory until read (bounded by the
// limits).
//
// Part of ExportSync::files; see table.hpp for the Table interface, docs/plugins/files.md.
//
// THREAD: see table.hpp. OWNERSHIP: the caller owns the returned table.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exportsync/files/table.hpp"

namespace exportsync::files {

/// Opens XLSX content (the bytes of the file, not kept) and reads the chosen sheet.
/// Returns: the table, or Code::Invalid naming the file, the part or cell, and what to do
/// (missing sheet: the sheets that exist; not a zip: save as .xlsx; limits: which one).
[[nodiscard]] Result<std::unique_ptr<Table>> openXlsx(const std::string& bytes, std::string source,
                                                      const TableOptions& options = {});

/// The sheet names of a workbook, in tab order.
[[nodiscard]] Result<std::vector<std::string>> xlsxSheetNames(const std::string& bytes,
                                                              std::string_view source,
                                                              const Limits& limits = {});

/// True when number format `num_fmt_id` (with `format_code` for custom formats, id >= 164 or
/// any id given a code) shows a date or time.
bool isDateFormat(uint32_t num_fmt_id, std::string_view format_code);

/// An Excel date serial as "YYYY-MM-DD", "YYYY-MM-DD HH:MM:SS" (with a time of day, rounded to
/// the second) or "HH:MM:SS" (a pure time in the 1900 system); nullopt outside years 1900..9999.
/// The 1900 system keeps Excel's phantom 1900-02-29 (serial 60), a value no real date has.
std::optional<std::string> excelSerialToIso(double serial, bool date1904);

/// A number the way Excel shows it in General format at full width: 15 significant digits,
/// trailing zeros dropped, no exponent between 1e-20 and 1e21 ("0.1", "1234.5", "-3").
std::string formatExcelNumber(double value);

}  // namespace exportsync::files
