// SQLite implementation of CentralStore. One write connection guarded by a mutex (SQLite has
// one writer anyway); CSV exports and listings use their own read connections.
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_set>

#include "exportsync/central/central_store.hpp"
#include "exportsync/schema_sql.hpp"
#include "exportsync/sqlite.hpp"

namespace exportsync::central {
namespace {

using protocol::Batch;
using protocol::ChangeRecord;
using protocol::DatasetDescriptor;
using protocol::Op;

constexpr int kSchemaVersion = 1;
constexpr const char* kMigrationV1 = R"SQL(
CREATE TABLE _meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE _admin_tokens(token_hash TEXT PRIMARY KEY, label TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE _enrol_codes(
  code_hash TEXT PRIMARY KEY, region TEXT NOT NULL, created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, used_at INTEGER, used_by TEXT);
CREATE TABLE _agents(
  id TEXT PRIMARY KEY, region TEXT NOT NULL, hostname TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE, incarnation TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL, revoked_at INTEGER NOT NULL DEFAULT 0,
  mark INTEGER NOT NULL DEFAULT 0, applied_seq INTEGER NOT NULL DEFAULT 0,
  last_seen INTEGER NOT NULL DEFAULT 0, last_sync_at INTEGER NOT NULL DEFAULT 0,
  mark_changed_at INTEGER NOT NULL DEFAULT 0, status_json TEXT NOT NULL DEFAULT '',
  last_error TEXT NOT NULL DEFAULT '', rows_received INTEGER NOT NULL DEFAULT 0,
  bytes_received INTEGER NOT NULL DEFAULT 0, batches_received INTEGER NOT NULL DEFAULT 0);
CREATE TABLE _datasets(
  id INTEGER PRIMARY KEY, plugin TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
  table_name TEXT NOT NULL UNIQUE, UNIQUE(plugin, name));
CREATE TABLE _columns(
  dataset_id INTEGER NOT NULL, position INTEGER NOT NULL, name TEXT NOT NULL,
  type TEXT NOT NULL, key_position INTEGER, nullable INTEGER NOT NULL,
  PRIMARY KEY(dataset_id, position)) WITHOUT ROWID;
-- Batches of a transaction that continues in a later batch, kept until it completes.
CREATE TABLE _staged(
  agent_id TEXT NOT NULL, last_seq INTEGER NOT NULL, skip_through INTEGER NOT NULL,
  wire BLOB NOT NULL, PRIMARY KEY(agent_id, last_seq)) WITHOUT ROWID;
CREATE TABLE _set_aside(
  id INTEGER PRIMARY KEY, agent_id TEXT NOT NULL, dataset_id INTEGER NOT NULL,
  seq INTEGER NOT NULL, op TEXT NOT NULL, key TEXT NOT NULL, row TEXT NOT NULL,
  reason TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX _set_aside_key ON _set_aside(agent_id, dataset_id, key);
)SQL";

struct HubDataset {
  int64_t id = 0;
  DatasetSpec spec;
  std::string table;
  std::vector<size_t> key;  // positions of key columns in spec.columns
};

void bindValue(sqlite3_stmt* s, int i, const Value& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          sqlite3_bind_null(s, i);
        } else if constexpr (std::is_same_v<T, std::string>) {
          sqlite3_bind_text(s, i, x.data(), static_cast<int>(x.size()), SQLITE_STATIC);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          sqlite3_bind_int64(s, i, x);
        } else if constexpr (std::is_same_v<T, double>) {
          sqlite3_bind_double(s, i, x);
        } else if constexpr (std::is_same_v<T, bool>) {
          sqlite3_bind_int64(s, i, x ? 1 : 0);
        } else if constexpr (std::is_same_v<T, Money>) {
          sqlite3_bind_int64(s, i, x.centimes());
        } else {  // Date, Timestamp (the decoder keeps them within years 0001-9999)
          char buf[32];
          static_assert(Date::kIsoSize <= sizeof buf && Timestamp::kIsoSize <= sizeof buf);
          const size_t n = x.toIso(buf);
          sqlite3_bind_text(s, i, buf, static_cast<int>(n), SQLITE_TRANSIENT);
        }
      },
      v.storage());
}

// JSON text of values, for set-aside rows (readable by admins).
std::string jsonOf(const std::vector<Value>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i != 0) {
      out += ",";
    }
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            out += "null";
          } else if constexpr (std::is_same_v<T, std::string>) {
            out += '"';
            for (unsigned char c : x) {
              if (c == '"' || c == '\\') {
                out += '\\';
                out += static_cast<char>(c);
              } else if (c < 0x20) {
                char b[8];
                std::snprintf(b, sizeof b, "\\u%04x", c);
                out += b;
              } else {
                out += static_cast<char>(c);
              }
            }
            out += '"';
          } else if constexpr (std::is_same_v<T, int64_t>) {
            out += std::to_string(x);
          } else if constexpr (std::is_same_v<T, double>) {
            char b[40];
            std::snprintf(b, sizeof b, "%.17g", x);
            out += b;
          } else if constexpr (std::is_same_v<T, bool>) {
            out += x ? "true" : "false";
          } else if constexpr (std::is_same_v<T, Money>) {
            out += '"' + x.toString() + '"';
          } else {
            out += '"' + x.toIso() + '"';
          }
        },
        values[i].storage());
  }
  return out + "]";
}

