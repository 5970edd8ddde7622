// Text of office files: UTF-8 validation, byte-order marks, and the Windows code pages that
// French- and Arabic-locale Excel writes (Windows-1252, Windows-1256), all decoded to UTF-8.
//
// Part of ExportSync::files (link it next to ExportSync::sdk); see docs/plugins/files.md.
//
// THREAD: free functions over values; callable from any thread.
// OWNERSHIP: every result is a value owned by the caller.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "exportsync/status.hpp"

namespace exportsync::files {

/// The encodings a text file may be configured with. A byte-order mark in the file wins over the
/// configured encoding (Excel's "CSV UTF-8" and "Unicode text" exports carry one).
enum class Encoding {
  Utf8,         ///< the default
  Windows1252,  ///< Western European: French Excel's "CSV (séparateur: point-virgule)"
  Windows1256,  ///< Arabic
};

/// Parses an encoding setting, case-insensitively: "utf-8" (also "utf8"), "windows-1252" (also
/// "cp1252", "1252", "latin1", "iso-8859-1"; 1252 is a superset of Latin-1), "windows-1256"
/// (also "cp1256", "1256", "arabic").
/// Returns: the encoding, or Code::Config naming the accepted values.
/// OWNERSHIP: value. THREAD: any.
[[nodiscard]] Result<Encoding> parseEncoding(std::string_view name);

/// Canonical name of `encoding`: "utf-8", "windows-1252" or "windows-1256".
const char* encodingName(Encoding encoding);

/// Offset of the first byte of `text` that does not start a valid UTF-8 sequence (overlong
/// forms, surrogates and code points above U+10FFFF are invalid), or std::string_view::npos.
size_t findInvalidUtf8(std::string_view text);

/// True when `text` is entirely valid UTF-8.
inline bool isValidUtf8(std::string_view text) {
  return findInvalidUtf8(text) == std::string_view::npos;
}

/// Removes a leading UTF-8 byte-order mark (EF BB BF) from `text`; true if there was one.
bool stripUtf8Bom(std::string& text);

/// Decodes one byte string in a Windows code page to UTF-8. Every byte maps to a character: the
/// five bytes Windows-1252 leaves undefined (0x81 0x8D 0x8F 0x90 0x9D) map to the C1 controls
/// U+0081…, as Windows itself does. With Encoding::Utf8 the bytes are returned unchanged.
std::string windowsToUtf8(std::string_view bytes, Encoding encoding);

/// Decodes the whole content of a text file to UTF-8:
///  - a UTF-8 BOM is removed and the rest read as UTF-8, whatever `encoding` says;
///  - a UTF-16 BOM (FF FE or FE FF, Excel's "Unicode text") decodes UTF-16;
///  - otherwise `encoding` applies.
/// `source` (a file name) and `encoding_key` (the setting to change) only feed error messages.
/// Returns: the UTF-8 text, or Code::Invalid when the bytes are not valid in the encoding (the
/// message names the line and suggests the encoding setting), or when NUL bytes show a binary or
/// BOM-less UTF-16 file.
/// OWNERSHIP: value. THREAD: any.
[[nodiscard]] Result<std::string> decodeText(std::string_view bytes, Encoding encoding,
                                             std::string_view source = "input",
                                             std::string_view encoding_key = "encoding");

}  // namespace exportsync::files
