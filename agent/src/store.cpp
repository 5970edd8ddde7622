#include "exportsync/agent/store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <unordered_map>

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

void formatDate(int64_t days, char* buf, size_t size) {
  const auto c = detail::civilFromDays(days);
  std::snprintf(buf, size, "%04lld-%02u-%02u", static_cast<long long>(c.year), c.month, c.day);
}

}  // namespace

std::string datasetTableName(const std::string& plugin, const std::string& dataset) {
  return schema::tableName(plugin, dataset);
}

// --- Writer -------------------------------------------------------------------------------

namespace {

class WriterImpl final : public Store::Writer {
 public:
  WriterImpl(sql::Db& db, StoredDataset stored, DatasetSpec declared)
      : db_(db), stored_(std::move(stored)), declared_(std::move(declared)) {}

  Status prepare() {
    const std::string t = sql::quoteIdent(stored_.table);
    std::string cols;
    std::string params;
    std::string sets;
    std::string differs;
    std::string conflict;
    for (size_t i = 0; i < declared_.columns.size(); ++i) {
      const auto& c = declared_.columns[i];
      const auto q = sql::quoteIdent(c.name);
      cols += (i != 0 ? ", " : "") + q;
      params += (i != 0 ? ", ?" : "?");
      if (c.key) {
        conflict += (conflict.empty() ? "" : ", ") + q;
        key_positions_.push_back(i);
      } else {
        sets += (sets.empty() ? "" : ", ") + q + " = excluded." + q;
        differs += (differs.empty() ? "" : " OR ") + t + "." + q + " IS NOT excluded." + q;
      }
    }
    std::string upsert = "INSERT INTO " + t + "(" + cols + ") VALUES(" + params + ") ON CONFLICT(" +
                         conflict + ") DO ";
    // Only a real change is written, so re-reading the same data adds nothing to the log.
    upsert += sets.empty() ? "NOTHING" : "UPDATE SET " + sets + " WHERE " + differs;
    auto u = db_.prepare(upsert);
    if (!u) {
      return u.status();
    }
    upsert_ = std::move(u.value());
    std::string where;
    for (size_t k = 0; k < key_positions_.size(); ++k) {
      where += (k != 0 ? " AND " : "") +
               sql::quoteIdent(declared_.columns[key_positions_[k]].name) + " = ?";
    }
    auto d = db_.prepare("DELETE FROM " + t + " WHERE " + where);
    if (!d) {
      return d.status();
    }
    remove_ = std::move(d.value());
    return Status::ok();
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
    for (size_t i = 0; i < count; ++i) {
      bind(upsert_, static_cast<int>(i + 1), values[i]);
    }
    return run(upsert_, "upsert");
  }

  Status remove(const es_value* key, size_t count) override {
    if (count != key_positions_.size()) {
      return Status::invalid(where() + "key has " + std::to_string(count) + " values, expected " +
                             std::to_string(key_positions_.size()));
    }
    for (size_t k = 0; k < count; ++k) {
      if (auto reason = checkValue(declared_.columns[key_positions_[k]], key[k]); !reason.empty()) {
        return Status::invalid(where() + reason);
      }
      bind(remove_, static_cast<int>(k + 1), key[k]);
    }
    return run(remove_, "remove");
  }

  const DatasetSpec& declared() const override { return declared_; }

 private:
  std::string where() const { return "dataset '" + declared_.name + "': "; }

  static void bind(sql::Stmt& s, int i, const es_value& v) {
    char buf[40];
    switch (v.type) {
      case ES_TYPE_TEXT:
        sqlite3_bind_text(s.get(), i, v.len == 0 ? "" : v.str, static_cast<int>(v.len),
                          SQLITE_STATIC);
        break;
      case ES_TYPE_INTEGER:
      case ES_TYPE_BOOLEAN:
      case ES_TYPE_MONEY: sqlite3_bind_int64(s.get(), i, v.i64); break;
      case ES_TYPE_REAL: sqlite3_bind_double(s.get(), i, v.f64); break;
      case ES_TYPE_DATE:
        formatDate(v.i64, buf, sizeof buf);
        sqlite3_bind_text(s.get(), i, buf, -1, SQLITE_TRANSIENT);
        break;
      case ES_TYPE_TIMESTAMP: {
        const auto iso = Timestamp::fromMicros(v.i64).toIso();
        sqlite3_bind_text(s.get(), i, iso.data(), static_cast<int>(iso.size()), SQLITE_TRANSIENT);
        break;
      }
      default: sqlite3_bind_null(s.get(), i); break;
    }
  }

