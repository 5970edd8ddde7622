// Batch format version 1: see docs/protocol.md, which this file implements byte for byte.
#include "exportsync/protocol/batch.hpp"

#include <zstd.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "column_codec.hpp"
#include "payload.hpp"
#include "wire.hpp"

namespace exportsync::protocol {
namespace {

using internal::ColumnEncoder;
using wire::Reader;

// Header strings that are not dataset identifiers: agent id, incarnation, region.
constexpr size_t kMaxTokenBytes = 128;
constexpr size_t kMaxPluginNameBytes = 32;
constexpr size_t kMaxIdentifierBytes = 63;

constexpr uint8_t kHeaderEndsTransaction = 0x01;
constexpr uint8_t kColumnKey = 0x01;
constexpr uint8_t kColumnNullable = 0x02;

constexpr uint64_t kMaxSeq = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

Status fail(std::string what) { return internal::batchError(std::move(what)); }

// Untrusted bytes made safe for a one-line message: at most 64 bytes, non-printable ASCII as
// \xNN (UTF-8 letters too: a message must not carry control or invalid sequences).
std::string printable(std::string_view s, size_t max = 64) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  const size_t n = s.size() < max ? s.size() : max;
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (s.size() > n) {
    out += "...";
  }
  return out;
}

std::string quoted(std::string_view s) { return "'" + printable(s) + "'"; }

// agent id, incarnation, region: 1..128 bytes of printable ASCII without space.
bool isValidToken(std::string_view s) {
  if (s.empty() || s.size() > kMaxTokenBytes) {
    return false;
  }
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

// Plugin names: [a-z][a-z0-9-]{0,31}, as the agent's plugin host enforces.
bool isValidPluginName(std::string_view s) {
  if (s.empty() || s.size() > kMaxPluginNameBytes || s[0] < 'a' || s[0] > 'z') {
    return false;
  }
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}

bool isKnownOp(uint8_t op) {
  return op == static_cast<uint8_t>(Op::Insert) || op == static_cast<uint8_t>(Op::Update) ||
         op == static_cast<uint8_t>(Op::Delete);
}

std::string datasetLabel(const DatasetDescriptor& d) { return quoted(d.plugin + "/" + d.name); }

std::string columnLabel(const DatasetDescriptor& d, const Column& c) {
  return "dataset " + datasetLabel(d) + " column " + quoted(c.name);
}

Status checkToken(const char* field, std::string_view value) {
  if (!isValidToken(value)) {
    return fail(std::string(field) + " " + quoted(value) +
                " must be 1 to 128 printable ASCII characters without spaces");
  }
  return Status::ok();
}

// Checks what the header says about itself; the changes are checked against it elsewhere.
Status checkHeader(const BatchHeader& h, const Limits& limits) {
  if (auto s = checkToken("agent_id", h.agent_id); !s) {
    return s;
  }
  if (auto s = checkToken("incarnation", h.incarnation); !s) {
    return s;
  }
  if (auto s = checkToken("region", h.region); !s) {
    return s;
  }
  if (h.base_seq < 0 || h.first_seq < 0 || h.last_seq < 0) {
    return fail("sequence numbers must not be negative (base_seq " + std::to_string(h.base_seq) +
                ", first_seq " + std::to_string(h.first_seq) + ", last_seq " +
                std::to_string(h.last_seq) + ")");
  }
  if (h.datasets.size() > limits.max_datasets) {
    return fail(std::to_string(h.datasets.size()) + " datasets, more than the limit of " +
                std::to_string(limits.max_datasets));
  }
  for (size_t i = 0; i < h.datasets.size(); ++i) {
    const auto& d = h.datasets[i];
    const std::string where = "dataset " + std::to_string(i) + ": ";
    if (!isValidPluginName(d.plugin)) {
      return fail(where + "plugin name " + quoted(d.plugin) + " must match [a-z][a-z0-9-]{0,31}");
    }
    if (d.columns.size() > limits.max_columns) {
      return fail(where + datasetLabel(d) + " has " + std::to_string(d.columns.size()) +
                  " columns, more than the limit of " + std::to_string(limits.max_columns));
    }
    DatasetSpec spec;
    spec.name = d.name;
    spec.version = d.version;
    spec.columns = d.columns;
    if (std::string why = checkDatasetSpec(spec); !why.empty()) {
      return fail(where + "plugin " + quoted(d.plugin) + ": " + printable(why, 512));
    }
    for (size_t j = 0; j < i; ++j) {
      if (h.datasets[j].plugin == d.plugin && h.datasets[j].name == d.name) {
        return fail("dataset " + datasetLabel(d) + " is described twice (" + std::to_string(j) +
                    " and " + std::to_string(i) + ")");
      }
    }
  }
  return Status::ok();
}

std::string badValueReason(const Column& c, const Value& v, size_t max_field) {
  if (const auto* s = std::get_if<std::string>(&v.storage());
      s != nullptr && c.type == ColumnType::Text && s->size() > max_field) {
    return "column " + quoted(c.name) + " holds " + std::to_string(s->size()) +
           " bytes of text, more than the limit of " + std::to_string(max_field);
  }
  std::string why = checkValue(c, v.toAbi());
  return why.empty() ? "column " + quoted(c.name) + " holds an unsupported value" : why;
}

std::vector<size_t> keyCounts(const BatchHeader& h) {
  std::vector<size_t> out(h.datasets.size(), 0);
  for (size_t d = 0; d < h.datasets.size(); ++d) {
    for (const auto& col : h.datasets[d].columns) {
      out[d] += col.key ? 1 : 0;
    }
  }
  return out;
}

Status checkSeqRange(const BatchHeader& h, const std::vector<ChangeRecord>& changes) {
  if (changes.empty()) {
    if (h.first_seq != 0 || h.last_seq != h.base_seq) {
      return fail("an empty batch must have first_seq 0 and last_seq = base_seq (" +
                  std::to_string(h.base_seq) + "), has " + std::to_string(h.first_seq) + " and " +
                  std::to_string(h.last_seq));
    }
  } else if (h.first_seq != changes.front().seq || h.last_seq != changes.back().seq) {
    return fail("header first_seq/last_seq " + std::to_string(h.first_seq) + "/" +
                std::to_string(h.last_seq) + " do not match the changes' " +
                std::to_string(changes.front().seq) + "/" + std::to_string(changes.back().seq));
  }
  return Status::ok();
}

// The values a batch holds, against limits.max_values, from per-dataset row counts.
Status checkValueCount(const BatchHeader& h, const std::vector<uint64_t>& full_rows,
                       const std::vector<uint64_t>& delete_rows,
                       const std::vector<size_t>& key_count, const Limits& limits) {
  uint64_t values = 0;
  for (size_t d = 0; d < h.datasets.size(); ++d) {
    // rows <= 2^32 and columns <= 2^32 in practice: no overflow before the comparison matters.
    values += full_rows[d] * h.datasets[d].columns.size() + delete_rows[d] * key_count[d];
  }
  if (values > limits.max_values) {
    return fail(std::to_string(values) + " values, more than the limit of " +
                std::to_string(limits.max_values) + "; send fewer rows per batch");
  }
  return Status::ok();
}

// --- Decoding ---------------------------------------------------------------------------------

class PayloadDecoder {
 public:
  PayloadDecoder(std::string_view raw, const Limits& limits) : in_(raw), limits_(limits) {}

  Result<Batch> run() {
    Batch batch;
    if (auto s = readHeader(batch.header); !s) {
      return s;
    }
    if (auto s = readChanges(batch); !s) {
      return s;
    }
    return {std::move(batch)};  // explicit move: pre-P1825 compilers copy here
  }

 private:
  Status readVarint(const std::string& what, uint64_t& out) {
    return in_.varint(out) ? Status::ok() : internal::readError(in_, what);
  }

  Status readU8(const std::string& what, uint8_t& out) {
    return in_.u8(out) ? Status::ok() : internal::readError(in_, what);
  }

  Status readString(const std::string& what, size_t max, std::string& out) {
    uint64_t n = 0;
    if (auto s = readVarint(what, n); !s) {
      return s;
    }
    if (n > max) {
      return fail(what + " is " + std::to_string(n) + " bytes, more than the limit of " +
                  std::to_string(max));
    }
    std::string_view bytes;
    if (!in_.bytes(static_cast<size_t>(n), bytes)) {
      return internal::readError(in_, what);
    }
    out.assign(bytes.data(), bytes.size());
    return Status::ok();
  }

  Status readSeq(const char* what, int64_t& out) {
    uint64_t v = 0;
    if (auto s = readVarint(what, v); !s) {
      return s;
    }
    if (v > kMaxSeq) {
      return fail(std::string(what) + " " + std::to_string(v) + " is beyond 2^63-1");
    }
    out = static_cast<int64_t>(v);
    return Status::ok();
  }

  Status readHeader(BatchHeader& h) {
    h.format_version = kFormatVersion;
    // Each string is checked as soon as it is read, so the reason names the first bad field.
    for (auto [field, value] : {std::pair<const char*, std::string*>{"agent_id", &h.agent_id},
                                {"incarnation", &h.incarnation},
                                {"region", &h.region}}) {
      if (auto s = readString(field, kMaxTokenBytes, *value); !s) {
        return s;
      }
      if (auto s = checkToken(field, *value); !s) {
        return s;
      }
    }
    if (auto s = readSeq("base_seq", h.base_seq); !s) {
      return s;
    }
    if (auto s = readSeq("first_seq", h.first_seq); !s) {
      return s;
    }
    if (auto s = readSeq("last_seq", h.last_seq); !s) {
      return s;
    }
    uint8_t flags = 0;
    if (auto s = readU8("header flags", flags); !s) {
      return s;
    }
    if ((flags & ~kHeaderEndsTransaction) != 0) {
      return fail("unknown header flags " + std::to_string(flags) + " for format version 1");
    }
    h.ends_transaction = (flags & kHeaderEndsTransaction) != 0;

    uint64_t dataset_count = 0;
    if (auto s = readVarint("dataset count", dataset_count); !s) {
      return s;
    }
    if (dataset_count > limits_.max_datasets) {
      return fail(std::to_string(dataset_count) + " datasets, more than the limit of " +
                  std::to_string(limits_.max_datasets));
    }
    for (uint64_t i = 0; i < dataset_count; ++i) {
      // One at a time, no reserve: a false count ends in truncation, not in a large allocation.
      if (auto s = readDescriptor(i, h.datasets.emplace_back()); !s) {
        return s;
      }
    }
    uint64_t rows = 0;
    if (auto s = readVarint("row_count", rows); !s) {
      return s;
    }
    if (rows > limits_.max_rows) {
      return fail("row_count " + std::to_string(rows) + " is more than the limit of " +
                  std::to_string(limits_.max_rows) + " rows");
    }
    h.row_count = rows;
    return checkHeader(h, limits_);
  }

  Status readDescriptor(uint64_t index, DatasetDescriptor& d) {
    const std::string where = "dataset " + std::to_string(index) + " ";
    if (auto s = readString(where + "plugin", kMaxPluginNameBytes, d.plugin); !s) {
      return s;
    }
    if (auto s = readString(where + "name", kMaxIdentifierBytes, d.name); !s) {
      return s;
    }
    uint64_t version = 0;
    if (auto s = readVarint(where + "version", version); !s) {
      return s;
    }
    if (version < 1 || version > std::numeric_limits<uint32_t>::max()) {
      return fail(where + "version " + std::to_string(version) + " is not in 1..2^32-1");
    }
    d.version = static_cast<uint32_t>(version);
    uint64_t column_count = 0;
    if (auto s = readVarint(where + "column count", column_count); !s) {
      return s;
    }
    if (column_count < 1 || column_count > limits_.max_columns) {
      return fail(where + "has " + std::to_string(column_count) + " columns; the limit is 1 to " +
                  std::to_string(limits_.max_columns));
    }
    for (uint64_t c = 0; c < column_count; ++c) {
      auto& col = d.columns.emplace_back();
      const std::string cwhere = where + "column " + std::to_string(c) + " ";
      if (auto s = readString(cwhere + "name", kMaxIdentifierBytes, col.name); !s) {
        return s;
      }
      uint8_t type = 0;
      if (auto s = readU8(cwhere + "type", type); !s) {
        return s;
      }
      if (type < ES_TYPE_TEXT || type > ES_TYPE_MONEY) {
        return fail(cwhere + quoted(col.name) + " has an invalid type byte " +
                    std::to_string(type));
      }
      col.type = static_cast<ColumnType>(type);
      uint8_t flags = 0;
      if (auto s = readU8(cwhere + "flags", flags); !s) {
        return s;
      }
      if ((flags & ~(kColumnKey | kColumnNullable)) != 0) {
        return fail(cwhere + quoted(col.name) + " has unknown flags " + std::to_string(flags));
      }
      col.key = (flags & kColumnKey) != 0;
      col.nullable = (flags & kColumnNullable) != 0;
    }
    return Status::ok();
  }

  Status readChanges(Batch& batch) {
    const auto& h = batch.header;
    const auto rows = static_cast<size_t>(h.row_count);
    Reader seqs;
    Reader indexes;
    Reader ops;
    if (auto s = internal::readStream(in_, "seq", seqs); !s) {
      return s;
    }
    if (auto s = internal::readStream(in_, "dataset index", indexes); !s) {
      return s;
    }
    if (auto s = internal::readStream(in_, "op", ops); !s) {
      return s;
    }
    // One byte per op: `rows` is now bounded by bytes present, before anything is allocated.
    if (ops.remaining() != rows) {
      return fail("op stream holds " + std::to_string(ops.remaining()) + " bytes for " +
                  std::to_string(rows) + " rows");
    }

    const size_t dataset_count = h.datasets.size();
    std::vector<uint64_t> full_rows(dataset_count, 0);
    std::vector<uint64_t> delete_rows(dataset_count, 0);
    auto& changes = batch.changes;
    changes.resize(rows);
    auto prev = static_cast<uint64_t>(h.base_seq);
    for (size_t i = 0; i < rows; ++i) {
      auto& ch = changes[i];
      uint64_t delta = 0;
      if (!seqs.varint(delta)) {
        return internal::readError(seqs, "seq stream");
      }
      if (delta == 0) {
        return fail("change " + std::to_string(i) + " repeats seq " + std::to_string(prev) +
                    (i == 0 ? " (base_seq)" : "") + "; seqs must increase strictly");
      }
      if (delta > kMaxSeq - prev) {
        return fail("change " + std::to_string(i) + " has a seq beyond 2^63-1");
      }
      prev += delta;
      ch.seq = static_cast<int64_t>(prev);
      uint64_t index = 0;
      if (!indexes.varint(index)) {
        return internal::readError(indexes, "dataset index stream");
      }
      if (index >= dataset_count) {
        return fail("change " + std::to_string(i) + " names dataset index " +
                    std::to_string(index) + " but the batch describes " +
                    std::to_string(dataset_count));
      }
      ch.dataset = static_cast<uint32_t>(index);
      uint8_t op = 0;
      (void)ops.u8(op);  // size checked above
      if (!isKnownOp(op)) {
        return fail("change " + std::to_string(i) + " has an unknown op byte " +
                    std::to_string(op));
      }
      ch.op = static_cast<Op>(op);
      ++(ch.op == Op::Delete ? delete_rows : full_rows)[index];
    }
    if (!seqs.atEnd()) {
      return fail("seq stream has " + std::to_string(seqs.remaining()) +
                  " bytes after its last row");
    }
    if (!indexes.atEnd()) {
      return fail("dataset index stream has " + std::to_string(indexes.remaining()) +
                  " bytes after its last row");
    }
    if (auto s = checkSeqRange(h, changes); !s) {
      return s;
    }
    const std::vector<size_t> key_count = keyCounts(h);
    if (auto s = checkValueCount(h, full_rows, delete_rows, key_count, limits_); !s) {
      return s;
    }

    // Column blocks: datasets in order, columns in order. Each checks its streams' sizes
    // against its value count, so the rows below allocate no more than the payload justifies.
    // Text a dictionary may expand to, over the whole batch.
    size_t text_budget = limits_.max_decompressed;
    std::vector<std::vector<internal::ColumnDecoder>> columns(dataset_count);
    for (size_t d = 0; d < dataset_count; ++d) {
      const auto& desc = h.datasets[d];
      columns[d].resize(desc.columns.size());
      for (size_t c = 0; c < desc.columns.size(); ++c) {
        const Column& col = desc.columns[c];
        const uint64_t count = full_rows[d] + (col.key ? delete_rows[d] : 0);
        if (auto s =
                columns[d][c].read(in_, col, count, limits_, text_budget, columnLabel(desc, col));
            !s) {
          return s;
        }
      }
    }
    if (!in_.atEnd()) {
      return fail(std::to_string(in_.remaining()) + " trailing bytes after the last stream");
    }

    for (size_t i = 0; i < rows; ++i) {
      auto& ch = changes[i];
      const auto& desc = h.datasets[ch.dataset];
      auto& decoders = columns[ch.dataset];
      const bool is_delete = ch.op == Op::Delete;
      ch.values.reserve(is_delete ? key_count[ch.dataset] : desc.columns.size());
      for (size_t c = 0; c < desc.columns.size(); ++c) {
        const Column& col = desc.columns[c];
        if (is_delete && !col.key) {
          continue;
        }
        if (auto e = decoders[c].next(ch.values); e != internal::ValueError::None) {
          return fail(columnLabel(desc, col) + ", change " + std::to_string(i) + " (seq " +
                      std::to_string(ch.seq) + "): " + internal::describe(e));
        }
      }
    }
    for (size_t d = 0; d < dataset_count; ++d) {
      for (size_t c = 0; c < columns[d].size(); ++c) {
        if (!columns[d][c].atEnd()) {
          return fail(columnLabel(h.datasets[d], h.datasets[d].columns[c]) +
                      ": a stream has bytes after its last value");
        }
      }
    }
    return Status::ok();
  }

  Reader in_;
  const Limits& limits_;
};

struct ZstdCCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct ZstdDCtxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

}  // namespace

namespace internal {

Status encodePayloadInto(const Batch& batch, wire::Buffer& out, std::vector<size_t>& cuts) {
  const Limits limits;  // what a hub accepts by default
  const BatchHeader& h = batch.header;
  if (h.format_version != kFormatVersion) {
    return fail("cannot encode format version " + std::to_string(h.format_version) +
                "; this build writes version " + std::to_string(kFormatVersion));
  }
  if (auto s = checkHeader(h, limits); !s) {
    return s;
  }
  const auto& changes = batch.changes;
  if (h.row_count != changes.size()) {
    return fail("header row_count " + std::to_string(h.row_count) + " does not match the " +
                std::to_string(changes.size()) + " changes");
  }
  if (changes.size() > limits.max_rows) {
    return fail(std::to_string(changes.size()) + " changes, more than the " +
                std::to_string(limits.max_rows) + " a batch may hold; send fewer per batch");
  }
  if (auto s = checkSeqRange(h, changes); !s) {
    return s;
  }

  const size_t n = changes.size();
  wire::Buffer seqs;
  wire::Buffer indexes;
  wire::Buffer ops;
  seqs.reserve(n);
  indexes.reserve(n);
  ops.reserve(n);
  std::vector<std::vector<ColumnEncoder>> columns(h.datasets.size());
  for (size_t d = 0; d < h.datasets.size(); ++d) {
    columns[d].reserve(h.datasets[d].columns.size());
    for (const auto& col : h.datasets[d].columns) {
      columns[d].emplace_back(col, limits.max_field);
    }
  }
  const std::vector<size_t> key_count = keyCounts(h);
  std::vector<uint64_t> full_rows(h.datasets.size(), 0);
  std::vector<uint64_t> delete_rows(h.datasets.size(), 0);
  for (const auto& ch : changes) {
    if (ch.dataset < h.datasets.size()) {
      ++(ch.op == Op::Delete ? delete_rows : full_rows)[ch.dataset];
    }
  }
  if (auto s = checkValueCount(h, full_rows, delete_rows, key_count, limits); !s) {
    return s;
  }
  for (size_t d = 0; d < h.datasets.size(); ++d) {
    for (size_t c = 0; c < columns[d].size(); ++c) {
      columns[d][c].reserve(full_rows[d] + (h.datasets[d].columns[c].key ? delete_rows[d] : 0));
    }
  }

  int64_t prev = h.base_seq;
  for (size_t i = 0; i < n; ++i) {
    const ChangeRecord& ch = changes[i];
    auto where = [&] {
      return "change " + std::to_string(i) + " (seq " + std::to_string(ch.seq) + ")";
    };
    if (ch.seq <= prev) {
      return fail(where() + " is not above the previous seq " + std::to_string(prev) +
                  (i == 0 ? " (base_seq)" : ""));
    }
    seqs.varint(static_cast<uint64_t>(ch.seq) - static_cast<uint64_t>(prev));
    prev = ch.seq;
    if (ch.dataset >= h.datasets.size()) {
      return fail(where() + " names dataset index " + std::to_string(ch.dataset) +
                  " but the batch describes " + std::to_string(h.datasets.size()));
    }
    indexes.varint(ch.dataset);
    const auto op = static_cast<uint8_t>(ch.op);
    if (!isKnownOp(op)) {
      return fail(where() + " has an unknown op " + std::to_string(op));
    }
    ops.u8(op);

    const auto& desc = h.datasets[ch.dataset];
    const bool is_delete = ch.op == Op::Delete;
    const size_t expected = is_delete ? key_count[ch.dataset] : desc.columns.size();
    if (ch.values.size() != expected) {
      return fail(where() + " of dataset " + datasetLabel(desc) + " has " +
                  std::to_string(ch.values.size()) + " values, expected " +
                  std::to_string(expected) + (is_delete ? " (the key columns)" : ""));
    }
    size_t v = 0;
    auto& encoders = columns[ch.dataset];
    for (size_t c = 0; c < desc.columns.size(); ++c) {
      if (is_delete && !desc.columns[c].key) {
        continue;
      }
      const Value& value = ch.values[v++];
      if (!encoders[c].add(value)) {
        return fail(where() + " of dataset " + datasetLabel(desc) + ": " +
                    badValueReason(desc.columns[c], value, limits.max_field));
      }
    }
  }

  size_t bound = 64 + 4 * kMaxTokenBytes + 3 * wire::kMaxVarintBytes + seqs.size() +
                 indexes.size() + ops.size();
  for (const auto& d : h.datasets) {
    bound += 64 + d.plugin.size() + d.name.size() + 66 * d.columns.size();
  }
  for (const auto& encoders : columns) {
    for (const auto& e : encoders) {
      bound += e.sizeBound();
    }
  }
  out.reserve(bound);
  auto put_string = [&out](std::string_view str) {
    out.varint(str.size());
    out.append(str);
  };
  put_string(h.agent_id);
  put_string(h.incarnation);
  put_string(h.region);
  out.varint(static_cast<uint64_t>(h.base_seq));
  out.varint(static_cast<uint64_t>(h.first_seq));
  out.varint(static_cast<uint64_t>(h.last_seq));
  out.u8(h.ends_transaction ? kHeaderEndsTransaction : 0);
  out.varint(h.datasets.size());
  for (const auto& d : h.datasets) {
    put_string(d.plugin);
    put_string(d.name);
    out.varint(d.version);
    out.varint(d.columns.size());
    for (const auto& col : d.columns) {
      put_string(col.name);
      out.u8(static_cast<uint8_t>(col.type));
      out.u8(
          static_cast<uint8_t>((col.key ? kColumnKey : 0) | (col.nullable ? kColumnNullable : 0)));
    }
  }
  out.varint(n);
  internal::putStream(out, seqs.view(), cuts);
  internal::putStream(out, indexes.view(), cuts);
  internal::putStream(out, ops.view(), cuts);
  for (const auto& encoders : columns) {
    for (const auto& e : encoders) {
      e.finish(out, cuts);
    }
  }
  return Status::ok();
}

Result<std::string> encodePayload(const Batch& batch) {
  wire::Buffer out;
  std::vector<size_t> cuts;
  if (auto s = encodePayloadInto(batch, out, cuts); !s) {
    return s;
  }
  return std::string(out.view());
}

Result<Batch> decodePayload(std::string_view raw, const Limits& limits) {
  return PayloadDecoder(raw, limits).run();
}

Result<std::string> framePayload(std::string_view raw, int level, int64_t last_seq,
                                 uint64_t row_count, const std::vector<size_t>& cuts) {
  const Limits limits;
  if (level < 1 || level > 19) {
    return fail("zstd level " + std::to_string(level) + " is not in 1..19");
  }
  if (raw.size() > limits.max_decompressed) {
    return fail("payload is " + std::to_string(raw.size()) + " bytes, more than the " +
                std::to_string(limits.max_decompressed) +
                " a hub accepts by default; send fewer rows per batch");
  }
  if (last_seq < 0 || row_count > std::numeric_limits<uint32_t>::max()) {
    return fail("last_seq or row_count out of range for the prefix");
  }
  std::unique_ptr<ZSTD_CCtx, ZstdCCtxFree> cctx(ZSTD_createCCtx());
  if (!cctx) {
    return Status::internal("batch: cannot create a zstd compression context");
  }
  // The pledged size puts the content size in the frame header, which decoders require.
  if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, 1)) ||
      ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cctx.get(), raw.size()))) {
    return Status::internal("batch: cannot set zstd parameters");
  }
  std::string out(kPrefixSize + ZSTD_compressBound(raw.size()) + 64, '\0');
  ZSTD_outBuffer dst{out.data(), out.size(), kPrefixSize};
  size_t start = 0;
  auto feed = [&](size_t end, ZSTD_EndDirective directive) -> Status {
    ZSTD_inBuffer src{raw.data(), end, start};
    for (;;) {
      const size_t left = ZSTD_compressStream2(cctx.get(), &dst, &src, directive);
      if (ZSTD_isError(left)) {
        return Status::internal(std::string("batch: zstd compression failed: ") +
                                ZSTD_getErrorName(left));
      }
      if (left == 0 && src.pos == src.size) {
        break;
      }
      if (dst.pos == dst.size) {  // flushes add block headers beyond compressBound: grow
        out.resize(out.size() + out.size() / 4 + 4096);
        dst.dst = out.data();
        dst.size = out.size();
      }
    }
    start = end;
    return Status::ok();
  };
  for (size_t cut : cuts) {
    if (cut > start && cut < raw.size() && cut - start >= kMinBlockInput) {
      if (auto s = feed(cut, ZSTD_e_flush); !s) {
        return s;
      }
    }
  }
  if (auto s = feed(raw.size(), ZSTD_e_end); !s) {
    return s;
  }
  const size_t z = dst.pos - kPrefixSize;
  if (z > limits.max_compressed) {
    return fail("compressed batch is " + std::to_string(z) + " bytes, more than the " +
                std::to_string(limits.max_compressed) +
                " a hub accepts by default; send fewer rows per batch");
  }
  out.resize(dst.pos);
  char* p = out.data();
  std::memcpy(p, kMagic, 4);
  wire::storeLe(p + 4, kFormatVersion, 2);
  wire::storeLe(p + 6, 0, 2);  // flags
  wire::storeLe(p + 8, z, 4);
  wire::storeLe(p + 12, raw.size(), 4);
  wire::storeLe(p + 16, wire::crc32(raw), 4);
  wire::storeLe(p + 20, static_cast<uint64_t>(last_seq), 8);
  wire::storeLe(p + 28, row_count, 4);
  return {std::move(out)};
}

}  // namespace internal

