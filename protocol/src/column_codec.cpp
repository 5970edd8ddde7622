// Column blocks, format version 1: docs/protocol.md "Column blocks" is the normative text.
#include "column_codec.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace exportsync::protocol::internal {
namespace {

using wire::Reader;

constexpr int64_t kMinDateDays = -719162;  // 0001-01-01
constexpr int64_t kMaxDateDays = 2932896;  // 9999-12-31
// 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z, as checkValue (what ISO text carries).
constexpr int64_t kMinTimestamp = -62135596800000000LL;
constexpr int64_t kMaxTimestamp = 253402300799999999LL;

// Integral scale: values are written divided by 10^scale, scale 0..18.
constexpr uint8_t kMaxScale = 18;
constexpr std::array<uint64_t, kMaxScale + 1> makePow10() {
  std::array<uint64_t, kMaxScale + 1> t{};
  t[0] = 1;
  for (size_t i = 1; i <= kMaxScale; ++i) {
    t[i] = t[i - 1] * 10;
  }
  return t;
}
constexpr std::array<uint64_t, kMaxScale + 1> kPow10 = makePow10();

// Decimal reals: every value of the column is m / 10^scale, |m| <= 2^53, scale 0..6.
constexpr int kMaxDecimalScale = 6;
constexpr std::array<double, kMaxDecimalScale + 1> kPow10Real = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
constexpr double kMaxMantissa = 9007199254740992.0;  // 2^53: every integer up to it is exact
constexpr int64_t kMaxMantissaInt = int64_t{1} << 53;

// A text dictionary is abandoned when, after this many values, nearly all (> 98%) were
// distinct: a column of unique values (references, free text) is not worth hashing to the end.
constexpr size_t kDictionaryProbe = 1024;
// And when it outgrows the caches: past this many entries lookups miss and cost more than the
// dictionary saves on the wire.
constexpr size_t kMaxDictionaryEntries = size_t{1} << 13;

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
  if (n > 0) {
    std::memcpy(&w, p, n);
  }
  h = (h ^ w) * 0x94D049BB133111EBULL;
  return h ^ (h >> 29);
}

uint64_t realBits(double d) {
  uint64_t raw = 0;
  std::memcpy(&raw, &d, sizeof raw);
  return raw;
}

// The smallest scale s for which d == m / 10^s exactly (bit for bit, so -0.0 has none), with m;
// false when there is none with s <= 6 and |m| <= 2^53. d * 10^s may round off the integer (as
// 4.095 * 1000 does), so the candidate is the nearest integer, and the division decides.
bool decimalForm(double d, int64_t& m, int& scale) {
  for (int s = 0; s <= kMaxDecimalScale; ++s) {
    const double t = std::nearbyint(d * kPow10Real[s]);
    if (!(std::fabs(t) <= kMaxMantissa)) {
      return false;  // larger scales only grow it
    }
    const auto candidate = static_cast<int64_t>(t);
    if (realBits(static_cast<double>(candidate) / kPow10Real[s]) == realBits(d)) {
      m = candidate;
      scale = s;
      return true;
    }
  }
  return false;
}

// Bytes needed for v (1 for 0).
uint8_t byteWidth(uint64_t v) {
  uint8_t w = 1;
  while (w < 8 && (v >> (8 * w)) != 0) {
    ++w;
  }
  return w;
}

size_t bitLength(uint64_t v) {
  size_t n = 0;
  while (v != 0) {
    v >>= 1;
    ++n;
  }
  return n;
}

// A planes stream: `width` bytes per value, transposed (every value's byte 0, then every byte
// 1, ...), so that each byte position gets its own zstd block and entropy table.
void putPlanes(wire::Buffer& out, const std::vector<uint64_t>& values, uint8_t width,
               std::vector<size_t>& cuts) {
  out.varint(values.size() * width);
  for (uint8_t k = 0; k < width; ++k) {
    for (uint64_t v : values) {
      out.u8(static_cast<uint8_t>(v >> (8 * k)));
    }
    cuts.push_back(out.size());
  }
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

void putStream(wire::Buffer& out, std::string_view stream, std::vector<size_t>& cuts) {
  out.varint(stream.size());
  out.append(stream);
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
    case ValueError::BadTimestamp: return "a timestamp lies outside years 0001-9999";
    case ValueError::BadReal: return "a real is not finite or its decimal form is out of range";
    case ValueError::BadIndex: return "a dictionary index is out of range";
    case ValueError::FieldTooLong: return "a text value is longer than the field limit";
    case ValueError::TextBudget:
      return "dictionaries expand to more text than the decompressed size limit";
  }
  return "unknown error";
}

// --- Encoder ----------------------------------------------------------------------------------

TextDictionary::TextDictionary() : slots_(64) {}