void csvField(std::ostream& out, const char* text, size_t len) {
  bool quote = false;
  for (size_t i = 0; i < len; ++i) {
    const char c = text[i];
    if (c == ',' || c == '"' || c == '\n' || c == '\r') {
      quote = true;
      break;
    }
  }
  if (!quote) {
    out.write(text, static_cast<std::streamsize>(len));
    return;
  }
  out << '"';
  for (size_t i = 0; i < len; ++i) {
    if (text[i] == '"') {
      out << '"';
    }
    out << text[i];
  }
  out << '"';
}

class SqliteCentralStore final : public CentralStore {
 public:
  explicit SqliteCentralStore(sql::Db db) : db_(std::move(db)) {}
  ~SqliteCentralStore() override {
    {
      const std::lock_guard<std::mutex> lock(checkpoint_mutex_);
      stopping_ = true;
    }
    checkpoint_wake_.notify_all();
    if (checkpointer_.joinable()) {
      checkpointer_.join();
    }
  }

  // Copies the WAL back into the database file from a thread and connection of its own, so
  // no sync request waits for it (the write connection has wal_autocheckpoint off). PASSIVE
  // never blocks writers or readers; a busy moment is simply retried on the next round.
  Status startCheckpointer(const std::string& path) {
    auto db = sql::Db::open(path, false, 200);
    if (!db) {
      return db.status();
    }
    checkpointer_ = std::thread([this, cdb = std::make_shared<sql::Db>(std::move(*db))] {
      std::unique_lock<std::mutex> lock(checkpoint_mutex_);
      while (!stopping_) {
        checkpoint_wake_.wait_for(lock, std::chrono::seconds(1));
        if (stopping_) {
          break;
        }
        lock.unlock();
        (void)cdb->exec("PRAGMA wal_checkpoint(PASSIVE)");
        lock.lock();
      }
      (void)cdb->exec("PRAGMA wal_checkpoint(TRUNCATE)");
    });
    return Status::ok();
  }

