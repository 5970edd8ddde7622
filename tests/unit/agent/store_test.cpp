// The agent store: change capture by triggers, runs as transactions, value round trips, schema
// evolution, store versioning. Every check reads what SQLite really holds.
#include "exportsync/agent/store.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace exportsync::agent {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using namespace std::string_literals;

// --- helpers --------------------------------------------------------------------------------

constexpr const char* kPlugin = "coop";

// One column of every type; `id` is the key.
DatasetSpec allTypes() {
  return DatasetSpec{"items",
                     1,
                     {{"id", ColumnType::Text, true, false},
                      {"label", ColumnType::Text, false, true},
                      {"qty", ColumnType::Integer, false, true},
                      {"weight", ColumnType::Real, false, true},
                      {"fragile", ColumnType::Boolean, false, true},
                      {"day", ColumnType::Date, false, true},
                      {"at", ColumnType::Timestamp, false, true},
                      {"price", ColumnType::Money, false, true}}};
}

// Two key columns, two values.
DatasetSpec flows() {
  return DatasetSpec{"flows",
                     1,
                     {{"hs", ColumnType::Text, true, false},
                      {"year", ColumnType::Integer, true, false},
                      {"value", ColumnType::Money, false, false},
                      {"tons", ColumnType::Real, false, true}}};
}

std::unique_ptr<Store> openStore(const std::string& path) {
  auto s = Store::open(path);
  EXPECT_TRUE(s.isOk()) << s.status().message();
  return s ? std::move(s).value() : nullptr;
}

std::vector<es_value> toAbi(const std::vector<Value>& values) {
  std::vector<es_value> out;
  out.reserve(values.size());
  for (const auto& v : values) {
    out.push_back(v.toAbi());
  }
  return out;
}

Status upsert(Store& store, const DatasetSpec& spec, const std::vector<Value>& row) {
  auto w = store.writer(kPlugin, spec);
  if (!w) {
    return w.status();
  }
  const auto abi = toAbi(row);
  return (*w)->upsert(abi.data(), abi.size());
}

Status remove(Store& store, const DatasetSpec& spec, const std::vector<Value>& key) {
  auto w = store.writer(kPlugin, spec);
  if (!w) {
    return w.status();
  }
  const auto abi = toAbi(key);
  return (*w)->remove(abi.data(), abi.size());
}

std::vector<Change> allChanges(Store& store) {
  auto c = store.changesAfter(0, 100000);
  EXPECT_TRUE(c.isOk()) << c.status().message();
  return c ? *c : std::vector<Change>();
}

StoredDataset stored(Store& store, const std::string& name) {
  auto d = store.dataset(kPlugin, name);
  EXPECT_TRUE(d.isOk() && d->has_value()) << name;
  return d && d->has_value() ? **d : StoredDataset();
}

int64_t rows(Store& store, const std::string& name) {
  auto n = store.rowCount(stored(store, name));
  EXPECT_TRUE(n.isOk()) << n.status().message();
  return n ? *n : -1;
}

int64_t changeCount(Store& store) {
  auto n = store.changeCount();
  EXPECT_TRUE(n.isOk());
  return n ? *n : -1;
}

// Turns a row image (JSON array, table order) back into typed values, as the sync client will.
std::vector<Value> parseImage(const std::string& json, const DatasetSpec& spec) {
  Poco::JSON::Parser parser;
  auto arr = parser.parse(json).extract<Poco::JSON::Array::Ptr>();
  EXPECT_EQ(arr->size(), spec.columns.size()) << json;
  std::vector<Value> out;
  for (size_t i = 0; i < spec.columns.size() && i < arr->size(); ++i) {
    const auto& v = arr->get(static_cast<unsigned>(i));
    if (v.isEmpty()) {
      out.emplace_back();
      continue;
    }
    switch (spec.columns[i].type) {
      case ColumnType::Text: out.emplace_back(v.convert<std::string>()); break;
      case ColumnType::Integer:
        out.emplace_back(static_cast<long long>(v.convert<Poco::Int64>()));
        break;
      case ColumnType::Money:
        out.emplace_back(Money::fromCentimes(v.convert<Poco::Int64>()));
        break;
      case ColumnType::Boolean: out.emplace_back(v.convert<Poco::Int64>() != 0); break;
      case ColumnType::Real: {
        // Reals travel as text with 17 significant digits: exact.
        EXPECT_TRUE(v.isString()) << "real in " << json << " is not text";
        out.emplace_back(std::strtod(v.convert<std::string>().c_str(), nullptr));
        break;
      }
      case ColumnType::Date: {
        const auto d = Date::parseIso(v.convert<std::string>());
        EXPECT_TRUE(d.has_value()) << v.convert<std::string>();
        out.emplace_back(d.value_or(Date()));
        break;
      }
      case ColumnType::Timestamp: {
        const auto t = Timestamp::parseIso(v.convert<std::string>());
        EXPECT_TRUE(t.has_value()) << v.convert<std::string>();
        out.emplace_back(t.value_or(Timestamp()));
        break;
      }
    }
  }
  return out;
}

