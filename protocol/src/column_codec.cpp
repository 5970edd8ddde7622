// Column blocks, format version 1: docs/protocol.md "Column blocks" is the normative text.
#include "column_codec.hpp"

#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace exportsync::protocol::internal {
namespace {

using wire::putU8;
using wire::putVarint;
using wire::Reader;

constexpr int64_t kMinDateDays = -719162;  // 0001-01-01
constexpr int64_t kMaxDateDays = 2932896;  // 9999-12-31

// Integral scale: values are written divided by 10^scale, scale 0..18.
constexpr uint8_t kMaxScale = 18;
constexpr uint64_t kPow10[kMaxScale + 1] = {1ULL,
                                            10ULL,
                                            100ULL,
                                            1000ULL,
                                            10000ULL,
                                            100000ULL,
                                            1000000ULL,
                                            10000000ULL,
                                            100000000ULL,
                                            1000000000ULL,
                                            10000000000ULL,
                                            100000000000ULL,
                                            1000000000000ULL,
                                            10000000000000ULL,
                                            100000000000000ULL,
                                            1000000000000000ULL,
                                            10000000000000000ULL,
                                            100000000000000000ULL,
                                            1000000000000000000ULL};

// Decimal reals: m / 10^s with |m| <= 2^53 and s in 0..6; tag 7 escapes to 8 raw bytes.
constexpr uint64_t kDecimalEscape = 7;
constexpr int kMaxDecimalScale = 6;
constexpr double kPow10Real[kMaxDecimalScale + 1] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
constexpr double kMaxMantissa = 9007199254740992.0;  // 2^53: every integer up to it is exact

// A text dictionary is abandoned when, after this many values, nearly all (> 98%) were
// distinct: a column of unique values (references, free text) is not worth hashing to the end.
constexpr size_t kDictionaryProbe = 1024;

bool isIntegral(ColumnType t) {
  return t == ColumnType::Integer || t == ColumnType::Date || t == ColumnType::Timestamp ||
         t == ColumnType::Money;
}

size_t varintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// A fast hash for short strings, 8 bytes at a time (no need for DoS resistance: the encoder
// hashes the agent's own data, and a bad distribution only costs time).
uint64_t hashText(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ (n * 0xFF51AFD7ED558CCDULL);
  uint64_t w = 0;
  while (n >= 8) {
    std::memcpy(&w, p, 8);  // host byte order: the hash never leaves this process
    h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  w = 0;
  std::memcpy(&w, p, n);
  h = (h ^ w) * 0x94D049BB133111EBULL;
  return h ^ (h >> 29);
}

// Distinct strings in order of first appearance, with an open-addressing index over them.
class TextDictionary {
 public:
  explicit TextDictionary(size_t expected) {
    size_t cap = 64;
    while (cap < 2 * expected && cap < (size_t{1} << 20)) {
      cap *= 2;
    }
    slots_.assign(cap, 0);
  }

  /// The index of `s`, adding it if new.
  uint32_t add(std::string_view s) {
    const uint64_t h = hashText(s);
    size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const uint32_t slot = slots_[i];
      if (slot == 0) {
        entries_.push_back(s);
        hashes_.push_back(h);
        slots_[i] = static_cast<uint32_t>(entries_.size());
        if (2 * entries_.size() > slots_.size()) {
          grow();
        }
        return static_cast<uint32_t>(entries_.size() - 1);
      }
      if (hashes_[slot - 1] == h && entries_[slot - 1] == s) {
        return slot - 1;
      }
    }
  }

  const std::vector<std::string_view>& entries() const { return entries_; }

 private:
  void grow() {
    std::vector<uint32_t> bigger(slots_.size() * 2, 0);
    const size_t mask = bigger.size() - 1;
    for (size_t e = 0; e < entries_.size(); ++e) {
      size_t i = hashes_[e] & mask;
      while (bigger[i] != 0) {
        i = (i + 1) & mask;
      }
      bigger[i] = static_cast<uint32_t>(e + 1);
    }
    slots_ = std::move(bigger);
  }

  std::vector<uint32_t> slots_;  // 0 empty, else entry index + 1
  std::vector<std::string_view> entries_;
  std::vector<uint64_t> hashes_;
};

bool sameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// The decimal tag of `d`, or kDecimalEscape when no exact m / 10^s form exists.
uint64_t decimalTag(double d) {
  for (int s = 0; s <= kMaxDecimalScale; ++s) {
    const double t = d * kPow10Real[s];
    if (!(std::fabs(t) <= kMaxMantissa)) {
      break;  // larger scales only grow it
    }
    if (t != std::trunc(t)) {
      continue;
    }
    const auto m = static_cast<int64_t>(t);
    if (sameBits(static_cast<double>(m) / kPow10Real[s], d)) {
      return (wire::zigzag(static_cast<uint64_t>(m)) << 3) | static_cast<uint64_t>(s);
    }
  }
  return kDecimalEscape;
}

uint64_t realBits(double d) {
  uint64_t raw = 0;
  std::memcpy(&raw, &d, sizeof raw);
  return raw;
}

}  // namespace