uint32_t TextDictionary::add(std::string_view s) {
  const uint64_t h = hashText(s);
  const auto tag = static_cast<uint32_t>(h >> 32);
  const size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const Slot slot = slots_[i];
    if (slot.index == 0) {
      arena_.append(s.data(), s.size());
      ends_.push_back(arena_.size());
      hashes_.push_back(h);
      slots_[i] = Slot{static_cast<uint32_t>(ends_.size()), tag};
      if (2 * ends_.size() > slots_.size()) {
        grow();
      }
      return static_cast<uint32_t>(ends_.size() - 1);
    }
    if (slot.tag == tag && entry(slot.index - 1) == s) {
      return slot.index - 1;
    }
  }
}

void TextDictionary::grow() {
  std::vector<Slot> bigger(slots_.size() * 2);
  const size_t mask = bigger.size() - 1;
  for (size_t e = 0; e < hashes_.size(); ++e) {
    size_t i = hashes_[e] & mask;
    while (bigger[i].index != 0) {
      i = (i + 1) & mask;
    }
    bigger[i] = Slot{static_cast<uint32_t>(e + 1), static_cast<uint32_t>(hashes_[e] >> 32)};
  }
  slots_ = std::move(bigger);
}

void ColumnEncoder::reserve(size_t count) {
  expected_ = count;
  if (column_->nullable) {
    presence_.reserve(count);
  }
  switch (column_->type) {
    case ColumnType::Text:
      indexes_.reserve(count);
      texts_.reserve(count);
      break;
    case ColumnType::Real: reals_.reserve(count); break;
    case ColumnType::Boolean: bools_.reserve(count); break;
    default: ints_.reserve(count); break;
  }
}

void ColumnEncoder::addText(std::string_view s) {
  plain_size_ += varintSize(s.size()) + s.size();
  if (!dictionary_on_) {
    lengths_.varint(s.size());
    bytes_.append(s);
    return;
  }
  const size_t before = dictionary_.size();
  const uint32_t index = dictionary_.add(s);
  if (dictionary_.size() != before) {
    dictionary_size_ += varintSize(s.size()) + s.size();
  }
  dictionary_size_ += varintSize(index);
  indexes_.push_back(index);
  texts_.push_back(s);
  if ((texts_.size() == kDictionaryProbe && 50 * dictionary_.size() > 49 * kDictionaryProbe) ||
      dictionary_.size() > kMaxDictionaryEntries) {
    dictionary_on_ = false;
    lengths_.reserve(expected_);
    bytes_.reserve(expected_ * plain_size_ / kDictionaryProbe);
    for (auto t : texts_) {
      lengths_.varint(t.size());
      bytes_.append(t);
    }
    dictionary_ = TextDictionary();
    indexes_ = {};
    texts_ = {};
  }
}

