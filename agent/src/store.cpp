#include "exportsync/agent/store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <functional>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "exportsync/random.hpp"
#include "exportsync/schema_sql.hpp"
#include "exportsync/sqlite.hpp"

namespace exportsync::agent {
namespace {

using schema::columnDef;
using schema::compareSpecs;
using schema::keyColumns;

// Agent tables, version 1. Later versions append a migration; never edit a shipped one.
constexpr const char* kMigrationV1 = R"SQL(
CREATE TABLE _meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE _datasets(
  id INTEGER PRIMARY KEY,
  plugin TEXT NOT NULL,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  table_name TEXT NOT NULL UNIQUE,
  UNIQUE(plugin, name));
CREATE TABLE _columns(
  dataset_id INTEGER NOT NULL REFERENCES _datasets(id),
  position INTEGER NOT NULL,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  key_position INTEGER,          -- 0-based position in the key, NULL if not a key column
  nullable INTEGER NOT NULL,
  PRIMARY KEY(dataset_id, position)) WITHOUT ROWID;
-- One row: the change-log transaction id of the current (or last) write transaction.
CREATE TABLE _txn(id INTEGER PRIMARY KEY CHECK(id = 1), txn INTEGER NOT NULL);
INSERT INTO _txn VALUES(1, 0);
CREATE TABLE _changes(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  txn INTEGER NOT NULL,
  dataset_id INTEGER NOT NULL,
  -- Not op IN ('I','U','D'): for that, SQLite 3.40 builds a temporary b-tree on every insert.
  op TEXT NOT NULL CHECK(op = 'I' OR op = 'U' OR op = 'D'),
  key TEXT NOT NULL,
  row TEXT,
  at INTEGER NOT NULL DEFAULT (CAST(strftime('%s','now') AS INTEGER)));
CREATE TABLE _plugin_state(
  plugin TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY(plugin, key)) WITHOUT ROWID;
CREATE TABLE _plugin_health(
  plugin TEXT PRIMARY KEY,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  quarantined INTEGER NOT NULL DEFAULT 0,
  config_hash TEXT NOT NULL DEFAULT '',
  last_run_at INTEGER NOT NULL DEFAULT 0,
  last_result TEXT NOT NULL DEFAULT '',
  last_error TEXT NOT NULL DEFAULT '',
  last_upserted INTEGER NOT NULL DEFAULT 0,
  last_removed INTEGER NOT NULL DEFAULT 0,
  last_rejected INTEGER NOT NULL DEFAULT 0,
  last_duration_ms INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
)SQL";

const char* const kMigrations[] = {kMigrationV1};

// Page size of a new store (bytes); see Store::open.
constexpr int kPageSize = 16 * 1024;
// Page cache of a collect run (KiB); SQLite's default is 2,000 KiB.
constexpr int kRunCacheKiB = 32 * 1024;
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == Store::kSchemaVersion,
              "one migration per schema version");

// Expression giving a column's value in the row image. Reals become text with 17 significant
// digits, because SQLite's JSON keeps only 15 and the image must round-trip exactly.
std::string imageExpr(const Column& c, const char* which) {
  const std::string ref = std::string(which) + "." + sql::quoteIdent(c.name);
  if (c.type == ColumnType::Real) {
    return "CASE WHEN " + ref + " IS NULL THEN NULL ELSE printf('%!.17g', " + ref + ") END";
  }
  return ref;
}

std::string jsonArray(const std::vector<const Column*>& cols, const char* which) {
  std::string out = "json_array(";
  for (size_t i = 0; i < cols.size(); ++i) {
    out += (i != 0 ? ", " : "") + imageExpr(*cols[i], which);
  }
  return out + ")";
}

// The four capture triggers of a dataset table; dropped and re-made when columns are added.
std::string triggersSql(const StoredDataset& d) {
  std::vector<const Column*> all;
  for (const auto& c : d.spec.columns) {
    all.push_back(&c);
  }
  const auto key = keyColumns(d.spec);
  const std::string t = sql::quoteIdent(d.table);
  const std::string id = std::to_string(d.id);
  const std::string ins =
      "INSERT INTO _changes(txn, dataset_id, op, key, row) VALUES("
      "(SELECT txn FROM _txn), " +
      id + ", ";
  std::string same_key;
  for (size_t i = 0; i < key.size(); ++i) {
    const auto q = sql::quoteIdent(key[i]->name);
    same_key += (i != 0 ? " AND " : "") + ("NEW." + q + " IS OLD." + q);
  }
  std::string changed;
  for (size_t i = 0; i < all.size(); ++i) {
    const auto q = sql::quoteIdent(all[i]->name);
    changed += (i != 0 ? " OR " : "") + ("NEW." + q + " IS NOT OLD." + q);
  }
  const std::string name = d.table;
  auto trig = [&](const std::string& suffix) {
    return sql::quoteIdent("_capture_" + name + suffix);
  };
  std::string s;
  s += "CREATE TRIGGER " + trig("_i") + " AFTER INSERT ON " + t + " BEGIN " + ins + "'I', " +
       jsonArray(key, "NEW") + ", " + jsonArray(all, "NEW") + "); END;\n";
  s += "CREATE TRIGGER " + trig("_u") + " AFTER UPDATE ON " + t + " WHEN (" + same_key + ") AND (" +
       changed + ") BEGIN " + ins + "'U', " + jsonArray(key, "NEW") + ", " + jsonArray(all, "NEW") +
       "); END;\n";
  // An update that changes the key is a delete of the old key and an insert of the new one.
  s += "CREATE TRIGGER " + trig("_k") + " AFTER UPDATE ON " + t + " WHEN NOT (" + same_key +
       ") BEGIN " + ins + "'D', " + jsonArray(key, "OLD") + ", NULL); " + ins + "'I', " +
       jsonArray(key, "NEW") + ", " + jsonArray(all, "NEW") + "); END;\n";
  s += "CREATE TRIGGER " + trig("_d") + " AFTER DELETE ON " + t + " BEGIN " + ins + "'D', " +
       jsonArray(key, "OLD") + ", NULL); END;\n";
  return s;
}

std::string dropTriggersSql(const std::string& table) {
  std::string s;
  for (const char* suffix : {"_i", "_u", "_k", "_d"}) {
    s += "DROP TRIGGER IF EXISTS " + sql::quoteIdent("_capture_" + table + suffix) + ";\n";
  }
  return s;
}

}  // namespace

std::string datasetTableName(const std::string& plugin, const std::string& dataset) {
  return schema::tableName(plugin, dataset);
}

// --- Writer -------------------------------------------------------------------------------

