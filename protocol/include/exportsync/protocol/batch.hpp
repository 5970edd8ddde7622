// The sync batch: what an agent sends the hub. Format version 1, specified byte by byte in
// docs/protocol.md. A batch carries the changes of the agent's change log after the hub's
// high-water mark (`base_seq`), grouped so that a store transaction is never split unless the
// header says the last one continues in the next batch.
//
// Wire layout: a fixed 32-byte prefix (magic, format version, sizes, checksum, last_seq, row
// count), then one zstd frame holding the header and the changes in a compact column-oriented
// encoding. Decoding is bounded by Limits before anything is expanded or allocated, and every
// refusal is Status::invalid with a one-line reason starting "batch: ".
//
// Rules both sides enforce (encodeBatch refuses to write what decodeBatch would refuse):
//  - agent_id, incarnation, region: 1 to 128 printable ASCII characters, no spaces.
//  - plugin names [a-z][a-z0-9-]{0,31}; datasets and columns pass checkDatasetSpec (names
//    [a-z][a-z0-9_]{0,62}, 1 to 256 columns, at least one key column, keys not nullable); one
//    (plugin, name) at most once per batch.
//  - 0 <= base_seq < seq of each change, strictly increasing; first_seq/last_seq as below.
//  - values fit their column as checkValue says (an integer given for a real column is sent as
//    a real and decodes as one); text at most Limits::max_field bytes.
//
// THREAD: pure functions over values; safe to call concurrently. OWNERSHIP: values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exportsync/dataset.hpp"
#include "exportsync/status.hpp"

namespace exportsync::protocol {

inline constexpr uint16_t kFormatVersion = 1;
inline constexpr size_t kPrefixSize = 32;
inline constexpr char kMagic[4] = {'E', 'S', 'Y', 'B'};  // NOLINT(modernize-avoid-c-arrays)

enum class Op : uint8_t { Insert = 'I', Update = 'U', Delete = 'D' };

/// A dataset as the agent's store holds it: columns in table order.
struct DatasetDescriptor {
  std::string plugin;
  std::string name;
  uint32_t version = 1;
  std::vector<Column> columns;
};

/// One change. For Insert/Update, `values` holds every column in descriptor order; for
/// Delete, only the key columns, in key order (the order they appear in the descriptor).
struct ChangeRecord {
  int64_t seq = 0;
  uint32_t dataset = 0;  ///< index into BatchHeader::datasets
  Op op = Op::Insert;
  std::vector<Value> values;
};

struct BatchHeader {
  uint16_t format_version = kFormatVersion;
  std::string agent_id;
  std::string incarnation;       ///< changes whenever the agent's store is created afresh
  std::string region;            ///< MA-01 … MA-12
  int64_t base_seq = 0;          ///< the hub mark this batch follows: changes have seq > base_seq
  int64_t first_seq = 0;         ///< seq of the first change (0 when empty)
  int64_t last_seq = 0;          ///< seq of the last change (base_seq when empty)
  bool ends_transaction = true;  ///< false: the last transaction continues in the next batch
  std::vector<DatasetDescriptor> datasets;
  uint64_t row_count = 0;  ///< number of changes; must equal changes.size()
};

struct Batch {
  BatchHeader header;
  std::vector<ChangeRecord> changes;  ///< strictly increasing seq
};

/// Bounds applied while decoding; anything beyond is refused before it is expanded. encodeBatch
/// refuses what the defaults would refuse, so that a default hub accepts every encoded batch.
struct Limits {
  size_t max_compressed = 64u << 20;     ///< bytes after the prefix
  size_t max_decompressed = 256u << 20;  ///< bytes of the decoded payload; also bounds the text
                                         ///< a dictionary expands to
  size_t max_rows = 1'000'000;
  size_t max_field = 1u << 20;  ///< bytes of one text value (identifiers: 63 or less)
  size_t max_datasets = 256;
  size_t max_columns = 256;
  size_t max_values = 16'000'000;  ///< values of all changes (about 40 bytes of memory each,
                                   ///< plus text): bounds what a small payload can expand to
};

/// Encodes and compresses a batch (zstd `level`, 1..19). Fails if the batch is inconsistent
/// (row_count, seq order, value types against the descriptors) or beyond the default Limits.
/// Level 3 costs about 1 µs per 16-column row; higher levels trade time for a few % of size.
Result<std::string> encodeBatch(const Batch& batch, int level = 3);

/// The fixed 32-byte prefix. last_seq and row_count repeat the header's, so a receiver can log
/// or route a batch without decompressing it; decodeBatch checks they match.
struct Prefix {
  uint16_t format_version = 0;
  uint32_t compressed_size = 0;  ///< bytes after the prefix (one zstd frame)
  uint32_t raw_size = 0;         ///< bytes of the decompressed payload
  uint32_t payload_crc32 = 0;    ///< CRC-32 (IEEE) of the decompressed payload
  int64_t last_seq = 0;
  uint32_t row_count = 0;
};
/// Reads only the fixed prefix. Refuses fewer than kPrefixSize bytes, a bad magic, an unknown
/// version or flags, or sizes and a row count beyond `limits`. Does not look past the prefix,
/// so it can run on the first 32 bytes of a body before the rest arrives.
Result<Prefix> decodePrefix(std::string_view bytes, const Limits& limits);

/// Decodes a whole batch, checking every bound, the checksum and the consistency of the
/// header with the changes. The reason of a refusal names what is wrong. Memory used is bounded
/// by `limits` (max_decompressed for the payload and dictionary text, max_values for values),
/// never by counts the input merely claims.
Result<Batch> decodeBatch(std::string_view bytes, const Limits& limits);

}  // namespace exportsync::protocol