bool sameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// A second, plain SQLite connection, as the sqlite3 shell or another program would use.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  /// Runs SQL; returns "" or SQLite's error message.
  std::string exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err != nullptr ? err : "error";
      sqlite3_free(err);
      return msg;
    }
    return {};
  }
  /// First column of the first row as text ("<null>" when NULL, "<none>" without rows).
  std::string scalar(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
    std::string out = "<none>";
    if (sqlite3_step(s) == SQLITE_ROW) {
      const auto* t = sqlite3_column_text(s, 0);
      out = t == nullptr ? "<null>" : reinterpret_cast<const char*>(t);
    }
    sqlite3_finalize(s);
    return out;
  }
  /// First column of the first row as a double (NaN without rows).
  double real(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
    const double out = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_double(s, 0) : std::nan("");
    sqlite3_finalize(s);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = openStore(path());
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(store_->applySchema(kPlugin, allTypes()));
    ASSERT_TRUE(store_->applySchema(kPlugin, flows()));
  }
  std::string path() const { return dir_.file("agent.db"); }
  // Runs `body` as one run and commits it.
  template <typename F>
  void run(F&& body) {
    ASSERT_TRUE(store_->beginRun());
    body();
    ASSERT_TRUE(store_->commitRun());
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

// --- change capture -------------------------------------------------------------------------

TEST_F(StoreTest, InsertUpdateDeleteAreCapturedWithKeyImageAndTxn) {
  const auto spec = allTypes();
  const int64_t id = stored(*store_, "items").id;
  run([&] {
    ASSERT_TRUE(upsert(*store_, spec,
                       {"a", "Argan", 3, 1.5, true, Date::fromDays(19000), Timestamp::fromMicros(1),
                        Money::fromCentimes(1250)}));
    ASSERT_TRUE(
        upsert(*store_, spec,
               {"b", "Safran", 1, Value(), false, Value(), Value(), Money::fromCentimes(99)}));
  });
  run([&] {
    ASSERT_TRUE(upsert(*store_, spec,
                       {"a", "Argan bio", 3, 1.5, true, Date::fromDays(19000),
                        Timestamp::fromMicros(1), Money::fromCentimes(1250)}));
    ASSERT_TRUE(remove(*store_, spec, {"b"}));
    ASSERT_TRUE(remove(*store_, spec, {"never-there"})) << "deleting a missing row is no error";
  });

  const auto ch = allChanges(*store_);
  ASSERT_EQ(ch.size(), 4u);
  EXPECT_EQ(ch[0].op, 'I');
  EXPECT_EQ(ch[0].key, R"(["a"])");
  EXPECT_EQ(ch[0].row.value_or(""),
            R"(["a","Argan",3,"1.5",1,"2022-01-08","1970-01-01T00:00:00.000001Z",1250])");
  EXPECT_EQ(ch[1].op, 'I');
  EXPECT_EQ(ch[1].row.value_or(""), R"(["b","Safran",1,null,0,null,null,99])");
  EXPECT_EQ(ch[2].op, 'U');
  EXPECT_EQ(ch[2].key, R"(["a"])");
  EXPECT_NE(ch[2].row.value_or("").find("\"Argan bio\""), std::string::npos);
  EXPECT_EQ(ch[3].op, 'D');
  EXPECT_EQ(ch[3].key, R"(["b"])");
  EXPECT_FALSE(ch[3].row.has_value()) << "a delete carries no row image";

  for (size_t i = 0; i < ch.size(); ++i) {
    EXPECT_EQ(ch[i].dataset_id, id);
    EXPECT_GT(ch[i].at, 1600000000) << "captured at a plausible unix time";
    if (i > 0) {
      EXPECT_GT(ch[i].seq, ch[i - 1].seq) << "seq is monotonic";
    }
  }
  EXPECT_EQ(ch[0].txn, ch[1].txn) << "one run, one txn";
  EXPECT_EQ(ch[2].txn, ch[3].txn);
  EXPECT_EQ(ch[2].txn, ch[0].txn + 1) << "each run a new txn";
  EXPECT_EQ(*store_->lastSeq(), ch.back().seq);
  EXPECT_EQ(rows(*store_, "items"), 1);
}

TEST_F(StoreTest, CompositeKeyImageFollowsKeyOrder) {
  const auto spec = flows();
  run([&] { ASSERT_TRUE(upsert(*store_, spec, {"0901", 2023, Money::fromCentimes(5), 0.25})); });
  run([&] { ASSERT_TRUE(remove(*store_, spec, {"0901", 2023})); });
  const auto ch = allChanges(*store_);
  ASSERT_EQ(ch.size(), 2u);
  EXPECT_EQ(ch[0].key, R"(["0901",2023])");
  EXPECT_EQ(ch[0].row.value_or(""), R"(["0901",2023,5,"0.25"])");
  EXPECT_EQ(ch[1].op, 'D');
  EXPECT_EQ(ch[1].key, R"(["0901",2023])");
}

TEST_F(StoreTest, UpsertOfAnIdenticalRowAddsNoChange) {
  const auto spec = allTypes();
  const std::vector<Value> row = {"a",
                                  "Argan",
                                  3,
                                  0.1,
                                  true,
                                  Date::fromDays(1),
                                  Timestamp::fromMicros(-5),
                                  Money::fromCentimes(7)};
  run([&] { ASSERT_TRUE(upsert(*store_, spec, row)); });
  const int64_t before = changeCount(*store_);
  const int64_t seq = *store_->lastSeq();
  run([&] {
    ASSERT_TRUE(upsert(*store_, spec, row));
    ASSERT_TRUE(upsert(*store_, spec, row));
  });
  EXPECT_EQ(changeCount(*store_), before);
  EXPECT_EQ(*store_->lastSeq(), seq);
  // NULL to NULL is no change either.
  const std::vector<Value> sparse = {"n",     Value(), Value(), Value(),
                                     Value(), Value(), Value(), Value()};
  run([&] { ASSERT_TRUE(upsert(*store_, spec, sparse)); });
  run([&] { ASSERT_TRUE(upsert(*store_, spec, sparse)); });
  EXPECT_EQ(changeCount(*store_), before + 1);
  // A change in one column only is one 'U'.
  auto changed = row;
  changed[3] = 0.30000000000000004;
  run([&] { ASSERT_TRUE(upsert(*store_, spec, changed)); });
  const auto ch = allChanges(*store_);
  ASSERT_EQ(ch.size(), static_cast<size_t>(before + 2));
  EXPECT_EQ(ch.back().op, 'U');
}

TEST_F(StoreTest, KeyOnlyDatasetUpsertTwiceIsOneInsert) {
  const DatasetSpec tags{"tags", 1, {{"tag", ColumnType::Text, true, false}}};
  ASSERT_TRUE(store_->applySchema(kPlugin, tags));
  run([&] {
    ASSERT_TRUE(upsert(*store_, tags, {"bio"}));
    ASSERT_TRUE(upsert(*store_, tags, {"bio"}));
  });
  EXPECT_EQ(changeCount(*store_), 1);
  EXPECT_EQ(rows(*store_, "tags"), 1);
}

TEST_F(StoreTest, KeyChangeThroughPlainSqlIsDeleteThenInsert) {
  const auto spec = allTypes();
  run([&] {
    ASSERT_TRUE(
        upsert(*store_, spec, {"old", "x", 1, Value(), Value(), Value(), Value(), Value()}));
  });
  ASSERT_TRUE(store_->execForTest("UPDATE coop__items SET id = 'new' WHERE id = 'old'"));
  const auto ch = allChanges(*store_);
  ASSERT_EQ(ch.size(), 3u);
  EXPECT_EQ(ch[1].op, 'D');
  EXPECT_EQ(ch[1].key, R"(["old"])");
  EXPECT_FALSE(ch[1].row.has_value());
  EXPECT_EQ(ch[2].op, 'I');
  EXPECT_EQ(ch[2].key, R"(["new"])");
  EXPECT_EQ(ch[2].row.value_or(""), R"(["new","x",1,null,null,null,null,null])");
  EXPECT_EQ(ch[1].txn, ch[2].txn);
}

TEST_F(StoreTest, WritesThroughASecondPlainConnectionAreCaptured) {
  const auto spec = allTypes();
  run([&] {
    ASSERT_TRUE(
        upsert(*store_, spec, {"a", "agent", 1, Value(), Value(), Value(), Value(), Value()}));
  });
  const int64_t run_txn = allChanges(*store_).back().txn;
  {
    RawDb raw(path());
    ASSERT_EQ(raw.exec("INSERT INTO coop__items(id, label, qty, weight, fragile, day, at, price) "
                       "VALUES('shell', 'Tifawin', 2, 2.5, 1, '2024-02-29', "
                       "'2024-02-29T10:00:00Z', -150)"),
              "");
    ASSERT_EQ(raw.exec("UPDATE coop__items SET qty = qty + 1 WHERE id = 'a'"), "");
    ASSERT_EQ(raw.exec("UPDATE coop__items SET qty = qty WHERE id = 'a'"), "")
        << "an update that changes nothing";
    ASSERT_EQ(raw.exec("DELETE FROM coop__items WHERE id = 'shell'"), "");
    ASSERT_EQ(raw.exec("INSERT INTO coop__flows VALUES('0802', 2024, 100, NULL)"), "");
    // The table constraints keep plain SQL in the agent's domain; a refused write adds nothing.
    EXPECT_NE(raw.exec("INSERT INTO coop__items(id, qty) VALUES('bad', 'many')"), "");
    EXPECT_NE(raw.exec("INSERT INTO coop__items(id, fragile) VALUES('bad', 2)"), "");
    EXPECT_NE(raw.exec("INSERT INTO coop__items(id, day) VALUES('bad', '2023-02-29')"), "");
    EXPECT_NE(raw.exec("INSERT INTO coop__items(id, day) VALUES('bad', '2024-04-31')"), "");
    EXPECT_NE(raw.exec("INSERT INTO coop__items(id, day) VALUES('bad', '2024-01-01 10:00')"), "");
    EXPECT_NE(raw.exec("INSERT INTO coop__items(id, at) VALUES('bad', 'yesterday')"), "");
    EXPECT_NE(raw.exec("INSERT INTO coop__items(id, label) VALUES(NULL, 'no key')"), "");
  }
  const auto ch = allChanges(*store_);
  ASSERT_EQ(ch.size(), 5u);
  EXPECT_EQ(ch[1].op, 'I');
  EXPECT_EQ(ch[1].key, R"(["shell"])");
  EXPECT_EQ(ch[1].row.value_or(""),
            R"(["shell","Tifawin",2,"2.5",1,"2024-02-29","2024-02-29T10:00:00Z",-150])");
  EXPECT_EQ(ch[2].op, 'U');
  EXPECT_EQ(ch[2].row.value_or(""), R"(["a","agent",2,null,null,null,null,null])");
  EXPECT_EQ(ch[3].op, 'D');
  EXPECT_EQ(ch[3].key, R"(["shell"])");
  EXPECT_EQ(ch[4].op, 'I');
  EXPECT_EQ(ch[4].dataset_id, stored(*store_, "flows").id);
  EXPECT_EQ(ch[4].key, R"(["0802",2024])");
  for (size_t i = 1; i < ch.size(); ++i) {
    EXPECT_GT(ch[i].seq, ch[i - 1].seq);
    // Outside a run there is no new txn: plain writes carry the last run's id.
    EXPECT_EQ(ch[i].txn, run_txn);
  }
  // The agent's connection sees them too, and its next run gets a fresh txn.
  EXPECT_EQ(rows(*store_, "items"), 1);
  run([&] { ASSERT_TRUE(remove(*store_, spec, {"a"})); });
  EXPECT_EQ(allChanges(*store_).back().txn, run_txn + 1);
}

// The writer logs its own changes in blocks; these cover the block, the row-by-row fallback
// and the order of the log across datasets.
std::vector<Value> item(const std::string& id, int64_t qty) {
  return {id,
          "label " + id,
          qty,
          0.5 * static_cast<double>(qty),
          qty % 2 == 0,
          Date::fromYmd(2024, 1 + static_cast<unsigned>(qty % 12), 1),
          Timestamp::fromMicros(1700000000000000 + qty),
          Money::fromCentimes(qty * 100)};
}

TEST_F(StoreTest, BlocksOfNewRowsAndMixedRewritesLogExactlyWhatChanged) {
  const auto spec = allTypes();
  // Blocks of 32 rows, handed to the store thread 256 at a time: two full batches and a partial
  // one, and a partial last block.
  constexpr int kRows = 600;
  run([&] {
    for (int i = 0; i < kRows; ++i) {
      ASSERT_TRUE(upsert(*store_, spec, item("k" + std::to_string(i), i)));
    }
  });
  auto ch = allChanges(*store_);
  ASSERT_EQ(ch.size(), size_t{kRows});
  for (int i = 0; i < kRows; ++i) {
    EXPECT_EQ(ch[i].op, 'I');
    EXPECT_EQ(ch[i].key, "[\"k" + std::to_string(i) + "\"]") << "log in write order";
    EXPECT_EQ(parseImage(*ch[i].row, spec), item("k" + std::to_string(i), i));
  }
  const int64_t last = ch.back().seq;
  // Every row again: 10 changed (across the first two batches), the others the same, then 10
  // new ones.
  const auto changed = [](int i) { return i >= 250 && i < 260; };
  run([&] {
    for (int i = 0; i < kRows + 10; ++i) {
      ASSERT_TRUE(upsert(*store_, spec, item("k" + std::to_string(i), changed(i) ? -i : i)));
    }
  });
  ch = allChanges(*store_);
  ASSERT_EQ(ch.size(), size_t{kRows + 20});
  for (size_t n = kRows; n < kRows + 20; ++n) {
    const int i = n < kRows + 10 ? 250 + static_cast<int>(n - kRows) : static_cast<int>(n - 10);
    EXPECT_EQ(ch[n].op, n < kRows + 10 ? 'U' : 'I') << n;
    EXPECT_EQ(ch[n].key, "[\"k" + std::to_string(i) + "\"]");
    EXPECT_EQ(parseImage(*ch[n].row, spec), item("k" + std::to_string(i), changed(i) ? -i : i));
    EXPECT_GT(ch[n].seq, last);
  }
  EXPECT_EQ(rows(*store_, "items"), kRows + 10);
  RawDb raw(path());
  EXPECT_EQ(raw.scalar("SELECT qty FROM coop__items WHERE id = 'k255'"), "-255");
}

// Rows id(0) .. id(count - 1) written in one run, id(changed) with its quantity negated; then
// the log from entry `from` on must hold one entry per row in write order, none for `silent` (a
// row as it was, or one that was not stored), a 'U' for `changed` and an 'I' for the others.
template <typename Id>
void expectEachRowLoggedInOrder(Store& store, const DatasetSpec& spec, size_t from, int count,
                                int silent, int changed, Id id) {
  const auto ch = allChanges(store);
  ASSERT_EQ(ch.size(), from + static_cast<size_t>(count) - 1) << "one entry a row but one";
  size_t n = from;
  for (int i = 0; i < count; ++i) {
    if (i == silent) {
      continue;
    }
    EXPECT_EQ(ch[n].op, i == changed ? 'U' : 'I') << i;
    EXPECT_EQ(ch[n].key, "[\"" + id(i) + "\"]") << "log in write order";
    EXPECT_EQ(parseImage(*ch[n].row, spec), item(id(i), i == changed ? -i : i)) << i;
    ++n;
  }
}

// A block of new rows stops at a row that is there already (INSERT OR FAIL): the rows before it
// stay written and are logged as inserts, the rest go row by row.
TEST_F(StoreTest, ABlockThatMeetsAnExistingRowKeepsAndLogsTheNewRowsBeforeIt) {
  const auto spec = allTypes();
  const auto id = [](int i) { return "n" + std::to_string(100 + i); };
  run([&] {
    ASSERT_TRUE(upsert(*store_, spec, item(id(10), 10)));  // the same again below
    ASSERT_TRUE(upsert(*store_, spec, item(id(40), 40)));  // changed below
  });
  const size_t before = allChanges(*store_).size();
  run([&] {
    auto w = store_->writer(kPlugin, spec);
    ASSERT_TRUE(w.isOk()) << w.status().message();
    for (int i = 0; i < 100; ++i) {
      const auto values = item(id(i), i == 40 ? -40 : i);
      const auto row = toAbi(values);  // points into values
      ASSERT_TRUE((*w)->upsert(row.data(), row.size()));
    }
  });
  expectEachRowLoggedInOrder(*store_, spec, before, 100, /*silent=*/10, /*changed=*/40, id);
  EXPECT_EQ(rows(*store_, "items"), 100);
  RawDb raw(path());
  EXPECT_EQ(raw.scalar("SELECT qty FROM coop__items WHERE id = 'n105'"), "5");
  EXPECT_EQ(raw.scalar("SELECT qty FROM coop__items WHERE id = 'n140'"), "-40");
}

// A local DBA's trigger that skips a row (RAISE(IGNORE)): the rows a block keeps are then not
// its first ones, so the writer goes row by row, and the log holds exactly what was stored.
TEST_F(StoreTest, ARowADbaTriggerSkipsIsNotLoggedAndEveryStoredRowIs) {
  const auto spec = allTypes();
  const auto id = [](int i) { return "m" + std::to_string(100 + i); };
  run([&] { ASSERT_TRUE(upsert(*store_, spec, item(id(40), 40))); });
  {
    RawDb raw(path());
    ASSERT_EQ(raw.exec("CREATE TRIGGER skip_m103 BEFORE INSERT ON coop__items "
                       "WHEN NEW.id = 'm103' BEGIN SELECT RAISE(IGNORE); END"),
              "");
  }
  const size_t before = allChanges(*store_).size();
  run([&] {
    for (int i = 0; i < 64; ++i) {  // two whole blocks; m140 is there already, changed
      ASSERT_TRUE(upsert(*store_, spec, item(id(i), i == 40 ? -40 : i)));
    }
  });
  expectEachRowLoggedInOrder(*store_, spec, before, 64, /*silent=*/3, /*changed=*/40, id);
  RawDb raw(path());
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM coop__items"), "63");
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM coop__items WHERE id = 'm103'"), "0");
  EXPECT_EQ(raw.scalar("SELECT qty FROM coop__items WHERE id = 'm140'"), "-40");
}

// A local DBA's trigger that refuses a row after it is stored (its own insert fails): the run
// fails with SQLite's reason and keeps nothing, as for a refusal before the row.
TEST_F(StoreTest, ARowADbaTriggerRefusesAfterItIsStoredFailsTheRun) {
  const auto spec = allTypes();
  {
    RawDb raw(path());
    ASSERT_EQ(raw.exec("CREATE TABLE audit(x TEXT PRIMARY KEY); INSERT INTO audit VALUES('a05');"
                       "CREATE TRIGGER audit_items AFTER INSERT ON coop__items "
                       "BEGIN INSERT INTO audit VALUES(NEW.id); END"),
              "");
  }
  const size_t before = allChanges(*store_).size();
  ASSERT_TRUE(store_->beginRun());
  Status st = Status::ok();
  for (int i = 0; i < 32 && st; ++i) {  // one whole block
    st = upsert(*store_, spec, item("a" + std::to_string(i + 100).substr(1), i));
  }
  if (st) {
    st = store_->commitRun();
  }
  if (!st) {
    store_->rollbackRun();
  }
  ASSERT_FALSE(st.isOk()) << "the refused row must fail the run";
  EXPECT_THAT(st.message(), HasSubstr("UNIQUE constraint failed: audit.x"));
  EXPECT_EQ(allChanges(*store_).size(), before);
  EXPECT_EQ(rows(*store_, "items"), 0);
  RawDb raw(path());
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM audit"), "1");
}

// SQLite refuses a row on the store thread (a trigger of a local DBA's): the run fails with
// SQLite's reason, naming the dataset, and its rollback leaves nothing of it.
TEST_F(StoreTest, AWriteRefusedOnTheStoreThreadFailsTheRunAndLeavesNothing) {
  const auto spec = allTypes();
  {
    RawDb raw(path());
    ASSERT_EQ(raw.exec("CREATE TRIGGER refuse_k300 BEFORE INSERT ON coop__items "
                       "WHEN NEW.id = 'k300' BEGIN SELECT RAISE(ABORT, 'k300 refused here'); END"),
              "");
  }
  ASSERT_TRUE(store_->beginRun());
  Status failed = Status::ok();
  int accepted = 0;
  for (int i = 0; i < 1000 && failed; ++i) {
    failed = upsert(*store_, spec, item("k" + std::to_string(i), i));
    accepted += failed ? 1 : 0;
  }
  if (failed) {
    failed = store_->commitRun();  // the last rows go at the commit
  } else {
    store_->rollbackRun();
  }
  ASSERT_FALSE(failed) << "the refused row must fail the run";
  EXPECT_EQ(failed.code(), Code::Io);
  EXPECT_THAT(failed.message(), HasSubstr("dataset 'items'"));
  EXPECT_THAT(failed.message(), HasSubstr("k300 refused here"));
  EXPECT_GT(accepted, 300) << "rows ahead of the failure were accepted, then it was reported";
  EXPECT_FALSE(store_->inRun());
  EXPECT_EQ(rows(*store_, "items"), 0);
  EXPECT_EQ(changeCount(*store_), 0);
  // The next run starts clean.
  run([&] { ASSERT_TRUE(upsert(*store_, spec, item("k1", 1))); });
  EXPECT_EQ(rows(*store_, "items"), 1);
  EXPECT_EQ(changeCount(*store_), 1);
}

// A full disk on the store thread: SQLite may end the whole transaction by itself, and a write
// after that would commit on its own. Nothing more is written once the run has failed: not the
// plugin's state (a cursor that moved on without its rows would skip data), not a dropped
// trigger; the rollback leaves the store as it was.
TEST_F(StoreTest, AfterAFailedWriteNothingElseOfTheRunIsWrittenNotEvenState) {
  const auto spec = allTypes();
  ASSERT_TRUE(store_->beginRun());
  ASSERT_TRUE(store_->statePut(kPlugin, "cursor", "before"));
  // The file may not grow any more (max_page_count cannot go below the current size).
  ASSERT_TRUE(store_->execForTest("PRAGMA max_page_count = 1"));
  Status failed = Status::ok();
  const std::string long_label(400, 'x');
  for (int i = 0; i < 5000 && failed; ++i) {
    auto row = item("k" + std::to_string(i), i);
    row[1] = long_label + std::to_string(i);
    failed = upsert(*store_, spec, row);
  }
  if (failed) {
    failed = store_->statePut(kPlugin, "cursor", "after");
  }
  ASSERT_FALSE(failed) << "the full disk must fail the run";
  EXPECT_FALSE(store_->statePut(kPlugin, "cursor", "after")) << "state after a failed write";
  EXPECT_FALSE(store_->commitRun());
  EXPECT_FALSE(store_->inRun());
  ASSERT_TRUE(store_->execForTest("PRAGMA max_page_count = 1073741823"));
  RawDb raw(path());
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM coop__items"), "0");
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM _changes"), "0");
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM _plugin_state"), "0");
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND "
                       "name LIKE '\\_capture\\_coop\\_\\_items%' ESCAPE '\\'"),
            "4")
      << "the capture triggers are back";
}

