// Column blocks of the batch payload (docs/protocol.md, "Column blocks"): the values of one
// column of one dataset, in change order, in an encoding the encoder picks per column (text:
// plain or dictionary; integer, date, timestamp, money: plain or delta with a power-of-ten scale,
// as transposed byte planes; real: IEEE bits or decimal, as planes too; boolean: one byte).
//
// THREAD: one object per column, used by one thread. OWNERSHIP: a ColumnEncoder keeps views into
// the text values it was given, and a ColumnDecoder views the payload: both must outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exportsync/dataset.hpp"
#include "exportsync/protocol/batch.hpp"
#include "exportsync/status.hpp"
#include "wire.hpp"

namespace exportsync::protocol::internal {

/// Every refusal of the format reads "batch: <what>".
Status batchError(std::string what);

/// Reads a stream (varint byte length, then the bytes) from `in` into `out`.
Status readStream(wire::Reader& in, const std::string& what, wire::Reader& out);

/// The message for a failed read of `what` from `r` (truncated, or varint overflow).
Status readError(const wire::Reader& r, const std::string& what);

/// Appends a stream: varint byte length, then the bytes. Records where it ends in `cuts`, the
/// places where the compressor may start a new block (see framePayload).
void putStream(wire::Buffer& out, std::string_view stream, std::vector<size_t>& cuts);

/// Wire values of the per-column encoding byte; 1 means dictionary, delta or decimal according
/// to the column's type.
enum class Encoding : uint8_t { Plain = 0, Dictionary = 1, Delta = 1, Decimal = 1 };

/// Distinct strings in order of first appearance, copied into one arena (compact, so lookups
/// compare against cached bytes), with an open-addressing index over them.
class TextDictionary {
 public:
  TextDictionary();
  /// The index of `s`, adding it if new.
  uint32_t add(std::string_view s);
  [[nodiscard]] size_t size() const { return ends_.size(); }
  /// Entry `i`; valid until the next add().
  [[nodiscard]] std::string_view entry(size_t i) const {
    const size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(arena_).substr(begin, ends_[i] - begin);
  }
  /// All entries' bytes, back to back.
  [[nodiscard]] const std::string& arena() const { return arena_; }

 private:
  struct Slot {
    uint32_t index = 0;  // 0 empty, else entry index + 1
    uint32_t tag = 0;    // high bits of the hash, to skip most comparisons
  };
  void grow();

  std::vector<Slot> slots_;
  std::string arena_;
  std::vector<size_t> ends_;      // end offset of each entry in arena_
  std::vector<uint64_t> hashes_;  // of each entry, to rehash on growth
};

class ColumnEncoder {
 public:
  ColumnEncoder(const Column& column, size_t max_field) : column_(&column), max_field_(max_field) {}

  /// Reserves room for `count` values (a hint: growing costs copies and page faults).
  void reserve(size_t count);

  /// Adds the next value of the column; false (nothing added) when it does not fit the column.
  /// Text may be kept as a view: the value must outlive finish().
  bool add(const Value& value);

  /// At least the bytes finish() will append.
  [[nodiscard]] size_t sizeBound() const;

  /// Appends the column block to `out`, and stream ends to `cuts`.
  void finish(wire::Buffer& out, std::vector<size_t>& cuts) const;

 private:
  void addText(std::string_view s);
  void finishText(wire::Buffer& out, std::vector<size_t>& cuts) const;
  void finishIntegral(wire::Buffer& out, std::vector<size_t>& cuts) const;
  void finishReal(wire::Buffer& out, std::vector<size_t>& cuts) const;

  const Column* column_;
  size_t max_field_;
  size_t expected_ = 0;    // values announced by reserve()
  wire::Buffer presence_;  // nullable only: 1 present, 0 null
  // Text: looked up in the dictionary as it arrives (while its bytes are in cache) until the
  // column proves nearly unique; from then on written straight to the plain streams.
  bool dictionary_on_ = true;
  TextDictionary dictionary_;
  std::vector<uint32_t> indexes_;
  std::vector<std::string_view> texts_;  // while the dictionary is on, for a plain fallback
  size_t dictionary_size_ = 0;           // bytes of the dictionary form so far
  size_t plain_size_ = 0;                // bytes of the plain form so far
  wire::Buffer lengths_;                 // plain form, once the dictionary is off
  wire::Buffer bytes_;
  std::vector<uint64_t> ints_;  // integral types, two's complement bits
  std::vector<double> reals_;   // real
  wire::Buffer bools_;          // boolean, 0 or 1
};

/// Why a value could not be read.
enum class ValueError : uint8_t {
  None,
  Truncated,
  VarintOverflow,
  BadPresence,
  BadBoolean,
  BadDate,
  BadTimestamp,
  BadReal,
  BadIndex,
  FieldTooLong,
  TextBudget,
};
const char* describe(ValueError e);

class ColumnDecoder {
 public:
  /// Reads the block of `column` holding `count` values (nulls included) from `in`, checking the
  /// size of every stream against `count` so that decoding allocates no more than the bytes
  /// present justify. `label` names the column in messages.
  /// `text_budget` (shared by the batch's columns, outliving the decoder) bounds the bytes of
  /// text dictionaries expand to.
  Status read(wire::Reader& in, const Column& column, uint64_t count, const Limits& limits,
              size_t& text_budget, const std::string& label);

  /// Decodes the next value and appends it to `out`.
  ValueError next(std::vector<Value>& out);

  /// True once every stream of the block has been consumed exactly.
  [[nodiscard]] bool atEnd() const;

 private:
  ValueError nextText(std::vector<Value>& out);
  ValueError nextIntegral(std::vector<Value>& out);
  ValueError nextReal(std::vector<Value>& out);
  uint64_t nextPlaneValue();

  const Column* column_ = nullptr;
  size_t max_field_ = 0;
  size_t* text_budget_ = nullptr;
  Encoding encoding_ = Encoding::Plain;
  uint8_t scale_ = 0;
  uint8_t width_ = 0;  // bytes per value in the planes
  uint64_t prev_ = 0;
  wire::Reader presence_;
  wire::Reader lengths_;          // text plain
  wire::Reader values_;           // text bytes, boolean bytes
  const char* planes_ = nullptr;  // integral and real: width_ planes of plane_size_ bytes
  size_t plane_size_ = 0;
  size_t next_plane_value_ = 0;
  std::vector<std::string_view> dictionary_;  // text dictionary, views into the payload
};

}  // namespace exportsync::protocol::internal