Status batchError(std::string what) { return Status::invalid("batch: " + std::move(what)); }

Status readError(const Reader& r, const std::string& what) {
  if (r.error() == Reader::Error::VarintOverflow) {
    return batchError("varint overflow in " + what);
  }
  return batchError("truncated while reading " + what);
}

Status readStream(Reader& in, const std::string& what, Reader& out) {
  uint64_t n = 0;
  if (!in.varint(n)) {
    return readError(in, what + " stream length");
  }
  if (n > in.remaining()) {
    return batchError(what + " stream declares " + std::to_string(n) + " bytes but only " +
                      std::to_string(in.remaining()) + " remain");
  }
  std::string_view bytes;
  if (!in.bytes(static_cast<size_t>(n), bytes)) {
    return readError(in, what);
  }
  out = Reader(bytes);
  return Status::ok();
}

void putStream(std::string& out, std::string_view stream, std::vector<size_t>& cuts) {
  putVarint(out, stream.size());
  out.append(stream.data(), stream.size());
  cuts.push_back(out.size());
}

const char* describe(ValueError e) {
  switch (e) {
    case ValueError::None: return "no error";
    case ValueError::Truncated: return "a stream ends before its last value";
    case ValueError::VarintOverflow: return "a varint does not fit 64 bits";
    case ValueError::BadPresence: return "a presence byte is neither 0 nor 1";
    case ValueError::BadBoolean: return "a boolean byte is neither 0 nor 1";
    case ValueError::BadDate: return "a date lies outside years 0001-9999";
    case ValueError::BadReal: return "a real is not finite or its decimal form is out of range";
    case ValueError::BadIndex: return "a dictionary index is out of range";
    case ValueError::FieldTooLong: return "a text value is longer than the field limit";
  }
  return "unknown error";
}

// --- Encoder ----------------------------------------------------------------------------------

