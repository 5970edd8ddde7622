// Column blocks of the batch payload (docs/protocol.md, "Column blocks"): the values of one
// column of one dataset, in change order, in an encoding the encoder picks per column (text:
// plain or dictionary; integer, date, timestamp, money: plain or delta, with a power-of-ten
// scale; real: raw IEEE or decimal; boolean: one byte).
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
void putStream(std::string& out, std::string_view stream, std::vector<size_t>& cuts);

/// Wire values of the per-column encoding byte.
enum class Encoding : uint8_t { Plain = 0, Dictionary = 1, Delta = 1, Decimal = 1 };

class ColumnEncoder {
 public:
  ColumnEncoder(const Column& column, size_t max_field) : column_(&column), max_field_(max_field) {}

  /// Adds the next value of the column; false (nothing added) when it does not fit the column.
  /// Text is kept as a view: the value must outlive finish().
  bool add(const Value& value);

  /// Appends the column block to `out`, and stream ends to `cuts`.
  void finish(std::string& out, std::vector<size_t>& cuts) const;

 private:
  void finishText(std::string& out, std::vector<size_t>& cuts) const;
  void finishIntegral(std::string& out, std::vector<size_t>& cuts) const;
  void finishReal(std::string& out, std::vector<size_t>& cuts) const;

  const Column* column_;
  size_t max_field_;
  std::string presence_;                 // nullable only: 1 present, 0 null
  std::vector<std::string_view> texts_;  // text
  std::vector<uint64_t> ints_;           // integral types, two's complement bits
  std::vector<double> reals_;            // real
  std::string bools_;                    // boolean, 0 or 1
};

/// Why a value could not be read.
enum class ValueError : uint8_t {
  None,
  Truncated,
  VarintOverflow,
  BadPresence,
  BadBoolean,
  BadDate,
  BadReal,
  BadIndex,
  FieldTooLong,
};
const char* describe(ValueError e);

class ColumnDecoder {
 public:
  /// Reads the block of `column` holding `count` values (nulls included) from `in`, checking the
  /// size of every stream against `count` so that decoding allocates no more than the bytes
  /// present justify. `label` names the column in messages.
  Status read(wire::Reader& in, const Column& column, uint64_t count, const Limits& limits,
              const std::string& label);

  /// Decodes the next value and appends it to `out`.
  ValueError next(std::vector<Value>& out);

  /// True once every stream of the block has been consumed exactly.
  bool atEnd() const;

 private:
  ValueError nextText(std::vector<Value>& out);
  ValueError nextIntegral(std::vector<Value>& out);
  ValueError nextReal(std::vector<Value>& out);

  const Column* column_ = nullptr;
  size_t max_field_ = 0;
  Encoding encoding_ = Encoding::Plain;
  uint8_t scale_ = 0;
  uint64_t prev_ = 0;
  wire::Reader presence_;
  wire::Reader lengths_;   // text plain
  wire::Reader values_;    // text bytes, integral varints, real raw or decimal, boolean bytes
  wire::Reader escapes_;   // real decimal: values written raw
  std::vector<std::string_view> dictionary_;  // text dictionary, views into the payload
};

}  // namespace exportsync::protocol::internal
