// Byte-level building blocks of the batch format (docs/protocol.md, "Primitives"): unsigned
// LEB128 varints, zigzag, little-endian fixed-width integers, and a bounds-checked reader.
//
// THREAD: values; a Reader is used by one thread. OWNERSHIP: a Reader views bytes it does not
// own; they must outlive it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace exportsync::protocol::wire {

/// Longest varint of a uint64_t: ceil(64 / 7) bytes.
inline constexpr size_t kMaxVarintBytes = 10;

/// Maps signed to unsigned so that small magnitudes give small varints: 0, -1, 1, -2 -> 0, 1,
/// 2, 3. Works on the two's-complement bits, so no signed overflow is possible.
inline uint64_t zigzag(uint64_t v) { return (v << 1) ^ (0 - (v >> 63)); }
inline uint64_t unzigzag(uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }

/// Appends a varint to a string (tests and tools; the encoder uses Buffer).
inline void putVarint(std::string& out, uint64_t v) {
  std::array<char, kMaxVarintBytes> buf{};
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf.data(), n);
}

/// Writes `v` little-endian into `dst[0..bytes)`.
inline void storeLe(char* dst, uint64_t v, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) {
    dst[i] = static_cast<char>(v >> (8 * i));
  }
}

inline uint64_t loadLe(const uint8_t* p, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) {
    v |= static_cast<uint64_t>(p[i]) << (8 * i);
  }
  return v;
}

/// A length-prefixed byte string: varint length, then the bytes.
inline void putString(std::string& out, std::string_view s) {
  putVarint(out, s.size());
  out.append(s.data(), s.size());
}

/// A growable byte buffer whose small appends are inlined (std::string::append is a call per
/// varint, which dominated encoding). Capacity is not initialised, so reserving generously costs
/// nothing until written. THREAD: one thread. OWNERSHIP: owns its bytes.
class Buffer {
 public:
  [[nodiscard]] size_t size() const { return size_; }
  [[nodiscard]] std::string_view view() const { return {data_.get(), size_}; }
  void reserve(size_t n) {
    if (n > capacity_) {
      grow(n);
    }
  }

  void u8(uint8_t v) {
    ensure(1)[0] = static_cast<char>(v);
    size_ += 1;
  }
  void varint(uint64_t v) {
    char* p = ensure(kMaxVarintBytes);
    size_t n = 0;
    while (v >= 0x80) {
      p[n++] = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    p[n++] = static_cast<char>(v);
    size_ += n;
  }
  void le(uint64_t v, size_t bytes) {
    storeLe(ensure(bytes), v, bytes);
    size_ += bytes;
  }
  void append(std::string_view s) {
    if (!s.empty()) {
      std::memcpy(ensure(s.size()), s.data(), s.size());
      size_ += s.size();
    }
  }

 private:
  // Room for `n` more bytes; returns where they go.
  char* ensure(size_t n) {
    if (capacity_ - size_ < n) {
      const size_t want = size_ + n;
      grow(want > 2 * capacity_ ? (want > 64 ? want : 64) : 2 * capacity_);
    }
    return data_.get() + size_;
  }
  void grow(size_t capacity) {
    // NOLINTNEXTLINE(modernize-avoid-c-arrays): deliberately not value-initialised
    std::unique_ptr<char[]> bigger(new char[capacity]);
    if (size_ > 0) {
      std::memcpy(bigger.get(), data_.get(), size_);
    }
    data_ = std::move(bigger);
    capacity_ = capacity;
  }

  std::unique_ptr<char[]> data_;  // NOLINT(modernize-avoid-c-arrays): see grow()
  size_t size_ = 0;
  size_t capacity_ = 0;
};

/// Reads from a byte range, never past its end. Each read returns false on failure and leaves
/// the reason in error(); the position is then unspecified.
class Reader {
 public:
  enum class Error : uint8_t { None, Truncated, VarintOverflow };

  Reader() = default;
  explicit Reader(std::string_view bytes)
      : p_(reinterpret_cast<const uint8_t*>(bytes.data())), end_(p_ + bytes.size()) {}

  [[nodiscard]] size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  [[nodiscard]] bool atEnd() const { return p_ == end_; }
  [[nodiscard]] Error error() const { return error_; }

  bool u8(uint8_t& out) {
    if (p_ == end_) {
      return fail(Error::Truncated);
    }
    out = *p_++;
    return true;
  }

  bool le(uint64_t& out, size_t bytes) {
    if (remaining() < bytes) {
      return fail(Error::Truncated);
    }
    out = loadLe(p_, bytes);
    p_ += bytes;
    return true;
  }

  bool varint(uint64_t& out) {
    // Fast path: one byte, the common case for deltas, lengths and indexes.
    if (p_ != end_ && *p_ < 0x80) {
      out = *p_++;
      return true;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < kMaxVarintBytes; ++i) {
      if (p_ == end_) {
        return fail(Error::Truncated);
      }
      const uint8_t b = *p_++;
      // The tenth byte holds bit 63 only: anything else does not fit 64 bits.
      if (i == kMaxVarintBytes - 1 && b > 1) {
        return fail(Error::VarintOverflow);
      }
      v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if (b < 0x80) {
        out = v;
        return true;
      }
    }
    return fail(Error::VarintOverflow);
  }

  /// Views the next `n` bytes.
  bool bytes(size_t n, std::string_view& out) {
    if (remaining() < n) {
      return fail(Error::Truncated);
    }
    out = std::string_view(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }

 private:
  bool fail(Error e) {
    error_ = e;
    return false;
  }

  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
  Error error_ = Error::None;
};

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF), the
/// checksum of zlib and PNG: crc32("123456789") == 0xCBF43926. `crc` continues a previous call.
uint32_t crc32(std::string_view data, uint32_t crc = 0);

}  // namespace exportsync::protocol::wire
