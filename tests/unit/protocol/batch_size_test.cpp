// Wire size and speed of the batch format on exporter-like rows (issue #3, "Benchmark": bytes on
// the wire <= 0.20 x the CSV size of the same rows; zstd -3 of the CSV itself gives ~0.25).
// Sizes are deterministic and asserted; times are only printed (no timed asserts).
// ES_PROTOCOL_ROWS=100000 runs it at the benchmark's size.
#include <gtest/gtest.h>
#include <zstd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "exportsync/protocol/batch.hpp"
#include "sample_batches.hpp"

namespace exportsync::protocol {
namespace {

size_t rowsFromEnv() {
  const char* env = std::getenv("ES_PROTOCOL_ROWS");
  return env != nullptr && *env != '\0' ? std::strtoul(env, nullptr, 10) : 20000;
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Encodes `rows` declarations drawn from `exporters` exporters, prints sizes and times, and
// returns bytes on the wire / CSV bytes.
double measure(const char* label, size_t rows, size_t exporters) {
  testing::DeclarationGenerator gen(42, exporters);
  const Batch batch = gen.batch(rows, 1000);
  const std::string csv = testing::DeclarationGenerator::csv(batch);
  std::string zcsv(ZSTD_compressBound(csv.size()), '\0');
  const size_t zcsv_size = ZSTD_compress(zcsv.data(), zcsv.size(), csv.data(), csv.size(), 3);
  EXPECT_FALSE(ZSTD_isError(zcsv_size));

  auto start = std::chrono::steady_clock::now();
  auto wire = encodeBatch(batch, 3);
  const double encode_s = secondsSince(start);
  EXPECT_TRUE(wire.isOk()) << wire.status().message();
  if (!wire.isOk()) {
    return 1;
  }
  start = std::chrono::steady_clock::now();
  auto back = decodeBatch(*wire, Limits{});
  const double decode_s = secondsSince(start);
  EXPECT_TRUE(back.isOk()) << back.status().message();
  if (!back.isOk()) {
    return 1;
  }
  EXPECT_EQ(back->changes.size(), batch.changes.size());
  for (size_t i = 0; i < rows && i < back->changes.size(); ++i) {
    EXPECT_EQ(back->changes[i].values, batch.changes[i].values) << i;
  }

  const double ratio = static_cast<double>(wire->size()) / static_cast<double>(csv.size());
  std::printf(
      "%s, %zu rows: CSV %zu B (%.1f B/row); zstd -3 of CSV %zu B (%.3f of CSV); batch %zu B "
      "(%.3f of CSV, %.2f x zstd CSV); encode %.1f ms, decode %.1f ms\n",
      label, rows, csv.size(), static_cast<double>(csv.size()) / static_cast<double>(rows),
      zcsv_size, static_cast<double>(zcsv_size) / static_cast<double>(csv.size()), wire->size(),
      ratio, static_cast<double>(wire->size()) / static_cast<double>(zcsv_size), encode_s * 1e3,
      decode_s * 1e3);
  return ratio;
}

// Declarations of 1,500 exporters: repeated ICE numbers, names, products.
TEST(BatchSize, WireIsAtMostAFifthOfTheCsv) {
  EXPECT_LE(measure("typical", rowsFromEnv(), 1500), 0.20);
}

// As many exporters as rows: ICE numbers and names nearly unique, the CSV compresses worse
// (zstd -3 gives ~0.24, like the benchmark's rows).
TEST(BatchSize, WireIsAtMostAFifthOfTheCsvWhenMostlyUnique) {
  EXPECT_LE(measure("mostly unique", rowsFromEnv(), rowsFromEnv()), 0.20);
}

}  // namespace
}  // namespace exportsync::protocol