bool ColumnEncoder::add(const Value& value) {
  const auto& st = value.storage();
  if (std::holds_alternative<std::monostate>(st)) {
    if (!column_->nullable) {
      return false;
    }
    putU8(presence_, 0);
    return true;
  }
  switch (column_->type) {
    case ColumnType::Text: {
      const auto* s = std::get_if<std::string>(&st);
      if (s == nullptr || s->size() > max_field_) {
        return false;
      }
      texts_.emplace_back(*s);
      break;
    }
    case ColumnType::Integer: {
      const auto* i = std::get_if<int64_t>(&st);
      if (i == nullptr) {
        return false;
      }
      ints_.push_back(static_cast<uint64_t>(*i));
      break;
    }
    case ColumnType::Real: {
      double d = 0;
      if (const auto* r = std::get_if<double>(&st)) {
        d = *r;
      } else if (const auto* i = std::get_if<int64_t>(&st)) {
        d = static_cast<double>(*i);  // an integer is accepted for a real column
      } else {
        return false;
      }
      if (!std::isfinite(d)) {
        return false;
      }
      reals_.push_back(d);
      break;
    }
    case ColumnType::Boolean: {
      const auto* b = std::get_if<bool>(&st);
      if (b == nullptr) {
        return false;
      }
      putU8(bools_, *b ? 1 : 0);
      break;
    }
    case ColumnType::Date: {
      const auto* d = std::get_if<Date>(&st);
      if (d == nullptr || d->days() < kMinDateDays || d->days() > kMaxDateDays) {
        return false;
      }
      ints_.push_back(static_cast<uint64_t>(d->days()));
      break;
    }
    case ColumnType::Timestamp: {
      const auto* t = std::get_if<Timestamp>(&st);
      if (t == nullptr) {
        return false;
      }
      ints_.push_back(static_cast<uint64_t>(t->micros()));
      break;
    }
    case ColumnType::Money: {
      const auto* m = std::get_if<Money>(&st);
      if (m == nullptr) {
        return false;
      }
      ints_.push_back(static_cast<uint64_t>(m->centimes()));
      break;
    }
  }
  if (column_->nullable) {
    putU8(presence_, 1);
  }
  return true;
}

void ColumnEncoder::finish(std::string& out, std::vector<size_t>& cuts) const {
  const ColumnType type = column_->type;
  if (type == ColumnType::Text) {
    finishText(out, cuts);
  } else if (isIntegral(type)) {
    finishIntegral(out, cuts);
  } else if (type == ColumnType::Real) {
    finishReal(out, cuts);
  } else {
    putU8(out, static_cast<uint8_t>(Encoding::Plain));
    if (column_->nullable) {
      putStream(out, presence_, cuts);
    }
    putStream(out, bools_, cuts);
  }
}

void ColumnEncoder::finishText(std::string& out, std::vector<size_t>& cuts) const {
  // Dictionary (entries in order of first appearance, then one index per value) when it is
  // smaller than the plain form. First-appearance order also makes columns that move together
  // (an exporter's ICE and name) give identical index streams, which zstd then matches whole.
  size_t plain_size = 0;
  for (auto t : texts_) {
    plain_size += varintSize(t.size()) + t.size();
  }
  TextDictionary dictionary(texts_.size() < 4096 ? texts_.size() : 4096);
  std::vector<uint32_t> indexes;
  bool use_dictionary = texts_.size() > 1;
  if (use_dictionary) {
    indexes.reserve(texts_.size());
    size_t dict_size = 0;
    for (size_t i = 0; i < texts_.size(); ++i) {
      const size_t before = dictionary.entries().size();
      const uint32_t index = dictionary.add(texts_[i]);
      if (dictionary.entries().size() != before) {
        dict_size += varintSize(texts_[i].size()) + texts_[i].size();
      }
      if (i + 1 == kDictionaryProbe && 50 * dictionary.entries().size() > 49 * kDictionaryProbe) {
        use_dictionary = false;  // nearly all distinct: not worth hashing the rest
        break;
      }
      indexes.push_back(index);
      dict_size += varintSize(index);
    }
    use_dictionary = use_dictionary && dict_size < plain_size;
  }
  putU8(out, static_cast<uint8_t>(use_dictionary ? Encoding::Dictionary : Encoding::Plain));
  if (column_->nullable) {
    putStream(out, presence_, cuts);
  }
  const auto& strings = use_dictionary ? dictionary.entries() : texts_;
  std::string lengths;
  std::string bytes;
  lengths.reserve(strings.size());
  for (auto t : strings) {
    putVarint(lengths, t.size());
    bytes.append(t.data(), t.size());
  }
  putStream(out, lengths, cuts);
  putStream(out, bytes, cuts);
  if (use_dictionary) {
    std::string index_stream;
    index_stream.reserve(indexes.size());
    for (uint32_t i : indexes) {
      putVarint(index_stream, i);
    }
    putStream(out, index_stream, cuts);
  }
}

