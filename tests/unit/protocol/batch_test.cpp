// The batch format (docs/protocol.md): round trips of every type and encoding, and every
// refusal of the encoder and of the decoder, each with its message.
#include "exportsync/protocol/batch.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zstd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <vector>

#include "exportsync/dataset.hpp"
#include "exportsync/status.hpp"
#include "payload.hpp"
#include "sample_batches.hpp"
#include "wire.hpp"

// Largest single allocation through operator new while armed: the zstd-bomb tests check that a
// refused batch never allocated what it claimed. The replacement pairs malloc with free, which
// gcc's -Wmismatched-new-delete cannot see through once operator new is inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace {
size_t g_largest_allocation = 0;
bool g_track_allocations = false;
}  // namespace

void* operator new(size_t n) {
  if (g_track_allocations && n > g_largest_allocation) {
    g_largest_allocation = n;
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) {
    return p;
  }
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t /*n*/) noexcept { std::free(p); }
void operator delete[](void* p, size_t /*n*/) noexcept { std::free(p); }

namespace exportsync::protocol {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
// Timestamps are bounded to years 0001-9999 (checkValue).
constexpr int64_t kMinTimestamp = -62135596800000000LL;
constexpr int64_t kMaxTimestamp = 253402300799999999LL;

Timestamp clampedTimestamp(int64_t v) {
  return Timestamp::fromMicros(v < kMinTimestamp   ? kMinTimestamp
                               : v > kMaxTimestamp ? kMaxTimestamp
                                                   : v);
}

// --- Building batches -------------------------------------------------------------------------

DatasetDescriptor allTypesDataset() {
  DatasetDescriptor d;
  d.plugin = "csv-generic";
  d.name = "all_types";
  d.version = 3;
  d.columns = {
      {"id", ColumnType::Integer, true, false},   {"name", ColumnType::Text, false, false},
      {"note", ColumnType::Text, false, true},    {"amount", ColumnType::Money, false, false},
      {"qty", ColumnType::Real, false, false},    {"ok", ColumnType::Boolean, false, false},
      {"day", ColumnType::Date, false, false},    {"at", ColumnType::Timestamp, false, false},
      {"score", ColumnType::Real, false, true},   {"count", ColumnType::Integer, false, true},
      {"paid", ColumnType::Money, false, true},   {"seen", ColumnType::Timestamp, false, true},
      {"flag", ColumnType::Boolean, false, true}, {"due", ColumnType::Date, false, true},
  };
  return d;
}

// A batch of `datasets` whose changes get seqs base+1, base+2, ...; header fields filled.
class BatchMaker {
 public:
  explicit BatchMaker(std::vector<DatasetDescriptor> datasets, int64_t base_seq = 0) {
    batch_.header = testing::sampleHeader(base_seq);
    batch_.header.datasets = std::move(datasets);
    seq_ = base_seq;
  }
  BatchMaker& add(Op op, uint32_t dataset, std::vector<Value> values, int64_t step = 1) {
    seq_ += step;
    ChangeRecord c;
    c.seq = seq_;
    c.dataset = dataset;
    c.op = op;
    c.values = std::move(values);
    batch_.changes.push_back(std::move(c));
    return *this;
  }
  Batch done() {
    auto& h = batch_.header;
    h.row_count = batch_.changes.size();
    h.first_seq = batch_.changes.empty() ? 0 : batch_.changes.front().seq;
    h.last_seq = batch_.changes.empty() ? h.base_seq : batch_.changes.back().seq;
    return batch_;
  }

 private:
  Batch batch_;
  int64_t seq_ = 0;
};

void expectSameBatch(const Batch& a, const Batch& b) {
  EXPECT_EQ(a.header.format_version, b.header.format_version);
  EXPECT_EQ(a.header.agent_id, b.header.agent_id);
  EXPECT_EQ(a.header.incarnation, b.header.incarnation);
  EXPECT_EQ(a.header.region, b.header.region);
  EXPECT_EQ(a.header.base_seq, b.header.base_seq);
  EXPECT_EQ(a.header.first_seq, b.header.first_seq);
  EXPECT_EQ(a.header.last_seq, b.header.last_seq);
  EXPECT_EQ(a.header.ends_transaction, b.header.ends_transaction);
  EXPECT_EQ(a.header.row_count, b.header.row_count);
  ASSERT_EQ(a.header.datasets.size(), b.header.datasets.size());
  for (size_t d = 0; d < a.header.datasets.size(); ++d) {
    const auto& x = a.header.datasets[d];
    const auto& y = b.header.datasets[d];
    EXPECT_EQ(x.plugin, y.plugin);
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.version, y.version);
    ASSERT_EQ(x.columns.size(), y.columns.size());
    for (size_t c = 0; c < x.columns.size(); ++c) {
      EXPECT_EQ(x.columns[c].name, y.columns[c].name);
      EXPECT_EQ(x.columns[c].type, y.columns[c].type);
      EXPECT_EQ(x.columns[c].key, y.columns[c].key);
      EXPECT_EQ(x.columns[c].nullable, y.columns[c].nullable);
    }
  }
  ASSERT_EQ(a.changes.size(), b.changes.size());
  for (size_t i = 0; i < a.changes.size(); ++i) {
    EXPECT_EQ(a.changes[i].seq, b.changes[i].seq) << i;
    EXPECT_EQ(a.changes[i].dataset, b.changes[i].dataset) << i;
    EXPECT_EQ(a.changes[i].op, b.changes[i].op) << i;
    ASSERT_EQ(a.changes[i].values, b.changes[i].values) << "change " << i;
  }
}

Batch roundTrip(const Batch& in, int level = 3) {
  auto wire = encodeBatch(in, level);
  EXPECT_TRUE(wire.isOk()) << wire.status().message();
  if (!wire.isOk()) {
    return {};
  }
  auto out = decodeBatch(*wire, Limits{});
  EXPECT_TRUE(out.isOk()) << out.status().message();
  if (!out.isOk()) {
    return {};
  }
  expectSameBatch(in, *out);
  return std::move(out).value();
}

// --- Round trips ------------------------------------------------------------------------------

std::vector<Value> allTypesRow(int64_t id, bool nulls) {
  return {id,
          "Société Générale d'Export — شركة التصدير",
          nulls ? Value() : Value("a note"),
          Money::fromCentimes(123456789),
          2.5,
          true,
          *Date::fromYmd(2024, 2, 29),
          Timestamp::fromMicros(1709164800123456),
          nulls ? Value() : Value(0.1),
          nulls ? Value() : Value(-42),
          nulls ? Value() : Value(Money::fromCentimes(-1)),
          nulls ? Value() : Value(Timestamp::fromMicros(0)),
          nulls ? Value() : Value(false),
          nulls ? Value() : Value(Date::fromDays(0))};
}

TEST(BatchRoundTrip, EveryTypeWithAndWithoutNulls) {
  BatchMaker m({allTypesDataset()}, 10);
  for (int i = 0; i < 20; ++i) {
    m.add(Op::Insert, 0, allTypesRow(i, i % 3 == 0));
  }
  roundTrip(m.done());
}