  Status migrate() {
    if (auto st =
            db_.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                     // Room for a large transaction's pages, so applying one never spills mid-way.
                     "PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=0;");
        !st) {
      return st;
    }
    auto v = db_.prepare("PRAGMA user_version");
    if (!v || v->step() != SQLITE_ROW) {
      return db_.error("reading the store version");
    }
    const int64_t version = v->int64(0);
    if (version > kSchemaVersion) {
      return Status::io("hub store '" + db_.path() + "' has schema version " +
                        std::to_string(version) + ", this hub supports up to " +
                        std::to_string(kSchemaVersion) + "; install the newer hub again");
    }
    if (version == 0) {
      if (auto st = db_.exec(std::string("BEGIN IMMEDIATE;") + kMigrationV1 +
                             "PRAGMA user_version=1; COMMIT;");
          !st) {
        (void)db_.exec("ROLLBACK");
        return st;
      }
    }
    return loadDatasets();
  }

  Status addAdminToken(const std::string& token_hash, const std::string& label) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto s = db_.prepare(
        "INSERT INTO _admin_tokens(token_hash, label, created_at) "
        "VALUES(?, ?, strftime('%s','now'))");
    if (!s) {
      return s.status();
    }
    s->bind(1, token_hash);
    s->bind(2, label);
    return s->step() == SQLITE_DONE ? Status::ok() : db_.error("adding an admin token");
  }

  Result<bool> isAdminToken(const std::string& token_hash) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto s = db_.prepare("SELECT 1 FROM _admin_tokens WHERE token_hash = ?");
    if (!s) {
      return s.status();
    }
    s->bind(1, token_hash);
    return s->step() == SQLITE_ROW;
  }

  Status addEnrolmentCode(const std::string& code_hash, const std::string& region,
                          int64_t expires_at) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto s = db_.prepare(
        "INSERT INTO _enrol_codes(code_hash, region, created_at, expires_at) "
        "VALUES(?, ?, strftime('%s','now'), ?)");
    if (!s) {
      return s.status();
    }
    s->bind(1, code_hash);
    s->bind(2, region);
    s->bind(3, expires_at);
    return s->step() == SQLITE_DONE ? Status::ok() : db_.error("adding an enrolment code");
  }

  Result<AgentRecord> enrol(const std::string& code_hash, int64_t now, const std::string& agent_id,
                            const std::string& token_hash, const std::string& hostname) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (auto st = db_.exec("BEGIN IMMEDIATE"); !st) {
      return st;
    }
    auto fail = [this](Status st) {
      (void)db_.exec("ROLLBACK");
      return st;
    };
    auto q = db_.prepare(
        "SELECT region, expires_at, used_at FROM _enrol_codes WHERE "
        "code_hash = ?");
    if (!q) {
      return fail(q.status());
    }
    q->bind(1, code_hash);
    if (q->step() != SQLITE_ROW) {
      return fail(
          Status::invalid("enrolment code is unknown; check it or ask the Secretariat "
                          "for a new one"));
    }
    const std::string region = q->text(0);
    if (!q->isNull(2)) {
      return fail(
          Status::invalid("enrolment code was already used; each code enrols one agent, "
                          "ask the Secretariat for a new one"));
    }
    if (q->int64(1) < now) {
      return fail(
          Status::invalid("enrolment code has expired; ask the Secretariat for a new "
                          "one"));
    }
    auto use = db_.prepare("UPDATE _enrol_codes SET used_at = ?, used_by = ? WHERE code_hash = ?");
    auto ins = db_.prepare(
        "INSERT INTO _agents(id, region, hostname, token_hash, created_at) "
        "VALUES(?, ?, ?, ?, ?)");
    if (!use || !ins) {
      return fail(db_.error("enrolling"));
    }
    use->bind(1, now);
    use->bind(2, agent_id);
    use->bind(3, code_hash);
    ins->bind(1, agent_id);
    ins->bind(2, region);
    ins->bind(3, hostname);
    ins->bind(4, token_hash);
    ins->bind(5, now);
    if (use->step() != SQLITE_DONE || ins->step() != SQLITE_DONE) {
      return fail(db_.error("enrolling"));
    }
    if (auto st = db_.exec("COMMIT"); !st) {
      return fail(st);
    }
    AgentRecord a;
    a.id = agent_id;
    a.region = region;
    a.hostname = hostname;
    a.created_at = now;
    return a;
  }

  Result<std::optional<AgentRecord>> agentByToken(const std::string& token_hash) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    return queryAgent("token_hash = ?", token_hash);
  }
  Result<std::optional<AgentRecord>> agent(const std::string& id) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    return queryAgent("id = ?", id);
  }

  Result<std::vector<AgentRecord>> agents() override {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto s = db_.prepare(std::string(kAgentColumns) + " ORDER BY region, id");
    if (!s) {
      return s.status();
    }
    std::vector<AgentRecord> out;
    while (s->step() == SQLITE_ROW) {
      out.push_back(readAgent(*s));
    }
    return out;
  }

  Result<bool> revoke(const std::string& agent_id, int64_t now) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto s = db_.prepare("UPDATE _agents SET revoked_at = ? WHERE id = ? AND revoked_at = 0");
    if (!s) {
      return s.status();
    }
    s->bind(1, now);
    s->bind(2, agent_id);
    if (s->step() != SQLITE_DONE) {
      return db_.error("revoking");
    }
    if (sqlite3_changes(db_.get()) > 0) {
      return true;
    }
    auto q = db_.prepare("SELECT 1 FROM _agents WHERE id = ?");
    q->bind(1, agent_id);
    return q->step() == SQLITE_ROW;  // already revoked counts as done
  }

  Result<ApplyOutcome> applyBatch(const AgentRecord& who, const Batch& batch, std::string_view wire,
                                  int64_t now) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto& h = batch.header;
    if (auto st = db_.exec("BEGIN IMMEDIATE"); !st) {
      return st;
    }
    auto fail = [this](Status st) {
      (void)db_.exec("ROLLBACK");
      reloadDatasets();  // schema changes of this transaction were rolled back too
      return st;
    };
    auto current = queryAgent("id = ?", who.id);
    if (!current || !current->has_value()) {
      return fail(Status::internal("agent '" + who.id + "' vanished"));
    }
    AgentRecord a = **current;
    ApplyOutcome out;
    out.mark = a.mark;
    if (!a.incarnation.empty() && a.incarnation != h.incarnation) {
      return fail(Status(Code::Invalid,
                         "incarnation mismatch: agent '" + a.id +
                             "' sent changes from store "
                             "incarnation " +
                             h.incarnation + " but the hub holds data from " + a.incarnation +
                             "; the agent's store was recreated or restored. Ask a "
                             "central admin to re-enrol this office (its sequence restarted)"));
    }
    if (h.last_seq <= a.mark) {
      out.kind = ApplyOutcome::Kind::Duplicate;
      out.skipped = static_cast<int64_t>(batch.changes.size());
      (void)touch(a.id, now);
      (void)db_.exec("COMMIT");
      return out;
    }
    if (h.base_seq > a.mark) {
      out.kind = ApplyOutcome::Kind::Gap;
      (void)db_.exec("ROLLBACK");
      return out;
    }
    // Schema: create datasets and add columns on first sight; refuse incompatible changes.
    std::vector<const HubDataset*> local;
    for (const auto& d : h.datasets) {
      auto ds = ensureDataset(d);
      if (!ds) {
        return fail(ds.status());
      }
      local.push_back(*ds);
    }
    if (!h.ends_transaction) {
      auto s = db_.prepare(
          "INSERT OR REPLACE INTO _staged(agent_id, last_seq, skip_through, wire) "
          "VALUES(?, ?, ?, ?)");
      if (!s) {
        return fail(s.status());
      }
      s->bind(1, a.id);
      s->bind(2, h.last_seq);
      s->bind(3, a.mark);
      sqlite3_bind_blob(s->get(), 4, wire.data(), static_cast<int>(wire.size()), SQLITE_STATIC);
      if (s->step() != SQLITE_DONE) {
        return fail(db_.error("staging a batch"));
      }
      out.kind = ApplyOutcome::Kind::Staged;
      for (const auto& c : batch.changes) {
        out.skipped += c.seq <= a.mark ? 1 : 0;
      }
    } else {
      // Complete the staged part of the transaction first, in order, then this batch.
      auto staged = loadStaged(a.id);
      if (!staged) {
        return fail(staged.status());
      }
      for (auto& [skip_through, staged_wire] : *staged) {
        auto decoded = protocol::decodeBatch(staged_wire, protocol::Limits());
        if (!decoded) {
          return fail(decoded.status().withContext("staged batch of agent '" + a.id + "'"));
        }
        std::string().swap(staged_wire);
        const Batch& sb = *decoded;
        std::vector<const HubDataset*> sl;
        for (const auto& d : sb.header.datasets) {
          auto ds = ensureDataset(d);
          if (!ds) {
            return fail(ds.status());
          }
          sl.push_back(*ds);
        }
        if (auto st = applyChanges(a, sb, sl, skip_through, now, out); !st) {
          return fail(st);
        }
      }
      if (auto st = applyChanges(a, batch, local, a.mark, now, out); !st) {
        return fail(st);
      }
      auto del = db_.prepare("DELETE FROM _staged WHERE agent_id = ?");
      del->bind(1, a.id);
      if (del->step() != SQLITE_DONE) {
        return fail(db_.error("clearing staged batches"));
      }
      out.kind = ApplyOutcome::Kind::Applied;
    }
    auto up = db_.prepare(
        "UPDATE _agents SET mark = ?1, applied_seq = CASE WHEN ?2 THEN ?1 ELSE applied_seq END, "
        "incarnation = ?3, last_seen = ?4, last_sync_at = ?4, mark_changed_at = ?4, "
        "last_error = '', rows_received = rows_received + ?5, "
        "bytes_received = bytes_received + ?6, batches_received = batches_received + 1 "
        "WHERE id = ?7");
    up->bind(1, h.last_seq);
    up->bind(2, static_cast<int64_t>(h.ends_transaction ? 1 : 0));
    up->bind(3, h.incarnation);
    up->bind(4, now);
    up->bind(5, static_cast<int64_t>(batch.changes.size()));
    up->bind(6, static_cast<int64_t>(wire.size()));
    up->bind(7, a.id);
    if (up->step() != SQLITE_DONE) {
      return fail(db_.error("advancing the mark"));
    }
    if (auto st = db_.exec("COMMIT"); !st) {
      return fail(st);
    }
    out.mark = h.last_seq;
    return out;
  }

  Status recordHeartbeat(const std::string& agent_id, const std::string& status_json,
                         int64_t now) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto s = db_.prepare("UPDATE _agents SET status_json = ?, last_seen = ? WHERE id = ?");
    if (!s) {
      return s.status();
    }
    s->bind(1, status_json);
    s->bind(2, now);
    s->bind(3, agent_id);
    return s->step() == SQLITE_DONE ? Status::ok() : db_.error("recording a heartbeat");
  }

  Status recordError(const std::string& agent_id, const std::string& error) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto s = db_.prepare("UPDATE _agents SET last_error = ? WHERE id = ?");
    if (!s) {
      return s.status();
    }
    s->bind(1, error);
    s->bind(2, agent_id);
    return s->step() == SQLITE_DONE ? Status::ok() : db_.error("recording an error");
  }

  Status writeCsv(const std::string& plugin, const std::string& dataset, const std::string& region,
                  std::ostream& out) override {
    HubDataset ds;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      auto it = datasets_.find({plugin, dataset});
      if (it == datasets_.end()) {
        return Status::invalid("dataset '" + plugin + "/" + dataset +
                               "' is unknown at the hub (no agent has sent it yet)");
      }
      ds = it->second;
    }
    auto rdb = sql::Db::open(db_.path(), false);
    if (!rdb) {
      return rdb.status();
    }
    std::string cols;
    std::string order = "_region, _agent";
    for (const auto& c : ds.spec.columns) {
      cols += ", " + sql::quoteIdent(c.name);
    }
    for (size_t k : ds.key) {
      order += ", " + sql::quoteIdent(ds.spec.columns[k].name);
    }
    auto s = rdb->prepare("SELECT _region, _agent" + cols + " FROM " + sql::quoteIdent(ds.table) +
                          (region.empty() ? "" : " WHERE _region = ?1") + " ORDER BY " + order);
    if (!s) {
      return s.status();
    }
    if (!region.empty()) {
      s->bind(1, region);
    }
    out << "region,agent";
    for (const auto& c : ds.spec.columns) {
      out << "," << c.name;
    }
    out << "\n";
    const int n = static_cast<int>(ds.spec.columns.size()) + 2;
    while (s->step() == SQLITE_ROW) {
      for (int i = 0; i < n; ++i) {
        if (i != 0) {
          out << ',';
        }
        sqlite3_stmt* st = s->get();
        if (sqlite3_column_type(st, i) == SQLITE_NULL) {
          continue;
        }
        const ColumnType type = i < 2 ? ColumnType::Text : ds.spec.columns[i - 2].type;
        if (type == ColumnType::Money) {
          out << Money::fromCentimes(sqlite3_column_int64(st, i)).toString();
        } else if (type == ColumnType::Boolean) {
          out << (sqlite3_column_int64(st, i) != 0 ? "true" : "false");
        } else if (type == ColumnType::Real) {
          char b[40];
          std::snprintf(b, sizeof b, "%.17g", sqlite3_column_double(st, i));
          out << b;
        } else if (type == ColumnType::Integer) {
          out << sqlite3_column_int64(st, i);
        } else {
          const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
          csvField(out, t, static_cast<size_t>(sqlite3_column_bytes(st, i)));
        }
      }
      out << '\n';
    }
    return Status::ok();
  }

  Result<std::vector<SetAsideRow>> setAside(size_t limit) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto s = db_.prepare(
        "SELECT s.id, s.agent_id, a.region, d.plugin, d.name, s.seq, s.op, s.key, s.row, "
        "s.reason, s.at FROM _set_aside s JOIN _datasets d ON d.id = s.dataset_id "
        "LEFT JOIN _agents a ON a.id = s.agent_id ORDER BY s.id LIMIT ?");
    if (!s) {
      return s.status();
    }
    s->bind(1, static_cast<int64_t>(limit));
    std::vector<SetAsideRow> out;
    while (s->step() == SQLITE_ROW) {
      SetAsideRow r;
      r.id = s->int64(0);
      r.agent_id = s->text(1);
      r.region = s->text(2);
      r.plugin = s->text(3);
      r.dataset = s->text(4);
      r.seq = s->int64(5);
      const auto op = s->text(6);
      r.op = op.empty() ? '?' : op[0];
      r.key = s->text(7);
      r.row = s->text(8);
      r.reason = s->text(9);
      r.at = s->int64(10);
      out.push_back(std::move(r));
    }
    return out;
  }

 private:
  static constexpr const char* kAgentColumns =
      "SELECT id, region, hostname, incarnation, created_at, revoked_at, mark, applied_seq, "
      "last_seen, last_sync_at, mark_changed_at, status_json, last_error, rows_received, "
      "bytes_received, batches_received FROM _agents";

  static AgentRecord readAgent(sql::Stmt& s) {
    AgentRecord a;
    a.id = s.text(0);
    a.region = s.text(1);
    a.hostname = s.text(2);
    a.incarnation = s.text(3);
    a.created_at = s.int64(4);
    a.revoked_at = s.int64(5);
    a.mark = s.int64(6);
    a.applied_seq = s.int64(7);
    a.last_seen = s.int64(8);
    a.last_sync_at = s.int64(9);
    a.mark_changed_at = s.int64(10);
    a.status_json = s.text(11);
    a.last_error = s.text(12);
    a.rows_received = s.int64(13);
    a.bytes_received = s.int64(14);
    a.batches_received = s.int64(15);
    return a;
  }

  Result<std::optional<AgentRecord>> queryAgent(const char* where, const std::string& arg) {
    auto s = db_.prepare(std::string(kAgentColumns) + " WHERE " + where);
    if (!s) {
      return s.status();
    }
    s->bind(1, arg);
    const int rc = s->step();
    if (rc == SQLITE_DONE) {
      return std::optional<AgentRecord>();
    }
    if (rc != SQLITE_ROW) {
      return db_.error("reading an agent");
    }
    return std::optional<AgentRecord>(readAgent(*s));
  }

  Status touch(const std::string& id, int64_t now) {
    auto s = db_.prepare("UPDATE _agents SET last_seen = ? WHERE id = ?");
    s->bind(1, now);
    s->bind(2, id);
    return s->step() == SQLITE_DONE ? Status::ok() : db_.error("updating last_seen");
  }

  Status loadDatasets() {
    datasets_.clear();
    auto s = db_.prepare(
        "SELECT d.id, d.plugin, d.name, d.version, d.table_name, c.name, c.type, "
        "c.key_position, c.nullable FROM _datasets d JOIN _columns c ON c.dataset_id = d.id "
        "ORDER BY d.id, c.position");
    if (!s) {
      return s.status();
    }
    HubDataset* cur = nullptr;
    int64_t cur_id = -1;
    while (s->step() == SQLITE_ROW) {
      if (s->int64(0) != cur_id) {
        cur_id = s->int64(0);
        auto& d = datasets_[{s->text(1), s->text(2)}];
        d = HubDataset{};
        d.id = cur_id;
        d.spec.name = s->text(2);
        d.spec.version = static_cast<uint32_t>(s->int64(3));
        d.table = s->text(4);
        cur = &d;
      }
      Column c;
      c.name = s->text(5);
      c.type = parseTypeName(s->text(6)).value_or(ColumnType::Text);
      c.key = !s->isNull(7);
      c.nullable = s->int64(8) != 0;
      if (c.key) {
        cur->key.push_back(cur->spec.columns.size());
      }
      cur->spec.columns.push_back(std::move(c));
    }
    return Status::ok();
  }
  void reloadDatasets() {
    stmt_cache_.clear();
    statements_.clear();
    (void)loadDatasets();
  }

  // Creates or widens the hub table of a dataset inside the open transaction.
  Result<const HubDataset*> ensureDataset(const DatasetDescriptor& d) {
    const std::string where = "dataset '" + d.plugin + "/" + d.name + "'";
    DatasetSpec declared{d.name, d.version, d.columns};
    if (auto reason = checkDatasetSpec(declared); !reason.empty()) {
      return Status::schema(where + ": " + reason);
    }
    auto it = datasets_.find({d.plugin, d.name});
    std::string sql;
    HubDataset target;
    if (it == datasets_.end()) {
      target.spec = declared;
      target.table = schema::tableName(d.plugin, d.name);
      std::string defs =
          "\"_agent\" TEXT NOT NULL, \"_region\" TEXT NOT NULL, "
          "\"_seq\" INTEGER NOT NULL";
      std::string key = "\"_agent\"";
      for (size_t i = 0; i < declared.columns.size(); ++i) {
        const auto& c = declared.columns[i];
        defs += ", " + schema::columnDef(c);
        if (c.key) {
          key += ", " + sql::quoteIdent(c.name);
          target.key.push_back(i);
        }
      }
      sql = "CREATE TABLE " + sql::quoteIdent(target.table) + "(" + defs + ", PRIMARY KEY(" + key +
            ")) STRICT, WITHOUT ROWID; CREATE INDEX " + sql::quoteIdent(target.table + "_region") +
            " ON " + sql::quoteIdent(target.table) + "(\"_region\");";
    } else {
      target = it->second;
      // The hub keeps the newest definition seen: an agent with an older plugin may send fewer
      // columns (the missing ones are nullable by construction).
      std::vector<Column> added;
      DatasetSpec older_ok = target.spec;
      if (declared.version < target.spec.version) {
        std::vector<Column> ignored;
        // Older definition: every declared column must exist with the same type.
        for (const auto& c : declared.columns) {
          const int i = target.spec.columnIndex(c.name);
          if (i < 0 || target.spec.columns[static_cast<size_t>(i)].type != c.type) {
            return Status::schema(where + ": version " + std::to_string(d.version) + " column '" +
                                  c.name + "' does not match the hub's version " +
                                  std::to_string(target.spec.version) +
                                  "; upgrade the plugin on this agent");
          }
        }
        return &datasets_.at({d.plugin, d.name});
      }
      if (auto reason = schema::compareSpecs(target.spec, declared, added); !reason.empty()) {
        return Status::schema(where + " refused by the hub: " + reason);
      }
      if (added.empty() && declared.version == target.spec.version) {
        return &it->second;
      }
      for (const auto& c : added) {
        sql += "ALTER TABLE " + sql::quoteIdent(target.table) + " ADD COLUMN " +
               schema::columnDef(c) + ";";
        target.spec.columns.push_back(c);
      }
      target.spec.version = declared.version;
    }
    if (!sql.empty()) {
      if (auto st = db_.exec(sql); !st) {
        return st.withContext(where);
      }
    }
    if (target.id == 0) {
      auto ins = db_.prepare(
          "INSERT INTO _datasets(plugin, name, version, table_name) "
          "VALUES(?, ?, ?, ?)");
      ins->bind(1, d.plugin);
      ins->bind(2, d.name);
      ins->bind(3, static_cast<int64_t>(d.version));
      ins->bind(4, target.table);
      if (ins->step() != SQLITE_DONE) {
        return db_.error("recording " + where);
      }
      target.id = sqlite3_last_insert_rowid(db_.get());
    } else {
      auto up = db_.prepare("UPDATE _datasets SET version = ? WHERE id = ?");
      up->bind(1, static_cast<int64_t>(target.spec.version));
      up->bind(2, target.id);
      if (up->step() != SQLITE_DONE) {
        return db_.error("recording " + where);
      }
    }
    if (auto st = schema::writeColumns(db_, target.id, target.spec); !st) {
      return st.withContext(where);
    }
    statements_.erase(target.id);
    auto& slot = datasets_[{d.plugin, d.name}];
    slot = std::move(target);
    return &slot;
  }

  // The staged batches of an agent as sent (skip_through, wire), in order. They are decoded one
  // at a time by the caller: decoded, a long transaction's batches together take several times
  // the memory of the wire.
  Result<std::vector<std::pair<int64_t, std::string>>> loadStaged(const std::string& agent_id) {
    auto s = db_.prepare(
        "SELECT skip_through, wire FROM _staged WHERE agent_id = ? "
        "ORDER BY last_seq");
    s->bind(1, agent_id);
    std::vector<std::pair<int64_t, std::string>> out;
    while (s->step() == SQLITE_ROW) {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(s->get(), 1));
      const auto n = static_cast<size_t>(sqlite3_column_bytes(s->get(), 1));
      out.emplace_back(s->int64(0), std::string(p, n));
    }
    return out;
  }

  struct Statements {
    sql::Stmt upsert;
    sql::Stmt upsert_block;  // kBlockRows rows per statement; empty when the rows are too wide
    sql::Stmt remove;
    size_t columns = 0;  // hub column count when prepared
  };
  // Upserts go in blocks of this many rows: one statement per block costs less per row.
  static constexpr size_t kBlockRows = 32;
  static constexpr size_t kMaxParams = 999;

  // Prepared statements for a batch dataset (columns in the batch's order, which may be a
  // prefix-compatible subset of the hub's).
  Result<Statements*> statementsFor(const HubDataset& ds, const DatasetDescriptor& d) {
    const std::string cache_key = std::to_string(ds.id) + ":" + std::to_string(d.columns.size());
    auto it = stmt_cache_.find(cache_key);
    if (it != stmt_cache_.end() && statements_.count(ds.id) != 0) {
      return &it->second;
    }
    const std::string t = sql::quoteIdent(ds.table);
    std::string cols = "\"_agent\", \"_region\", \"_seq\"";
    std::string params = "?, ?, ?";
    std::string sets = "\"_seq\" = excluded.\"_seq\"";
    std::string conflict = "\"_agent\"";
    for (const auto& c : d.columns) {
      const auto q = sql::quoteIdent(c.name);
      cols += ", " + q;
      params += ", ?";
      if (c.key) {
        conflict += ", " + q;
      } else {
        sets += ", " + q + " = excluded." + q;
      }
    }
    Statements st;
    const std::string on_conflict = " ON CONFLICT(" + conflict + ") DO UPDATE SET " + sets;
    auto u =
        db_.prepare("INSERT INTO " + t + "(" + cols + ") VALUES(" + params + ")" + on_conflict);
    if (!u) {
      return u.status();
    }
    st.upsert = std::move(*u);
    if ((d.columns.size() + 3) * kBlockRows <= kMaxParams) {
      std::string values;
      for (size_t r = 0; r < kBlockRows; ++r) {
        values += (r != 0 ? ", (" : "(") + params + ")";
      }
      auto b = db_.prepare("INSERT INTO " + t + "(" + cols + ") VALUES" + values + on_conflict);
      if (!b) {
        return b.status();
      }
      st.upsert_block = std::move(*b);
    }
    std::string where = "\"_agent\" = ?";
    for (const auto& c : d.columns) {
      if (c.key) {
        where += " AND " + sql::quoteIdent(c.name) + " = ?";
      }
    }
    auto r = db_.prepare("DELETE FROM " + t + " WHERE " + where);
    if (!r) {
      return r.status();
    }
    st.remove = std::move(*r);
    statements_.insert(ds.id);
    auto& slot = stmt_cache_[cache_key];
    slot = std::move(st);
    return &slot;
  }

  Status applyChanges(const AgentRecord& a, const Batch& b,
                      const std::vector<const HubDataset*>& local, int64_t skip_through,
                      int64_t now, ApplyOutcome& out) {
    // Keys with set-aside changes: later changes of the same key wait behind them.
    std::set<std::pair<int64_t, std::string>> blocked;
    {
      auto s = db_.prepare("SELECT dataset_id, key FROM _set_aside WHERE agent_id = ?");
      s->bind(1, a.id);
      while (s->step() == SQLITE_ROW) {
        blocked.emplace(s->int64(0), s->text(1));
      }
    }
    std::vector<Statements*> stmts;
    for (size_t i = 0; i < local.size(); ++i) {
      auto st = statementsFor(*local[i], b.header.datasets[i]);
      if (!st) {
        return st.status();
      }
      stmts.push_back(*st);
    }
    auto aside = db_.prepare(
        "INSERT INTO _set_aside(agent_id, dataset_id, seq, op, key, row, "
        "reason, at) VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
    // Consecutive upserts of one dataset whose keys wait behind nothing are written a block at
    // a time; a block SQLite refuses (a row the hub cannot take) is undone by SQLite and its rows
    // go one by one, so the culprit is set aside and the others applied.
    std::vector<const ChangeRecord*> block;
    size_t block_dataset = 0;
    auto flushBlock = [&]() -> Status {
      if (block.empty()) {
        return Status::ok();
      }
      Statements& st = *stmts[block_dataset];
      if (block.size() == kBlockRows && st.upsert_block) {
        sqlite3_stmt* s = st.upsert_block.get();
        int p = 1;
        for (const ChangeRecord* c : block) {
          p = bindUpsert(s, p, a, *c);
        }
        const int rc = sqlite3_step(s);
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        if (rc == SQLITE_DONE) {
          out.applied += static_cast<int64_t>(block.size());
          block.clear();
          return Status::ok();
        }
        if (!canSetAside(rc)) {
          return Status::io("applying seq " + std::to_string(block.front()->seq) + " to " +
                            std::to_string(block.back()->seq) + ": " + db_.errmsg());
        }
      }
      for (const ChangeRecord* c : block) {
        if (auto st2 = applyOne(a, *c, b, local, stmts, blocked, aside, now, out); !st2) {
          return st2;
        }
      }
      block.clear();
      return Status::ok();
    };
    for (const auto& c : b.changes) {
      if (c.seq <= skip_through) {
        ++out.skipped;
        continue;
      }
      if (c.op != Op::Delete &&
          (blocked.empty() || blocked.count({local[c.dataset]->id, keyJson(b, c)}) == 0)) {
        if (!block.empty() && block_dataset != c.dataset) {
          if (auto st = flushBlock(); !st) {
            return st;
          }
        }
        block_dataset = c.dataset;
        block.push_back(&c);
        if (block.size() == kBlockRows) {
          if (auto st = flushBlock(); !st) {
            return st;
          }
        }
        continue;
      }
      if (auto st = flushBlock(); !st) {
        return st;
      }
      if (auto st = applyOne(a, c, b, local, stmts, blocked, aside, now, out); !st) {
        return st;
      }
    }
    return flushBlock();
  }

  // The change's key as JSON, as _set_aside keeps it.
  static std::string keyJson(const Batch& b, const ChangeRecord& c) {
    if (c.op == Op::Delete) {
      return jsonOf(c.values);
    }
    const auto& desc = b.header.datasets[c.dataset];
    std::vector<Value> key_values;
    for (size_t i = 0; i < desc.columns.size(); ++i) {
      if (desc.columns[i].key) {
        key_values.push_back(c.values[i]);
      }
    }
    return jsonOf(key_values);
  }

  static bool canSetAside(int rc) {
    return (rc & 0xff) == SQLITE_CONSTRAINT || (rc & 0xff) == SQLITE_MISMATCH ||
           (rc & 0xff) == SQLITE_TOOBIG;
  }

  // Binds one upsert's values from parameter `p` on; returns the next parameter.
  static int bindUpsert(sqlite3_stmt* s, int p, const AgentRecord& a, const ChangeRecord& c) {
    sqlite3_bind_text(s, p++, a.id.data(), static_cast<int>(a.id.size()), SQLITE_STATIC);
    sqlite3_bind_text(s, p++, a.region.data(), static_cast<int>(a.region.size()), SQLITE_STATIC);
    sqlite3_bind_int64(s, p++, c.seq);
    for (const auto& v : c.values) {
      bindValue(s, p++, v);
    }
    return p;
  }

  // Applies one change, or sets it aside with its reason (and blocks its key).
  Status applyOne(const AgentRecord& a, const ChangeRecord& c, const Batch& b,
                  const std::vector<const HubDataset*>& local,
                  const std::vector<Statements*>& stmts,
                  std::set<std::pair<int64_t, std::string>>& blocked, Result<sql::Stmt>& aside,
                  int64_t now, ApplyOutcome& out) {
    const HubDataset& ds = *local[c.dataset];
    std::string reason;
    std::string key_json;
    if (!blocked.empty()) {
      key_json = keyJson(b, c);
      if (blocked.count({ds.id, key_json}) != 0) {
        reason = "waits behind an earlier set-aside change of the same key";
      }
    }
    if (reason.empty()) {
      Statements& st = *stmts[c.dataset];
      sqlite3_stmt* s = c.op == Op::Delete ? st.remove.get() : st.upsert.get();
      if (c.op == Op::Delete) {
        int p = 1;
        sqlite3_bind_text(s, p++, a.id.data(), static_cast<int>(a.id.size()), SQLITE_STATIC);
        for (const auto& v : c.values) {
          bindValue(s, p++, v);
        }
      } else {
        bindUpsert(s, 1, a, c);
      }
      const int rc = sqlite3_step(s);
      if (rc != SQLITE_DONE) {
        reason = std::string("hub could not apply it: ") + sqlite3_errmsg(db_.get());
      }
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
      if (rc != SQLITE_DONE && !canSetAside(rc)) {
        return Status::io("applying seq " + std::to_string(c.seq) + ": " + reason);
      }
    }
    if (reason.empty()) {
      ++out.applied;
      return Status::ok();
    }
    if (key_json.empty()) {
      key_json = keyJson(b, c);
    }
    aside->reset();
    aside->bind(1, a.id);
    aside->bind(2, ds.id);
    aside->bind(3, c.seq);
    aside->bind(4, std::string(1, static_cast<char>(c.op)));
    aside->bind(5, key_json);
    aside->bind(6, c.op == Op::Delete ? std::string() : jsonOf(c.values));
    aside->bind(7, reason);
    aside->bind(8, now);
    if (aside->step() != SQLITE_DONE) {
      return db_.error("setting a row aside");
    }
    blocked.emplace(ds.id, key_json);
    ++out.set_aside;
    return Status::ok();
  }

  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_wake_;
  bool stopping_ = false;  // Guarded by checkpoint_mutex_.
  std::thread checkpointer_;
  std::mutex mutex_;
  sql::Db db_;                                                          // Guarded by mutex_.
  std::map<std::pair<std::string, std::string>, HubDataset> datasets_;  // Guarded by mutex_.
  std::map<std::string, Statements> stmt_cache_;                        // Guarded by mutex_.
  std::set<int64_t> statements_;  // dataset ids whose cached statements are valid
};

}  // namespace

Result<std::unique_ptr<CentralStore>> openSqliteCentralStore(const std::string& path) {
  auto db = sql::Db::open(path, true);
  if (!db) {
    return db.status();
  }
  auto store = std::make_unique<SqliteCentralStore>(std::move(*db));
  if (auto st = store->migrate(); !st) {
    return st;
  }
  if (auto st = store->startCheckpointer(path); !st) {
    return st;
  }
  return std::unique_ptr<CentralStore>(std::move(store));
}

}  // namespace exportsync::central