namespace {

// A row image is a JSON array, as the capture triggers write it with json_array(): text as a
// JSON string (control characters, '"' and '\' escaped, UTF-8 as is), integers, booleans and
// money as numbers, reals as a string that reads back to the same double, dates and timestamps
// as their ISO text, NULL as null.
//
// ImageWriter writes one image into a buffer it keeps from row to row: room for a value's longest
// text is made before it is written, so the bytes go in without a check each.
class ImageWriter {
 public:
  void open() {
    size_ = 0;
    room(1);
    buf_[size_++] = '[';
  }
  void text(const char* s, size_t n) {
    char* p = next(2 + 6 * n);  // each byte at worst \u00XX
    *p++ = '"';
    size_t run = 0;  // start of the bytes not yet copied: they need no escape
    for (size_t i = 0; i < n; ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c != '"' && c != '\\') {
        continue;
      }
      std::memcpy(p, s + run, i - run);
      p += i - run;
      run = i + 1;
      *p++ = '\\';
      switch (c) {
        case '"': *p++ = '"'; break;
        case '\\': *p++ = '\\'; break;
        case '\n': *p++ = 'n'; break;
        case '\r': *p++ = 'r'; break;
        case '\t': *p++ = 't'; break;
        case '\b': *p++ = 'b'; break;
        case '\f': *p++ = 'f'; break;
        default: {
          static constexpr char kHex[] = "0123456789abcdef";
          const char u[] = {'u', '0', '0', kHex[c >> 4], kHex[c & 0x0f]};
          std::memcpy(p, u, sizeof u);
          p += sizeof u;
        }
      }
    }
    std::memcpy(p, s + run, n - run);
    p += n - run;
    *p++ = '"';
    done(p);
  }
  void integer(int64_t v) {
    char* p = next(24);
    done(std::to_chars(p, p + 24, v).ptr);
  }
  // The shortest text that reads back to exactly `v` (the triggers' '%!.17g' reads back too).
  void real(double v) {
    if (v == 0) {
      v = 0.0;  // SQLite stores -0.0 as 0.0
    }
    char* p = next(34);
    *p++ = '"';
    p = std::to_chars(p, p + 32, v).ptr;
    *p++ = '"';
    done(p);
  }
  void null() {
    char* p = next(4);
    std::memcpy(p, "null", 4);
    done(p + 4);
  }
  std::string close() {
    room(1);
    buf_[size_++] = ']';
    return std::string(buf_.data(), size_);
  }

 private:
  void room(size_t more) {
    if (size_ + more > buf_.size()) {
      buf_.resize(std::max(size_ + more, 2 * buf_.size()));
    }
  }
  // Where a value of at most `most` bytes goes, after its comma.
  char* next(size_t most) {
    room(most + 1);
    char* p = buf_.data() + size_;
    if (size_ > 1) {
      *p++ = ',';
    }
    return p;
  }
  void done(const char* end) { size_ = static_cast<size_t>(end - buf_.data()); }

  std::string buf_;
  size_t size_ = 0;
};

// ISO text of a date or timestamp value, as the store keeps it; `buf` holds 32 bytes.
size_t isoText(const es_value& v, char* buf) {
  static_assert(Date::kIsoSize <= 32 && Timestamp::kIsoSize <= 32);
  return v.type == ES_TYPE_DATE ? Date::fromDays(v.i64).toIso(buf)
                                : Timestamp::fromMicros(v.i64).toIso(buf);
}

// Inside a run: the run's transaction is still open. SQLite ends it by itself after some errors
// (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM, SQLITE_BUSY), and every later write would commit
// on its own.
Status runIsOpen(sql::Db& db) {
  if (sqlite3_get_autocommit(db.get()) == 0) {
    return Status::ok();
  }
  return Status::io("store: the run's transaction was rolled back by SQLite after an error (" +
                    db.errmsg() + "); the run fails and nothing of it is kept");
}

// The store thread of a run: the writers hand it their rows, a batch at a time, and go back to
// the plugin while SQLite writes them, so the plugin's work and SQLite's overlap on two cores.
// Jobs run one at a time in the order they were posted, so the change log keeps the order of the
// writes. At most one job waits behind the running one: memory stays bounded and the plugin
// never runs far ahead of its errors. The first failure fails the run: later jobs are dropped,
// and every post and drain answers with it.
//
// Only one thread uses the connection at a time: whoever else needs it (a read, plugin state, a
// remove, the commit) drains the queue first (Store::Impl::db()).
class WriteQueue {
 public:
  using Job = std::function<Status()>;

  WriteQueue() = default;
  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;
  ~WriteQueue() { stop(); }