TEST(BatchRoundTrip, SixtyFourBitExtremesAndDateBounds) {
  BatchMaker m({allTypesDataset()});
  auto row = [](int64_t v, double r, int64_t days) {
    return std::vector<Value>{v,
                              "x",
                              Value(),
                              Money::fromCentimes(v),
                              r,
                              false,
                              Date::fromDays(days),
                              clampedTimestamp(v),
                              r,
                              v,
                              Money::fromCentimes(v),
                              clampedTimestamp(v),
                              true,
                              Date::fromDays(days)};
  };
  // Alternating extremes make every delta wrap around 2^64.
  for (int64_t v : {kI64Min, kI64Max, int64_t{0}, kI64Min, int64_t{-1}, kI64Max, int64_t{1}}) {
    m.add(Op::Insert, 0, row(v, 1.0, -719162));
    m.add(Op::Update, 0, row(v, -1e308, 2932896));
  }
  m.add(Op::Insert, 0, row(5, std::numeric_limits<double>::denorm_min(), 0));
  m.add(Op::Insert, 0, row(6, std::numeric_limits<double>::max(), 1));
  m.add(Op::Insert, 0, row(7, -std::numeric_limits<double>::max(), 2));
  roundTrip(m.done());
}

TEST(BatchRoundTrip, NegativeZeroAndInexactDecimalsKeepTheirBits) {
  DatasetDescriptor d{
      "p",
      "reals",
      1,
      {{"id", ColumnType::Integer, true, false}, {"r", ColumnType::Real, false, false}}};
  const double values[] = {-0.0,          0.1 + 0.2,          1.0 / 3.0, 0.1, 1e-7,
                           123456.789012, 9007199254740993.0, 1e22,      -2.5};
  BatchMaker m({d});
  for (size_t i = 0; i < std::size(values); ++i) {
    m.add(Op::Insert, 0, {static_cast<int64_t>(i), values[i]});
  }
  const Batch out = roundTrip(m.done());
  ASSERT_EQ(out.changes.size(), std::size(values));
  for (size_t i = 0; i < std::size(values); ++i) {
    const double got = std::get<double>(out.changes[i].values[1].storage());
    EXPECT_EQ(std::memcmp(&got, &values[i], sizeof got), 0) << i << ": " << got;
  }
}

TEST(BatchRoundTrip, ScaledAndNegativeIntegralValues) {
  DatasetDescriptor d{"p",
                      "scaled",
                      1,
                      {{"id", ColumnType::Integer, true, false},
                       {"amount", ColumnType::Money, false, false},
                       {"at", ColumnType::Timestamp, false, true}}};
  BatchMaker m({d});
  const int64_t amounts[] = {-300, 100, -1000000, 0, 9000000000000000000, -9000000000000000000};
  for (size_t i = 0; i < std::size(amounts); ++i) {
    m.add(Op::Insert, 0,
          {static_cast<int64_t>(i) * -1000, Money::fromCentimes(amounts[i]),
           i == 2 ? Value() : Value(Timestamp::fromMicros(amounts[i] / 100 % 1000000 * 1000000))});
  }
  roundTrip(m.done());
}

TEST(BatchRoundTrip, IntegerGivenForARealColumnDecodesAsReal) {
  DatasetDescriptor d{
      "p",
      "reals",
      1,
      {{"id", ColumnType::Integer, true, false}, {"r", ColumnType::Real, false, false}}};
  auto wire = encodeBatch(BatchMaker({d}).add(Op::Insert, 0, {1, 7}).done());
  ASSERT_TRUE(wire.isOk()) << wire.status().message();
  auto out = decodeBatch(*wire, Limits{});
  ASSERT_TRUE(out.isOk()) << out.status().message();
  EXPECT_EQ(out->changes[0].values[1], Value(7.0));
}

TEST(BatchRoundTrip, ArabicAndFrenchText) {
  DatasetDescriptor d{"cooperatives",
                      "membres",
                      1,
                      {{"ice", ColumnType::Text, true, false},
                       {"nom", ColumnType::Text, false, false},
                       {"ville", ColumnType::Text, false, true}}};
  const char* names[] = {"تعاونية أركان سوس ماسة",
                         "Coopérative féminine Tighanimine",
                         "Société Chérifienne des Pétroles",
                         "مجموعة الأطلس — Groupe Atlas",
                         "",
                         "Œufs & Crème brûlée « spéciale »",
                         "😀 emoji too"};
  BatchMaker m({d});
  for (int rep = 0; rep < 3; ++rep) {
    for (size_t i = 0; i < std::size(names); ++i) {
      m.add(Op::Insert, 0,
            {std::to_string(rep * 100 + static_cast<int>(i)), names[i],
             i % 2 == 0 ? Value("Fès") : Value("الرباط")});
    }
  }
  roundTrip(m.done());
}

TEST(BatchRoundTrip, EmptyBatch) {
  Batch b = BatchMaker({}, 77).done();
  const Batch out = roundTrip(b);
  EXPECT_EQ(out.header.last_seq, 77);
  EXPECT_EQ(out.header.first_seq, 0);
  EXPECT_TRUE(out.changes.empty());
  // Datasets may be described without changes.
  roundTrip(BatchMaker({allTypesDataset()}, 5).done());
}

TEST(BatchRoundTrip, EmptyBatchIsSmall) {
  auto wire = encodeBatch(BatchMaker({}, 123456).done());
  ASSERT_TRUE(wire.isOk());
  EXPECT_LT(wire->size(), 128u);
}

TEST(BatchRoundTrip, MultipleDatasetsInterleavedWithUpdatesAndDeletes) {
  DatasetDescriptor a{"industrie",
                      "exporters",
                      1,
                      {{"ice", ColumnType::Text, true, false},
                       {"name", ColumnType::Text, false, false},
                       {"since", ColumnType::Date, false, true}}};
  DatasetDescriptor b{"artisanat",
                      "shipments",
                      2,
                      {{"region", ColumnType::Text, true, false},
                       {"amount", ColumnType::Money, false, false},
                       {"id", ColumnType::Integer, true, false},
                       {"weight", ColumnType::Real, false, true}}};
  BatchMaker m({a, b}, 1000);
  for (int i = 0; i < 50; ++i) {
    m.add(Op::Insert, 0, {"00" + std::to_string(1000 + i), "Exp " + std::to_string(i), Value()},
          i % 7 == 0 ? 3 : 1);
    m.add(Op::Insert, 1,
          {"MA-0" + std::to_string(i % 9 + 1), Money::fromCentimes(i * 100), i,
           i % 2 == 0 ? Value(1.5 * i) : Value()});
    if (i % 5 == 0) {
      m.add(Op::Update, 0,
            {"00" + std::to_string(1000 + i), "Renamed", *Date::fromYmd(2020, 1, 1)});
      m.add(Op::Delete, 1, {"MA-0" + std::to_string(i % 9 + 1), i});  // key columns only
      m.add(Op::Delete, 0, {"00" + std::to_string(1000 + i)});
    }
  }
  const Batch in = m.done();
  const Batch out = roundTrip(in);
  EXPECT_EQ(out.changes[2].op, Op::Update);
  EXPECT_EQ(out.changes[3].op, Op::Delete);
  EXPECT_EQ(out.changes[3].values.size(), 2u);
}