// A whole number given for a real key column is a real: the key image says so in the insert,
// the row image and the delete alike, so the hub matches them.
TEST_F(StoreTest, AWholeNumberForARealKeyIsImagedAsARealEverywhere) {
  const DatasetSpec grades{
      "grades",
      1,
      {{"grade", ColumnType::Real, true, false}, {"label", ColumnType::Text, false, true}}};
  ASSERT_TRUE(store_->applySchema(kPlugin, grades));
  run([&] {
    ASSERT_TRUE(upsert(*store_, grades, {static_cast<long long>(2), "two"}));
    ASSERT_TRUE(remove(*store_, grades, {static_cast<long long>(2)}));
  });
  const auto ch = allChanges(*store_);
  ASSERT_EQ(ch.size(), 2u);
  EXPECT_EQ(ch[0].key, R"(["2"])");
  EXPECT_EQ(ch[0].row.value_or(""), R"(["2","two"])");
  EXPECT_EQ(ch[1].op, 'D');
  EXPECT_EQ(ch[1].key, ch[0].key);
}

TEST_F(StoreTest, SameKeyTwiceInOneRunIsAnInsertThenAnUpdate) {
  const auto spec = allTypes();
  run([&] {
    ASSERT_TRUE(upsert(*store_, spec, item("a", 1)));
    ASSERT_TRUE(upsert(*store_, spec, item("b", 2)));
    ASSERT_TRUE(upsert(*store_, spec, item("a", 3)));
    ASSERT_TRUE(upsert(*store_, spec, item("a", 3)));  // the same again: nothing
  });
  const auto ch = allChanges(*store_);
  ASSERT_EQ(ch.size(), 3u);
  EXPECT_EQ(ch[0].op, 'I');
  EXPECT_EQ(ch[1].op, 'I');
  EXPECT_EQ(ch[2].op, 'U');
  EXPECT_EQ(parseImage(*ch[2].row, spec), item("a", 3));
  RawDb raw(path());
  EXPECT_EQ(raw.scalar("SELECT qty FROM coop__items WHERE id = 'a'"), "3");
}