void ColumnEncoder::finishIntegral(std::string& out, std::vector<size_t>& cuts) const {
  // Scale: the largest power of ten dividing every value (seconds-resolution timestamps in
  // microseconds, whole amounts in centimes). Then plain or delta, whichever is smaller.
  uint8_t scale = kMaxScale;
  bool any_nonzero = false;
  for (uint64_t v : ints_) {
    const auto x = static_cast<int64_t>(v);
    any_nonzero = any_nonzero || x != 0;
    while (scale > 0 && x % static_cast<int64_t>(kPow10[scale]) != 0) {
      --scale;
    }
    if (scale == 0) {
      break;
    }
  }
  if (!any_nonzero) {
    scale = 0;
  }
  const auto divisor = static_cast<int64_t>(kPow10[scale]);
  std::vector<uint64_t> scaled;
  scaled.reserve(ints_.size());
  size_t plain_size = 0;
  size_t delta_size = 0;
  uint64_t prev = 0;
  for (uint64_t v : ints_) {
    const auto s = static_cast<uint64_t>(static_cast<int64_t>(v) / divisor);
    scaled.push_back(s);
    plain_size += varintSize(wire::zigzag(s));
    delta_size += varintSize(wire::zigzag(s - prev));
    prev = s;
  }
  const bool delta = delta_size < plain_size;
  putU8(out, static_cast<uint8_t>(delta ? Encoding::Delta : Encoding::Plain));
  putU8(out, scale);
  if (column_->nullable) {
    putStream(out, presence_, cuts);
  }
  std::string values;
  values.reserve(delta ? delta_size : plain_size);
  prev = 0;
  for (uint64_t s : scaled) {
    putVarint(values, wire::zigzag(delta ? s - prev : s));
    prev = s;
  }
  putStream(out, values, cuts);
}

void ColumnEncoder::finishReal(std::string& out, std::vector<size_t>& cuts) const {
  // Decimal (m / 10^s, as people and CSV files write quantities) unless raw IEEE is smaller.
  std::vector<uint64_t> tags;
  tags.reserve(reals_.size());
  size_t decimal_size = 0;
  for (double d : reals_) {
    const uint64_t tag = decimalTag(d);
    tags.push_back(tag);
    decimal_size += varintSize(tag) + (tag == kDecimalEscape ? 8 : 0);
  }
  const bool decimal = decimal_size < 8 * reals_.size();
  putU8(out, static_cast<uint8_t>(decimal ? Encoding::Decimal : Encoding::Plain));
  if (column_->nullable) {
    putStream(out, presence_, cuts);
  }
  std::string values;
  std::string escapes;
  values.reserve(decimal ? decimal_size : 8 * reals_.size());
  for (size_t i = 0; i < reals_.size(); ++i) {
    if (!decimal) {
      wire::putLe(values, realBits(reals_[i]), 8);
      continue;
    }
    putVarint(values, tags[i]);
    if (tags[i] == kDecimalEscape) {
      wire::putLe(escapes, realBits(reals_[i]), 8);
    }
  }
  putStream(out, values, cuts);
  if (decimal) {
    putStream(out, escapes, cuts);
  }
}

// --- Decoder ----------------------------------------------------------------------------------

namespace {

// A stream of `count` varints takes 1 to 10 bytes each.
bool fitsVarints(const Reader& r, uint64_t count) {
  return r.remaining() >= count && r.remaining() <= count * wire::kMaxVarintBytes;
}

}  // namespace