TEST(BatchRoundTrip, EndsTransactionFalseIsKept) {
  DatasetDescriptor d{"p", "d", 1, {{"id", ColumnType::Integer, true, false}}};
  Batch b = BatchMaker({d}).add(Op::Insert, 0, {1}).add(Op::Insert, 0, {2}).done();
  b.header.ends_transaction = false;
  EXPECT_FALSE(roundTrip(b).header.ends_transaction);
}

TEST(BatchRoundTrip, EveryEncodingOfEveryColumnShape) {
  // Shapes that make the encoder pick each encoding: repeated text (dictionary) and unique text
  // (plain, past the 1024-value probe and past the dictionary's size cap); growing integers
  // (delta) and random ones (plain); amounts with a common scale; decimal and raw reals.
  DatasetDescriptor d{"p",
                      "shapes",
                      1,
                      {{"id", ColumnType::Integer, true, false},
                       {"repeated", ColumnType::Text, false, false},
                       {"unique", ColumnType::Text, false, true},
                       {"random", ColumnType::Integer, false, false},
                       {"whole", ColumnType::Money, false, false},
                       {"decimal", ColumnType::Real, false, false},
                       {"raw", ColumnType::Real, false, true},
                       {"medium", ColumnType::Text, false, false}}};
  BatchMaker m({d});
  uint64_t x = 88172645463325252ULL;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int i = 0; i < 12000; ++i) {
    const uint64_t r = next();
    double raw = 0;
    std::memcpy(&raw, &r, sizeof raw);
    if (!std::isfinite(raw)) {
      raw = 1.0;
    }
    m.add(Op::Insert, 0,
          {i * 10, i % 4 == 0 ? "alpha" : "beta", i % 10 == 0 ? Value() : Value(std::to_string(r)),
           static_cast<int64_t>(r), Money::fromCentimes(static_cast<int64_t>(r % 100000) * 100),
           static_cast<double>(r % 100000) / 100.0, i % 3 == 0 ? Value() : Value(raw),
           "m" + std::to_string(r % 9000)});
  }
  roundTrip(m.done(), 1);
}

TEST(BatchRoundTrip, EncodingIsDeterministicAndEveryLevelDecodes) {
  testing::DeclarationGenerator gen;
  const Batch b = gen.batch(300, 40);
  auto w1 = encodeBatch(b);
  auto w2 = encodeBatch(b);
  ASSERT_TRUE(w1.isOk() && w2.isOk());
  EXPECT_EQ(*w1, *w2);
  for (int level : {1, 9, 19}) {
    roundTrip(b, level);
  }
}

TEST(BatchRoundTrip, PrefixRepeatsSizesLastSeqAndRowCount) {
  testing::DeclarationGenerator gen;
  const Batch b = gen.batch(100, 500);
  auto wire = encodeBatch(b);
  ASSERT_TRUE(wire.isOk());
  auto p = decodePrefix(*wire, Limits{});
  ASSERT_TRUE(p.isOk()) << p.status().message();
  EXPECT_EQ(p->format_version, kFormatVersion);
  EXPECT_EQ(p->compressed_size, wire->size() - kPrefixSize);
  EXPECT_EQ(p->last_seq, b.header.last_seq);
  EXPECT_EQ(p->row_count, 100u);
  auto raw = internal::encodePayload(b);
  ASSERT_TRUE(raw.isOk());
  EXPECT_EQ(p->raw_size, raw->size());
  EXPECT_EQ(p->payload_crc32, wire::crc32(*raw));
  // The prefix alone is enough for decodePrefix.
  EXPECT_TRUE(decodePrefix(wire->substr(0, kPrefixSize), Limits{}).isOk());
}

