// SQLite implementation of CentralStore. One write connection guarded by a mutex (SQLite has
// one writer anyway); CSV exports and listings use their own read connections.
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_set>

#include "exportsync/central/central_store.hpp"
#include "exportsync/schema_sql.hpp"
#include "exportsync/sqlite.hpp"
#include "sqlite_indicators.hpp"

namespace exportsync::central {
namespace {

using protocol::Batch;
using protocol::ChangeRecord;
using protocol::DatasetDescriptor;
using protocol::Op;
using schema::bindValue;

constexpr int kSchemaVersion = 3;
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

// Version 2 (issue #5): monitoring, alerts, admin accounts and sessions.
constexpr const char* kMigrationV2 = R"SQL(
ALTER TABLE _agents ADD COLUMN errors INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _agents ADD COLUMN hb_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _agents ADD COLUMN hb_backlog_rows INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _agents ADD COLUMN hb_backlog_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _agents ADD COLUMN hb_oldest_age_s INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _agents ADD COLUMN hb_disk_free INTEGER NOT NULL DEFAULT -1;
ALTER TABLE _agents ADD COLUMN hb_backlog_warning INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _agents ADD COLUMN hb_backlog_full INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _agents ADD COLUMN hb_plugins_failing INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _agents ADD COLUMN hb_plugins_quarantined INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _agents ADD COLUMN hb_rows_rejected INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _agents ADD COLUMN backlog_since INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _agents ADD COLUMN backlog_at_since INTEGER NOT NULL DEFAULT 0;
CREATE INDEX _agents_region ON _agents(region);
CREATE TABLE _admins(
  name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE _sessions(
  id_hash TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, last_used INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX _sessions_name ON _sessions(name);
-- Monitoring samples: kind 'a' (one agent, id = agent id) or 'r' (one region, id = code), in
-- buckets of `step` seconds (300 kept 2 days, 3600 kept 8 days).
CREATE TABLE _history(
  step INTEGER NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, bucket INTEGER NOT NULL,
  rows INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,
  batches INTEGER NOT NULL DEFAULT 0, backlog_rows INTEGER NOT NULL DEFAULT 0,
  lag_s INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(step, kind, id, bucket)) WITHOUT ROWID;
CREATE INDEX _history_age ON _history(step, bucket);
CREATE TABLE _alerts(
  id INTEGER PRIMARY KEY, code TEXT NOT NULL, severity TEXT NOT NULL, agent_id TEXT NOT NULL,
  region TEXT NOT NULL, subject TEXT NOT NULL, message TEXT NOT NULL, since INTEGER NOT NULL,
  at INTEGER NOT NULL, count INTEGER NOT NULL, resolved_at INTEGER NOT NULL DEFAULT 0,
  resolved_by TEXT NOT NULL DEFAULT '');
CREATE UNIQUE INDEX _alerts_open ON _alerts(code, agent_id, subject) WHERE resolved_at = 0;
CREATE INDEX _alerts_at ON _alerts(at);
CREATE TABLE _agent_errors(
  id INTEGER PRIMARY KEY, agent_id TEXT NOT NULL, at INTEGER NOT NULL, message TEXT NOT NULL);
CREATE INDEX _agent_errors_agent ON _agent_errors(agent_id, id);
CREATE INDEX _set_aside_at ON _set_aside(at);
)SQL";

// History resolutions and how long each is kept.
constexpr int64_t kFineStep = 300;
constexpr int64_t kFineKeep = 2 * 86400;
constexpr int64_t kCoarseStep = 3600;
constexpr int64_t kCoarseKeep = 8 * 86400;
constexpr size_t kRecentErrorsKept = 20;

struct HubDataset {
  int64_t id = 0;
  DatasetSpec spec;
  std::string table;
  std::vector<size_t> key;  // positions of key columns in spec.columns
};

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

// One CSV line of a result row whose columns have these types (docs/protocol.md, CSV export).
void writeCsvRow(std::ostream& out, sqlite3_stmt* st, const std::vector<ColumnType>& types) {
  for (size_t c = 0; c < types.size(); ++c) {
    const int i = static_cast<int>(c);
    if (c != 0) {
      out << ',';
    }
    if (sqlite3_column_type(st, i) == SQLITE_NULL) {
      continue;
    }
    const ColumnType type = types[c];
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
                     "PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=0; "
                     // The dataset tables' CHECK constraints keep plain-SQL writers to the
                     // agent's domain (dates, timestamps, booleans). This connection writes only
                     // values the column codec has decoded by the dataset's stored column types
                     // and range-checked, so they would only parse every date again. Refusal
                     // rules of the central DBA's own are triggers, which still run.
                     "PRAGMA ignore_check_constraints=ON;");
        !st) {
      return st;
    }
    auto v = db_.prepare("PRAGMA user_version");
    if (!v || v->step() != SQLITE_ROW) {
      return db_.error("reading the store version");
    }
    const int64_t version = v->int64(0);
    *v = sql::Stmt();  // a pending statement would keep DROP INDEX from running
    if (version > kSchemaVersion) {
      return Status::io("hub store '" + db_.path() + "' has schema version " +
                        std::to_string(version) + ", this hub supports up to " +
                        std::to_string(kSchemaVersion) + "; install the newer hub again");
    }
    if (version < kSchemaVersion) {
      // One transaction from whatever version to the newest: a failure leaves the old store.
      std::string sql = "BEGIN IMMEDIATE;";
      if (version == 0) {
        sql += kMigrationV1;
      }
      if (version < 2) {
        sql += kMigrationV2;
      }
      if (version >= 1 && version < 3) {
        // Version 3: dataset tables lose their `_region` index. A region is a set of agents
        // (an agent never changes region), so a region's rows are read through the primary
        // key's `_agent` prefix, and every applied row writes one b-tree instead of two.
        auto idx = db_.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name = tbl_name || '_region' "
            "AND tbl_name IN (SELECT table_name FROM _datasets)");
        if (!idx) {
          return idx.status().withContext("upgrading the hub store to version 3");
        }
        while (idx->step() == SQLITE_ROW) {
          sql += "DROP INDEX " + sql::quoteIdent(idx->text(0)) + ";";
        }
        *idx = sql::Stmt();
      }
      sql += "PRAGMA user_version=" + std::to_string(kSchemaVersion) + "; COMMIT;";
      if (auto st = db_.exec(sql); !st) {
        (void)db_.exec("ROLLBACK");
        return st.withContext("upgrading the hub store to version " +
                              std::to_string(kSchemaVersion));
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

  // Lookups on every request read through the reader pool: they never wait behind a write.
  Result<bool> isAdminToken(const std::string& token_hash) override {
    return withReader([&](sql::Db& db) -> Result<bool> {
      auto s = db.prepare("SELECT 1 FROM _admin_tokens WHERE token_hash = ?");
      if (!s) {
        return s.status();
      }
      s->bind(1, token_hash);
      return s->step() == SQLITE_ROW;
    });
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
    return withReader([&](sql::Db& db) { return queryAgent(db, "token_hash = ?", token_hash); });
  }
  Result<std::optional<AgentRecord>> agent(const std::string& id) override {
    return withReader([&](sql::Db& db) { return queryAgent(db, "id = ?", id); });
  }

  Result<std::vector<AgentRecord>> agents() override {
    return withReader([&](sql::Db& db) -> Result<std::vector<AgentRecord>> {
      auto s = db.prepare(std::string(kAgentColumns) + " ORDER BY region, id");
      if (!s) {
        return s.status();
      }
      std::vector<AgentRecord> out;
      while (s->step() == SQLITE_ROW) {
        out.push_back(readAgent(*s));
      }
      return out;
    });
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
    auto current = queryAgent(db_, "id = ?", who.id);
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
      // The next part is decoded on another thread while this one is applied: the agent waits
      // for the answer, so a core is free. At most two parts are decoded at a time.
      auto decodePart = [&staged](size_t i) {
        return std::async(std::launch::async, [&staged, i] {
          auto decoded = protocol::decodeBatch((*staged)[i].second, protocol::Limits());
          std::string().swap((*staged)[i].second);
          return decoded;
        });
      };
      // Declared after `staged`, so destroyed first: an early return waits for the decoding.
      std::future<Result<Batch>> next_part;
      if (!staged->empty()) {
        next_part = decodePart(0);
      }
      for (size_t i = 0; i < staged->size(); ++i) {
        const int64_t skip_through = (*staged)[i].first;
        auto decoded = next_part.get();
        if (i + 1 < staged->size()) {
          next_part = decodePart(i + 1);
        }
        if (!decoded) {
          return fail(decoded.status().withContext("staged batch of agent '" + a.id + "'"));
        }
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
    for (const int64_t step : {kFineStep, kCoarseStep}) {
      for (const auto& [kind, id] : {std::pair<const char*, const std::string&>{"a", a.id},
                                     std::pair<const char*, const std::string&>{"r", a.region}}) {
        auto hs = db_.prepare(
            "INSERT INTO _history(step, kind, id, bucket, rows, bytes, batches) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, 1) ON CONFLICT DO UPDATE SET "
            "rows = rows + excluded.rows, bytes = bytes + excluded.bytes, batches = batches + 1");
        if (!hs) {
          return fail(hs.status());
        }
        hs->bind(1, step);
        hs->bind(2, std::string_view(kind));
        hs->bind(3, id);
        hs->bind(4, now - now % step);
        hs->bind(5, static_cast<int64_t>(batch.changes.size()));
        hs->bind(6, static_cast<int64_t>(wire.size()));
        if (hs->step() != SQLITE_DONE) {
          return fail(db_.error("sampling the history"));
        }
      }
    }
    if (auto st = db_.exec("COMMIT"); !st) {
      return fail(st);
    }
    out.mark = h.last_seq;
    return out;
  }

  Status recordHeartbeat(const std::string& agent_id, const std::string& status_json,
                         const HeartbeatSummary& h, int64_t now) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (auto st = db_.exec("BEGIN IMMEDIATE"); !st) {
      return st;
    }
    auto fail = [this](Status st) {
      (void)db_.exec("ROLLBACK");
      return st;
    };
    // The backlog "has not shrunk since" backlog_since: reset whenever it is empty or smaller
    // (every expression below reads the row's old values).
    auto s = db_.prepare(
        "UPDATE _agents SET status_json = ?1, last_seen = ?2, hb_at = ?2, "
        "backlog_since = CASE WHEN ?3 = 0 THEN 0 WHEN backlog_since = 0 OR ?3 < hb_backlog_rows "
        "THEN ?2 ELSE backlog_since END, "
        "backlog_at_since = CASE WHEN ?3 = 0 THEN 0 WHEN backlog_since = 0 OR ?3 < hb_backlog_rows "
        "THEN ?3 ELSE backlog_at_since END, "
        "hb_backlog_rows = ?3, hb_backlog_bytes = ?4, hb_oldest_age_s = ?5, hb_disk_free = ?6, "
        "hb_backlog_warning = ?7, hb_backlog_full = ?8, hb_plugins_failing = ?9, "
        "hb_plugins_quarantined = ?10, hb_rows_rejected = ?11 WHERE id = ?12 "
        "RETURNING region");
    if (!s) {
      return fail(s.status());
    }
    s->bind(1, status_json);
    s->bind(2, now);
    s->bind(3, h.backlog_rows);
    s->bind(4, h.backlog_bytes);
    s->bind(5, h.oldest_unacked_age_s);
    s->bind(6, h.disk_free_bytes);
    s->bind(7, static_cast<int64_t>(h.backlog_warning ? 1 : 0));
    s->bind(8, static_cast<int64_t>(h.backlog_full ? 1 : 0));
    s->bind(9, h.plugins_failing);
    s->bind(10, h.plugins_quarantined);
    s->bind(11, h.rows_rejected);
    s->bind(12, agent_id);
    if (s->step() != SQLITE_ROW) {
      return fail(db_.error("recording a heartbeat"));
    }
    const std::string region = s->text(0);
    while (s->step() == SQLITE_ROW) {
    }
    const int64_t lag = h.backlog_rows > 0 ? h.oldest_unacked_age_s : 0;
    for (const int64_t step : {kFineStep, kCoarseStep}) {
      auto a = db_.prepare(
          "INSERT INTO _history(step, kind, id, bucket, backlog_rows, lag_s) "
          "VALUES(?1, 'a', ?2, ?3, ?4, ?5) ON CONFLICT DO UPDATE SET "
          "backlog_rows = MAX(backlog_rows, excluded.backlog_rows), "
          "lag_s = MAX(lag_s, excluded.lag_s)");
      auto r = db_.prepare(
          "INSERT INTO _history(step, kind, id, bucket, backlog_rows, lag_s) "
          "SELECT ?1, 'r', ?2, ?3, COALESCE(SUM(hb_backlog_rows), 0), "
          "COALESCE(MAX(CASE WHEN hb_backlog_rows > 0 THEN hb_oldest_age_s + ?4 - hb_at "
          "ELSE 0 END), 0) FROM _agents WHERE region = ?2 AND revoked_at = 0 "
          "ON CONFLICT DO UPDATE SET backlog_rows = MAX(backlog_rows, excluded.backlog_rows), "
          "lag_s = MAX(lag_s, excluded.lag_s)");
      if (!a || !r) {
        return fail(db_.error("sampling the history"));
      }
      a->bind(1, step);
      a->bind(2, agent_id);
      a->bind(3, now - now % step);
      a->bind(4, h.backlog_rows);
      a->bind(5, lag);
      r->bind(1, step);
      r->bind(2, region);
      r->bind(3, now - now % step);
      r->bind(4, now);
      if (a->step() != SQLITE_DONE || r->step() != SQLITE_DONE) {
        return fail(db_.error("sampling the history"));
      }
    }
    if (auto st = db_.exec("COMMIT"); !st) {
      return fail(st);
    }
    return Status::ok();
  }

  Status recordError(const std::string& agent_id, const std::string& error) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (auto st = db_.exec("BEGIN IMMEDIATE"); !st) {
      return st;
    }
    auto s = db_.prepare("UPDATE _agents SET last_error = ?1, errors = errors + 1 WHERE id = ?2");
    auto ins = db_.prepare(
        "INSERT INTO _agent_errors(agent_id, at, message) "
        "VALUES(?1, strftime('%s','now'), ?2)");
    auto trim = db_.prepare(
        "DELETE FROM _agent_errors WHERE agent_id = ?1 AND id <= (SELECT id FROM _agent_errors "
        "WHERE agent_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)");
    if (!s || !ins || !trim) {
      (void)db_.exec("ROLLBACK");
      return db_.error("recording an error");
    }
    s->bind(1, error);
    s->bind(2, agent_id);
    ins->bind(1, agent_id);
    ins->bind(2, error.substr(0, 4096));
    trim->bind(1, agent_id);
    trim->bind(2, static_cast<int64_t>(kRecentErrorsKept));
    if (s->step() != SQLITE_DONE || ins->step() != SQLITE_DONE || trim->step() != SQLITE_DONE) {
      auto st = db_.error("recording an error");
      (void)db_.exec("ROLLBACK");
      return st;
    }
    return db_.exec("COMMIT");
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
    std::string order;
    for (const auto& c : ds.spec.columns) {
      cols += ", " + sql::quoteIdent(c.name);
    }
    for (size_t k : ds.key) {
      order += (order.empty() ? "" : ", ") + sql::quoteIdent(ds.spec.columns[k].name);
    }
    // One snapshot for the whole export. The agents in (region, id) order, then each agent's
    // rows along the primary key (`_agent` first, then the key columns): no sort, no index
    // but the primary key, whatever the table's size.
    if (auto st = rdb->exec("BEGIN"); !st) {
      return st;
    }
    auto who = rdb->prepare(std::string("SELECT id FROM _agents") +
                            (region.empty() ? "" : " WHERE region = ?1") + " ORDER BY region, id");
    auto s = rdb->prepare("SELECT _region, _agent" + cols + " FROM " + sql::quoteIdent(ds.table) +
                          " WHERE _agent = ?1 ORDER BY " + order);
    if (!who || !s) {
      return !who ? who.status() : s.status();
    }
    if (!region.empty()) {
      who->bind(1, region);
    }
    out << "region,agent";
    for (const auto& c : ds.spec.columns) {
      out << "," << c.name;
    }
    out << "\n";
    std::vector<ColumnType> types{ColumnType::Text, ColumnType::Text};
    for (const auto& c : ds.spec.columns) {
      types.push_back(c.type);
    }
    while (who->step() == SQLITE_ROW) {
      s->reset();
      s->bind(1, who->text(0));
      while (s->step() == SQLITE_ROW) {
        writeCsvRow(out, s->get(), types);
      }
    }
    return rdb->exec("COMMIT");
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

  // --- dashboard -----------------------------------------------------------------------------

  Result<std::vector<AgentRecord>> agentSummaries() override {
    return withReader([&](sql::Db& db) -> Result<std::vector<AgentRecord>> {
      std::string q = kAgentColumns;
      q.replace(q.find("status_json"), 11, "'' AS status_json");
      auto s = db.prepare(q + " ORDER BY region, id");
      if (!s) {
        return s.status();
      }
      std::vector<AgentRecord> out;
      while (s->step() == SQLITE_ROW) {
        out.push_back(readAgent(*s));
      }
      return out;
    });
  }

  Result<std::vector<AgentError>> recentErrors(const std::string& agent_id, size_t limit) override {
    return withReader([&](sql::Db& db) -> Result<std::vector<AgentError>> {
      auto s = db.prepare(
          "SELECT at, message FROM _agent_errors WHERE agent_id = ? ORDER BY id DESC LIMIT ?");
      if (!s) {
        return s.status();
      }
      s->bind(1, agent_id);
      s->bind(2, static_cast<int64_t>(limit));
      std::vector<AgentError> out;
      while (s->step() == SQLITE_ROW) {
        out.push_back({s->int64(0), s->text(1)});
      }
      return out;
    });
  }

  Result<std::map<std::string, int64_t>> setAsideCounts(int64_t since) override {
    return withReader([&](sql::Db& db) -> Result<std::map<std::string, int64_t>> {
      auto s = db.prepare("SELECT agent_id, COUNT(*) FROM _set_aside WHERE at >= ? GROUP BY 1");
      if (!s) {
        return s.status();
      }
      s->bind(1, since);
      std::map<std::string, int64_t> out;
      while (s->step() == SQLITE_ROW) {
        out[s->text(0)] = s->int64(1);
      }
      return out;
    });
  }

  Result<bool> setAdminPassword(const std::string& user, const std::string& password_hash,
                                int64_t now) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (auto st = db_.exec("BEGIN IMMEDIATE"); !st) {
      return st;
    }
    auto q = db_.prepare("SELECT 1 FROM _admins WHERE name = ?");
    auto up = db_.prepare(
        "INSERT INTO _admins(name, password_hash, created_at, updated_at) VALUES(?1, ?2, ?3, ?3) "
        "ON CONFLICT(name) DO UPDATE SET password_hash = excluded.password_hash, "
        "updated_at = excluded.updated_at");
    auto del = db_.prepare("DELETE FROM _sessions WHERE name = ?");
    if (!q || !up || !del) {
      (void)db_.exec("ROLLBACK");
      return db_.error("setting an admin password");
    }
    q->bind(1, user);
    const bool created = q->step() != SQLITE_ROW;
    up->bind(1, user);
    up->bind(2, password_hash);
    up->bind(3, now);
    del->bind(1, user);
    if (up->step() != SQLITE_DONE || del->step() != SQLITE_DONE) {
      auto st = db_.error("setting an admin password");
      (void)db_.exec("ROLLBACK");
      return st;
    }
    if (auto st = db_.exec("COMMIT"); !st) {
      return st;
    }
    return created;
  }

  Result<std::optional<std::string>> adminPasswordHash(const std::string& user) override {
    return withReader([&](sql::Db& db) -> Result<std::optional<std::string>> {
      auto s = db.prepare("SELECT password_hash FROM _admins WHERE name = ?");
      if (!s) {
        return s.status();
      }
      s->bind(1, user);
      if (s->step() != SQLITE_ROW) {
        return std::optional<std::string>();
      }
      return std::optional<std::string>(s->text(0));
    });
  }

  Status createSession(const SessionRecord& r) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto s = db_.prepare(
        "INSERT INTO _sessions(id_hash, name, created_at, expires_at, last_used) "
        "VALUES(?, ?, ?, ?, ?)");
    if (!s) {
      return s.status();
    }
    s->bind(1, r.id_hash);
    s->bind(2, r.user);
    s->bind(3, r.created_at);
    s->bind(4, r.expires_at);
    s->bind(5, r.last_used);
    return s->step() == SQLITE_DONE ? Status::ok() : db_.error("creating a session");
  }