TEST_F(StoreTest, WritesToSeveralDatasetsAreLoggedInCallOrder) {
  run([&] {
    ASSERT_TRUE(upsert(*store_, allTypes(), item("a", 1)));
    ASSERT_TRUE(upsert(*store_, flows(), {"0901", 2023, Money::fromCentimes(5), 0.25}));
    ASSERT_TRUE(upsert(*store_, allTypes(), item("b", 2)));
    ASSERT_TRUE(remove(*store_, allTypes(), {"a"}));
    ASSERT_TRUE(upsert(*store_, allTypes(), item("a", 4)));
  });
  const auto ch = allChanges(*store_);
  ASSERT_EQ(ch.size(), 5u);
  const std::string got = std::string{ch[0].op, ch[1].op, ch[2].op, ch[3].op, ch[4].op};
  EXPECT_EQ(got, "IIIDI");
  EXPECT_EQ(ch[1].dataset_id, stored(*store_, "flows").id);
  EXPECT_EQ(ch[2].key, R"(["b"])");
  EXPECT_EQ(ch[3].key, R"(["a"])");
  EXPECT_EQ(parseImage(*ch[4].row, allTypes()), item("a", 4));
}

TEST_F(StoreTest, CaptureTriggersAreBackAfterACommitAndAfterARollback) {
  run([&] { ASSERT_TRUE(upsert(*store_, allTypes(), item("a", 1))); });
  ASSERT_TRUE(store_->beginRun());
  ASSERT_TRUE(upsert(*store_, allTypes(), item("b", 2)));
  store_->rollbackRun();
  RawDb raw(path());
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND "
                       "tbl_name = 'coop__items'"),
            "4");
  ASSERT_EQ(raw.exec("UPDATE coop__items SET qty = 7 WHERE id = 'a'"), "");
  const auto ch = allChanges(*store_);
  ASSERT_EQ(ch.size(), 2u);
  EXPECT_EQ(ch[1].op, 'U');
  // The trigger's image and the writer's image of the same row read back the same.
  auto want = item("a", 1);
  want[2] = Value(static_cast<long long>(7));
  EXPECT_EQ(parseImage(*ch[1].row, allTypes()), want);
}