TEST(Crc32, KnownVectors) {
  EXPECT_EQ(wire::crc32(""), 0u);
  EXPECT_EQ(wire::crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(wire::crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
  // Slicing-by-8 and the byte loop agree whatever the split.
  const std::string s = "ExportSync batches carry exporter data to the Secretariat, once.";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    EXPECT_EQ(wire::crc32(s.substr(cut), wire::crc32(s.substr(0, cut))), wire::crc32(s)) << cut;
  }
}

// --- Encoder refusals -------------------------------------------------------------------------

DatasetDescriptor simpleDataset() {
  return {"industrie",
          "exports",
          1,
          {{"id", ColumnType::Integer, true, false},
           {"label", ColumnType::Text, false, true},
           {"qty", ColumnType::Real, false, false}}};
}

Batch simpleBatch() {
  return BatchMaker({simpleDataset()})
      .add(Op::Insert, 0, {1, "a", 1.5})
      .add(Op::Insert, 0, {2, Value(), 2.5})
      .done();
}

void expectEncodeRefused(const Batch& b, const std::string& expected) {
  auto wire = encodeBatch(b);
  ASSERT_FALSE(wire.isOk()) << "expected a refusal containing: " << expected;
  EXPECT_EQ(wire.status().code(), Code::Invalid);
  EXPECT_THAT(wire.status().message(), StartsWith("batch: "));
  EXPECT_THAT(wire.status().message(), HasSubstr(expected));
}

TEST(EncodeRefuses, InconsistentHeader) {
  Batch b = simpleBatch();
  b.header.row_count = 3;
  expectEncodeRefused(b, "header row_count 3 does not match the 2 changes");
  b = simpleBatch();
  b.header.last_seq = 9;
  expectEncodeRefused(b, "do not match the changes' 1/2");
  b = BatchMaker({}, 5).done();
  b.header.last_seq = 4;
  expectEncodeRefused(b, "an empty batch must have first_seq 0 and last_seq = base_seq (5)");
  b = simpleBatch();
  b.header.format_version = 2;
  expectEncodeRefused(b, "cannot encode format version 2");
  b = simpleBatch();
  b.header.base_seq = -1;
  expectEncodeRefused(b, "sequence numbers must not be negative");
}

TEST(EncodeRefuses, SeqsThatDoNotIncrease) {
  Batch b = simpleBatch();
  b.changes[1].seq = 1;
  b.header.last_seq = 1;
  expectEncodeRefused(b, "change 1 (seq 1) is not above the previous seq 1");
  b = BatchMaker({simpleDataset()}, 10).add(Op::Insert, 0, {1, "a", 1.0}).done();
  b.changes[0].seq = 10;
  b.header.first_seq = b.header.last_seq = 10;
  expectEncodeRefused(b, "is not above the previous seq 10 (base_seq)");
}

TEST(EncodeRefuses, BadChanges) {
  Batch b = simpleBatch();
  b.changes[0].dataset = 1;
  expectEncodeRefused(b, "change 0 (seq 1) names dataset index 1 but the batch describes 1");
  b = simpleBatch();
  b.changes[0].op = static_cast<Op>('X');
  expectEncodeRefused(b, "has an unknown op 88");
  b = simpleBatch();
  b.changes[0].values.pop_back();
  expectEncodeRefused(b, "has 2 values, expected 3");
  b = simpleBatch();
  b.changes[1].op = Op::Delete;
  expectEncodeRefused(b, "has 3 values, expected 1 (the key columns)");
}

TEST(EncodeRefuses, ValuesThatDoNotFitTheirColumn) {
  Batch b = simpleBatch();
  b.changes[0].values[0] = "one";
  expectEncodeRefused(b, "column 'id' expects integer, got text");
  b = simpleBatch();
  b.changes[0].values[2] = Value();
  expectEncodeRefused(b, "column 'qty' may not be empty (null)");
  b = simpleBatch();
  b.changes[0].values[2] = std::nan("");
  expectEncodeRefused(b, "column 'qty' holds a non-finite real");
  b = simpleBatch();
  b.changes[0].values[1] = true;
  expectEncodeRefused(b, "column 'label' expects text, got boolean");
  b = simpleBatch();
  b.changes[0].values[1] = std::string((1u << 20) + 1, 'x');
  expectEncodeRefused(b, "column 'label' holds 1048577 bytes of text, more than the limit");
  DatasetDescriptor d{"p", "dates", 1, {{"day", ColumnType::Date, true, false}}};
  expectEncodeRefused(BatchMaker({d}).add(Op::Insert, 0, {Date::fromDays(2932897)}).done(),
                      "column 'day' holds a date outside years 0001-9999");
  DatasetDescriptor t{"p", "times", 1, {{"at", ColumnType::Timestamp, true, false}}};
  expectEncodeRefused(
      BatchMaker({t}).add(Op::Insert, 0, {Timestamp::fromMicros(kMaxTimestamp + 1)}).done(),
      "column 'at' holds a timestamp outside years 0001-9999");
}

TEST(EncodeRefuses, InvalidIdentifiersAndDescriptors) {
  Batch b = simpleBatch();
  b.header.agent_id = "agent one";
  expectEncodeRefused(b, "agent_id 'agent one' must be 1 to 128 printable ASCII characters");
  b = simpleBatch();
  b.header.region = "";
  expectEncodeRefused(b, "region '' must be 1 to 128");
  b = simpleBatch();
  b.header.incarnation = std::string(129, 'a');
  expectEncodeRefused(b, "incarnation");
  b = simpleBatch();
  b.header.datasets[0].plugin = "Industrie";
  expectEncodeRefused(b, "plugin name 'Industrie' must match [a-z][a-z0-9-]{0,31}");
  b = simpleBatch();
  b.header.datasets[0].name = "exports-2024";
  expectEncodeRefused(b, "dataset name 'exports-2024' must match [a-z][a-z0-9_]{0,62}");
  b = simpleBatch();
  b.header.datasets[0].columns[1].name = "Label";
  expectEncodeRefused(b, "column name 'Label' must match");
  b = simpleBatch();
  b.header.datasets[0].columns[0].key = false;
  expectEncodeRefused(b, "declares no key column");
  b = simpleBatch();
  b.header.datasets[0].columns[1].key = true;
  expectEncodeRefused(b, "key column 'label' cannot be nullable");
  b = simpleBatch();
  b.header.datasets[0].columns[2].name = "id";
  expectEncodeRefused(b, "column 'id' is declared twice");
  b = simpleBatch();
  b.header.datasets[0].version = 0;
  expectEncodeRefused(b, "version must be 1 or more");
  b = simpleBatch();
  b.header.datasets.push_back(b.header.datasets[0]);
  expectEncodeRefused(b, "dataset 'industrie/exports' is described twice (0 and 1)");
}

TEST(EncodeRefuses, ZstdLevelOutOfRange) {
  for (int level : {0, 20, -1}) {
    auto wire = encodeBatch(simpleBatch(), level);
    ASSERT_FALSE(wire.isOk());
    EXPECT_THAT(wire.status().message(), HasSubstr("is not in 1..19"));
  }
}

// --- Decoder refusals: framing ----------------------------------------------------------------

std::string validWire() {
  auto wire = encodeBatch(simpleBatch());
  EXPECT_TRUE(wire.isOk());
  return wire.isOk() ? *wire : std::string();
}

void expectRefused(std::string_view bytes, const std::string& expected,
                   const Limits& limits = Limits{}) {
  auto out = decodeBatch(bytes, limits);
  ASSERT_FALSE(out.isOk()) << "expected a refusal containing: " << expected;
  EXPECT_EQ(out.status().code(), Code::Invalid);
  EXPECT_THAT(out.status().message(), StartsWith("batch: "));
  EXPECT_THAT(out.status().message(), HasSubstr(expected));
}

void setLe(std::string& s, size_t offset, uint64_t v, size_t bytes) {
  wire::storeLe(s.data() + offset, v, bytes);
}

TEST(DecodeRefuses, PrefixProblems) {
  const std::string ok = validWire();
  expectRefused("", "truncated: 0 bytes, the prefix alone is 32");
  expectRefused(ok.substr(0, 31), "truncated: 31 bytes");
  std::string bad = ok;
  bad[0] = 'X';
  expectRefused(bad, "bad magic 'XSYB': not an ExportSync batch");
  bad = ok;
  setLe(bad, 4, 2, 2);
  expectRefused(bad, "unknown format version 2; this build reads version 1");
  bad = ok;
  setLe(bad, 4, 0, 2);
  expectRefused(bad, "unknown format version 0");
  bad = ok;
  setLe(bad, 6, 1, 2);
  expectRefused(bad, "unknown prefix flags 1");
  bad = ok;
  setLe(bad, 20, 1ULL << 63, 8);
  expectRefused(bad, "prefix last_seq is beyond 2^63-1");
}

TEST(DecodeRefuses, SizesBeyondLimits) {
  const std::string ok = validWire();
  Limits small;
  small.max_compressed = 10;
  expectRefused(ok, "compressed size", small);
  small = Limits{};
  small.max_decompressed = 10;
  expectRefused(ok, "more than the limit of 10 (refused before decompressing)", small);
  small = Limits{};
  small.max_rows = 1;
  expectRefused(ok, "row_count 2 is more than the limit of 1 rows", small);
}

TEST(DecodeRefuses, TruncatedOrTrailingFrame) {
  const std::string ok = validWire();
  expectRefused(ok.substr(0, ok.size() - 1), "compressed bytes but");
  expectRefused(ok.substr(0, ok.size() - 1), "(truncated)");
  expectRefused(ok + "x", "compressed bytes but");
  // Every truncation is refused, whatever the cut.
  for (size_t n = 0; n < ok.size(); ++n) {
    EXPECT_FALSE(decodeBatch(ok.substr(0, n), Limits{}).isOk()) << n;
  }
}

TEST(DecodeRefuses, FrameProblems) {
  const std::string ok = validWire();
  std::string bad = ok;
  bad[kPrefixSize] = 0;  // zstd magic
  expectRefused(bad, "the payload is not a zstd frame");

  // A second frame after the first: the prefix counts both.
  const std::string frame = ok.substr(kPrefixSize);
  bad = ok + frame;
  setLe(bad, 8, 2 * frame.size(), 4);
  expectRefused(bad, "bytes after the zstd frame");

  // A frame without a declared content size (streaming, no pledged size).
  auto raw = internal::encodePayload(simpleBatch());
  ASSERT_TRUE(raw.isOk());
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ASSERT_FALSE(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
  std::string z(ZSTD_compressBound(raw->size()) + 64, '\0');
  const size_t zn = ZSTD_compress2(cctx, z.data(), z.size(), raw->data(), raw->size());
  ZSTD_freeCCtx(cctx);
  ASSERT_FALSE(ZSTD_isError(zn));
  z.resize(zn);
  ASSERT_EQ(ZSTD_getFrameContentSize(z.data(), z.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  bad = ok.substr(0, kPrefixSize) + z;
  setLe(bad, 8, z.size(), 4);
  expectRefused(bad, "the zstd frame does not declare its content size");

  // Corrupt content: a flipped byte inside the compressed data.
  bool any_refused = false;
  for (size_t i = kPrefixSize + 6; i < ok.size(); ++i) {
    bad = ok;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    auto r = decodeBatch(bad, Limits{});
    EXPECT_FALSE(r.isOk()) << "flip at " << i;
    any_refused = any_refused || !r.isOk();
  }
  EXPECT_TRUE(any_refused);
}

TEST(DecodeRefuses, ChecksumMismatch) {
  std::string bad = validWire();
  bad[16] = static_cast<char>(bad[16] ^ 1);
  expectRefused(bad, "checksum mismatch: the payload's CRC-32 is");
}

TEST(DecodeRefuses, PrefixThatDisagreesWithTheHeader) {
  auto raw = internal::encodePayload(simpleBatch());
  ASSERT_TRUE(raw.isOk());
  auto wire = internal::framePayload(*raw, 3, 7, 2);
  ASSERT_TRUE(wire.isOk());
  expectRefused(*wire, "the prefix (last_seq 7, 2 rows) does not match the header (last_seq 2");
  wire = internal::framePayload(*raw, 3, 2, 1);
  ASSERT_TRUE(wire.isOk());
  expectRefused(*wire, "does not match the header");
}

// A zstd bomb: a frame of a few hundred bytes that expands to 64 MiB, against a 1 MiB limit.
// Whatever the prefix claims, the decoder refuses it without allocating what it expands to.
TEST(DecodeRefuses, ZstdBombWithoutAllocatingIt) {
  const std::string zeros(64u << 20, '\0');
  std::string z(ZSTD_compressBound(zeros.size()), '\0');
  const size_t zn = ZSTD_compress(z.data(), z.size(), zeros.data(), zeros.size(), 3);
  ASSERT_FALSE(ZSTD_isError(zn));
  z.resize(zn);
  ASSERT_LT(zn, 8192u);
  auto withPrefix = [&z](uint32_t raw_size) {
    std::string w(kPrefixSize, '\0');
    std::memcpy(w.data(), kMagic, 4);
    setLe(w, 4, kFormatVersion, 2);
    setLe(w, 8, z.size(), 4);
    setLe(w, 12, raw_size, 4);
    return w + z;
  };
  Limits limits;
  limits.max_decompressed = 1u << 20;

  // A lying frame header too: its content size field rewritten to 1000 (4 bytes, after the
  // magic, the descriptor byte and the window byte).
  const auto descriptor = static_cast<uint8_t>(z[4]);
  ASSERT_EQ(descriptor >> 6, 2) << "expected a 4-byte content size field";
  ASSERT_EQ(descriptor & 0x23, 0) << "expected a window byte and no dictionary id";
  std::string lying_frame = z;
  wire::storeLe(lying_frame.data() + 6, 1000, 4);
  ASSERT_EQ(ZSTD_getFrameContentSize(lying_frame.data(), lying_frame.size()), 1000u);
  std::string lying_both = withPrefix(1000);
  lying_both.replace(kPrefixSize, std::string::npos, lying_frame);

  g_largest_allocation = 0;
  g_track_allocations = true;
  // Honest prefix: refused on the prefix alone.
  auto honest = decodeBatch(withPrefix(64u << 20), limits);
  // Lying prefix: within the limit, but the frame declares 64 MiB.
  auto lying = decodeBatch(withPrefix(1000), limits);
  // Both lie: zstd stops at the 1000-byte buffer it was given.
  auto both = decodeBatch(lying_both, limits);
  g_track_allocations = false;

  ASSERT_FALSE(honest.isOk());
  EXPECT_THAT(honest.status().message(),
              HasSubstr("decompressed size 67108864 is more than the limit of 1048576"));
  ASSERT_FALSE(lying.isOk());
  EXPECT_THAT(lying.status().message(),
              HasSubstr("the zstd frame declares 67108864 bytes but the prefix says 1000"));
  ASSERT_FALSE(both.isOk());
  EXPECT_THAT(both.status().message(), HasSubstr("batch: zstd: "));
  EXPECT_LT(g_largest_allocation, 64u * 1024) << "the decoder allocated for the bomb";
}

// --- Decoder refusals: payload ----------------------------------------------------------------

// Writes payloads field by field, so a test can put in what an encoder never would.
class Payload {
 public:
  Payload& u8(uint8_t v) {
    bytes_.push_back(static_cast<char>(v));
    return *this;
  }
  Payload& varint(uint64_t v) {
    wire::putVarint(bytes_, v);
    return *this;
  }
  Payload& str(std::string_view s) {
    wire::putString(bytes_, s);
    return *this;
  }
  Payload& raw(std::string_view s) {
    bytes_.append(s.data(), s.size());
    return *this;
  }
  Payload& stream(std::string_view s) {
    wire::putString(bytes_, s);
    return *this;
  }
  // Header up to and including the flags byte.
  Payload& header(uint64_t base, uint64_t first, uint64_t last, uint8_t flags = 1) {
    return str("agent-1")
        .str("0123abcd")
        .str("MA-01")
        .varint(base)
        .varint(first)
        .varint(last)
        .u8(flags);
  }
  Payload& column(std::string_view name, ColumnType type, uint8_t flags) {
    return str(name).u8(static_cast<uint8_t>(type)).u8(flags);
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

std::string varints(std::initializer_list<uint64_t> values) {
  std::string s;
  for (uint64_t v : values) {
    wire::putVarint(s, v);
  }
  return s;
}

// A valid payload: one dataset "p/d" (id integer key, `extra` column), `rows` inserts with seqs
// 1..rows. `blocks` are the column blocks for both columns.
Payload twoColumnPayload(ColumnType extra, uint8_t extra_flags, size_t rows,
                         const std::string& blocks, uint64_t last = 0) {
  Payload p;
  p.header(0, rows == 0 ? 0 : 1, last == 0 ? rows : last)
      .varint(1)
      .str("p")
      .str("d")
      .varint(1)
      .varint(2)
      .column("id", ColumnType::Integer, 1)
      .column("v", extra, extra_flags)
      .varint(rows);
  p.stream(std::string(rows, '\1')).stream(std::string(rows, '\0')).stream(std::string(rows, 'I'));
  p.raw(blocks);
  return p;
}

// A planes stream body: `width` bytes per value, byte 0 of every value first.
std::string planes(const std::vector<uint64_t>& values, size_t width) {
  std::string out;
  for (size_t k = 0; k < width; ++k) {
    for (uint64_t v : values) {
      out.push_back(static_cast<char>(v >> (8 * k)));
    }
  }
  return out;
}

// The id block for `rows` rows: plain, scale 0, width 4, ids 1..rows.
std::string idBlock(size_t rows) {
  std::vector<uint64_t> ids;
  for (size_t i = 1; i <= rows; ++i) {
    ids.push_back(wire::zigzag(i));
  }
  std::string b("\0\0\4", 3);
  wire::putString(b, planes(ids, 4));
  return b;
}

std::string block(std::initializer_list<uint8_t> head, std::initializer_list<std::string> streams) {
  std::string b;
  for (uint8_t h : head) {
    b.push_back(static_cast<char>(h));
  }
  for (const auto& s : streams) {
    wire::putString(b, s);
  }
  return b;
}

void expectPayloadRefused(const Payload& p, const std::string& expected,
                          const Limits& limits = Limits{}) {
  auto out = internal::decodePayload(p.bytes(), limits);
  ASSERT_FALSE(out.isOk()) << "expected a refusal containing: " << expected;
  EXPECT_EQ(out.status().code(), Code::Invalid);
  EXPECT_THAT(out.status().message(), StartsWith("batch: "));
  EXPECT_THAT(out.status().message(), HasSubstr(expected));
  // And through the whole pipeline (prefix, zstd, checksum) too.
  auto wire = internal::framePayload(p.bytes(), 3, 0, 0);
  ASSERT_TRUE(wire.isOk());
  auto full = decodeBatch(*wire, limits);
  ASSERT_FALSE(full.isOk());
  EXPECT_THAT(full.status().message(), StartsWith("batch: "));
}

TEST(DecodePayload, TheBuilderMakesValidPayloads) {
  const Payload p = twoColumnPayload(ColumnType::Boolean, 0, 3,
                                     idBlock(3) + block({0}, {std::string("\1\0\1", 3)}));
  auto out = internal::decodePayload(p.bytes(), Limits{});
  ASSERT_TRUE(out.isOk()) << out.status().message();
  ASSERT_EQ(out->changes.size(), 3u);
  EXPECT_EQ(out->changes[2].values, (std::vector<Value>{3, true}));
}

TEST(DecodePayload, EveryTruncationIsRefused) {
  testing::DeclarationGenerator gen;
  auto raw = internal::encodePayload(gen.batch(40, 3));
  ASSERT_TRUE(raw.isOk());
  for (size_t n = 0; n < raw->size(); ++n) {
    auto out = internal::decodePayload(std::string_view(*raw).substr(0, n), Limits{});
    ASSERT_FALSE(out.isOk()) << n;
    EXPECT_THAT(out.status().message(), StartsWith("batch: ")) << n;
  }
  EXPECT_TRUE(internal::decodePayload(*raw, Limits{}).isOk());
  expectPayloadRefused(Payload().raw(*raw).u8(0), "1 trailing bytes after the last stream");
}

TEST(DecodePayload, HeaderStrings) {
  expectPayloadRefused(Payload(), "truncated while reading agent_id");
  expectPayloadRefused(Payload().str("agent 1"), "agent_id 'agent 1' must be 1 to 128");
  expectPayloadRefused(Payload().str(std::string(129, 'a')), "agent_id is 129 bytes");
  expectPayloadRefused(Payload().varint(1u << 30), "agent_id is 1073741824 bytes");
  expectPayloadRefused(Payload()
                           .str("a")
                           .str("")
                           .str("MA-01")
                           .varint(0)
                           .varint(0)
                           .varint(0)
                           .u8(1)
                           .varint(0)
                           .varint(0)
                           .raw(varints({0, 0, 0})),
                       "incarnation '' must be");
  expectPayloadRefused(Payload()
                           .str("a")
                           .str("b")
                           .str("MA\n01")
                           .varint(0)
                           .varint(0)
                           .varint(0)
                           .u8(1)
                           .varint(0)
                           .varint(0)
                           .raw(varints({0, 0, 0})),
                       "region 'MA\\x0a01'");
}

TEST(DecodePayload, VarintOverflow) {
  expectPayloadRefused(Payload().str("a").str("b").str("c").raw(std::string(10, '\xff')).u8(1),
                       "varint overflow in base_seq");
  expectPayloadRefused(Payload().str("a").str("b").str("c").raw(std::string(9, '\xff')).u8(2),
                       "varint overflow in base_seq");
  expectPayloadRefused(Payload().str("a").str("b").str("c").raw(std::string(9, '\xff')).u8(1),
                       "base_seq 18446744073709551615 is beyond 2^63-1");
}

TEST(DecodePayload, HeaderFieldsAndCounts) {
  expectPayloadRefused(Payload().header(0, 0, 0, 3), "unknown header flags 3");
  expectPayloadRefused(Payload().header(0, 0, 0).varint(257), "257 datasets, more than the limit");
  Limits limits;
  limits.max_datasets = 2;
  expectPayloadRefused(Payload().header(0, 0, 0).varint(3), "3 datasets", limits);
  // A large dataset count with nothing behind it ends in truncation, not in an allocation.
  expectPayloadRefused(Payload().header(0, 0, 0).varint(200), "truncated while reading dataset 0");
  const Payload one_dataset =
      Payload().header(0, 0, 0).varint(1).str("p").str("d").varint(1).varint(1).column(
          "id", ColumnType::Integer, 1);
  expectPayloadRefused(Payload(one_dataset).varint(1000001), "row_count 1000001 is more than the");
  expectPayloadRefused(Payload(one_dataset).varint(1).raw(varints({1, 1, 1, 0, 0})),
                       "op stream holds 0 bytes for 1 rows");
  expectPayloadRefused(Payload(one_dataset).varint(5).raw(varints({100})),
                       "seq stream declares 100 bytes but only 0 remain");
}

TEST(DecodePayload, Descriptors) {
  auto ds = [](std::string_view plugin, std::string_view name, uint64_t version) {
    return Payload().header(0, 0, 0).varint(1).str(plugin).str(name).varint(version);
  };
  expectPayloadRefused(ds("Bad", "d", 1).varint(1).column("id", ColumnType::Integer, 1).varint(0),
                       "plugin name 'Bad' must match");
  expectPayloadRefused(ds("p", "9d", 1).varint(1).column("id", ColumnType::Integer, 1).varint(0),
                       "dataset name '9d' must match");
  expectPayloadRefused(ds("p", std::string(64, 'd'), 1), "dataset 0 name is 64 bytes");
  expectPayloadRefused(ds("p", "d", 0), "dataset 0 version 0 is not in 1..2^32-1");
  expectPayloadRefused(ds("p", "d", 1ULL << 32), "version 4294967296 is not in");
  expectPayloadRefused(ds("p", "d", 1).varint(0), "dataset 0 has 0 columns; the limit is 1 to 256");
  expectPayloadRefused(ds("p", "d", 1).varint(257), "has 257 columns");
  expectPayloadRefused(ds("p", "d", 1).varint(1).str("id").u8(0).u8(1),
                       "column 0 'id' has an invalid type byte 0");
  expectPayloadRefused(ds("p", "d", 1).varint(1).str("id").u8(8).u8(1), "invalid type byte 8");
  expectPayloadRefused(ds("p", "d", 1).varint(1).column("id", ColumnType::Integer, 5),
                       "column 0 'id' has unknown flags 5");
  expectPayloadRefused(ds("p", "d", 1).varint(1).column("Id", ColumnType::Integer, 1).varint(0),
                       "column name 'Id' must match");
  expectPayloadRefused(ds("p", "d", 1).varint(1).column("id", ColumnType::Integer, 0).varint(0),
                       "declares no key column; mark one or more columns as key");
  expectPayloadRefused(ds("p", "d", 1).varint(1).column("id", ColumnType::Integer, 3).varint(0),
                       "key column 'id' cannot be nullable");
  expectPayloadRefused(ds("p", "d", 1)
                           .varint(2)
                           .column("id", ColumnType::Integer, 1)
                           .column("id", ColumnType::Text, 0)
                           .varint(0),
                       "column 'id' is declared twice");
  Payload twice = Payload().header(0, 0, 0).varint(2);
  for (int i = 0; i < 2; ++i) {
    twice.str("p").str("d").varint(1).varint(1).column("id", ColumnType::Integer, 1);
  }
  expectPayloadRefused(twice.varint(0), "dataset 'p/d' is described twice (0 and 1)");
}

TEST(DecodePayload, ChangeStreams) {
  auto changes = [](uint64_t base, uint64_t first, uint64_t last, const std::string& seqs,
                    const std::string& datasets, const std::string& ops) {
    return Payload()
        .header(base, first, last)
        .varint(1)
        .str("p")
        .str("d")
        .varint(1)
        .varint(1)
        .column("id", ColumnType::Integer, 1)
        .varint(ops.size())
        .stream(seqs)
        .stream(datasets)
        .stream(ops);
  };
  expectPayloadRefused(changes(5, 6, 6, varints({1, 0}), varints({0, 0}), "II"),
                       "change 1 repeats seq 6; seqs must increase strictly");
  expectPayloadRefused(changes(5, 5, 5, varints({0}), varints({0}), "I"),
                       "change 0 repeats seq 5 (base_seq); seqs must increase strictly");
  expectPayloadRefused(changes(1, 0, 0, varints({~0ULL >> 1}), varints({0}), "I"),
                       "change 0 has a seq beyond 2^63-1");
  expectPayloadRefused(changes(0, 1, 1, varints({1}), varints({1}), "I"),
                       "change 0 names dataset index 1 but the batch describes 1");
  expectPayloadRefused(changes(0, 1, 1, varints({1}), varints({0}), "X"),
                       "change 0 has an unknown op byte 88");
  expectPayloadRefused(changes(0, 1, 1, varints({1, 1}), varints({0}), "I"),
                       "seq stream has 1 bytes after its last row");
  expectPayloadRefused(changes(0, 1, 1, varints({1}), varints({0, 0}), "I"),
                       "dataset index stream has 1 bytes after its last row");
  expectPayloadRefused(changes(0, 1, 1, "", varints({0}), "I"), "truncated while reading seq");
  expectPayloadRefused(changes(0, 1, 1, std::string(10, '\xff'), varints({0}), "I"),
                       "varint overflow in seq stream");
  expectPayloadRefused(changes(0, 1, 3, varints({1, 1}), varints({0, 0}), "II"),
                       "header first_seq/last_seq 1/3 do not match the changes' 1/2");
  expectPayloadRefused(changes(4, 0, 3, "", "", ""),
                       "an empty batch must have first_seq 0 and last_seq = base_seq (4)");
}

TEST(DecodePayload, TooManyValues) {
  Limits limits;
  limits.max_values = 5;
  expectPayloadRefused(
      twoColumnPayload(ColumnType::Boolean, 0, 3, idBlock(3) + block({0}, {std::string(3, '\1')})),
      "6 values, more than the limit of 5", limits);
}

TEST(DecodePayload, ColumnBlockStructure) {
  expectPayloadRefused(twoColumnPayload(ColumnType::Text, 0, 1, idBlock(1) + block({2}, {})),
                       "column 'v': unknown encoding 2 for a text column");
  expectPayloadRefused(twoColumnPayload(ColumnType::Boolean, 0, 1, idBlock(1) + block({1}, {})),
                       "unknown encoding 1 for a boolean column");
  expectPayloadRefused(twoColumnPayload(ColumnType::Money, 0, 1, idBlock(1) + block({0, 19}, {})),
                       "column 'v': scale 19 is more than 18");
  expectPayloadRefused(twoColumnPayload(ColumnType::Real, 0, 1, idBlock(1) + block({1, 7}, {})),
                       "column 'v': scale 7 is more than 6");
  expectPayloadRefused(
      twoColumnPayload(ColumnType::Integer, 0, 1, idBlock(1) + block({0, 0, 0}, {})),
      "column 'v': plane width 0 is not in 1..8");
  expectPayloadRefused(twoColumnPayload(ColumnType::Date, 0, 1, idBlock(1) + block({0, 0, 9}, {})),
                       "plane width 9 is not in 1..8");
  expectPayloadRefused(
      twoColumnPayload(ColumnType::Integer, 0, 2, idBlock(2) + block({0, 0, 1}, {"\4"})),
      "column 'v': planes stream size does not fit 2 integer values");
  expectPayloadRefused(
      twoColumnPayload(ColumnType::Integer, 0, 1, idBlock(1) + block({0, 0, 2}, {"\4"})),
      "planes stream size does not fit 1 integer values");
  expectPayloadRefused(
      twoColumnPayload(ColumnType::Integer, 0, 1, idBlock(1) + block({0, 0, 1}, {"\2"}) + "z"),
      "1 trailing bytes after the last stream");
  expectPayloadRefused(
      twoColumnPayload(ColumnType::Boolean, 0, 1, idBlock(1) + std::string("\0\x05", 2)),
      "stream declares 5 bytes but only 0 remain");
  expectPayloadRefused(twoColumnPayload(ColumnType::Real, 0, 1, idBlock(1) + block({0}, {"1234"})),
                       "planes stream size does not fit 1 real values");
  expectPayloadRefused(
      twoColumnPayload(ColumnType::Boolean, 0, 2, idBlock(2) + block({0}, {std::string(3, '\1')})),
      "values stream size does not fit 2 boolean values");
}

TEST(DecodePayload, PresenceStreams) {
  expectPayloadRefused(twoColumnPayload(ColumnType::Boolean, 2, 2,
                                        idBlock(2) + block({0}, {std::string(1, '\1'), "\1"})),
                       "presence stream holds 1 bytes for 2 values");
  expectPayloadRefused(twoColumnPayload(ColumnType::Boolean, 2, 1,
                                        idBlock(1) + block({0}, {std::string(1, '\2'), "\1"})),
                       "a presence byte is neither 0 nor 1");
  // Nulls take no room in the value streams.
  const Payload ok = twoColumnPayload(ColumnType::Boolean, 2, 2,
                                      idBlock(2) + block({0}, {std::string("\0\1", 2), "\1"}));
  auto out = internal::decodePayload(ok.bytes(), Limits{});
  ASSERT_TRUE(out.isOk()) << out.status().message();
  EXPECT_EQ(out->changes[0].values[1], Value());
  EXPECT_EQ(out->changes[1].values[1], Value(true));
}

TEST(DecodePayload, ValuesOutsideTheirType) {
  expectPayloadRefused(twoColumnPayload(ColumnType::Boolean, 0, 1, idBlock(1) + block({0}, {"\2"})),
                       "(seq 1): a boolean byte is neither 0 nor 1");
  expectPayloadRefused(
      twoColumnPayload(ColumnType::Date, 0, 1,
                       idBlock(1) + block({0, 0, 3}, {planes({wire::zigzag(2932897)}, 3)})),
      "a date lies outside years 0001-9999");
  // Date within range before scaling, out of range after.
  expectPayloadRefused(
      twoColumnPayload(ColumnType::Date, 0, 1,
                       idBlock(1) + block({0, 3, 2}, {planes({wire::zigzag(3000)}, 2)})),
      "a date lies outside years 0001-9999");
  expectPayloadRefused(
      twoColumnPayload(
          ColumnType::Timestamp, 0, 1,
          idBlock(1) + block({0, 0, 8}, {planes({wire::zigzag(kMaxTimestamp + 1)}, 8)})),
      "a timestamp lies outside years 0001-9999");
  // Delta: the second value steps below the range.
  expectPayloadRefused(
      twoColumnPayload(
          ColumnType::Timestamp, 0, 2,
          idBlock(2) + block({1, 0, 8}, {planes({wire::zigzag(static_cast<uint64_t>(kMinTimestamp)),
                                                 wire::zigzag(static_cast<uint64_t>(int64_t{-1}))},
                                                8)})),
      "change 1 (seq 2): a timestamp lies outside years 0001-9999");
  std::string nan(8, '\0');
  wire::storeLe(nan.data(), 0x7ff8000000000000ULL, 8);
  expectPayloadRefused(twoColumnPayload(ColumnType::Real, 0, 1, idBlock(1) + block({0}, {nan})),
                       "a real is not finite");
  std::string inf(8, '\0');
  wire::storeLe(inf.data(), 0x7ff0000000000000ULL, 8);
  expectPayloadRefused(twoColumnPayload(ColumnType::Real, 0, 1, idBlock(1) + block({0}, {inf})),
                       "a real is not finite");
  const uint64_t big = wire::zigzag((1ULL << 53) + 1);
  expectPayloadRefused(
      twoColumnPayload(ColumnType::Real, 0, 1, idBlock(1) + block({1, 2, 8}, {planes({big}, 8)})),
      "decimal form is out of range");
  // A decimal real decodes as m / 10^scale.
  const Payload ok = twoColumnPayload(
      ColumnType::Real, 0, 2, idBlock(2) + block({1, 2, 2}, {planes({wire::zigzag(1234), 1}, 2)}));
  auto out = internal::decodePayload(ok.bytes(), Limits{});
  ASSERT_TRUE(out.isOk()) << out.status().message();
  EXPECT_EQ(out->changes[0].values[1], Value(12.34));
  EXPECT_EQ(out->changes[1].values[1], Value(-0.01));
}

TEST(DecodePayload, TextStreams) {
  Limits limits;
  limits.max_field = 4;
  expectPayloadRefused(
      twoColumnPayload(ColumnType::Text, 0, 1, idBlock(1) + block({0}, {varints({5}), "abcde"})),
      "a text value is longer than the field limit", limits);
  expectPayloadRefused(
      twoColumnPayload(ColumnType::Text, 0, 1, idBlock(1) + block({0}, {varints({5}), "abc"})),
      "a stream ends before its last value");
  expectPayloadRefused(
      twoColumnPayload(ColumnType::Text, 0, 1, idBlock(1) + block({0}, {varints({2}), "abc"})),
      "a stream has bytes after its last value");
  expectPayloadRefused(twoColumnPayload(ColumnType::Text, 0, 2, idBlock(2) + block({0}, {"", ""})),
                       "lengths stream size does not fit 2 text values");
}

TEST(DecodePayload, TextDictionaries) {
  auto dict = [](size_t rows, const std::string& lengths, const std::string& bytes,
                 const std::string& indexes) {
    return twoColumnPayload(ColumnType::Text, 0, rows,
                            idBlock(rows) + block({1}, {lengths, bytes, indexes}));
  };
  auto out = internal::decodePayload(dict(3, varints({2, 3}), "abxyz", varints({1, 0, 1})).bytes(),
                                     Limits{});
  ASSERT_TRUE(out.isOk()) << out.status().message();
  EXPECT_EQ(out->changes[0].values[1], Value("xyz"));
  EXPECT_EQ(out->changes[1].values[1], Value("ab"));

  expectPayloadRefused(dict(2, varints({2, 3}), "abxyz", varints({1, 2})),
                       "a dictionary index is out of range");
  expectPayloadRefused(dict(1, varints({1, 1}), "ab", varints({0})),
                       "dictionary has 2 entries for 1 values");
  expectPayloadRefused(dict(1, varints({2}), "abc", varints({0})),
                       "dictionary bytes stream is longer than its lengths say");
  expectPayloadRefused(dict(1, varints({4}), "abc", varints({0})),
                       "dictionary bytes stream is shorter than its lengths say");
  Limits limits;
  limits.max_field = 2;
  expectPayloadRefused(dict(1, varints({3}), "abc", varints({0})),
                       "a text value is longer than the field limit", limits);
  expectPayloadRefused(dict(2, varints({1}), "a", varints({0})),
                       "indexes stream size does not fit 2 text values");
}

// A dictionary bomb: one entry used by every row expands far beyond the payload's size.
TEST(DecodePayload, DictionaryTextIsBoundedByMaxDecompressed) {
  const size_t rows = 1000;
  const std::string entry(1000, 'x');
  const Payload p = twoColumnPayload(
      ColumnType::Text, 0, rows,
      idBlock(rows) + block({1}, {varints({entry.size()}), entry, std::string(rows, '\0')}));
  EXPECT_TRUE(internal::decodePayload(p.bytes(), Limits{}).isOk());
  Limits limits;
  limits.max_decompressed = 500000;  // the payload itself is ~4 KB
  expectPayloadRefused(p, "dictionaries expand to more text than the decompressed size limit",
                       limits);
}

}  // namespace
}  // namespace exportsync::protocol
