// The benchmark dataset `shipments`: 16 columns of every type, ~190 bytes per row as CSV.
// Shared by the bench plugin (rows go through the SDK Sink) and the bench program (the same
// rows go through plain SQLite inserts, and their CSV size is measured), so both paths write
// byte-for-byte the same data.
//
// THREAD: pure functions of the row number.
#pragma once

#include <cstdint>
#include <string>

#include "exportsync/plugin.hpp"

namespace exportsync::bench {

inline constexpr const char* kDataset = "shipments";
inline constexpr int kColumnCount = 16;

/// Declares `shipments`. Column names stay within 15 characters (no heap in std::string).
inline void declareShipments(Schema& schema) {
  schema.dataset(kDataset, 1)
      .key("id", ColumnType::Text)
      .column("exporter", ColumnType::Text)
      .column("exporter_ice", ColumnType::Text)
      .column("product", ColumnType::Text)
      .column("hs_code", ColumnType::Text)
      .column("destination", ColumnType::Text)
      .column("port", ColumnType::Text)
      .column("quantity", ColumnType::Integer)
      .column("net_weight_kg", ColumnType::Real)
      .column("unit_price", ColumnType::Money)
      .column("fob_value", ColumnType::Money)
      .column("certified", ColumnType::Boolean)
      .column("shipped_on", ColumnType::Date)
      .column("declared_at", ColumnType::Timestamp)
      .column("updated_at", ColumnType::Timestamp)
      .nullable("note", ColumnType::Text);
}

namespace detail {
// SplitMix64: a cheap, well-mixed hash of the row number, so rows differ but are reproducible.
inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
// `n` decimal digits of `v`, zero-padded.
inline std::string digits(uint64_t v, int n) {
  std::string s(static_cast<size_t>(n), '0');
  for (int i = n - 1; i >= 0 && v != 0; --i, v /= 10) {
    s[static_cast<size_t>(i)] = static_cast<char>('0' + v % 10);
  }
  return s;
}
}  // namespace detail

/// Fills `row` (cleared first) with shipment number `i`, in declared column order.
inline void fillShipment(int64_t i, Row& row) {
  static const char* const kExporters[] = {"Cooperative Argan Tiznit", "Agrumes du Souss SARL",
                                           "Conserverie Atlantique",   "Textiles de Fes SA",
                                           "Maroc Primeurs Export",    "Huilerie Zitouna Meknes",
                                           "Safran Taliouine Coop",    "Dattes Errachidia SARL"};
  static const char* const kProducts[] = {"Huile d'argan cosmetique", "Clementines calibre 2",
                                          "Sardines a l'huile",       "Tissu coton teint",
                                          "Tomates cerises",          "Huile d'olive vierge",
                                          "Safran en filaments",      "Dattes Mejhoul"};
  static const char* const kHsCodes[] = {"1515.90", "0805.21", "1604.13", "5208.32",
                                         "0702.00", "1509.20", "0910.20", "0804.10"};
  static const char* const kDestinations[] = {"FR", "ES", "DE", "NL", "GB", "US", "BE", "IT"};
  static const char* const kPorts[] = {"Tanger Med", "Casablanca", "Agadir", "Nador"};
  const uint64_t h = detail::mix(static_cast<uint64_t>(i));
  const size_t kind = h & 7;
  const int64_t quantity = 1 + static_cast<int64_t>((h >> 8) % 50000);
  const int64_t unit_price = 100 + static_cast<int64_t>((h >> 24) % 99900);  // centimes
  const int64_t base_us = 1'704'067'200'000'000LL;                           // 2024-01-01T00:00:00Z
  const int64_t declared_us =
      base_us + static_cast<int64_t>((h >> 12) % (366ULL * 86400)) * 1'000'000;
  row.clear();
  row.set("id", "SHP-" + detail::digits(static_cast<uint64_t>(i), 10))
      .set("exporter", kExporters[kind])
      .set("exporter_ice", detail::digits(h >> 5, 15))
      .set("product", kProducts[kind])
      .set("hs_code", kHsCodes[kind])
      .set("destination", kDestinations[(h >> 3) & 7])
      .set("port", kPorts[(h >> 6) & 3])
      .set("quantity", static_cast<long long>(quantity))
      .set("net_weight_kg", static_cast<double>((h >> 20) % 10'000'000) / 1000.0)
      .set("unit_price", Money::fromCentimes(unit_price))
      .set("fob_value", Money::fromCentimes(unit_price * quantity))
      .set("certified", ((h >> 40) & 1) != 0)
      .set("shipped_on", Date::fromDays(19723 + static_cast<int64_t>((h >> 44) % 366)))
      .set("declared_at", Timestamp::fromMicros(declared_us))
      .set("updated_at", Timestamp::fromMicros(
                             declared_us + static_cast<int64_t>(1 + (h >> 7) % 86400) * 1'000'000))
      .set("note", (h >> 50) % 4 == 0 ? Value() : Value("Lot " + std::to_string(h % 100000)));
}

}  // namespace exportsync::bench
