// Writes the seed corpus of the batch decoder fuzz target into a folder:
//   batch_decoder_make_corpus tests/fuzz/batch_decoder/corpus
// Regenerate after a format change (then bump the format version: docs/protocol.md §7).
// Names follow replay_main.cpp: batch-* (valid batches), payload-* (valid bare payloads),
// bad-* (refused).
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "exportsync/protocol/batch.hpp"
#include "payload.hpp"
#include "sample_batches.hpp"
#include "wire.hpp"

namespace {

using namespace exportsync;            // NOLINT(google-build-using-namespace)
using namespace exportsync::protocol;  // NOLINT(google-build-using-namespace)

int g_written = 0;

void write(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), name.c_str());
    std::exit(1);
  }
  ++g_written;
}

void finish(Batch& b) {
  b.header.row_count = b.changes.size();
  b.header.first_seq = b.changes.empty() ? 0 : b.changes.front().seq;
  b.header.last_seq = b.changes.empty() ? b.header.base_seq : b.changes.back().seq;
}

void add(Batch& b, Op op, uint32_t dataset, std::vector<Value> values) {
  ChangeRecord c;
  c.seq = b.changes.empty() ? b.header.base_seq + 1
                            : b.changes.back().seq + 1 + (b.changes.size() % 3 == 0 ? 1 : 0);
  c.dataset = dataset;
  c.op = op;
  c.values = std::move(values);
  b.changes.push_back(std::move(c));
}

// Both forms of a valid batch: framed, and the bare payload.
void writeValid(const std::string& dir, const std::string& name, const Batch& b) {
  auto wire = encodeBatch(b, 3);
  auto raw = internal::encodePayload(b);
  if (!wire || !raw) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(),
                 (!wire ? wire.status() : raw.status()).message().c_str());
    std::exit(1);
  }
  write(dir, "batch-" + name + ".bin", *wire);
  write(dir, "payload-" + name + ".bin", *raw);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];

  testing::DeclarationGenerator gen(7, 40);
  const Batch declarations = gen.batch(24, 900);
  writeValid(dir, "declarations", declarations);

  Batch empty;
  empty.header = testing::sampleHeader(41);
  finish(empty);
  writeValid(dir, "empty", empty);

  Batch types;
  types.header = testing::sampleHeader(0);
  types.header.datasets.push_back({"csv-generic",
                                   "all_types",
                                   2,
                                   {{"id", ColumnType::Integer, true, false},
                                    {"name", ColumnType::Text, false, false},
                                    {"note", ColumnType::Text, false, true},
                                    {"amount", ColumnType::Money, false, false},
                                    {"qty", ColumnType::Real, false, true},
                                    {"ok", ColumnType::Boolean, false, true},
                                    {"day", ColumnType::Date, false, true},
                                    {"at", ColumnType::Timestamp, false, false}}});
  const double reals[] = {2.5, -0.0, 0.1 + 0.2, 1e300, 7.0, -1.25};
  for (int i = 0; i < 12; ++i) {
    add(types, Op::Insert, 0,
        {i == 0   ? INT64_MIN
         : i == 1 ? INT64_MAX
                  : static_cast<int64_t>(i) * 1000,
         i % 2 == 0 ? "Société Atlas" : "تعاونية أركان", i % 3 == 0 ? Value() : Value("n"),
         Money::fromCentimes(i % 2 == 0 ? -150000 : 990000),
         i % 4 == 0 ? Value() : Value(reals[i % 6]), i % 5 == 0 ? Value() : Value(i % 2 == 0),
         i == 3 ? Value() : Value(Date::fromDays(-719162 + i)),
         Timestamp::fromMicros(1700000000000000 + i * 1000000)});
  }
  finish(types);
  writeValid(dir, "all-types", types);

  Batch multi;
  multi.header = testing::sampleHeader(5000);
  multi.header.ends_transaction = false;
  multi.header.datasets.push_back(
      {"industrie",
       "exporters",
       1,
       {{"ice", ColumnType::Text, true, false}, {"name", ColumnType::Text, false, false}}});
  multi.header.datasets.push_back({"artisanat",
                                   "ventes",
                                   3,
                                   {{"region", ColumnType::Text, true, false},
                                    {"id", ColumnType::Integer, true, false},
                                    {"amount", ColumnType::Money, false, true}}});
  for (int i = 0; i < 10; ++i) {
    add(multi, Op::Insert, 0,
        {"00" + std::to_string(150000 + i), "Exportateur " + std::to_string(i)});
    add(multi, i % 2 == 0 ? Op::Insert : Op::Update, 1,
        {"MA-0" + std::to_string(i % 9 + 1), i,
         i % 3 == 0 ? Value() : Value(Money::fromCentimes(i * 100))});
    if (i % 3 == 0) {
      add(multi, Op::Delete, 1, {"MA-0" + std::to_string(i % 9 + 1), i});
      add(multi, Op::Delete, 0, {"00" + std::to_string(150000 + i)});
    }
  }
  finish(multi);
  writeValid(dir, "multi-dataset", multi);

  // Invalid inputs, each refused for one reason.
  auto wire = encodeBatch(declarations, 3);
  if (!wire) {
    return 1;
  }
  std::string bad = *wire;
  bad[0] = 'X';
  write(dir, "bad-magic.bin", bad);
  bad = *wire;
  wire::storeLe(bad.data() + 4, 2, 2);
  write(dir, "bad-version.bin", bad);
  write(dir, "bad-truncated.bin", wire->substr(0, wire->size() / 2));
  bad = *wire;
  bad[16] = static_cast<char>(bad[16] ^ 0x40);
  write(dir, "bad-crc.bin", bad);
  bad = *wire;
  wire::storeLe(bad.data() + 12, 100, 4);  // raw_size that the frame does not declare
  write(dir, "bad-size.bin", bad);
  auto raw = internal::encodePayload(declarations);
  if (!raw) {
    return 1;
  }
  write(dir, "bad-payload-truncated.bin", raw->substr(0, raw->size() - 3));
  std::string dict = *raw;
  dict += '\0';  // trailing byte
  write(dir, "bad-payload-trailing.bin", dict);
  std::printf("wrote %d files to %s\n", g_written, dir.c_str());
  return 0;
}