Status ColumnDecoder::read(Reader& in, const Column& column, uint64_t count, const Limits& limits,
                           const std::string& label) {
  column_ = &column;
  max_field_ = limits.max_field;
  const ColumnType type = column.type;
  uint8_t encoding = 0;
  if (!in.u8(encoding)) {
    return readError(in, label + " encoding");
  }
  const bool known = encoding == static_cast<uint8_t>(Encoding::Plain) ||
                     (encoding == 1 && type != ColumnType::Boolean);
  if (!known) {
    return batchError(label + ": unknown encoding " + std::to_string(encoding) + " for a " +
                      typeName(type) + " column");
  }
  encoding_ = static_cast<Encoding>(encoding);
  if (isIntegral(type)) {
    if (!in.u8(scale_)) {
      return readError(in, label + " scale");
    }
    if (scale_ > kMaxScale) {
      return batchError(label + ": scale " + std::to_string(scale_) + " is more than 18");
    }
  }
  uint64_t present = count;
  if (column.nullable) {
    if (auto s = readStream(in, label + " presence", presence_); !s) {
      return s;
    }
    if (presence_.remaining() != count) {
      return batchError(label + ": presence stream holds " +
                        std::to_string(presence_.remaining()) + " bytes for " +
                        std::to_string(count) + " values");
    }
    Reader scan = presence_;
    std::string_view bytes;
    (void)scan.bytes(scan.remaining(), bytes);
    present = 0;
    for (char b : bytes) {
      if (b != 0 && b != 1) {
        return batchError(label + ": " + describe(ValueError::BadPresence));
      }
      present += static_cast<uint64_t>(b);
    }
  }
  auto sizeError = [&](const char* stream) {
    return batchError(label + ": " + stream + " stream size does not fit " +
                      std::to_string(present) + " " + typeName(type) + " values");
  };
  switch (type) {
    case ColumnType::Text: {
      Reader lengths;
      if (auto s = readStream(in, label + " lengths", lengths); !s) {
        return s;
      }
      if (auto s = readStream(in, label + " bytes", values_); !s) {
        return s;
      }
      if (encoding_ == Encoding::Plain) {
        if (!fitsVarints(lengths, present)) {
          return sizeError("lengths");
        }
        lengths_ = lengths;
        break;
      }
      // Dictionary: the entries are read now (their count is bounded by the lengths stream's
      // bytes), then one index per value.
      while (!lengths.atEnd()) {
        uint64_t n = 0;
        if (!lengths.varint(n)) {
          return readError(lengths, label + " dictionary lengths");
        }
        if (n > max_field_) {
          return batchError(label + ": " + describe(ValueError::FieldTooLong));
        }
        std::string_view entry;
        if (!values_.bytes(static_cast<size_t>(n), entry)) {
          return batchError(label + ": dictionary bytes stream is shorter than its lengths say");
        }
        dictionary_.push_back(entry);
      }
      if (!values_.atEnd()) {
        return batchError(label + ": dictionary bytes stream is longer than its lengths say");
      }
      if (dictionary_.size() > present) {
        return batchError(label + ": dictionary has " + std::to_string(dictionary_.size()) +
                          " entries for " + std::to_string(present) + " values");
      }
      if (auto s = readStream(in, label + " indexes", lengths_); !s) {
        return s;
      }
      if (!fitsVarints(lengths_, present)) {
        return sizeError("indexes");
      }
      break;
    }
    case ColumnType::Real:
      if (auto s = readStream(in, label + " values", values_); !s) {
        return s;
      }
      if (encoding_ == Encoding::Plain) {
        if (values_.remaining() != present * 8) {
          return sizeError("values");
        }
        break;
      }
      if (!fitsVarints(values_, present)) {
        return sizeError("values");
      }
      if (auto s = readStream(in, label + " escapes", escapes_); !s) {
        return s;
      }
      if (escapes_.remaining() % 8 != 0 || escapes_.remaining() / 8 > present) {
        return sizeError("escapes");
      }
      break;
    case ColumnType::Boolean:
      if (auto s = readStream(in, label + " values", values_); !s) {
        return s;
      }
      if (values_.remaining() != present) {
        return sizeError("values");
      }
      break;
    default:
      if (auto s = readStream(in, label + " values", values_); !s) {
        return s;
      }
      if (!fitsVarints(values_, present)) {
        return sizeError("values");
      }
      break;
  }
  return Status::ok();
}