TEST_F(StoreTest, AnOpenRunIsInvisibleToOtherConnectionsUntilCommit) {
  const auto spec = allTypes();
  ASSERT_TRUE(store_->beginRun());
  ASSERT_TRUE(upsert(*store_, spec,
                     {"run", Value(), Value(), Value(), Value(), Value(), Value(), Value()}));
  {
    RawDb raw(path());
    EXPECT_EQ(raw.scalar("SELECT count(*) FROM coop__items"), "0") << "a run is invisible";
    EXPECT_EQ(raw.scalar("SELECT count(*) FROM _changes"), "0") << "so are its changes";
  }
  ASSERT_TRUE(store_->commitRun());
  RawDb raw(path());
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM coop__items"), "1");
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM _changes"), "1");
}

TEST_F(StoreTest, RollbackRunLeavesNoRowsNoChangesNoState) {
  const auto spec = allTypes();
  ASSERT_TRUE(store_->beginRun());
  EXPECT_TRUE(store_->inRun());
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(
        upsert(*store_, spec,
               {"r" + std::to_string(i), "x", i, Value(), Value(), Value(), Value(), Value()}));
  }
  ASSERT_TRUE(store_->statePut(kPlugin, "cursor", "200"));
  EXPECT_EQ(rows(*store_, "items"), 200) << "the run sees its own writes";
  store_->rollbackRun();
  EXPECT_FALSE(store_->inRun());
  EXPECT_EQ(rows(*store_, "items"), 0);
  EXPECT_EQ(changeCount(*store_), 0);
  EXPECT_EQ(*store_->lastSeq(), 0);
  EXPECT_FALSE(store_->stateGet(kPlugin, "cursor")->has_value());
  store_->rollbackRun();  // a second rollback is harmless

  // The store is usable and a later run commits.
  run([&] {
    ASSERT_TRUE(upsert(*store_, spec,
                       {"ok", Value(), Value(), Value(), Value(), Value(), Value(), Value()}));
  });
  EXPECT_EQ(rows(*store_, "items"), 1);
  EXPECT_EQ(changeCount(*store_), 1);
}

TEST_F(StoreTest, ClosingTheStoreMidRunRollsBack) {
  const auto spec = allTypes();
  ASSERT_TRUE(store_->beginRun());
  ASSERT_TRUE(
      upsert(*store_, spec, {"x", Value(), Value(), Value(), Value(), Value(), Value(), Value()}));
  store_.reset();
  store_ = openStore(path());
  EXPECT_EQ(rows(*store_, "items"), 0);
  EXPECT_EQ(changeCount(*store_), 0);
}

TEST_F(StoreTest, RunsAreExclusiveAndSchemaChangesWaitForTheirEnd) {
  ASSERT_TRUE(store_->beginRun());
  const Status again = store_->beginRun();
  EXPECT_EQ(again.code(), Code::Internal);
  EXPECT_NE(again.message().find("already open"), std::string::npos);
  auto next = allTypes();
  next.version = 2;
  next.columns.push_back({"extra", ColumnType::Text, false, true});
  const Status during = store_->applySchema(kPlugin, next);
  EXPECT_FALSE(during.isOk());
  EXPECT_NE(during.message().find("not allowed during a run"), std::string::npos);
  store_->rollbackRun();
  EXPECT_EQ(store_->commitRun().code(), Code::Internal) << "no run to commit";
}

TEST_F(StoreTest, StateIsPartOfTheRun) {
  run([&] { ASSERT_TRUE(store_->statePut(kPlugin, "cursor", "تعاونية")); });
  EXPECT_EQ(store_->stateGet(kPlugin, "cursor")->value_or(""), "تعاونية");
  EXPECT_FALSE(store_->stateGet("other", "cursor")->has_value()) << "state is per plugin";
  run([&] { ASSERT_TRUE(store_->stateErase(kPlugin, "cursor")); });
  EXPECT_FALSE(store_->stateGet(kPlugin, "cursor")->has_value());
  EXPECT_EQ(changeCount(*store_), 0) << "plugin state is not synced data";
}

TEST_F(StoreTest, HealthRoundTripsAndQuarantineClears) {
  EXPECT_FALSE(store_->health(kPlugin)->has_value());
  EXPECT_FALSE(*store_->clearQuarantine(kPlugin));
  PluginHealth h;
  h.plugin = kPlugin;
  h.consecutive_failures = 3;
  h.quarantined = true;
  h.config_hash = "abc";
  h.last_result = "failed";
  h.last_error = "crashed (signal 11)";
  h.last_rejected = 4;
  ASSERT_TRUE(store_->putHealth(h));
  auto got = store_->health(kPlugin);
  ASSERT_TRUE(got.isOk() && got->has_value());
  EXPECT_EQ((*got)->consecutive_failures, 3);
  EXPECT_TRUE((*got)->quarantined);
  EXPECT_EQ((*got)->last_error, "crashed (signal 11)");
  EXPECT_EQ((*got)->last_rejected, 4);
  EXPECT_TRUE(*store_->clearQuarantine(kPlugin));
  EXPECT_FALSE((*store_->health(kPlugin))->quarantined);
  EXPECT_EQ((*store_->health(kPlugin))->consecutive_failures, 0);
}

// --- writer checks --------------------------------------------------------------------------

TEST_F(StoreTest, WriterRefusesBadRowsNamingDatasetAndColumn) {
  const auto spec = allTypes();
  ASSERT_TRUE(store_->beginRun());
  const Status type =
      upsert(*store_, spec, {"a", "x", "three", Value(), Value(), Value(), Value(), Value()});
  EXPECT_EQ(type.code(), Code::Invalid);
  EXPECT_EQ(type.message(), "dataset 'items': column 'qty' expects integer, got text");
  const Status null_key =
      upsert(*store_, spec, {Value(), "x", 1, Value(), Value(), Value(), Value(), Value()});
  EXPECT_EQ(null_key.message(), "dataset 'items': column 'id' may not be empty (null)");
  const Status count = upsert(*store_, spec, {"a", "x"});
  EXPECT_EQ(count.message(), "dataset 'items': row has 2 values, expected 8");
  const Status key = remove(*store_, spec, {1});
  EXPECT_EQ(key.message(), "dataset 'items': column 'id' expects text, got integer");
  const Status key_count = remove(*store_, flows(), {"0901"});
  EXPECT_EQ(key_count.message(), "dataset 'flows': key has 1 values, expected 2");
  store_->rollbackRun();
  EXPECT_EQ(changeCount(*store_), 0);

  const DatasetSpec unknown{"unknown", 1, {{"id", ColumnType::Text, true, false}}};
  auto w = store_->writer(kPlugin, unknown);
  ASSERT_FALSE(w.isOk());
  EXPECT_EQ(w.status().message(),
            "plugin 'coop' dataset 'unknown' is not in the store; its schema was not applied");
}