Result<std::string> encodeBatch(const Batch& batch, int level) {
  if (level < 1 || level > 19) {
    return fail("zstd level " + std::to_string(level) + " is not in 1..19");
  }
  wire::Buffer raw;
  std::vector<size_t> cuts;
  if (auto s = internal::encodePayloadInto(batch, raw, cuts); !s) {
    return s;
  }
  return internal::framePayload(raw.view(), level, batch.header.last_seq, batch.header.row_count,
                                cuts);
}

Result<Prefix> decodePrefix(std::string_view bytes, const Limits& limits) {
  if (bytes.size() < kPrefixSize) {
    return fail("truncated: " + std::to_string(bytes.size()) + " bytes, the prefix alone is " +
                std::to_string(kPrefixSize));
  }
  if (std::memcmp(bytes.data(), kMagic, 4) != 0) {
    return fail("bad magic " + quoted(bytes.substr(0, 4)) + ": not an ExportSync batch ('ESYB')");
  }
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  Prefix prefix;
  prefix.format_version = static_cast<uint16_t>(wire::loadLe(p + 4, 2));
  if (prefix.format_version != kFormatVersion) {
    return fail("unknown format version " + std::to_string(prefix.format_version) +
                "; this build reads version " + std::to_string(kFormatVersion) +
                " (upgrade the receiving side)");
  }
  const auto flags = wire::loadLe(p + 6, 2);
  if (flags != 0) {
    return fail("unknown prefix flags " + std::to_string(flags) + " for format version 1");
  }
  prefix.compressed_size = static_cast<uint32_t>(wire::loadLe(p + 8, 4));
  prefix.raw_size = static_cast<uint32_t>(wire::loadLe(p + 12, 4));
  prefix.payload_crc32 = static_cast<uint32_t>(wire::loadLe(p + 16, 4));
  const uint64_t last_seq = wire::loadLe(p + 20, 8);
  prefix.row_count = static_cast<uint32_t>(wire::loadLe(p + 28, 4));
  if (prefix.compressed_size > limits.max_compressed) {
    return fail("compressed size " + std::to_string(prefix.compressed_size) +
                " is more than the limit of " + std::to_string(limits.max_compressed));
  }
  if (prefix.raw_size > limits.max_decompressed) {
    return fail("decompressed size " + std::to_string(prefix.raw_size) +
                " is more than the limit of " + std::to_string(limits.max_decompressed) +
                " (refused before decompressing)");
  }
  if (prefix.row_count > limits.max_rows) {
    return fail("row_count " + std::to_string(prefix.row_count) + " is more than the limit of " +
                std::to_string(limits.max_rows) + " rows");
  }
  if (last_seq > kMaxSeq) {
    return fail("prefix last_seq is beyond 2^63-1");
  }
  prefix.last_seq = static_cast<int64_t>(last_seq);
  return prefix;
}

