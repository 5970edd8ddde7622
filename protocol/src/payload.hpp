// The two layers of a batch, separately: the payload (header and column-oriented changes, what
// the zstd frame holds) and the framing (32-byte prefix + one zstd frame). encodeBatch and
// decodeBatch compose them; tests and the fuzzer use them apart, e.g. to hand-craft a payload
// that a correct encoder would never write. Specified in docs/protocol.md.
//
// THREAD: pure functions. OWNERSHIP: values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exportsync/protocol/batch.hpp"
#include "exportsync/status.hpp"
#include "wire.hpp"

namespace exportsync::protocol::internal {

/// Checks a batch and encodes its payload (uncompressed) into `out`. Refuses what a hub with
/// default Limits would refuse. `cuts` receives the offsets where streams end.
Status encodePayloadInto(const Batch& batch, wire::Buffer& out, std::vector<size_t>& cuts);

/// The same, as a string.
Result<std::string> encodePayload(const Batch& batch);

/// Parses and checks a decompressed payload. header.format_version is set to kFormatVersion.
Result<Batch> decodePayload(std::string_view raw, const Limits& limits);

/// Prefix + zstd frame around a payload. `last_seq` and `row_count` go into the prefix as
/// written (decodeBatch checks them against the payload's header). At each of `cuts` (stream
/// ends, ascending) at least kMinBlockInput bytes after the previous block start, the frame
/// starts a new zstd block, so that each stream gets entropy tables fitted to it.
inline constexpr size_t kMinBlockInput = 1024;
Result<std::string> framePayload(std::string_view raw, int level, int64_t last_seq,
                                 uint64_t row_count, const std::vector<size_t>& cuts = {});

}  // namespace exportsync::protocol::internal