// --- value round trips ----------------------------------------------------------------------

TEST_F(StoreTest, EveryTypeRoundTripsThroughTheRowImage) {
  const auto spec = allTypes();
  const std::vector<std::vector<Value>> cases = {
      {"ar", "تعاونية أركان", INT64_MAX, 0.1 + 0.2, true, Date::fromYmd(1, 1, 1),
       Timestamp::fromMicros(-1), Money::fromCentimes(INT64_MAX)},
      {"fr", "Coopérative Tifawin — huile d'argan", INT64_MIN, 1e308, false,
       Date::fromYmd(9999, 12, 31), Timestamp::fromMicros(1700000000123456),
       Money::fromCentimes(INT64_MIN)},
      {"denormal", "\"quotes\" \\ back\nslash\ttab \u00e9\0end"s, 0, 5e-324, true,
       Date::fromYmd(1969, 12, 31), Timestamp::fromMicros(-62135596800000000),
       Money::fromCentimes(-1)},
      {"max", "emoji 🌿 and tifinagh ⵜⴰⵎⴰⵣⵉⵖⵜ", -1, 123456789.01234567, false,
       Date::fromYmd(2024, 2, 29), Timestamp::fromMicros(253402300799999999),
       Money::fromCentimes(0)},
      {"small", "", 1, -2.2250738585072014e-308, true, Value(), Value(), Value()},
      {"nulls", Value(), Value(), Value(), Value(), Value(), Value(), Value()},
      {"int-as-real", "x", 2, 3, Value(), Value(), Value(), Value()},
  };
  run([&] {
    for (const auto& row : cases) {
      ASSERT_TRUE(upsert(*store_, spec, row)) << std::get<std::string>(row[0].storage());
    }
  });
  const auto ch = allChanges(*store_);
  ASSERT_EQ(ch.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    ASSERT_TRUE(ch[i].row.has_value());
    const auto back = parseImage(*ch[i].row, spec);
    ASSERT_EQ(back.size(), cases[i].size());
    for (size_t c = 0; c < back.size(); ++c) {
      Value want = cases[i][c];
      if (spec.columns[c].type == ColumnType::Real && !want.isNull()) {
        const auto* as_int = std::get_if<int64_t>(&want.storage());
        const double d =
            as_int != nullptr ? static_cast<double>(*as_int) : std::get<double>(want.storage());
        const auto* got = std::get_if<double>(&back[c].storage());
        ASSERT_NE(got, nullptr) << *ch[i].row;
        EXPECT_TRUE(sameBits(*got, d)) << "row " << i << " column " << spec.columns[c].name << ": "
                                       << *got << " != " << d << " in " << *ch[i].row;
        continue;
      }
      EXPECT_EQ(back[c], want) << "row " << i << " column " << spec.columns[c].name << " in "
                               << *ch[i].row;
    }
  }
  // Embedded NUL survives: text is bound by length, and the image escapes it.
  EXPECT_NE(ch[2].row->find("\\u0000end"), std::string::npos) << *ch[2].row;
  // The key image of the Arabic row is the raw UTF-8, not escaped.
  EXPECT_EQ(ch[0].key, R"(["ar"])");
  EXPECT_NE(ch[0].row->find("تعاونية أركان"), std::string::npos);
}

TEST_F(StoreTest, HugeRealsAreWithinOneUlpInTheImage) {
  // Documented limitation: SQLite 3.40's printf('%!.17g') is exact for |x| below about 1e125
  // (checked on 400,000 random doubles) but may be one unit in the last place off above it,
  // e.g. DBL_MAX prints as 1.7976931348623156e+308. The table itself holds the exact value.
  const auto spec = allTypes();
  const double values[] = {1.7976931348623157e308, -1.5851058921722199e301, 1e200, 1e125};
  run([&] {
    for (size_t i = 0; i < std::size(values); ++i) {
      ASSERT_TRUE(upsert(*store_, spec,
                         {"h" + std::to_string(i), Value(), Value(), values[i], Value(), Value(),
                          Value(), Value()}));
    }
  });
  const auto ch = allChanges(*store_);
  ASSERT_EQ(ch.size(), std::size(values));
  for (size_t i = 0; i < ch.size(); ++i) {
    const double got = std::get<double>(parseImage(*ch[i].row, spec)[3].storage());
    const double want = values[i];
    EXPECT_TRUE(got == want || got == std::nextafter(want, 0.0) ||
                got == std::nextafter(want, want * 2))
        << *ch[i].row << " vs " << want;
  }
  RawDb raw(path());
  for (size_t i = 0; i < std::size(values); ++i) {
    EXPECT_TRUE(
        sameBits(raw.real("SELECT weight FROM coop__items WHERE id = 'h" + std::to_string(i) + "'"),
                 values[i]));
  }
}

TEST_F(StoreTest, NegativeZeroIsStoredAsPositiveZero) {
  // Documented behaviour: SQLite stores an integral REAL as an integer on disk, so -0.0 comes
  // back (and is captured) as 0.0. The sign of zero is not preserved.
  const auto spec = allTypes();
  run([&] {
    ASSERT_TRUE(
        upsert(*store_, spec, {"z", Value(), Value(), -0.0, Value(), Value(), Value(), Value()}));
  });
  const auto back = parseImage(*allChanges(*store_).at(0).row, spec);
  const double got = std::get<double>(back[3].storage());
  EXPECT_EQ(got, 0.0);
  EXPECT_FALSE(std::signbit(got)) << "if SQLite ever keeps -0.0, update this test and the docs";
  // And re-sending -0.0 is no change: 0.0 IS -0.0 in SQLite.
  run([&] {
    ASSERT_TRUE(
        upsert(*store_, spec, {"z", Value(), Value(), -0.0, Value(), Value(), Value(), Value()}));
  });
  EXPECT_EQ(changeCount(*store_), 1);
}

TEST_F(StoreTest, NonFiniteRealsAndOutOfRangeValuesAreRefused) {
  const auto spec = allTypes();
  ASSERT_TRUE(store_->beginRun());
  const Status inf =
      upsert(*store_, spec, {"i", Value(), Value(), HUGE_VAL, Value(), Value(), Value(), Value()});
  EXPECT_EQ(inf.message(), "dataset 'items': column 'weight' holds a non-finite real");
  const Status nan = upsert(
      *store_, spec, {"n", Value(), Value(), std::nan(""), Value(), Value(), Value(), Value()});
  EXPECT_FALSE(nan.isOk());
  const Status ts = upsert(*store_, spec,
                           {"t", Value(), Value(), Value(), Value(), Value(),
                            Timestamp::fromMicros(INT64_MIN), Value()});
  EXPECT_NE(ts.message().find("column 'at'"), std::string::npos) << ts.message();
  store_->rollbackRun();
}

// --- schema evolution -----------------------------------------------------------------------

// Snapshot of what a refused change must leave untouched.
struct Snapshot {
  std::string table_sql;
  std::string triggers_sql;
  std::string rows;
  std::string datasets;
  std::string columns;
  friend bool operator==(const Snapshot& a, const Snapshot& b) {
    return a.table_sql == b.table_sql && a.triggers_sql == b.triggers_sql && a.rows == b.rows &&
           a.datasets == b.datasets && a.columns == b.columns;
  }
};

