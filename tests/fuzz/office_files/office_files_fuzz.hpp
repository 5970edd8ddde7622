// The office-file fuzz target (ExportSync::files, docs/plugins/files.md): the CSV reader in
// each text encoding and the streaming XLSX reader, shared by the libFuzzer binary and the
// replay driver that runs the corpus as a CTest under any compiler.
//
// An input's first byte picks the reader (see Reader), the rest is the file. Whatever the bytes,
// the reader must either refuse the file with a reason that names it, or give a header and
// records within the limits, every field valid UTF-8, and end with OK or a named fatal error.
// Anything else aborts, for the fuzzer to report.
//
// THREAD: stateless; one input at a time per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace exportsync::files::fuzz {

/// The first byte of an input, modulo 4.
enum class Reader : uint8_t { CsvUtf8 = 0, CsvWindows1252 = 1, CsvWindows1256 = 2, Xlsx = 3 };

/// Reads `input` (reader byte, then the file) to the end, checking the invariants above.
/// Returns true when the file was opened (its records may still end in a fatal error).
bool checkInput(std::string_view input);

}  // namespace exportsync::files::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