Result<Batch> decodeBatch(std::string_view bytes, const Limits& limits) {
  auto prefix = decodePrefix(bytes, limits);
  if (!prefix) {
    return prefix.status();
  }
  const std::string_view frame = bytes.substr(kPrefixSize);
  if (frame.size() != prefix->compressed_size) {
    return fail("the prefix declares " + std::to_string(prefix->compressed_size) +
                " compressed bytes but " + std::to_string(frame.size()) + " follow" +
                (frame.size() < prefix->compressed_size ? " (truncated)" : ""));
  }
  if (frame.size() < 4 ||
      wire::loadLe(reinterpret_cast<const uint8_t*>(frame.data()), 4) != ZSTD_MAGICNUMBER) {
    return fail("the payload is not a zstd frame");
  }
  // Bomb check: the frame must declare its size, and that size must be the prefix's, which
  // decodePrefix bounded; decompression then cannot produce more than raw_size bytes.
  const unsigned long long declared = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) {
    return fail("corrupt zstd frame header");
  }
  if (declared == ZSTD_CONTENTSIZE_UNKNOWN) {
    return fail("the zstd frame does not declare its content size");
  }
  if (declared != prefix->raw_size) {
    return fail("the zstd frame declares " + std::to_string(declared) +
                " bytes but the prefix says " + std::to_string(prefix->raw_size));
  }
  const size_t frame_size = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
  if (ZSTD_isError(frame_size)) {
    return fail(std::string("corrupt or truncated zstd frame: ") + ZSTD_getErrorName(frame_size));
  }
  if (frame_size != frame.size()) {
    return fail(std::to_string(frame.size() - frame_size) + " bytes after the zstd frame");
  }
  std::unique_ptr<ZSTD_DCtx, ZstdDCtxFree> dctx(ZSTD_createDCtx());
  if (!dctx) {
    return Status::internal("batch: cannot create a zstd decompression context");
  }
  // Not value-initialised: pages are touched only as zstd writes them.
  std::unique_ptr<char[]> raw(  // NOLINT(modernize-avoid-c-arrays): see above
      new char[prefix->raw_size == 0 ? 1 : prefix->raw_size]);
  const size_t got =
      ZSTD_decompressDCtx(dctx.get(), raw.get(), prefix->raw_size, frame.data(), frame.size());
  if (ZSTD_isError(got)) {
    return fail(std::string("zstd: ") + ZSTD_getErrorName(got));
  }
  if (got != prefix->raw_size) {
    return fail("the zstd frame expands to " + std::to_string(got) + " bytes, not " +
                std::to_string(prefix->raw_size));
  }
  const std::string_view payload(raw.get(), got);
  const uint32_t crc = wire::crc32(payload);
  if (crc != prefix->payload_crc32) {
    return fail("checksum mismatch: the payload's CRC-32 is " + std::to_string(crc) +
                ", the prefix says " + std::to_string(prefix->payload_crc32));
  }
  auto batch = internal::decodePayload(payload, limits);
  if (!batch) {
    return batch.status();
  }
  const BatchHeader& h = batch->header;
  if (h.last_seq != prefix->last_seq || h.row_count != prefix->row_count) {
    return fail("the prefix (last_seq " + std::to_string(prefix->last_seq) + ", " +
                std::to_string(prefix->row_count) + " rows) does not match the header (last_seq " +
                std::to_string(h.last_seq) + ", " + std::to_string(h.row_count) + " rows)");
  }
  return batch;
}

}  // namespace exportsync::protocol