bool ColumnEncoder::add(const Value& value) {
  const auto& st = value.storage();
  if (std::holds_alternative<std::monostate>(st)) {
    if (!column_->nullable) {
      return false;
    }
    presence_.u8(0);
    return true;
  }
  switch (column_->type) {
    case ColumnType::Text: {
      const auto* s = std::get_if<std::string>(&st);
      if (s == nullptr || s->size() > max_field_) {
        return false;
      }
      addText(*s);
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
      bools_.u8(*b ? 1 : 0);
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
      if (t == nullptr || t->micros() < kMinTimestamp || t->micros() > kMaxTimestamp) {
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
    presence_.u8(1);
  }
  return true;
}

size_t ColumnEncoder::sizeBound() const {
  // encoding, scale, width, and up to three stream lengths, then the streams.
  size_t n = 3 + 3 * wire::kMaxVarintBytes + presence_.size();
  switch (column_->type) {
    case ColumnType::Text:
      n += dictionary_on_ ? std::max(dictionary_size_, plain_size_) : plain_size_;
      break;
    case ColumnType::Real: n += reals_.size() * 8; break;
    case ColumnType::Boolean: n += bools_.size(); break;
    default: n += ints_.size() * 8; break;
  }
  return n;
}

void ColumnEncoder::finish(wire::Buffer& out, std::vector<size_t>& cuts) const {
  const ColumnType type = column_->type;
  if (type == ColumnType::Text) {
    finishText(out, cuts);
  } else if (isIntegral(type)) {
    finishIntegral(out, cuts);
  } else if (type == ColumnType::Real) {
    finishReal(out, cuts);
  } else {
    out.u8(static_cast<uint8_t>(Encoding::Plain));
    if (column_->nullable) {
      putStream(out, presence_.view(), cuts);
    }
    putStream(out, bools_.view(), cuts);
  }
}

void ColumnEncoder::finishText(wire::Buffer& out, std::vector<size_t>& cuts) const {
  // Dictionary (entries in order of first appearance, then one index per value) when it is
  // smaller than the plain form (lengths, then bytes).
  const bool dictionary = dictionary_on_ && !indexes_.empty() && dictionary_size_ < plain_size_;
  out.u8(static_cast<uint8_t>(dictionary ? Encoding::Dictionary : Encoding::Plain));
  if (column_->nullable) {
    putStream(out, presence_.view(), cuts);
  }
  if (!dictionary_on_) {
    putStream(out, lengths_.view(), cuts);
    putStream(out, bytes_.view(), cuts);
    return;
  }
  wire::Buffer lengths;
  if (dictionary) {
    lengths.reserve(dictionary_.size());
    for (size_t i = 0; i < dictionary_.size(); ++i) {
      lengths.varint(dictionary_.entry(i).size());
    }
    putStream(out, lengths.view(), cuts);
    putStream(out, dictionary_.arena(), cuts);
  } else {
    wire::Buffer bytes;
    lengths.reserve(texts_.size());
    for (auto t : texts_) {
      lengths.varint(t.size());
      bytes.append(t);
    }
    putStream(out, lengths.view(), cuts);
    putStream(out, bytes.view(), cuts);
  }
  if (dictionary) {
    wire::Buffer index_stream;
    index_stream.reserve(indexes_.size());
    for (uint32_t i : indexes_) {
      index_stream.varint(i);
    }
    putStream(out, index_stream.view(), cuts);
  }
}

void ColumnEncoder::finishIntegral(wire::Buffer& out, std::vector<size_t>& cuts) const {
  // Scale: the largest power of ten dividing every value (seconds-resolution timestamps in
  // microseconds, whole amounts in centimes). Then plain or delta, whichever has fewer
  // significant bits in total, as zigzag byte planes.
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
  std::vector<uint64_t> plain;
  plain.reserve(ints_.size());
  size_t plain_bits = 0;
  size_t delta_bits = 0;
  uint64_t prev = 0;
  for (uint64_t v : ints_) {
    const auto s = static_cast<uint64_t>(static_cast<int64_t>(v) / divisor);
    plain.push_back(s);
    plain_bits += bitLength(wire::zigzag(s));
    delta_bits += bitLength(wire::zigzag(s - prev));
    prev = s;
  }
  const bool delta = delta_bits < plain_bits;
  uint64_t widest = 0;
  prev = 0;
  for (uint64_t& s : plain) {
    const uint64_t z = wire::zigzag(delta ? s - prev : s);
    prev = s;
    s = z;
    widest |= z;
  }
  const uint8_t width = byteWidth(widest);
  out.u8(static_cast<uint8_t>(delta ? Encoding::Delta : Encoding::Plain));
  out.u8(scale);
  out.u8(width);
  if (column_->nullable) {
    putStream(out, presence_.view(), cuts);
  }
  putPlanes(out, plain, width, cuts);
}

void ColumnEncoder::finishReal(wire::Buffer& out, std::vector<size_t>& cuts) const {
  // Decimal (m / 10^scale, as people and CSV files write quantities) when every value has that
  // form; otherwise the IEEE bits.
  std::vector<uint64_t> values;
  values.reserve(reals_.size());
  int scale = 0;
  bool decimal = !reals_.empty();
  std::vector<int> scales;
  scales.reserve(reals_.size());
  for (double d : reals_) {
    int64_t m = 0;
    int s = 0;
    if (!decimalForm(d, m, s)) {
      decimal = false;
      break;
    }
    values.push_back(static_cast<uint64_t>(m));
    scales.push_back(s);
    scale = std::max(scale, s);
  }
  uint64_t widest = 0;
  for (size_t i = 0; decimal && i < values.size(); ++i) {
    // The same number at the common scale: exact in integers, and the decoder's division of
    // the same real quotient rounds to the same double.
    auto m = static_cast<int64_t>(values[i]);
    for (int k = scales[i]; k < scale; ++k) {
      if (m > kMaxMantissaInt / 10 || m < -kMaxMantissaInt / 10) {
        decimal = false;
        break;
      }
      m *= 10;
    }
    values[i] = wire::zigzag(static_cast<uint64_t>(m));
    widest |= values[i];
  }
  if (!decimal) {
    values.clear();
    for (double d : reals_) {
      values.push_back(realBits(d));
    }
  }
  out.u8(static_cast<uint8_t>(decimal ? Encoding::Decimal : Encoding::Plain));
  if (decimal) {
    out.u8(static_cast<uint8_t>(scale));
    out.u8(byteWidth(widest));
  }
  if (column_->nullable) {
    putStream(out, presence_.view(), cuts);
  }
  putPlanes(out, values, decimal ? byteWidth(widest) : 8, cuts);
}

// --- Decoder ----------------------------------------------------------------------------------

namespace {

// A stream of `count` varints takes 1 to 10 bytes each.
bool fitsVarints(const Reader& r, uint64_t count) {
  return r.remaining() >= count && r.remaining() <= count * wire::kMaxVarintBytes;
}

}  // namespace

Status ColumnDecoder::read(Reader& in, const Column& column, uint64_t count, const Limits& limits,
                           size_t& text_budget, const std::string& label) {
  column_ = &column;
  max_field_ = limits.max_field;
  text_budget_ = &text_budget;
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
  // Integral columns, and decimal reals: scale and plane width.
  const bool decimal = type == ColumnType::Real && encoding_ == Encoding::Decimal;
  if (isIntegral(type) || decimal) {
    const int max_scale = decimal ? kMaxDecimalScale : kMaxScale;
    if (!in.u8(scale_)) {
      return readError(in, label + " scale");
    }
    if (scale_ > max_scale) {
      return batchError(label + ": scale " + std::to_string(scale_) + " is more than " +
                        std::to_string(max_scale));
    }
    if (!in.u8(width_)) {
      return readError(in, label + " width");
    }
    if (width_ < 1 || width_ > 8) {
      return batchError(label + ": plane width " + std::to_string(width_) + " is not in 1..8");
    }
  } else if (type == ColumnType::Real) {
    width_ = 8;
  }
  uint64_t present = count;
  if (column.nullable) {
    if (auto s = readStream(in, label + " presence", presence_); !s) {
      return s;
    }
    if (presence_.remaining() != count) {
      return batchError(label + ": presence stream holds " + std::to_string(presence_.remaining()) +
                        " bytes for " + std::to_string(count) + " values");
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
  auto size_error = [&](const char* stream) {
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
          return size_error("lengths");
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
        return size_error("indexes");
      }
      break;
    }
    case ColumnType::Boolean:
      if (auto s = readStream(in, label + " values", values_); !s) {
        return s;
      }
      if (values_.remaining() != present) {
        return size_error("values");
      }
      break;
    default: {
      // Integral and real: planes of `width_` bytes per present value.
      Reader planes;
      if (auto s = readStream(in, label + " planes", planes); !s) {
        return s;
      }
      if (planes.remaining() != present * width_) {
        return size_error("planes");
      }
      std::string_view bytes;
      (void)planes.bytes(planes.remaining(), bytes);
      planes_ = bytes.data();
      plane_size_ = static_cast<size_t>(present);
      break;
    }
  }
  return Status::ok();
}

bool ColumnDecoder::atEnd() const {
  return presence_.atEnd() && lengths_.atEnd() && values_.atEnd() &&
         next_plane_value_ == plane_size_;
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
    const std::string_view entry = dictionary_[static_cast<size_t>(n)];
    if (entry.size() > *text_budget_) {
      return ValueError::TextBudget;
    }
    *text_budget_ -= entry.size();
    out.emplace_back(std::string(entry));
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

uint64_t ColumnDecoder::nextPlaneValue() {
  // Callers check next_plane_value_ < plane_size_ first.
  const auto* p = reinterpret_cast<const uint8_t*>(planes_) + next_plane_value_++;
  uint64_t v = 0;
  for (size_t k = 0; k < width_; ++k) {
    v |= static_cast<uint64_t>(p[k * plane_size_]) << (8 * k);
  }
  return v;
}

ValueError ColumnDecoder::nextIntegral(std::vector<Value>& out) {
  if (next_plane_value_ == plane_size_) {
    return ValueError::Truncated;
  }
  uint64_t scaled = wire::unzigzag(nextPlaneValue());
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
    case ColumnType::Timestamp:
      if (v < kMinTimestamp || v > kMaxTimestamp) {
        return ValueError::BadTimestamp;
      }
      out.emplace_back(Timestamp::fromMicros(v));
      break;
    default: out.emplace_back(Money::fromCentimes(v)); break;
  }
  return ValueError::None;
}

ValueError ColumnDecoder::nextReal(std::vector<Value>& out) {
  if (next_plane_value_ == plane_size_) {
    return ValueError::Truncated;
  }
  const uint64_t bits = nextPlaneValue();
  double d = 0;
  if (encoding_ == Encoding::Decimal) {
    const auto m = static_cast<int64_t>(wire::unzigzag(bits));
    if (m > kMaxMantissaInt || m < -kMaxMantissaInt) {
      return ValueError::BadReal;
    }
    d = static_cast<double>(m) / kPow10Real[scale_];
  } else {
    std::memcpy(&d, &bits, sizeof d);
  }
  if (!std::isfinite(d)) {
    return ValueError::BadReal;
  }
  out.emplace_back(d);
  return ValueError::None;
}

}  // namespace exportsync::protocol::internal