bool ColumnDecoder::atEnd() const {
  return presence_.atEnd() && lengths_.atEnd() && values_.atEnd() && escapes_.atEnd();
}

namespace {
ValueError fromReader(const Reader& r) {
  return r.error() == Reader::Error::VarintOverflow ? ValueError::VarintOverflow
                                                    : ValueError::Truncated;
}
}  // namespace

ValueError ColumnDecoder::next(std::vector<Value>& out) {
  if (column_->nullable) {
    uint8_t p = 0;
    if (!presence_.u8(p)) {
      return fromReader(presence_);
    }
    if (p == 0) {
      out.emplace_back();
      return ValueError::None;
    }
  }
  switch (column_->type) {
    case ColumnType::Text: return nextText(out);
    case ColumnType::Real: return nextReal(out);
    case ColumnType::Boolean: {
      uint8_t b = 0;
      if (!values_.u8(b)) {
        return fromReader(values_);
      }
      if (b > 1) {
        return ValueError::BadBoolean;
      }
      out.emplace_back(b == 1);
      return ValueError::None;
    }
    default: return nextIntegral(out);
  }
}

ValueError ColumnDecoder::nextText(std::vector<Value>& out) {
  uint64_t n = 0;
  if (!lengths_.varint(n)) {
    return fromReader(lengths_);
  }
  if (encoding_ == Encoding::Dictionary) {
    if (n >= dictionary_.size()) {
      return ValueError::BadIndex;
    }
    out.emplace_back(std::string(dictionary_[static_cast<size_t>(n)]));
    return ValueError::None;
  }
  if (n > max_field_) {
    return ValueError::FieldTooLong;
  }
  std::string_view s;
  if (!values_.bytes(static_cast<size_t>(n), s)) {
    return fromReader(values_);
  }
  out.emplace_back(std::string(s));
  return ValueError::None;
}

ValueError ColumnDecoder::nextIntegral(std::vector<Value>& out) {
  uint64_t z = 0;
  if (!values_.varint(z)) {
    return fromReader(values_);
  }
  uint64_t scaled = wire::unzigzag(z);
  if (encoding_ == Encoding::Delta) {
    scaled += prev_;  // wraps like the encoder's subtraction
    prev_ = scaled;
  }
  const auto v = static_cast<int64_t>(scaled * kPow10[scale_]);
  switch (column_->type) {
    case ColumnType::Integer: out.emplace_back(v); break;
    case ColumnType::Date:
      if (v < kMinDateDays || v > kMaxDateDays) {
        return ValueError::BadDate;
      }
      out.emplace_back(Date::fromDays(v));
      break;
    case ColumnType::Timestamp: out.emplace_back(Timestamp::fromMicros(v)); break;
    default: out.emplace_back(Money::fromCentimes(v)); break;
  }
  return ValueError::None;
}

ValueError ColumnDecoder::nextReal(std::vector<Value>& out) {
  double d = 0;
  uint64_t raw = 0;
  if (encoding_ == Encoding::Plain) {
    if (!values_.le(raw, 8)) {
      return fromReader(values_);
    }
    std::memcpy(&d, &raw, sizeof d);
  } else {
    uint64_t tag = 0;
    if (!values_.varint(tag)) {
      return fromReader(values_);
    }
    if (tag == kDecimalEscape) {
      if (!escapes_.le(raw, 8)) {
        return fromReader(escapes_);
      }
      std::memcpy(&d, &raw, sizeof d);
    } else {
      const uint64_t s = tag & 7;
      const auto m = static_cast<int64_t>(wire::unzigzag(tag >> 3));
      if (s == kDecimalEscape || m > static_cast<int64_t>(kMaxMantissa) ||
          m < -static_cast<int64_t>(kMaxMantissa)) {
        return ValueError::BadReal;
      }
      d = static_cast<double>(m) / kPow10Real[s];
    }
  }
  if (!std::isfinite(d)) {
    return ValueError::BadReal;
  }
  out.emplace_back(d);
  return ValueError::None;
}

}  // namespace exportsync::protocol::internal