  Result<std::optional<SessionRecord>> session(const std::string& id_hash) override {
    return withReader([&](sql::Db& db) -> Result<std::optional<SessionRecord>> {
      auto s = db.prepare(
          "SELECT id_hash, name, created_at, expires_at, last_used FROM _sessions "
          "WHERE id_hash = ?");
      if (!s) {
        return s.status();
      }
      s->bind(1, id_hash);
      if (s->step() != SQLITE_ROW) {
        return std::optional<SessionRecord>();
      }
      SessionRecord r;
      r.id_hash = s->text(0);
      r.user = s->text(1);
      r.created_at = s->int64(2);
      r.expires_at = s->int64(3);
      r.last_used = s->int64(4);
      return std::optional<SessionRecord>(std::move(r));
    });
  }

  Status touchSession(const std::string& id_hash, int64_t now) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto s = db_.prepare("UPDATE _sessions SET last_used = ? WHERE id_hash = ?");
    if (!s) {
      return s.status();
    }
    s->bind(1, now);
    s->bind(2, id_hash);
    return s->step() == SQLITE_DONE ? Status::ok() : db_.error("updating a session");
  }

  Status deleteSession(const std::string& id_hash) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto s = db_.prepare("DELETE FROM _sessions WHERE id_hash = ?");
    if (!s) {
      return s.status();
    }
    s->bind(1, id_hash);
    return s->step() == SQLITE_DONE ? Status::ok() : db_.error("deleting a session");
  }

  Result<std::vector<HistoryPoint>> history(const HistoryQuery& q) override {
    if (q.step_s != kFineStep && q.step_s != kCoarseStep) {
      return Status::invalid("history: step must be 300 or 3600 seconds");
    }
    if (q.to < q.from || (q.to - q.from) / q.step_s > 10000) {
      return Status::invalid("history: the range must hold 1 to 10000 buckets");
    }
    return withReader([&](sql::Db& db) -> Result<std::vector<HistoryPoint>> {
      std::string where = "step = ?1 AND bucket BETWEEN ?2 AND ?3 AND ";
      if (!q.agent_id.empty()) {
        where += "kind = 'a' AND id = ?4";
      } else if (!q.region.empty()) {
        where += "kind = 'r' AND id = ?4";
      } else {
        where += "kind = 'r'";
      }
      auto s = db.prepare(
          "SELECT bucket, SUM(rows), SUM(bytes), SUM(batches), SUM(backlog_rows), MAX(lag_s) "
          "FROM _history WHERE " +
          where + " GROUP BY bucket ORDER BY bucket");
      if (!s) {
        return s.status();
      }
      s->bind(1, q.step_s);
      s->bind(2, q.from);
      s->bind(3, q.to);
      if (!q.agent_id.empty()) {
        s->bind(4, q.agent_id);
      } else if (!q.region.empty()) {
        s->bind(4, q.region);
      }
      std::vector<HistoryPoint> out;
      for (int64_t t = q.from; t <= q.to; t += q.step_s) {
        out.push_back(HistoryPoint{t, 0, 0, 0, 0, 0});
      }
      while (s->step() == SQLITE_ROW) {
        const int64_t t = s->int64(0);
        if ((t - q.from) % q.step_s != 0) {
          continue;
        }
        auto& p = out[static_cast<size_t>((t - q.from) / q.step_s)];
        p.rows = s->int64(1);
        p.bytes = s->int64(2);
        p.batches = s->int64(3);
        p.backlog_rows = s->int64(4);
        p.lag_s = s->int64(5);
      }
      return out;
    });
  }

  Status raiseAlert(const AlertRecord& alert, int64_t now) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    return upsertAlert(alert, now);
  }

  Status reconcileAlerts(const std::vector<std::string>& codes,
                         const std::vector<AlertRecord>& wanted, int64_t now) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (auto st = db_.exec("BEGIN IMMEDIATE"); !st) {
      return st;
    }
    auto fail = [this](Status st) {
      (void)db_.exec("ROLLBACK");
      return st;
    };
    std::set<std::tuple<std::string, std::string, std::string>> keep;
    for (const auto& a : wanted) {
      if (auto st = upsertAlert(a, now); !st) {
        return fail(st);
      }
      keep.emplace(a.code, a.agent_id, a.subject);
    }
    auto open = db_.prepare(
        "SELECT id, code, agent_id, subject FROM _alerts WHERE resolved_at = 0 AND code = ?");
    auto res =
        db_.prepare("UPDATE _alerts SET resolved_at = ?1, resolved_by = 'hub' WHERE id = ?2");
    if (!open || !res) {
      return fail(db_.error("resolving alerts"));
    }
    for (const auto& code : codes) {
      open->reset();
      open->bind(1, code);
      std::vector<int64_t> ended;
      while (open->step() == SQLITE_ROW) {
        if (keep.count({open->text(1), open->text(2), open->text(3)}) == 0) {
          ended.push_back(open->int64(0));
        }
      }
      for (const int64_t id : ended) {
        res->reset();
        res->bind(1, now);
        res->bind(2, id);
        if (res->step() != SQLITE_DONE) {
          return fail(db_.error("resolving alerts"));
        }
      }
    }
    if (auto st = db_.exec("COMMIT"); !st) {
      return fail(st);
    }
    return Status::ok();
  }

  Result<bool> resolveAlert(int64_t id, const std::string& by, int64_t now) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto s = db_.prepare(
        "UPDATE _alerts SET resolved_at = ?1, resolved_by = ?2 WHERE id = ?3 AND resolved_at = 0");
    if (!s) {
      return s.status();
    }
    s->bind(1, now);
    s->bind(2, by);
    s->bind(3, id);
    if (s->step() != SQLITE_DONE) {
      return db_.error("resolving an alert");
    }
    return sqlite3_changes(db_.get()) > 0;
  }

  Result<std::vector<AlertRecord>> alerts(const AlertQuery& q) override {
    return withReader([&](sql::Db& db) -> Result<std::vector<AlertRecord>> {
      std::string where = q.open_only ? "resolved_at = 0" : "1";
      if (!q.region.empty()) {
        where += " AND region = ?2";
      }
      if (!q.agent_id.empty()) {
        where += " AND agent_id = ?3";
      }
      auto s = db.prepare(
          "SELECT id, code, severity, agent_id, region, subject, message, since, at, count, "
          "resolved_at, resolved_by FROM _alerts WHERE " +
          where + " ORDER BY at DESC, id DESC LIMIT ?1");
      if (!s) {
        return s.status();
      }
      s->bind(1, static_cast<int64_t>(q.limit));
      if (!q.region.empty()) {
        s->bind(2, q.region);
      }
      if (!q.agent_id.empty()) {
        s->bind(3, q.agent_id);
      }
      std::vector<AlertRecord> out;
      while (s->step() == SQLITE_ROW) {
        AlertRecord a;
        a.id = s->int64(0);
        a.code = s->text(1);
        a.severity = s->text(2);
        a.agent_id = s->text(3);
        a.region = s->text(4);
        a.subject = s->text(5);
        a.message = s->text(6);
        a.since = s->int64(7);
        a.at = s->int64(8);
        a.count = s->int64(9);
        a.resolved_at = s->int64(10);
        a.resolved_by = s->text(11);
        out.push_back(std::move(a));
      }
      return out;
    });
  }

  Status prune(int64_t now) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    auto s = db_.prepare(
        "DELETE FROM _history WHERE (step = ?1 AND bucket < ?2) OR (step = ?3 AND bucket < ?4)");
    auto x = db_.prepare("DELETE FROM _sessions WHERE expires_at <= ?");
    // Resolved alerts are kept 90 days for the "all" list.
    auto r = db_.prepare("DELETE FROM _alerts WHERE resolved_at != 0 AND resolved_at < ?");
    if (!s || !x || !r) {
      return db_.error("pruning");
    }
    s->bind(1, kFineStep);
    s->bind(2, now - kFineKeep);
    s->bind(3, kCoarseStep);
    s->bind(4, now - kCoarseKeep);
    x->bind(1, now);
    r->bind(1, now - 90 * 86400);
    if (s->step() != SQLITE_DONE || x->step() != SQLITE_DONE || r->step() != SQLITE_DONE) {
      return db_.error("pruning");
    }
    return Status::ok();
  }

  Result<std::vector<DatasetInfo>> datasets() override {
    const std::lock_guard<std::mutex> lock(mutex_);
    std::vector<DatasetInfo> out;
    for (const auto& [key, d] : datasets_) {
      out.push_back(DatasetInfo{key.first, key.second, d.spec.version, d.table, d.spec.columns});
    }
    return out;
  }

  Status writeCoreCsv(const std::string& dataset, const std::string& region,
                      std::ostream& out) override {
    const auto* core = coreColumns(dataset);
    if (core == nullptr) {
      return Status::invalid("'" + dataset +
                             "' is not a core dataset; use exporters or export_flows");
    }
    auto all = datasets();
    if (!all) {
      return all.status();
    }
    std::string sql;
    std::string cols;
    for (const auto& c : *core) {
      cols += ", " + sql::quoteIdent(c.name);
    }
    int n = 0;
    for (const auto& d : *all) {
      if (d.name != dataset || !hasCoreColumns(d, *core)) {
        continue;
      }
      sql += std::string(n++ == 0 ? "" : " UNION ALL ") + "SELECT '" + d.plugin +
             "' AS plugin, _region, _agent" + cols + " FROM " + sql::quoteIdent(d.table) +
             (region.empty() ? "" : " WHERE _agent IN (SELECT id FROM _agents WHERE region = ?1)");
    }
    out << "plugin,region,agent";
    for (const auto& c : *core) {
      out << "," << c.name;
    }
    out << "\n";
    if (n == 0) {
      return Status::ok();
    }
    return withReader([&](sql::Db& db) -> Status {
      auto s = db.prepare(sql + " ORDER BY 2, 1, 3, 4");
      if (!s) {
        return s.status();
      }
      if (!region.empty()) {
        s->bind(1, region);
      }
      std::vector<ColumnType> types{ColumnType::Text, ColumnType::Text, ColumnType::Text};
      for (const auto& c : *core) {
        types.push_back(c.type);
      }
      while (s->step() == SQLITE_ROW) {
        writeCsvRow(out, s->get(), types);
      }
      return Status::ok();
    });
  }

  Result<Indicators> indicators(const IndicatorQuery& query) override {
    auto all = datasets();
    if (!all) {
      return all.status();
    }
    return withReader(
        [&](sql::Db& db) -> Result<Indicators> { return computeIndicators(db, *all, query); });
  }

 private:
  static constexpr const char* kAgentColumns =
      "SELECT id, region, hostname, incarnation, created_at, revoked_at, mark, applied_seq, "
      "last_seen, last_sync_at, mark_changed_at, status_json, last_error, rows_received, "
      "bytes_received, batches_received, errors, hb_at, hb_backlog_rows, hb_backlog_bytes, "
      "hb_oldest_age_s, hb_disk_free, hb_backlog_warning, hb_backlog_full, hb_plugins_failing, "
      "hb_plugins_quarantined, hb_rows_rejected, backlog_since, backlog_at_since FROM _agents";

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
    a.errors = s.int64(16);
    a.heartbeat_at = s.int64(17);
    a.backlog_rows = s.int64(18);
    a.backlog_bytes = s.int64(19);
    a.oldest_unacked_age_s = s.int64(20);
    a.disk_free_bytes = s.int64(21);
    a.backlog_warning = s.int64(22) != 0;
    a.backlog_full = s.int64(23) != 0;
    a.plugins_failing = s.int64(24);
    a.plugins_quarantined = s.int64(25);
    a.rows_rejected = s.int64(26);
    a.backlog_since = s.int64(27);
    a.backlog_at_since = s.int64(28);
    return a;
  }

  static Result<std::optional<AgentRecord>> queryAgent(sql::Db& db, const char* where,
                                                       const std::string& arg) {
    auto s = db.prepare(std::string(kAgentColumns) + " WHERE " + where);
    if (!s) {
      return s.status();
    }
    s->bind(1, arg);
    const int rc = s->step();
    if (rc == SQLITE_DONE) {
      return std::optional<AgentRecord>();
    }
    if (rc != SQLITE_ROW) {
      return db.error("reading an agent");
    }
    return std::optional<AgentRecord>(readAgent(*s));
  }

  Status touch(const std::string& id, int64_t now) {
    auto s = db_.prepare("UPDATE _agents SET last_seen = ? WHERE id = ?");
    s->bind(1, now);
    s->bind(2, id);
    return s->step() == SQLITE_DONE ? Status::ok() : db_.error("updating last_seen");
  }

  // Inside mutex_ (and possibly inside an open transaction).
  Status upsertAlert(const AlertRecord& a, int64_t now) {
    auto s = db_.prepare(
        "INSERT INTO _alerts(code, severity, agent_id, region, subject, message, since, at, "
        "count) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1) "
        "ON CONFLICT(code, agent_id, subject) WHERE resolved_at = 0 DO UPDATE SET "
        "severity = excluded.severity, message = excluded.message, at = excluded.at, "
        "count = count + 1");
    if (!s) {
      return s.status();
    }
    s->bind(1, a.code);
    s->bind(2, a.severity);
    s->bind(3, a.agent_id);
    s->bind(4, a.region);
    s->bind(5, a.subject);
    s->bind(6, a.message);
    s->bind(7, now);
    return s->step() == SQLITE_DONE ? Status::ok() : db_.error("recording an alert");
  }

  // Runs `f` with a read connection of its own (WAL: readers never wait for the writer).
  template <typename F>
  auto withReader(F&& f) -> decltype(f(std::declval<sql::Db&>())) {
    std::unique_ptr<sql::Db> db;
    {
      const std::lock_guard<std::mutex> lock(readers_mutex_);
      if (!readers_.empty()) {
        db = std::move(readers_.back());
        readers_.pop_back();
      }
    }
    if (!db) {
      auto opened = sql::Db::open(db_.path(), false);
      if (!opened) {
        return opened.status();
      }
      db = std::make_unique<sql::Db>(std::move(*opened));
    }
    auto result = f(*db);
    const std::lock_guard<std::mutex> lock(readers_mutex_);
    if (readers_.size() < kMaxIdleReaders) {
      readers_.push_back(std::move(db));
    }
    return result;
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
            ")) STRICT, WITHOUT ROWID;";
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
        iso_.clear();
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
  // Dates and timestamps go into iso_ until the statement's step; cleared after it.
  int bindUpsert(sqlite3_stmt* s, int p, const AgentRecord& a, const ChangeRecord& c) {
    sqlite3_bind_text(s, p++, a.id.data(), static_cast<int>(a.id.size()), SQLITE_STATIC);
    sqlite3_bind_text(s, p++, a.region.data(), static_cast<int>(a.region.size()), SQLITE_STATIC);
    sqlite3_bind_int64(s, p++, c.seq);
    for (const auto& v : c.values) {
      bindValue(s, p++, v, &iso_);
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
          bindValue(s, p++, v, &iso_);
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
      iso_.clear();
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
  sql::Db db_;            // Guarded by mutex_.
  schema::IsoTexts iso_;  // dates bound to the apply statement being run; guarded by mutex_
  std::map<std::pair<std::string, std::string>, HubDataset> datasets_;  // Guarded by mutex_.
  std::map<std::string, Statements> stmt_cache_;                        // Guarded by mutex_.
  std::set<int64_t> statements_;                 // dataset ids whose cached statements are valid
  static constexpr size_t kMaxIdleReaders = 32;  // about one per HTTP thread
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<sql::Db>> readers_;  // Guarded by readers_mutex_.
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