  /// Queues `job` after the ones before it; waits while one already waits.
  Status post(Job job) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return queued_.empty() || !failed_; });
    if (!failed_) {
      return failed_;
    }
    if (!thread_.joinable()) {
      try {
        stopping_ = false;
        thread_ = std::thread([this] { loop(); });
      } catch (const std::system_error&) {
        // No thread to be had (a tight address-space limit on the worker): this thread writes,
        // in order all the same, since nothing else is queued or running.
        lock.unlock();
        const Status st = runJob(job);
        lock.lock();
        noteFailure(st);
        return failed_;
      }
    }
    queued_.push_back(std::move(job));
    changed_.notify_all();
    return Status::ok();
  }

  /// Waits until every posted job has run; the run's first failure, if any.
  Status drain() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return queued_.empty() && !running_; });
    return failed_;
  }

  /// drain(), then the run's transaction must still be open on `db`: after some failures SQLite
  /// has already rolled it back, and any later write would commit on its own.
  Status settle(sql::Db& db) {
    Status st = drain();
    return st ? runIsOpen(db) : st;
  }

  /// Makes `st`, a failure of a write made by another thread while the queue is idle, the run's
  /// (if it is its first); returns `st`.
  Status record(Status st) {
    std::lock_guard lock(mutex_);
    noteFailure(st);
    return st;
  }

  /// The first failure so far, without waiting.
  Status failure() {
    std::lock_guard lock(mutex_);
    return failed_;
  }

  /// Drains, ends the thread and forgets the failure: ready for the next run.
  void stop() {
    (void)drain();
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      changed_.notify_all();
    }
    if (thread_.joinable()) {
      thread_.join();
    }
    std::lock_guard lock(mutex_);
    failed_ = Status::ok();
    has_failed_.store(false, std::memory_order_release);
  }

  /// Whether the run has failed, without a lock (the plugin's thread asks at every row).
  bool hasFailed() const { return has_failed_.load(std::memory_order_acquire); }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return !queued_.empty() || stopping_; });
      if (queued_.empty()) {
        return;
      }
      Job job = std::move(queued_.front());
      queued_.pop_front();
      running_ = true;
      lock.unlock();
      const Status st = runJob(job);
      lock.lock();
      running_ = false;
      if (noteFailure(st)) {
        queued_.clear();
      }
      changed_.notify_all();
    }
  }

  // With the lock held: makes `st` the run's failure if it is its first; true then.
  bool noteFailure(const Status& st) {
    if (st || !failed_) {
      return false;
    }
    failed_ = st;
    has_failed_.store(true, std::memory_order_release);
    return true;
  }

  static Status runJob(const Job& job) {
    try {
      return job();
    } catch (const std::exception& e) {
      return Status::internal(std::string("store writer: ") + e.what());
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Job> queued_;
  bool running_ = false;
  bool stopping_ = false;
  Status failed_ = Status::ok();
  std::atomic<bool> has_failed_{false};
  std::thread thread_;
};

// Writes a plugin's rows and their change-log entries itself, in the run's transaction: the
// capture triggers (which stay for writes made through plain SQLite) are suspended for the
// tables a run writes, because a trigger program per row costs more than the row.
//
// New rows go in blocks of up to kBlockRows per INSERT OR FAIL; a block that hits an existing key
// keeps the new rows before it, and the rest are written one by one as an update when something
// changed, an insert when the key is new, nothing when the row is the same. Change entries
// follow in the same order, so the log stays in write order per key.
//
// Rows are checked, copied and imaged on the plugin's thread, then wait in the writer until a
// batch of kBlocksPerBatch blocks is full or something must see them (another dataset's write,
// a remove, a read, the end of the run); the store thread (WriteQueue) writes the batch while the
// plugin goes on. A failure there fails the run: the next flush, remove or commit returns it.
class WriterImpl final : public Store::Writer {
 public:
  static constexpr size_t kBlockRows = 32;
  static constexpr size_t kBlocksPerBatch = 8;  // blocks handed to the store thread at once
  static constexpr size_t kMaxParams = 999;
  static constexpr size_t kUndeclared = SIZE_MAX;

  WriterImpl(sql::Db& db, WriteQueue& queue, StoredDataset stored, DatasetSpec declared,
             int64_t txn, WriterImpl** active)
      : db_(db),
        queue_(queue),
        stored_(std::move(stored)),
        declared_(std::move(declared)),
        txn_(txn),
        active_(active) {}

  Status prepare() {
    const auto& cols = stored_.spec.columns;
    for (const auto& c : cols) {
      // A column added by a newer declaration and not declared by this one stays NULL in new
      // rows and keeps its value in updated ones.
      const int d = declared_.columnIndex(c.name);
      from_declared_.push_back(d < 0 ? kUndeclared : static_cast<size_t>(d));
      has_undeclared_ = has_undeclared_ || d < 0;
    }
    for (size_t k = 0; k < declared_.columns.size(); ++k) {
      if (declared_.columns[k].key) {
        declared_key_.push_back(k);
      }
    }
    for (size_t j = 0; j < cols.size(); ++j) {
      if (cols[j].key) {
        key_.push_back(j);
      } else if (from_declared_[j] != kUndeclared) {
        value_.push_back(j);
      }
    }
    for (size_t j : key_) {
      const auto at = std::find(declared_key_.begin(), declared_key_.end(), from_declared_[j]);
      key_from_call_.push_back(static_cast<size_t>(at - declared_key_.begin()));
    }
    block_rows_ = std::max<size_t>(1, std::min(kBlockRows, kMaxParams / cols.size()));
    batch_rows_ = block_rows_ * kBlocksPerBatch;
    reserve(0);

    const std::string t = sql::quoteIdent(stored_.table);
    std::string names;
    std::string one;
    for (size_t j = 0; j < cols.size(); ++j) {
      names += (j != 0 ? ", " : "") + sql::quoteIdent(cols[j].name);
      one += (j != 0 ? ", ?" : "?") + std::to_string(j + 1);
    }
    std::string conflict;
    std::string key_match;
    for (size_t k = 0; k < key_.size(); ++k) {
      const auto q = sql::quoteIdent(cols[key_[k]].name);
      conflict += (k != 0 ? ", " : "") + q;
      key_match += (k != 0 ? " AND " : "") + q + " = ?" + std::to_string(key_[k] + 1);
    }
    // The blocks are INSERT OR FAIL. A statement that writes several rows and may stop half-way
    // with ABORT makes SQLite copy every page it touches into a statement journal first, to undo
    // the statement (here ~4 mallocs and 1 KiB of copying a row: 20-30% of the ingest time).
    // With FAIL, a block that meets a key already there stops at it and keeps the rows before
    // it, which sqlite3_changes() counts: writeBlock logs them and goes on row by row. Any other
    // refusal fails the run, which rolls it all back.
    //
    // That count is only the block's first rows while nothing but SQLite acts on the table. A
    // trigger of a local DBA's may skip a row (RAISE(IGNORE)) or refuse one after it is stored;
    // with one on the table, every row is written on its own, and its outcome is its own.
    {
      auto triggers = db_.prepare(
          "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1 "
          "COLLATE NOCASE");  // the capture triggers are dropped for the run already
      if (!triggers) {
        return triggers.status().withContext(where() + "reading its triggers");
      }
      triggers->bind(1, stored_.table);
      if (triggers->step() != SQLITE_ROW) {
        return fail("reading its triggers");
      }
      row_by_row_ = triggers->int64(0) != 0;
    }
    std::string block = "INSERT OR FAIL INTO " + t + "(" + names + ") VALUES";
    for (size_t r = 0; r < block_rows_; ++r) {
      block += r != 0 ? ", (" : " (";
      for (size_t j = 0; j < cols.size(); ++j) {
        block += j != 0 ? ", ?" : "?";
      }
      block += ")";
    }
    if (auto st = prepareInto(insert_block_, block); !st) {
      return st;
    }
    if (auto st = prepareInto(insert_one_, "INSERT INTO " + t + "(" + names + ") VALUES(" + one +
                                               ") ON CONFLICT(" + conflict + ") DO NOTHING");
        !st) {
      return st;
    }
    if (!value_.empty()) {
      std::string sets;
      std::string differs;
      for (size_t v = 0; v < value_.size(); ++v) {
        const auto q = sql::quoteIdent(cols[value_[v]].name);
        const auto p = "?" + std::to_string(value_[v] + 1);
        sets += (v != 0 ? ", " : "") + q + " = " + p;
        differs += (v != 0 ? " OR " : "") + q + " IS NOT " + p;
      }
      // Only a real change is written, so re-reading the same data adds nothing to the log.
      // Undeclared columns keep their values: the image of the updated row then comes back
      // from SQLite, as the trigger would have written it.
      std::vector<const Column*> all;
      for (const auto& c : cols) {
        all.push_back(&c);
      }
      if (auto st = prepareInto(
              update_one_, "UPDATE " + t + " SET " + sets + " WHERE " + key_match + " AND (" +
                               differs + ")" +
                               (has_undeclared_ ? " RETURNING " + jsonArray(all, t.c_str()) : ""));
          !st) {
        return st;
      }
    }
    std::string where_key;
    for (size_t k = 0; k < key_.size(); ++k) {
      where_key += (k != 0 ? " AND " : "") + sql::quoteIdent(cols[key_[k]].name) + " = ?" +
                   std::to_string(k + 1);
    }
    if (auto st = prepareInto(remove_, "DELETE FROM " + t + " WHERE " + where_key); !st) {
      return st;
    }
    const std::string into = " INTO _changes(txn, dataset_id, op, key, row, at) VALUES";
    const std::string values =
        "(" + std::to_string(txn_) + ", " + std::to_string(stored_.id) + ", ?, ?, ?, ?)";
    std::string changes = "INSERT OR FAIL" + into;
    for (size_t r = 0; r < block_rows_; ++r) {
      changes += (r != 0 ? ", " : " ") + values;
    }
    if (auto st = prepareInto(change_block_, changes); !st) {
      return st;
    }
    return prepareInto(change_one_, "INSERT" + into + " " + values);
  }

  Status upsert(const es_value* values, size_t count) override {
    if (count != declared_.columns.size()) {
      return Status::invalid(where() + "row has " + std::to_string(count) + " values, expected " +
                             std::to_string(declared_.columns.size()));
    }
    for (size_t i = 0; i < count; ++i) {
      if (auto reason = checkValue(declared_.columns[i], values[i]); !reason.empty()) {
        return Status::invalid(where() + reason);
      }
    }
    if (auto st = takeTurn(); !st) {
      return st;
    }
    // Two writes of one key in a batch would make its block fail on itself: flush first.
    std::string key_image = keyImage(values);
    if (pending_keys_.count(key_image) != 0) {
      if (auto st = flush(); !st) {
        return st;
      }
    }
    Pending row;
    row.first_cell = cur_.cells.size();
    row.key = std::move(key_image);
    for (size_t j : from_declared_) {
      Cell cell{j == kUndeclared ? es_value{} : values[j], 0, 0};
      if (cell.v.type == ES_TYPE_TEXT) {
        cell.offset = cur_.arena.size();
        cell.size = cell.v.len;
        cur_.arena.append(cell.v.len == 0 ? "" : cell.v.str, cell.v.len);
      } else if (cell.v.type == ES_TYPE_DATE || cell.v.type == ES_TYPE_TIMESTAMP) {
        char buf[40];
        cell.size = isoText(cell.v, buf);
        cell.offset = cur_.arena.size();
        cur_.arena.append(buf, cell.size);
      }
      cur_.cells.push_back(cell);
    }
    row.row = rowImage(row.first_cell);
    cur_.pending.push_back(std::move(row));
    // The batch never outgrows the room reserved for it, so the key stays where it is.
    pending_keys_.insert(cur_.pending.back().key);
    return cur_.pending.size() >= batch_rows_ ? flush() : Status::ok();
  }

  Status remove(const es_value* key, size_t count) override {
    if (count != key_.size()) {
      return Status::invalid(where() + "key has " + std::to_string(count) + " values, expected " +
                             std::to_string(key_.size()));
    }
    for (size_t k = 0; k < count; ++k) {
      if (auto reason = checkValue(declared_.columns[declared_key_[k]], key[k]); !reason.empty()) {
        return Status::invalid(where() + reason);
      }
    }
    if (auto st = takeTurn(); !st) {
      return st;
    }
    // The rows before it are written first, by the store thread; then this thread has the
    // connection to itself.
    if (auto st = flush(); !st) {
      return st;
    }
    if (auto st = queue_.settle(db_); !st) {
      return st;
    }
    // The key arrives in the declared key order; the statement and the image use the stored one.
    std::vector<Cell> cells;
    std::string text;
    for (size_t k = 0; k < count; ++k) {
      Cell cell{key[key_from_call_[k]], 0, 0};
      if (cell.v.type == ES_TYPE_TEXT) {
        cell.offset = text.size();
        cell.size = cell.v.len;
        text.append(cell.v.len == 0 ? "" : cell.v.str, cell.v.len);
      } else if (cell.v.type == ES_TYPE_DATE || cell.v.type == ES_TYPE_TIMESTAMP) {
        char buf[40];
        cell.size = isoText(cell.v, buf);
        cell.offset = text.size();
        text.append(buf, cell.size);
      }
      cells.push_back(cell);
    }
    for (size_t k = 0; k < count; ++k) {
      bindCell(remove_, static_cast<int>(k + 1), cells[k], text);
    }
    const int rc = remove_.step();
    remove_.reset();
    if (rc != SQLITE_DONE) {
      return queue_.record(fail("remove"));
    }
    if (sqlite3_changes(db_.get()) == 0) {
      return Status::ok();
    }
    image_.open();
    for (size_t k = 0; k < cells.size(); ++k) {
      putValue(image_, key_[k], cells[k].v, text.data() + cells[k].offset, cells[k].size);
    }
    // A row deleted without its change entry must not be committed: the failure is the run's.
    return queue_.record(logOne('D', image_.close(), nullptr));
  }

  const DatasetSpec& declared() const override { return declared_; }
  const StoredDataset& stored() const { return stored_; }

  /// Hands the pending rows to the store thread, which writes them and their change entries;
  /// the run's first failure so far, if any.
  Status flush() {
    if (cur_.pending.empty()) {
      return queue_.failure();
    }
    pending_keys_.clear();
    const size_t arena = cur_.arena.size();
    auto batch = std::make_shared<Batch>(std::move(cur_));
    cur_ = Batch();
    reserve(arena);
    return queue_.post([this, batch] { return writeBatch(*batch); });
  }

 private:
  struct Cell {
    es_value v;
    size_t offset;  // text, date and timestamp bytes in the arena
    size_t size;
  };
  struct Pending {
    size_t first_cell = 0;
    std::string key;
    std::string row;
    char op = 0;  // 'I', 'U', or 0 when the row was already there as it is
  };
  // Rows handed to the store thread together: their values (text, date and timestamp bytes in
  // the arena) and images.
  struct Batch {
    std::vector<Pending> pending;
    std::vector<Cell> cells;
    std::string arena;
  };

  std::string where() const { return "dataset '" + declared_.name + "': "; }

  Status prepareInto(sql::Stmt& out, const std::string& sql) {
    auto s = db_.prepare(sql);
    if (!s) {
      return s.status().withContext(where() + "preparing its writes");
    }
    out = std::move(s.value());
    return Status::ok();
  }

  // Pending rows of another dataset go first, so the change log keeps the order of writes.
  Status takeTurn() {
    if (queue_.hasFailed()) {
      return queue_.failure();  // the run has failed: nothing more is taken
    }
    if (*active_ != this) {
      if (*active_ != nullptr) {
        if (auto st = (*active_)->flush(); !st) {
          return st;
        }
      }
      *active_ = this;
    }
    return Status::ok();
  }

  // A value of stored column `j`; a whole number for a real column is stored as a real, so its
  // image is a real too (in keys as in rows).
  void putValue(ImageWriter& out, size_t j, const es_value& v, const char* text,
                size_t size) const {
    switch (v.type) {
      case ES_TYPE_TEXT:
      case ES_TYPE_DATE:
      case ES_TYPE_TIMESTAMP: out.text(text, size); break;
      case ES_TYPE_INTEGER:
        if (stored_.spec.columns[j].type == ColumnType::Real) {
          out.real(static_cast<double>(v.i64));
        } else {
          out.integer(v.i64);
        }
        break;
      case ES_TYPE_BOOLEAN:
      case ES_TYPE_MONEY: out.integer(v.i64); break;
      case ES_TYPE_REAL: out.real(v.f64); break;
      default: out.null(); break;
    }
  }

  // The key image straight from the plugin's values (before they are copied).
  std::string keyImage(const es_value* values) {
    image_.open();
    for (size_t j : key_) {
      const es_value& v = values[from_declared_[j]];
      if (v.type == ES_TYPE_DATE || v.type == ES_TYPE_TIMESTAMP) {
        char buf[40];
        putValue(image_, j, v, buf, isoText(v, buf));
      } else {
        putValue(image_, j, v, v.len == 0 ? "" : v.str, v.len);
      }
    }
    return image_.close();
  }

  std::string rowImage(size_t first) {
    image_.open();
    for (size_t j = 0; j < stored_.spec.columns.size(); ++j) {
      const Cell& c = cur_.cells[first + j];
      putValue(image_, j, c.v, cur_.arena.data() + c.offset, c.size);
    }
    return image_.close();
  }

  static void bindCell(sql::Stmt& s, int i, const Cell& c, const std::string& text) {
    switch (c.v.type) {
      case ES_TYPE_TEXT:
      case ES_TYPE_DATE:
      case ES_TYPE_TIMESTAMP:
        sqlite3_bind_text(s.get(), i, text.data() + c.offset, static_cast<int>(c.size),
                          SQLITE_STATIC);
        break;
      case ES_TYPE_INTEGER:
      case ES_TYPE_BOOLEAN:
      case ES_TYPE_MONEY: sqlite3_bind_int64(s.get(), i, c.v.i64); break;
      case ES_TYPE_REAL: sqlite3_bind_double(s.get(), i, c.v.f64); break;
      default: sqlite3_bind_null(s.get(), i); break;
    }
  }

  void bindRow(sql::Stmt& s, int first_param, const Batch& b, const Pending& row) const {
    const size_t n = stored_.spec.columns.size();
    for (size_t j = 0; j < n; ++j) {
      bindCell(s, first_param + static_cast<int>(j), b.cells[row.first_cell + j], b.arena);
    }
  }

  // Room for a whole batch: pending rows never move, so pending_keys_ may point into them.
  void reserve(size_t arena) {
    cur_.pending.reserve(batch_rows_);
    cur_.cells.reserve(batch_rows_ * stored_.spec.columns.size());
    cur_.arena.reserve(arena);
  }

  Status fail(const char* what) { return Status::io(where() + what + " failed: " + db_.errmsg()); }

  // On the store thread: a batch, a block of rows at a time.
  Status writeBatch(Batch& b) {
    for (size_t first = 0; first < b.pending.size(); first += block_rows_) {
      const size_t end = std::min(b.pending.size(), first + block_rows_);
      if (auto st = writeBlock(b, first, end); !st) {
        return st;
      }
    }
    return Status::ok();
  }

  Status writeBlock(Batch& b, size_t first, size_t end) {
    const size_t n = stored_.spec.columns.size();
    bool written = false;
    size_t rest = first;  // the first row not yet written when not all are
    if (end - first == block_rows_ && block_rows_ > 1 && skip_blocks_ == 0 && !row_by_row_) {
      for (size_t r = first; r < end; ++r) {
        bindRow(insert_block_, static_cast<int>((r - first) * n + 1), b, b.pending[r]);
      }
      const int rc = insert_block_.step();
      // Rows written by the block, also when it stopped at a row that exists (OR FAIL): they
      // come first, in order.
      const auto inserted = static_cast<size_t>(sqlite3_changes(db_.get()));
      insert_block_.rewind();
      if (rc == SQLITE_DONE && inserted == end - first) {
        for (size_t r = first; r < end; ++r) {
          b.pending[r].op = 'I';
        }
        written = true;
      } else if (rc == SQLITE_CONSTRAINT_PRIMARYKEY && inserted < end - first) {
        for (size_t r = first; r < first + inserted; ++r) {
          b.pending[r].op = 'I';
        }
        rest = first + inserted;
        skip_blocks_ = 8;  // rows that exist: go row by row for a while, then try again
      } else {
        return fail("insert");
      }
    } else if (skip_blocks_ > 0) {
      --skip_blocks_;
    }
    if (!written) {
      for (size_t r = rest; r < end; ++r) {
        Pending& p = b.pending[r];
        if (update_one_) {
          bindRow(update_one_, 1, b, p);
          int rc = update_one_.step();
          if (rc == SQLITE_ROW) {
            p.row = update_one_.text(0);
            rc = update_one_.step();
          }
          update_one_.rewind();
          if (rc != SQLITE_DONE) {
            return fail("update");
          }
          if (sqlite3_changes(db_.get()) != 0) {
            p.op = 'U';
            continue;
          }
        }
        bindRow(insert_one_, 1, b, p);
        const int rc = insert_one_.step();
        insert_one_.rewind();
        if (rc != SQLITE_DONE) {
          return fail("insert");
        }
        p.op = sqlite3_changes(db_.get()) != 0 ? 'I' : 0;
      }
    }
    return logBlock(b, first, end);
  }

  Status logBlock(const Batch& b, size_t first, size_t end) {
    const int64_t now = static_cast<int64_t>(::time(nullptr));
    size_t logged = 0;
    for (size_t r = first; r < end; ++r) {
      logged += b.pending[r].op != 0 ? 1 : 0;
    }
    if (logged == block_rows_) {
      int i = 1;
      for (size_t r = first; r < end; ++r) {
        const Pending& p = b.pending[r];
        bindChange(change_block_, i, p.op, p.key, &p.row, now);
        i += 4;
      }
      const int rc = change_block_.step();
      change_block_.rewind();
      return rc == SQLITE_DONE ? Status::ok() : fail("change log write");
    }
    for (size_t r = first; r < end; ++r) {
      const Pending& p = b.pending[r];
      if (p.op != 0) {
        if (auto st = logOne(p.op, p.key, &p.row); !st) {
          return st;
        }
      }
    }
    return Status::ok();
  }

  static void bindChange(sql::Stmt& s, int i, char op, const std::string& key,
                         const std::string* row, int64_t at) {
    static constexpr char kOps[] = "IUD";
    const char* at_op = std::strchr(kOps, op);  // one of them: bound without a copy
    sqlite3_bind_text(s.get(), i, at_op, 1, SQLITE_STATIC);
    sqlite3_bind_text(s.get(), i + 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    if (row == nullptr) {
      sqlite3_bind_null(s.get(), i + 2);
    } else {
      sqlite3_bind_text(s.get(), i + 2, row->data(), static_cast<int>(row->size()), SQLITE_STATIC);
    }
    sqlite3_bind_int64(s.get(), i + 3, at);
  }

  Status logOne(char op, const std::string& key, const std::string* row) {
    bindChange(change_one_, 1, op, key, row, static_cast<int64_t>(::time(nullptr)));
    const int rc = change_one_.step();
    change_one_.reset();
    return rc == SQLITE_DONE ? Status::ok() : fail("change log write");
  }

  sql::Db& db_;
  WriteQueue& queue_;
  StoredDataset stored_;
  DatasetSpec declared_;
  int64_t txn_;
  WriterImpl** active_;
  std::vector<size_t> from_declared_;  // stored column j takes declared value from_declared_[j]
  std::vector<size_t> declared_key_;   // declared positions of the key columns
  std::vector<size_t> key_;            // stored positions of the key columns
  std::vector<size_t> key_from_call_;  // stored key column k is remove()'s key[key_from_call_[k]]
  std::vector<size_t> value_;          // stored positions of the other columns
  bool has_undeclared_ = false;
  size_t block_rows_ = 1;
  size_t batch_rows_ = 1;
  size_t skip_blocks_ = 0;   // store thread only
  bool row_by_row_ = false;  // a trigger of a local DBA's is on the table: no blocks
  Batch cur_;                // rows not yet handed over
  std::unordered_set<std::string_view> pending_keys_;  // keys of cur_.pending
  ImageWriter image_;
  sql::Stmt insert_block_;
  sql::Stmt insert_one_;
  sql::Stmt update_one_;
  sql::Stmt remove_;
  sql::Stmt change_block_;
  sql::Stmt change_one_;
};

}  // namespace

// --- Store --------------------------------------------------------------------------------

struct Store::Impl {
  sql::Db conn;  // through db() on this thread; the store thread writes through it directly
  std::string incarnation;
  bool in_run = false;
  int64_t txn = 0;  // change-log transaction id of the open run
  std::map<std::pair<std::string, std::string>, std::unique_ptr<WriterImpl>> writers;
  WriterImpl* active = nullptr;  // the writer that may hold rows not yet handed over
  WriteQueue queue;              // last: stopped before the writers its jobs use go

  /// The connection, once the store thread has written everything handed to it.
  sql::Db& db() {
    (void)queue.drain();  // a failure stays with the queue: the next flush or commit reports it
    return conn;
  }

  // Reads inside a run see the run's writes: rows still waiting in a writer go first.
  Status flushPending() {
    if (auto st = active != nullptr ? active->flush() : Status::ok(); !st) {
      return st;
    }
    return settle();
  }

  /// Waits for the store thread; inside a run, its failure if it has one. After a failure
  /// nothing more may be written: SQLite may have rolled the whole transaction back already
  /// (a full disk, an I/O error), and a write then would commit on its own.
  Status settle() { return in_run ? queue.settle(conn) : queue.drain(); }

  void endRun() {
    queue.stop();
    active = nullptr;
    writers.clear();
    in_run = false;
  }
  // After COMMIT or ROLLBACK: back to the default page cache, and the CHECK constraints on.
  void shrinkCache() {
    (void)conn.exec("PRAGMA cache_size = -2000; PRAGMA ignore_check_constraints = OFF");
  }

  Result<std::vector<StoredDataset>> load(const std::string& where, const std::string& a = {},
                                          const std::string& b = {}) {
    auto st = db().prepare(
        "SELECT d.id, d.plugin, d.name, d.version, d.table_name, c.name, c.type, "
        "c.key_position, c.nullable FROM _datasets d JOIN _columns c ON c.dataset_id = d.id " +
        where + " ORDER BY d.id, c.position");
    if (!st) {
      return st.status();
    }
    auto& s = st.value();
    if (!a.empty()) {
      s.bind(1, a);
      s.bind(2, b);
    }
    std::vector<StoredDataset> out;
    int rc = 0;
    while ((rc = s.step()) == SQLITE_ROW) {
      if (out.empty() || out.back().id != s.int64(0)) {
        StoredDataset d;
        d.id = s.int64(0);
        d.plugin = s.text(1);
        d.spec.name = s.text(2);
        d.spec.version = static_cast<uint32_t>(s.int64(3));
        d.table = s.text(4);
        out.push_back(std::move(d));
      }
      Column c;
      c.name = s.text(5);
      const auto type = parseTypeName(s.text(6));
      if (!type) {
        return Status::io("store: column '" + c.name + "' has unknown type '" + s.text(6) + "'");
      }
      c.type = *type;
      c.key = !s.isNull(7);
      c.nullable = s.int64(8) != 0;
      out.back().spec.columns.push_back(std::move(c));
    }
    if (rc != SQLITE_DONE) {
      return db().error("reading datasets");
    }
    return out;
  }
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() { rollbackRun(); }

Result<std::unique_ptr<Store>> Store::open(const std::string& path, bool migrate) {
  auto db = sql::Db::open(path, migrate);
  if (!db) {
    return db.status();
  }
  auto impl = std::make_unique<Impl>();
  impl->conn = std::move(db.value());
  auto& d = impl->conn;
  int64_t version = 0;
  {
    // Read before anything writes: a store from a newer agent is refused untouched (switching
    // it to WAL would already rewrite its header).
    auto v = d.prepare("PRAGMA user_version");
    if (!v || v->step() != SQLITE_ROW) {
      return d.error("reading the store version");
    }
    version = v->int64(0);
  }
  if (version > kSchemaVersion) {
    return Status::io("store '" + path + "' has schema version " + std::to_string(version) +
                      " but this agent supports up to " + std::to_string(kSchemaVersion) +
                      "; it was written by a newer agent: install that version again or restore "
                      "a backup");
  }
  // A new store gets 16 KiB pages (SQLite's default is 4 KiB): a collect run writes tens of
  // megabytes of rows and change log in one transaction, and with bigger pages it splits fewer
  // pages and writes fewer WAL frames (tests/bench ingest: SDK rows/s +15-30%, interleaved runs).
  // SQLite fixes the size once the file is written; a store made by an older agent keeps its own.
  if (version == 0) {
    if (auto st = d.exec("PRAGMA page_size=" + std::to_string(kPageSize)); !st) {
      return st;
    }
  }
  // temp_store=MEMORY: every upsert fires capture triggers, so SQLite keeps a statement journal
  // per row; on disk, once it spills past 64 KiB, it costs ~6 write() calls a row for the rest
  // of the run (tests/bench: ~20% of the ingest CPU). In memory it holds a few pages at most.
  if (auto st = d.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                       "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;");
      !st) {
    return st;
  }
  if (version < kSchemaVersion) {
    if (!migrate) {
      return Status::io("store '" + path + "' is at schema version " + std::to_string(version) +
                        ", expected " + std::to_string(kSchemaVersion) +
                        "; start the agent to "
                        "migrate it");
    }
    if (auto st = d.exec("BEGIN IMMEDIATE"); !st) {
      return st;
    }
    for (int64_t next = version; next < kSchemaVersion; ++next) {
      if (auto st = d.exec(kMigrations[next]); !st) {
        (void)d.exec("ROLLBACK");
        return st.withContext("migrating store to version " + std::to_string(next + 1));
      }
    }
    if (version == 0) {
      auto ins = d.prepare(
          "INSERT INTO _meta(key, value) VALUES('incarnation', ?), "
          "('created_at', strftime('%Y-%m-%dT%H:%M:%SZ','now'))");
      if (!ins) {
        (void)d.exec("ROLLBACK");
        return ins.status();
      }
      ins->bind(1, randomHex(16));
      if (ins->step() != SQLITE_DONE) {
        (void)d.exec("ROLLBACK");
        return d.error("recording the incarnation");
      }
    }
    if (auto st = d.exec("PRAGMA user_version=" + std::to_string(kSchemaVersion) + "; COMMIT");
        !st) {
      (void)d.exec("ROLLBACK");
      return st;
    }
  }
  auto inc = d.prepare("SELECT value FROM _meta WHERE key = 'incarnation'");
  if (!inc || inc->step() != SQLITE_ROW) {
    return d.error("reading the incarnation");
  }
  impl->incarnation = inc->text(0);
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

const std::string& Store::path() const { return impl_->conn.path(); }
const std::string& Store::incarnation() const { return impl_->incarnation; }

Result<std::vector<StoredDataset>> Store::datasets() { return impl_->load(""); }

Result<std::optional<StoredDataset>> Store::dataset(const std::string& plugin,
                                                    const std::string& name) {
  auto all = impl_->load("WHERE d.plugin = ?1 AND d.name = ?2", plugin, name);
  if (!all) {
    return all.status();
  }
  if (all->empty()) {
    return std::optional<StoredDataset>();
  }
  return std::optional<StoredDataset>(std::move(all->front()));
}

Status Store::applySchema(const std::string& plugin, const DatasetSpec& declared) {
  const std::string where = "plugin '" + plugin + "' dataset '" + declared.name + "'";
  if (auto reason = checkDatasetSpec(declared); !reason.empty()) {
    return Status::schema(where + ": " + reason);
  }
  if (impl_->in_run) {
    return Status::internal(where + ": schema changes are not allowed during a run");
  }
  auto existing = dataset(plugin, declared.name);
  if (!existing) {
    return existing.status();
  }
  auto& db = impl_->db();
  std::string sql;
  StoredDataset target;
  if (!existing->has_value()) {
    target.plugin = plugin;
    target.spec = declared;
    target.table = datasetTableName(plugin, declared.name);
    std::string defs;
    std::string key;
    for (const auto& c : declared.columns) {
      defs += (defs.empty() ? "" : ", ") + columnDef(c);
      if (c.key) {
        key += (key.empty() ? "" : ", ") + sql::quoteIdent(c.name);
      }
    }
    sql = "CREATE TABLE " + sql::quoteIdent(target.table) + "(" + defs + ", PRIMARY KEY(" + key +
          ")) STRICT, WITHOUT ROWID;\n";
  } else {
    target = std::move(**existing);
    std::vector<Column> added;
    if (auto reason = compareSpecs(target.spec, declared, added); !reason.empty()) {
      return Status::schema(where + ": " + reason);
    }
    if (added.empty() && declared.version == target.spec.version) {
      return Status::ok();  // unchanged
    }
    for (const auto& c : added) {
      sql += "ALTER TABLE " + sql::quoteIdent(target.table) + " ADD COLUMN " + columnDef(c) + ";\n";
      target.spec.columns.push_back(c);
    }
    target.spec.version = declared.version;
    sql += dropTriggersSql(target.table);
  }

  if (auto st = db.exec("BEGIN IMMEDIATE"); !st) {
    return st;
  }
  auto fail = [&](Status st) {
    (void)db.exec("ROLLBACK");
    return st.withContext(where);
  };
  if (target.id == 0) {
    auto ins = db.prepare(
        "INSERT INTO _datasets(plugin, name, version, table_name) "
        "VALUES(?, ?, ?, ?)");
    if (!ins) {
      return fail(ins.status());
    }
    ins->bind(1, plugin);
    ins->bind(2, declared.name);
    ins->bind(3, static_cast<int64_t>(declared.version));
    ins->bind(4, target.table);
    if (ins->step() != SQLITE_DONE) {
      const auto msg = db.errmsg();
      (void)db.exec("ROLLBACK");
      if (msg.find("UNIQUE") != std::string::npos) {
        return Status::schema(where + ": table name '" + target.table +
                              "' is already used by another plugin's dataset; rename the dataset");
      }
      return Status::io(where + ": " + msg);
    }
    target.id = sqlite3_last_insert_rowid(db.get());
  } else {
    auto up = db.prepare("UPDATE _datasets SET version = ? WHERE id = ?");
    if (!up) {
      return fail(up.status());
    }
    up->bind(1, static_cast<int64_t>(target.spec.version));
    up->bind(2, target.id);
    if (up->step() != SQLITE_DONE) {
      return fail(db.error("updating the dataset version"));
    }
  }
  if (auto st = schema::writeColumns(db, target.id, target.spec); !st) {
    return fail(st);
  }
  if (auto st = db.exec(sql + triggersSql(target)); !st) {
    return fail(st);
  }
  if (auto st = db.exec("COMMIT"); !st) {
    return fail(st);
  }
  return Status::ok();
}

Status Store::beginRun() {
  if (impl_->in_run) {
    return Status::internal("store: a run is already open");
  }
  auto& db = impl_->db();
  // A run may write far more pages than the default cache holds: spilling them to the WAL in
  // the middle of the transaction and reading them back costs more than the memory, which is
  // given back when the run ends.
  // The writers check every value against the declared column (checkValue) and write dates and
  // timestamps as ISO text they format themselves, so the tables' CHECK constraints, which keep
  // plain-SQL writers of other connections to the same domain, would only parse every date
  // again: this connection skips them for the run.
  if (auto st = db.exec("PRAGMA cache_size = -" + std::to_string(kRunCacheKiB) +
                        "; PRAGMA ignore_check_constraints = ON; BEGIN IMMEDIATE");
      !st) {
    impl_->shrinkCache();
    return st;
  }
  {
    auto next = db.prepare("UPDATE _txn SET txn = txn + 1 RETURNING txn");
    const bool ok = next && next->step() == SQLITE_ROW;
    Status st = ok     ? Status::ok()
                : next ? db.error("starting a change-log transaction")
                       : next.status();
    if (ok) {
      impl_->txn = next->int64(0);
    }
    if (next) {
      next->reset();
    }
    if (!st) {
      (void)db.exec("ROLLBACK");
      impl_->shrinkCache();
      return st;
    }
  }
  impl_->in_run = true;
  return Status::ok();
}

Status Store::commitRun() {
  if (!impl_->in_run) {
    return Status::internal("store: no run to commit");
  }
  // The rows still waiting (written by the store thread), then the capture triggers back, then
  // one commit: no other connection ever sees a table without its triggers.
  Status st = impl_->flushPending();
  auto& db = impl_->db();
  std::string triggers;
  for (const auto& [name, w] : impl_->writers) {
    triggers += triggersSql(w->stored());
  }
  if (st && !triggers.empty()) {
    st = db.exec(triggers);
  }
  if (st) {
    st = db.exec("COMMIT");
  }
  if (!st) {
    (void)db.exec("ROLLBACK");
  }
  impl_->endRun();
  impl_->shrinkCache();
  return st;
}

void Store::rollbackRun() {
  if (impl_ && impl_->in_run) {
    impl_->endRun();
    (void)impl_->db().exec("ROLLBACK");
    impl_->shrinkCache();
  }
}

bool Store::inRun() const { return impl_->in_run; }

Result<Store::Writer*> Store::writer(const std::string& plugin, const DatasetSpec& declared) {
  if (auto st = impl_->settle(); !st) {
    return st;
  }
  auto key = std::make_pair(plugin, declared.name);
  auto it = impl_->writers.find(key);
  if (it != impl_->writers.end()) {
    return static_cast<Writer*>(it->second.get());
  }
  auto stored = dataset(plugin, declared.name);
  if (!stored) {
    return stored.status();
  }
  if (!stored->has_value()) {
    return Status::schema("plugin '" + plugin + "' dataset '" + declared.name +
                          "' is not in the store; its schema was not applied");
  }
  if (!impl_->in_run) {
    return Status::internal("store: writes need an open run");
  }
  // The writer logs its own changes; the triggers come back at commit (or with the rollback).
  if (auto st = impl_->db().exec(dropTriggersSql((*stored)->table)); !st) {
    return st;
  }
  auto w = std::make_unique<WriterImpl>(impl_->conn, impl_->queue, std::move(**stored), declared,
                                        impl_->txn, &impl_->active);
  if (auto st = w->prepare(); !st) {
    return st;
  }
  Writer* out = w.get();
  impl_->writers.emplace(std::move(key), std::move(w));
  return out;
}

Result<std::optional<std::string>> Store::stateGet(const std::string& plugin,
                                                   const std::string& key) {
  if (auto st = impl_->settle(); !st) {
    return st;
  }
  auto s = impl_->db().prepare("SELECT value FROM _plugin_state WHERE plugin = ? AND key = ?");
  if (!s) {
    return s.status();
  }
  s->bind(1, plugin);
  s->bind(2, key);
  const int rc = s->step();
  if (rc == SQLITE_ROW) {
    return std::optional<std::string>(s->text(0));
  }
  if (rc != SQLITE_DONE) {
    return impl_->db().error("reading plugin state");
  }
  return std::optional<std::string>();
}

Status Store::statePut(const std::string& plugin, const std::string& key,
                       const std::string& value) {
  if (auto st = impl_->settle(); !st) {
    return st;
  }
  auto s = impl_->db().prepare(
      "INSERT INTO _plugin_state(plugin, key, value) VALUES(?, ?, ?) "
      "ON CONFLICT(plugin, key) DO UPDATE SET value = excluded.value");
  if (!s) {
    return s.status();
  }
  s->bind(1, plugin);
  s->bind(2, key);
  s->bind(3, value);
  return s->step() == SQLITE_DONE ? Status::ok() : impl_->db().error("writing plugin state");
}

Status Store::stateErase(const std::string& plugin, const std::string& key) {
  if (auto st = impl_->settle(); !st) {
    return st;
  }
  auto s = impl_->db().prepare("DELETE FROM _plugin_state WHERE plugin = ? AND key = ?");
  if (!s) {
    return s.status();
  }
  s->bind(1, plugin);
  s->bind(2, key);
  return s->step() == SQLITE_DONE ? Status::ok() : impl_->db().error("erasing plugin state");
}

Result<std::vector<Change>> Store::changesAfter(int64_t after, size_t limit) {
  if (auto st = impl_->flushPending(); !st) {
    return st;
  }
  auto s = impl_->db().prepare(
      "SELECT seq, txn, dataset_id, op, key, row, at FROM _changes WHERE seq > ? "
      "ORDER BY seq LIMIT ?");
  if (!s) {
    return s.status();
  }
  s->bind(1, after);
  s->bind(2, static_cast<int64_t>(limit));
  std::vector<Change> out;
  int rc = 0;
  while ((rc = s->step()) == SQLITE_ROW) {
    Change c;
    c.seq = s->int64(0);
    c.txn = s->int64(1);
    c.dataset_id = s->int64(2);
    const auto op = s->text(3);
    c.op = op.empty() ? '?' : op[0];
    c.key = s->text(4);
    if (!s->isNull(5)) {
      c.row = s->text(5);
    }
    c.at = s->int64(6);
    out.push_back(std::move(c));
  }
  if (rc != SQLITE_DONE) {
    return impl_->db().error("reading the change log");
  }
  return out;
}

Result<int64_t> Store::lastSeq() {
  if (auto st = impl_->flushPending(); !st) {
    return st;
  }
  auto s = impl_->db().prepare(
      "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = "
      "'_changes'), 0)");
  if (!s || s->step() != SQLITE_ROW) {
    return impl_->db().error("reading the last change sequence");
  }
  return s->int64(0);
}

Result<int64_t> Store::changeCount() {
  if (auto st = impl_->flushPending(); !st) {
    return st;
  }
  auto s = impl_->db().prepare("SELECT count(*) FROM _changes");
  if (!s || s->step() != SQLITE_ROW) {
    return impl_->db().error("counting changes");
  }
  return s->int64(0);
}

Result<int64_t> Store::rowCount(const StoredDataset& dataset) {
  if (auto st = impl_->flushPending(); !st) {
    return st;
  }
  auto s = impl_->db().prepare("SELECT count(*) FROM " + sql::quoteIdent(dataset.table));
  if (!s || s->step() != SQLITE_ROW) {
    return impl_->db().error("counting rows of '" + dataset.table + "'");
  }
  return s->int64(0);
}

Result<std::optional<PluginHealth>> Store::health(const std::string& plugin) {
  auto s = impl_->db().prepare(
      "SELECT consecutive_failures, quarantined, config_hash, last_run_at, last_result, "
      "last_error, last_upserted, last_removed, last_rejected, last_duration_ms "
      "FROM _plugin_health WHERE plugin = ?");
  if (!s) {
    return s.status();
  }
  s->bind(1, plugin);
  const int rc = s->step();
  if (rc == SQLITE_DONE) {
    return std::optional<PluginHealth>();
  }
  if (rc != SQLITE_ROW) {
    return impl_->db().error("reading plugin health");
  }
  PluginHealth h;
  h.plugin = plugin;
  h.consecutive_failures = s->int64(0);
  h.quarantined = s->int64(1) != 0;
  h.config_hash = s->text(2);
  h.last_run_at = s->int64(3);
  h.last_result = s->text(4);
  h.last_error = s->text(5);
  h.last_upserted = s->int64(6);
  h.last_removed = s->int64(7);
  h.last_rejected = s->int64(8);
  h.last_duration_ms = s->int64(9);
  return std::optional<PluginHealth>(std::move(h));
}

Status Store::putHealth(const PluginHealth& h) {
  auto s = impl_->db().prepare(
      "INSERT OR REPLACE INTO _plugin_health(plugin, consecutive_failures, quarantined, "
      "config_hash, last_run_at, last_result, last_error, last_upserted, last_removed, "
      "last_rejected, last_duration_ms) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
  if (!s) {
    return s.status();
  }
  s->bind(1, h.plugin);
  s->bind(2, h.consecutive_failures);
  s->bind(3, static_cast<int64_t>(h.quarantined ? 1 : 0));
  s->bind(4, h.config_hash);
  s->bind(5, h.last_run_at);
  s->bind(6, h.last_result);
  s->bind(7, h.last_error);
  s->bind(8, h.last_upserted);
  s->bind(9, h.last_removed);
  s->bind(10, h.last_rejected);
  s->bind(11, h.last_duration_ms);
  return s->step() == SQLITE_DONE ? Status::ok() : impl_->db().error("writing plugin health");
}

Result<bool> Store::clearQuarantine(const std::string& plugin) {
  auto s = impl_->db().prepare(
      "UPDATE _plugin_health SET quarantined = 0, consecutive_failures = 0 WHERE plugin = ?");
  if (!s) {
    return s.status();
  }
  s->bind(1, plugin);
  if (s->step() != SQLITE_DONE) {
    return impl_->db().error("clearing quarantine");
  }
  return sqlite3_changes(impl_->db().get()) > 0;
}

Result<std::string> Store::meta(const std::string& key) {
  auto s = impl_->db().prepare("SELECT value FROM _meta WHERE key = ?");
  if (!s) {
    return s.status();
  }
  s->bind(1, key);
  const int rc = s->step();
  if (rc == SQLITE_ROW) {
    return s->text(0);
  }
  if (rc != SQLITE_DONE) {
    return impl_->db().error("reading _meta");
  }
  return std::string();
}

Status Store::setMeta(const std::string& key, const std::string& value) {
  auto s = impl_->db().prepare(
      "INSERT INTO _meta(key, value) VALUES(?, ?) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  if (!s) {
    return s.status();
  }
  s->bind(1, key);
  s->bind(2, value);
  return s->step() == SQLITE_DONE ? Status::ok() : impl_->db().error("writing _meta");
}

Result<int64_t> Store::syncAcked() {
  auto v = meta("sync_acked");
  if (!v) {
    return v.status();
  }
  return v->empty() ? int64_t{0} : static_cast<int64_t>(std::stoll(*v));
}

Status Store::acknowledge(int64_t mark) { return setMeta("sync_acked", std::to_string(mark)); }

Status Store::purgeAcknowledged(int64_t through) {
  auto del = impl_->db().prepare("DELETE FROM _changes WHERE seq <= ?");
  if (!del) {
    return del.status();
  }
  del->bind(1, through);
  if (del->step() != SQLITE_DONE) {
    return impl_->db().error("purging acknowledged changes");
  }
  return Status::ok();
}

Result<Store::Backlog> Store::backlog() {
  if (auto st = impl_->flushPending(); !st) {
    return st;
  }
  // Changes after the mark only: acknowledged ones may wait a moment for their purge.
  auto s = impl_->db().prepare(
      "WITH mark(seq) AS (SELECT coalesce((SELECT CAST(value AS INTEGER) FROM _meta "
      "WHERE key = 'sync_acked'), 0)) "
      // Bytes, not characters: a blob's length is in its header, a text's must be counted.
      "SELECT count(*), coalesce(sum(length(CAST(key AS BLOB)) + "
      "coalesce(length(CAST(row AS BLOB)), 0)), 0), "
      "coalesce((SELECT at FROM _changes WHERE seq > (SELECT seq FROM mark) ORDER BY seq "
      "LIMIT 1), 0) FROM _changes WHERE seq > (SELECT seq FROM mark)");
  if (!s || s->step() != SQLITE_ROW) {
    return impl_->db().error("measuring the backlog");
  }
  Backlog b;
  b.rows = s->int64(0);
  b.bytes = s->int64(1);
  b.oldest_at = s->int64(2);
  return b;
}

Status Store::execForTest(const std::string& sql) {
  if (auto st = impl_->flushPending(); !st) {
    return st;
  }
  return impl_->db().exec(sql);
}

}  // namespace exportsync::agent
