// CSV reader: Excel exports with `,`, `;` or tab separators, RFC 4180 quoting (separators,
// doubled quotes and line breaks inside quoted fields), CRLF, LF or CR line ends.
//
// The separator is detected on the header line, outside quotes (the most frequent of `;`, `,`
// and tab; `;` on a tie, as French Excel writes), unless TableOptions::separator forces one.
// Blank lines, and lines of separators only, are skipped. Every record carries the physical line
// where it starts, so a message can point at the row the office sees in a text editor.
// A record with more or fewer fields than the header comes back with Record::problem set (extra
// trailing empty fields, which Excel writes when cells right of the table were once used, are
// dropped silently). Limits (file, field and record sizes, record count), an unclosed quote and
// text that is not valid in the configured encoding are fatal for the file.
//
// Part of ExportSync::files; see table.hpp for the Table interface, docs/plugins/files.md.
//
// THREAD: see table.hpp. OWNERSHIP: the caller owns the returned table.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "exportsync/files/table.hpp"

namespace exportsync::files {

/// Opens CSV content (the raw bytes of the file; decoded with options.encoding) and reads its
/// header. `source` names the file in messages.
/// Returns: the table, or Code::Invalid naming the file, the line and what to do.
[[nodiscard]] Result<std::unique_ptr<Table>> openCsv(std::string bytes, std::string source,
                                                     const TableOptions& options = {});

/// The separator the reader would pick for this header line (UTF-8, without its line end):
/// the most frequent of ';', ',' and '\t' outside double quotes; ';' on a tie or when there is
/// none.
char detectSeparator(std::string_view header_line);

/// `field` quoted for CSV with separator `separator` when it needs it (RFC 4180).
std::string quoteCsvField(std::string_view field, char separator);

}  // namespace exportsync::files
