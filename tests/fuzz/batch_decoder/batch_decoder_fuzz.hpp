// The batch decoder fuzz target (docs/protocol.md), shared by the libFuzzer binary and the replay
// driver that runs the corpus as a CTest under any compiler.
//
// Every input goes through decodeBatch (prefix, zstd, checksum, payload) and through the payload
// decoder alone (so mutations reach the parser without having to forge a CRC). Whatever decodes
// must re-encode and decode to the same batch; anything else aborts, for the fuzzer to report.
//
// THREAD: stateless; one input at a time per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "exportsync/protocol/batch.hpp"

namespace exportsync::protocol::fuzz {

/// Small limits: inputs stay fast, and an over-allocation shows up as an out-of-memory report.
Limits fuzzLimits();

/// Decodes `bytes` as a whole batch; true if accepted (and round-trip checked).
bool checkBatch(std::string_view bytes);

/// Decodes `bytes` as a bare payload; true if accepted (and round-trip checked).
bool checkPayload(std::string_view bytes);

}  // namespace exportsync::protocol::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