  Status run(sql::Stmt& s, const char* what) {
    const int rc = s.step();
    sqlite3_reset(s.get());
    sqlite3_clear_bindings(s.get());
    if (rc != SQLITE_DONE) {
      return Status::io(where() + what + " failed: " + db_.errmsg());
    }
    return Status::ok();
  }

  sql::Db& db_;
  StoredDataset stored_;
  DatasetSpec declared_;
  std::vector<size_t> key_positions_;
  sql::Stmt upsert_;
  sql::Stmt remove_;
};

}  // namespace

// --- Store --------------------------------------------------------------------------------

struct Store::Impl {
  sql::Db db;
  std::string incarnation;
  bool in_run = false;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<WriterImpl>> writers;

  Result<std::vector<StoredDataset>> load(const std::string& where, const std::string& a = {},
                                          const std::string& b = {}) {
    auto st = db.prepare(
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
      return db.error("reading datasets");
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
  impl->db = std::move(db.value());
  auto& d = impl->db;
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

const std::string& Store::path() const { return impl_->db.path(); }
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
  auto& db = impl_->db;
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
  auto& db = impl_->db;
  if (auto st = db.exec("BEGIN IMMEDIATE"); !st) {
    return st;
  }
  if (auto st = db.exec("UPDATE _txn SET txn = txn + 1"); !st) {
    (void)db.exec("ROLLBACK");
    return st;
  }
  impl_->in_run = true;
  return Status::ok();
}

Status Store::commitRun() {
  if (!impl_->in_run) {
    return Status::internal("store: no run to commit");
  }
  impl_->writers.clear();
  auto st = impl_->db.exec("COMMIT");
  if (!st) {
    (void)impl_->db.exec("ROLLBACK");
  }
  impl_->in_run = false;
  return st;
}

void Store::rollbackRun() {
  if (impl_ && impl_->in_run) {
    impl_->writers.clear();
    (void)impl_->db.exec("ROLLBACK");
    impl_->in_run = false;
  }
}

bool Store::inRun() const { return impl_->in_run; }

Result<Store::Writer*> Store::writer(const std::string& plugin, const DatasetSpec& declared) {
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
  auto w = std::make_unique<WriterImpl>(impl_->db, std::move(**stored), declared);
  if (auto st = w->prepare(); !st) {
    return st;
  }
  Writer* out = w.get();
  impl_->writers.emplace(std::move(key), std::move(w));
  return out;
}

Result<std::optional<std::string>> Store::stateGet(const std::string& plugin,
                                                   const std::string& key) {
  auto s = impl_->db.prepare("SELECT value FROM _plugin_state WHERE plugin = ? AND key = ?");
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
    return impl_->db.error("reading plugin state");
  }
  return std::optional<std::string>();
}

Status Store::statePut(const std::string& plugin, const std::string& key,
                       const std::string& value) {
  auto s = impl_->db.prepare(
      "INSERT INTO _plugin_state(plugin, key, value) VALUES(?, ?, ?) "
      "ON CONFLICT(plugin, key) DO UPDATE SET value = excluded.value");
  if (!s) {
    return s.status();
  }
  s->bind(1, plugin);
  s->bind(2, key);
  s->bind(3, value);
  return s->step() == SQLITE_DONE ? Status::ok() : impl_->db.error("writing plugin state");
}

Status Store::stateErase(const std::string& plugin, const std::string& key) {
  auto s = impl_->db.prepare("DELETE FROM _plugin_state WHERE plugin = ? AND key = ?");
  if (!s) {
    return s.status();
  }
  s->bind(1, plugin);
  s->bind(2, key);
  return s->step() == SQLITE_DONE ? Status::ok() : impl_->db.error("erasing plugin state");
}

Result<std::vector<Change>> Store::changesAfter(int64_t after, size_t limit) {
  auto s = impl_->db.prepare(
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
    return impl_->db.error("reading the change log");
  }
  return out;
}

Result<int64_t> Store::lastSeq() {
  auto s = impl_->db.prepare(
      "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = "
      "'_changes'), 0)");
  if (!s || s->step() != SQLITE_ROW) {
    return impl_->db.error("reading the last change sequence");
  }
  return s->int64(0);
}

Result<int64_t> Store::changeCount() {
  auto s = impl_->db.prepare("SELECT count(*) FROM _changes");
  if (!s || s->step() != SQLITE_ROW) {
    return impl_->db.error("counting changes");
  }
  return s->int64(0);
}

Result<int64_t> Store::rowCount(const StoredDataset& dataset) {
  auto s = impl_->db.prepare("SELECT count(*) FROM " + sql::quoteIdent(dataset.table));
  if (!s || s->step() != SQLITE_ROW) {
    return impl_->db.error("counting rows of '" + dataset.table + "'");
  }
  return s->int64(0);
}

Result<std::optional<PluginHealth>> Store::health(const std::string& plugin) {
  auto s = impl_->db.prepare(
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
    return impl_->db.error("reading plugin health");
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
  auto s = impl_->db.prepare(
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
  return s->step() == SQLITE_DONE ? Status::ok() : impl_->db.error("writing plugin health");
}

Result<bool> Store::clearQuarantine(const std::string& plugin) {
  auto s = impl_->db.prepare(
      "UPDATE _plugin_health SET quarantined = 0, consecutive_failures = 0 WHERE plugin = ?");
  if (!s) {
    return s.status();
  }
  s->bind(1, plugin);
  if (s->step() != SQLITE_DONE) {
    return impl_->db.error("clearing quarantine");
  }
  return sqlite3_changes(impl_->db.get()) > 0;
}

Result<std::string> Store::meta(const std::string& key) {
  auto s = impl_->db.prepare("SELECT value FROM _meta WHERE key = ?");
  if (!s) {
    return s.status();
  }
  s->bind(1, key);
  const int rc = s->step();
  if (rc == SQLITE_ROW) {
    return s->text(0);
  }
  if (rc != SQLITE_DONE) {
    return impl_->db.error("reading _meta");
  }
  return std::string();
}

Status Store::setMeta(const std::string& key, const std::string& value) {
  auto s = impl_->db.prepare(
      "INSERT INTO _meta(key, value) VALUES(?, ?) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  if (!s) {
    return s.status();
  }
  s->bind(1, key);
  s->bind(2, value);
  return s->step() == SQLITE_DONE ? Status::ok() : impl_->db.error("writing _meta");
}

Result<int64_t> Store::syncAcked() {
  auto v = meta("sync_acked");
  if (!v) {
    return v.status();
  }
  return v->empty() ? int64_t{0} : static_cast<int64_t>(std::stoll(*v));
}

Status Store::acknowledge(int64_t mark) {
  auto& db = impl_->db;
  if (auto st = db.exec("BEGIN IMMEDIATE"); !st) {
    return st;
  }
  auto del = db.prepare("DELETE FROM _changes WHERE seq <= ?");
  if (!del) {
    (void)db.exec("ROLLBACK");
    return del.status();
  }
  del->bind(1, mark);
  if (del->step() != SQLITE_DONE) {
    auto st = db.error("purging acknowledged changes");
    (void)db.exec("ROLLBACK");
    return st;
  }
  if (auto st = setMeta("sync_acked", std::to_string(mark)); !st) {
    (void)db.exec("ROLLBACK");
    return st;
  }
  return db.exec("COMMIT");
}

Result<Store::Backlog> Store::backlog() {
  auto s = impl_->db.prepare(
      "SELECT count(*), coalesce(sum(length(key) + coalesce(length(row), 0)), 0), "
      "coalesce((SELECT at FROM _changes ORDER BY seq LIMIT 1), 0) FROM _changes");
  if (!s || s->step() != SQLITE_ROW) {
    return impl_->db.error("measuring the backlog");
  }
  Backlog b;
  b.rows = s->int64(0);
  b.bytes = s->int64(1);
  b.oldest_at = s->int64(2);
  return b;
}

Status Store::execForTest(const std::string& sql) { return impl_->db.exec(sql); }

}  // namespace exportsync::agent
