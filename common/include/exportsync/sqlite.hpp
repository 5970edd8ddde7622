// Thin RAII wrappers over the SQLite C API, shared by the agent store and the hub store.
//
// THREAD: a Db and its statements belong to one thread at a time (SQLite's default
// serialized mode is not relied upon).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "exportsync/status.hpp"

namespace exportsync::sql {

/// Frees a statement on destruction.
class Stmt {
 public:
  Stmt() = default;
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  Stmt(Stmt&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Stmt& operator=(Stmt&& o) noexcept {
    if (this != &o) {
      sqlite3_finalize(s_);
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s_); }

  sqlite3_stmt* get() const { return s_; }
  explicit operator bool() const { return s_ != nullptr; }

  void bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bindNull(int i) { sqlite3_bind_null(s_, i); }
  /// Runs one step; returns SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(s_); }
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  /// Ready to run again with the same bindings, for a caller that binds every parameter anew
  /// before each step (text bound SQLITE_STATIC must not be read after its owner has gone).
  void rewind() { sqlite3_reset(s_); }
  int64_t int64(int col) const { return sqlite3_column_int64(s_, col); }
  bool isNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p == nullptr ? std::string()
                        : std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col)));
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

/// Owns one connection.
class Db {
 public:
  Db() = default;
  Db(Db&& o) noexcept : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)) {}
  Db& operator=(Db&& o) noexcept {
    if (this != &o) {
      sqlite3_close_v2(db_);
      db_ = std::exchange(o.db_, nullptr);
      path_ = std::move(o.path_);
    }
    return *this;
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() { sqlite3_close_v2(db_); }

  /// Opens `path` (creating it when `create`), with a busy timeout.
  static Result<Db> open(const std::string& path, bool create, int busy_timeout_ms = 10000) {
    Db db;
    db.path_ = path;
    const int flags =
        SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &db.db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db.db_ != nullptr ? sqlite3_errmsg(db.db_) : sqlite3_errstr(rc);
      return Status::io("cannot open database '" + path + "': " + msg +
                        (create ? "; check that the folder exists and is writable"
                                : "; check the path and its permissions"));
    }
    sqlite3_busy_timeout(db.db_, busy_timeout_ms);
    sqlite3_extended_result_codes(db.db_, 1);
    return db;
  }

  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }
  std::string errmsg() const { return sqlite3_errmsg(db_); }

  /// Runs one or more statements without results.
  Status exec(std::string_view sql) {
    char* err = nullptr;
    const std::string s(sql);
    if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err != nullptr ? err : errmsg();
      sqlite3_free(err);
      return Status::io("database '" + path_ + "': " + msg);
    }
    return Status::ok();
  }

  Result<Stmt> prepare(std::string_view sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &s, nullptr) != SQLITE_OK) {
      return Status::io("database '" + path_ + "': " + errmsg());
    }
    return Stmt(s);
  }

  Status error(std::string_view what) const {
    return Status::io("database '" + path_ + "': " + std::string(what) + ": " + errmsg());
  }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

/// Quotes an SQL identifier: "name" with embedded quotes doubled.
inline std::string quoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  out += '"';
  return out;
}

}  // namespace exportsync::sql