Snapshot snapshot(const std::string& path) {
  RawDb raw(path);
  return Snapshot{
      raw.scalar("SELECT sql FROM sqlite_master WHERE name = 'coop__items'"),
      raw.scalar("SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master WHERE "
                 "type = 'trigger' ORDER BY name)"),
      raw.scalar("SELECT group_concat(json_array(id, label, qty), ';') FROM coop__items"),
      raw.scalar("SELECT group_concat(json_array(id, plugin, name, version, table_name)) FROM "
                 "_datasets"),
      raw.scalar("SELECT group_concat(json_array(dataset_id, position, name, type, "
                 "key_position, nullable)) FROM _columns")};
}

class SchemaTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    run([&] {
      ASSERT_TRUE(upsert(*store_, allTypes(),
                         {"a", "Argan", 1, Value(), Value(), Value(), Value(), Value()}));
    });
  }
  // Applies `changed`, expects a schema refusal containing every part of `expect`, and checks
  // nothing moved.
  void expectRefused(const DatasetSpec& changed, const std::vector<std::string>& expect) {
    const Snapshot before = snapshot(path());
    const Status st = store_->applySchema(kPlugin, changed);
    EXPECT_EQ(st.code(), Code::Schema) << st.message();
    EXPECT_NE(st.message().find("plugin 'coop' dataset 'items'"), std::string::npos)
        << st.message();
    for (const auto& part : expect) {
      EXPECT_NE(st.message().find(part), std::string::npos)
          << "'" << st.message() << "' lacks '" << part << "'";
    }
    EXPECT_TRUE(snapshot(path()) == before) << "a refused change must change nothing";
    EXPECT_EQ(stored(*store_, "items").spec.columns.size(), allTypes().columns.size());
    EXPECT_EQ(rows(*store_, "items"), 1);
  }
};

TEST_F(SchemaTest, NewDatasetGetsATableAndSameSpecIsANoOp) {
  const auto d = stored(*store_, "items");
  EXPECT_EQ(d.table, "coop__items");
  EXPECT_EQ(d.plugin, kPlugin);
  EXPECT_EQ(d.spec.columns.size(), 8u);
  const Snapshot before = snapshot(path());
  ASSERT_TRUE(store_->applySchema(kPlugin, allTypes()));
  EXPECT_TRUE(snapshot(path()) == before);
  auto all = store_->datasets();
  ASSERT_TRUE(all.isOk());
  EXPECT_EQ(all->size(), 2u);
  RawDb raw(path());
  EXPECT_NE(raw.scalar("SELECT sql FROM sqlite_master WHERE name = 'coop__items'").find("STRICT"),
            std::string::npos);
  EXPECT_EQ(raw.scalar("PRAGMA journal_mode"), "wal");
}

TEST_F(SchemaTest, AddedNullableColumnIsAppliedAndCaptured) {
  auto next = allTypes();
  next.version = 2;
  next.columns.insert(next.columns.begin() + 2, {"origin", ColumnType::Text, false, true});
  ASSERT_TRUE(store_->applySchema(kPlugin, next));
  const auto d = stored(*store_, "items");
  EXPECT_EQ(d.spec.version, 2u);
  ASSERT_EQ(d.spec.columns.size(), 9u);
  EXPECT_EQ(d.spec.columns.back().name, "origin") << "added columns go last in table order";
  {
    RawDb raw(path());
    EXPECT_EQ(raw.scalar("SELECT origin FROM coop__items WHERE id = 'a'"), "<null>");
  }
  // The writer takes the declared order; the row image follows the table order.
  run([&] {
    ASSERT_TRUE(
        upsert(*store_, next,
               {"b", "Safran", "Taliouine", 2, Value(), Value(), Value(), Value(), Value()}));
    ASSERT_TRUE(
        upsert(*store_, next,
               {"a", "Argan", "Essaouira", 1, Value(), Value(), Value(), Value(), Value()}));
  });
  const auto ch = allChanges(*store_);
  ASSERT_EQ(ch.size(), 3u);
  EXPECT_EQ(ch[1].row.value_or(""), R"(["b","Safran",2,null,null,null,null,null,"Taliouine"])");
  EXPECT_EQ(ch[2].op, 'U');
  EXPECT_EQ(ch[2].row.value_or(""), R"(["a","Argan",1,null,null,null,null,null,"Essaouira"])");
  // A change in the new column alone is captured (the update trigger was rebuilt).
  ASSERT_TRUE(store_->execForTest("UPDATE coop__items SET origin = 'Agadir' WHERE id = 'b'"));
  EXPECT_EQ(allChanges(*store_).back().row.value_or(""),
            R"(["b","Safran",2,null,null,null,null,null,"Agadir"])");
  // A writer declared without the new column leaves it NULL in the rows it inserts.
  run([&] {
    ASSERT_TRUE(upsert(*store_, allTypes(),
                       {"c", "Cumin", 3, Value(), Value(), Value(), Value(), Value()}));
  });
  EXPECT_EQ(allChanges(*store_).back().row.value_or(""),
            R"(["c","Cumin",3,null,null,null,null,null,null])");
}

TEST_F(SchemaTest, AddedRequiredColumnIsRefused) {
  auto next = allTypes();
  next.version = 2;
  next.columns.push_back({"origin", ColumnType::Text, false, false});
  expectRefused(next, {"new column 'origin' is required", "declare it nullable"});
}

TEST_F(SchemaTest, TypeChangeIsRefused) {
  auto next = allTypes();
  next.version = 2;
  next.columns[2].type = ColumnType::Real;
  expectRefused(next, {"column 'qty' changes type from integer to real", "incompatible"});
}

TEST_F(SchemaTest, KeyChangeIsRefused) {
  auto next = allTypes();
  next.version = 2;
  next.columns[1].key = true;
  next.columns[1].nullable = false;
  expectRefused(next, {"key changes from (id) to (id, label)"});
}

TEST_F(SchemaTest, DroppedColumnIsRefused) {
  auto next = allTypes();
  next.version = 2;
  next.columns.erase(next.columns.begin() + 4);
  expectRefused(next, {"column 'fragile' is no longer declared"});
}

TEST_F(SchemaTest, NullabilityChangeIsRefused) {
  auto next = allTypes();
  next.version = 2;
  next.columns[1].nullable = false;
  expectRefused(next, {"column 'label' changes from nullable to required"});
}

TEST_F(SchemaTest, LowerVersionIsRefused) {
  auto next = allTypes();
  next.version = 3;
  ASSERT_TRUE(store_->applySchema(kPlugin, next));
  next.version = 2;
  expectRefused(next, {"declares version 2 but the store holds 3"});
}

TEST_F(SchemaTest, InvalidDeclarationIsRefusedBeforeTouchingTheStore) {
  auto next = allTypes();
  next.columns[0].nullable = true;
  expectRefused(next, {"key column 'id' cannot be nullable"});
}

TEST_F(SchemaTest, SameTableNameFromAnotherPluginIsRefused) {
  // "co-op" + "items" and "co_op" + "items" would share a table name.
  ASSERT_TRUE(store_->applySchema("co-op", allTypes()));
  const Status st = store_->applySchema("co_op", allTypes());
  EXPECT_EQ(st.code(), Code::Schema);
  EXPECT_NE(st.message().find("already used by another plugin's dataset"), std::string::npos)
      << st.message();
}

// --- store versioning and identity ----------------------------------------------------------

TEST(StoreOpen, StoreFromANewerAgentIsRefusedAndLeftUnchanged) {
  TempDir dir;
  const std::string path = dir.file("agent.db");
  { ASSERT_NE(openStore(path), nullptr); }
  {
    RawDb raw(path);
    ASSERT_EQ(raw.exec("PRAGMA user_version = " + std::to_string(Store::kSchemaVersion + 1)), "");
  }
  const std::string before = readFile(path);
  ASSERT_FALSE(before.empty());
  auto s = Store::open(path);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.status().message().find("written by a newer agent"), std::string::npos)
      << s.status().message();
  EXPECT_NE(s.status().message().find(path), std::string::npos);
  EXPECT_TRUE(readFile(path) == before) << "a refused store must not be modified";
}

TEST(StoreOpen, NewerPlainSqliteFileIsRefusedWithoutSwitchingItToWal) {
  // A file in rollback-journal mode (as a newer agent or a restore tool might leave it): the
  // refusal must not even change the journal mode in the header.
  TempDir dir;
  const std::string path = dir.file("agent.db");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(db, "CREATE TABLE t(x); PRAGMA user_version = 99;", nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(db);
  }
  const std::string before = readFile(path);
  auto s = Store::open(path);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.status().message().find("newer agent"), std::string::npos);
  EXPECT_TRUE(readFile(path) == before) << "a refused store must not be modified";
}

TEST(StoreOpen, WorkersDoNotCreateOrMigrate) {
  TempDir dir;
  auto absent = Store::open(dir.file("none.db"), /*migrate=*/false);
  EXPECT_FALSE(absent.isOk());
  EXPECT_FALSE(std::ifstream(dir.file("none.db")).good()) << "no file created";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir.file("old.db").c_str(), &db), SQLITE_OK);
    sqlite3_close(db);
  }
  auto old = Store::open(dir.file("old.db"), /*migrate=*/false);
  ASSERT_FALSE(old.isOk());
  EXPECT_NE(old.status().message().find("start the agent to migrate it"), std::string::npos);
}

TEST(StoreOpen, IncarnationIsStableAcrossReopenAndNewPerStore) {
  TempDir dir;
  std::string first;
  {
    auto s = openStore(dir.file("a.db"));
    ASSERT_NE(s, nullptr);
    first = s->incarnation();
    EXPECT_EQ(first.size(), 32u);
    EXPECT_EQ(first.find_first_not_of("0123456789abcdef"), std::string::npos);
  }
  {
    auto again = openStore(dir.file("a.db"));
    ASSERT_NE(again, nullptr);
    EXPECT_EQ(again->incarnation(), first);
  }
  auto other = openStore(dir.file("b.db"));
  ASSERT_NE(other, nullptr);
  EXPECT_NE(other->incarnation(), first);
  RawDb raw(dir.file("a.db"));
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), std::to_string(Store::kSchemaVersion));
}

TEST(StoreOpen, ANewStoreHas16KiBPagesAndA4KiBStoreFromAnOlderAgentStillWorks) {
  TempDir dir;
  const std::string path = dir.file("agent.db");
  { ASSERT_NE(openStore(path), nullptr); }
  {
    RawDb raw(path);
    EXPECT_EQ(raw.scalar("PRAGMA page_size"), "16384");
    // As an agent from before 16 KiB pages left it: 4 KiB pages, WAL, the current schema.
    ASSERT_EQ(raw.exec("PRAGMA journal_mode=DELETE; PRAGMA page_size=4096; VACUUM; "
                       "PRAGMA journal_mode=WAL"),
              "");
    ASSERT_EQ(raw.scalar("PRAGMA page_size"), "4096");
  }
  auto store = openStore(path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->applySchema(kPlugin, flows()));
  ASSERT_TRUE(store->beginRun());
  {
    auto w = store->writer(kPlugin, flows());
    ASSERT_TRUE(w.isOk()) << w.status().message();
    for (int64_t year = 2000; year < 2600; ++year) {  // whole blocks and batches, then the rest
      const std::vector<Value> values = {"0901", year, Money::fromCentimes(year), Value()};
      const auto row = toAbi(values);  // points into values
      ASSERT_TRUE((*w)->upsert(row.data(), row.size()));
    }
  }
  ASSERT_TRUE(store->commitRun());
  store.reset();
  RawDb raw(path);
  EXPECT_EQ(raw.scalar("PRAGMA page_size"), "4096");
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM _changes"), "600");
  EXPECT_EQ(raw.scalar("PRAGMA integrity_check"), "ok");
}

TEST_F(StoreTest, SeqKeepsGrowingAfterTheLogIsPurged) {
  const auto spec = allTypes();
  run([&] {
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(upsert(*store_, spec,
                         {"k" + std::to_string(i), Value(), Value(), Value(), Value(), Value(),
                          Value(), Value()}));
    }
  });
  const int64_t last = *store_->lastSeq();
  EXPECT_EQ(last, 5);
  ASSERT_TRUE(store_->execForTest("DELETE FROM _changes"));  // as after an acknowledgement
  EXPECT_EQ(changeCount(*store_), 0);
  EXPECT_EQ(*store_->lastSeq(), last);
  store_.reset();
  store_ = openStore(path());
  run([&] { ASSERT_TRUE(remove(*store_, spec, {"k0"})); });
  const auto ch = allChanges(*store_);
  ASSERT_EQ(ch.size(), 1u);
  EXPECT_EQ(ch[0].seq, last + 1) << "a purged seq is never reused";
  EXPECT_TRUE(store_->changesAfter(last + 1, 10)->empty());
  EXPECT_EQ(store_->changesAfter(0, 0)->size(), 0u);
}

// The backlog is what follows the recorded mark; acknowledged changes leave the log only
// through an explicit purge, up to the seq it is given.
TEST_F(StoreTest, BacklogFollowsTheMarkAndPurgeStopsWhereItIsTold) {
  const auto spec = allTypes();
  run([&] {
    for (int i = 0; i < 6; ++i) {
      ASSERT_TRUE(upsert(*store_, spec,
                         {"b" + std::to_string(i), Value(), Value(), Value(), Value(), Value(),
                          Value(), Value()}));
    }
  });
  auto b = store_->backlog();
  ASSERT_TRUE(b.isOk());
  EXPECT_EQ(b->rows, 6);
  const int64_t all_bytes = b->bytes;
  EXPECT_GT(b->oldest_at, 0);
  ASSERT_TRUE(store_->acknowledge(4));
  EXPECT_EQ(*store_->syncAcked(), 4);
  b = store_->backlog();
  EXPECT_EQ(b->rows, 2);
  EXPECT_LT(b->bytes, all_bytes);
  EXPECT_EQ(changeCount(*store_), 6) << "acknowledging alone purges nothing";
  ASSERT_TRUE(store_->purgeAcknowledged(3));
  EXPECT_EQ(changeCount(*store_), 3);
  EXPECT_EQ(store_->changesAfter(0, 10)->front().seq, 4);
  ASSERT_TRUE(store_->acknowledge(6));
  ASSERT_TRUE(store_->purgeAcknowledged(6));
  EXPECT_EQ(changeCount(*store_), 0);
  b = store_->backlog();
  EXPECT_EQ(b->rows, 0);
  EXPECT_EQ(b->bytes, 0);
  EXPECT_EQ(b->oldest_at, 0);
}

TEST_F(StoreTest, ChangesAfterPagesInSeqOrder) {
  const auto spec = allTypes();
  run([&] {
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(upsert(*store_, spec,
                         {"p" + std::to_string(i), Value(), Value(), Value(), Value(), Value(),
                          Value(), Value()}));
    }
  });
  std::vector<int64_t> seen;
  int64_t after = 0;
  for (;;) {
    auto page = store_->changesAfter(after, 3);
    ASSERT_TRUE(page.isOk());
    if (page->empty()) {
      break;
    }
    EXPECT_LE(page->size(), 3u);
    for (const auto& c : *page) {
      seen.push_back(c.seq);
    }
    after = page->back().seq;
  }
  ASSERT_EQ(seen.size(), 10u);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i], static_cast<int64_t>(i + 1));
  }
}

TEST(DatasetTableName, JoinsPluginAndDatasetAndReplacesDashes) {
  EXPECT_EQ(datasetTableName("csv-generic", "export_flows"), "csv_generic__export_flows");
  EXPECT_EQ(datasetTableName("example", "items"), "example__items");
}

}  // namespace
}  // namespace exportsync::agent
