// Helpers for the sync integration and fault tests: real exportsync-hub and exportsync-agent
// processes on 127.0.0.1 in throw-away folders, HTTP calls to the hub with Poco, crafted batches,
// and a per-key, per-field comparison of the hub's CSV export with the agent's store (read with
// sqlite3 directly, so the comparison does not trust the code under test). Processes, temporary
// folders and HTTP calls build on the shared helpers of tests/support.
//
// THREAD: test-thread only. OWNERSHIP: a TempDir owns its folder; Process, HubProcess and
// AgentHome kill (SIGKILL) the processes they started when destroyed.
#pragma once

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "exportsync/agent/sync_client.hpp"
#include "exportsync/core_datasets.hpp"
#include "exportsync/dataset.hpp"
#include "exportsync/protocol/batch.hpp"
#include "support/build_tree.hpp"
#include "support/child_process.hpp"
#include "support/files.hpp"
#include "support/http.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"

namespace exportsync::synctest {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;
using JsonPtr = Poco::JSON::Object::Ptr;

using test_support::kAgentBinary;
using test_support::kCtlBinary;
using test_support::kExamplePlugin;
using test_support::kHubBinary;

// --- small utilities ----------------------------------------------------------------------

using test_support::readFile;
using test_support::waitUntil;
using test_support::writeFile;

/// Killed test processes must not leave core files behind: children inherit this.
using test_support::disableCoreDumps;

inline bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

/// A TCP port on 127.0.0.1 that was free a moment ago (for a hub that must come back on the
/// same port after a restart).
inline uint16_t freePort() {
  Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0), 1);
  const uint16_t port = s.address().port();
  s.close();
  return port;
}

/// A temporary folder, mode 0755, with sub(name) to make folders in it (support/temp_dir.hpp).
using TempDir = test_support::TempDir;

// --- processes ----------------------------------------------------------------------------

/// A started child process (support/child_process.hpp), stdout and stderr in
/// <log_base>.stdout and <log_base>.stderr; SIGKILLed on destruction. A process that cannot be
/// started, or that ignores SIGTERM, is a test failure.
class Process : public test_support::ChildProcess {
 public:
  Process(const std::string& binary, const std::vector<std::string>& args,
          const std::string& log_base)
      : ChildProcess(binary, args, log_base + ".stdout", log_base + ".stderr") {
    if (!error().empty()) {
      ADD_FAILURE() << error();
    }
  }

  /// SIGTERM, then up to `timeout` for a clean exit (SIGKILL after). True when it exited alone.
  bool terminate(milliseconds timeout = seconds(20)) {
    const pid_t p = pid();
    if (ChildProcess::terminate(timeout)) {
      return true;
    }
    ADD_FAILURE() << "process " << p << " ignored SIGTERM for " << timeout.count() << " ms";
    return false;
  }
  /// While it runs: SIGTERM, and a test failure unless it exits alone with 0.
  void stop(const std::string& name) {
    if (running()) {
      EXPECT_TRUE(terminate());
      EXPECT_EQ(exitCode(), 0) << logs(name);
    }
  }
  /// Its stdout and stderr so far, each under a "--- <name> stdout/stderr" line.
  std::string logs(const std::string& name) const {
    return "--- " + name + " stdout\n" + out() + "--- " + name + " stderr\n" + err();
  }
  /// Peak resident memory in KiB (VmHWM), -1 when unknown.
  long peakRssKb() const { return static_cast<long>(statusKb("VmHWM")); }
};

/// Outcome of a process run to its end.
struct RunResult {
  int exit_code = -1000;  ///< -signal when killed; -1000 when it did not finish in time
  std::string out;
  std::string err;
};

inline RunResult runToEnd(const std::string& binary, const std::vector<std::string>& args,
                          const std::string& log_base, milliseconds timeout = seconds(90)) {
  Process p(binary, args, log_base);
  RunResult r;
  if (p.wait(timeout)) {
    r.exit_code = p.exitCode();
  } else {
    ADD_FAILURE() << binary << " still running after " << timeout.count() << " ms; killed";
    p.kill9();
  }
  r.out = p.out();
  r.err = p.err();
  return r;
}

inline std::string logBase(const std::string& dir, const std::string& what) {
  static int counter = 0;
  return dir + "/" + what + "-" + std::to_string(++counter);
}

// --- HTTP ---------------------------------------------------------------------------------

/// An answer (support/http.hpp): status (0: no HTTP answer, the body holds the transport
/// error), headers, body, json(), str(key).
using Reply = test_support::HttpReply;

/// One request on `session` (which may be kept alive across calls); a POST carries `body`.
inline Reply exchange(Poco::Net::HTTPClientSession& session, const std::string& method,
                      const std::string& path, const std::string& body = "",
                      const std::string& token = "",
                      const std::string& content_type = "application/json") {
  return test_support::httpExchange(
      session, method, path, test_support::bearer(token),
      method == "POST" ? std::optional<std::string>(body) : std::nullopt, content_type);
}

/// One request on a fresh connection to 127.0.0.1:`port`; a POST carries `body`.
inline Reply http(uint16_t port, const std::string& method, const std::string& path,
                  const std::string& body = "", const std::string& token = "",
                  const std::string& content_type = "application/json",
                  seconds timeout = seconds(60)) {
  return test_support::httpRequest(
      port, method, path, test_support::bearer(token),
      method == "POST" ? std::optional<std::string>(body) : std::nullopt, content_type, timeout);
}

/// Sends `bytes` as they are on a fresh connection (optionally half-closing it afterwards) and
/// reads the answer until the server closes. For requests a well-behaved client cannot make.
inline Reply rawHttp(uint16_t port, const std::string& bytes, bool shutdown_send) {
  Reply reply;
  std::string text;
  try {
    Poco::Net::StreamSocket s;
    s.connect(Poco::Net::SocketAddress("127.0.0.1", port), Poco::Timespan(10, 0));
    s.setReceiveTimeout(Poco::Timespan(30, 0));
    size_t sent = 0;
    while (sent < bytes.size()) {
      const int n = s.sendBytes(bytes.data() + sent, static_cast<int>(bytes.size() - sent));
      if (n <= 0) {
        break;
      }
      sent += static_cast<size_t>(n);
    }
    if (shutdown_send) {
      s.shutdownSend();
    }
    char buf[4096];
    for (;;) {
      const int n = s.receiveBytes(buf, sizeof buf);
      if (n <= 0) {
        break;
      }
      text.append(buf, static_cast<size_t>(n));
    }
  } catch (const Poco::Exception& e) {
    if (text.empty()) {
      reply.body = e.displayText();
      return reply;
    }
  }
  // "HTTP/1.1 413 Request Entity Too Large\r\n...\r\n\r\nbody"
  const auto sp = text.find(' ');
  if (text.rfind("HTTP/", 0) == 0 && sp != std::string::npos) {
    reply.status = std::atoi(text.c_str() + sp + 1);
  }
  const auto end = text.find("\r\n\r\n");
  reply.body = end == std::string::npos ? text : text.substr(end + 4);
  return reply;
}

// --- CSV and rows -------------------------------------------------------------------------

/// Parses RFC 4180 CSV (quoted fields may hold commas, quotes and newlines).
inline std::vector<std::vector<std::string>> parseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  bool any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
      continue;
    }
    any = true;
    if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      any = false;
    } else if (c != '\r') {
      field += c;
    }
  }
  if (any) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

/// One dataset's rows of one agent: key (key fields joined by '|') → every field, formatted as
/// the hub's CSV writes them (NULL as an empty field).
struct Table {
  std::vector<std::string> columns;      ///< in the agent's table order
  std::vector<std::string> key_columns;  ///< in key order
  std::map<std::string, std::vector<std::string>> rows;
  std::vector<std::string> duplicate_keys;
  std::string error;  ///< set when the table could not be read
};

inline std::string joinKey(const std::vector<std::string>& parts) {
  std::string k;
  for (size_t i = 0; i < parts.size(); ++i) {
    k += (i != 0 ? "|" : "") + parts[i];
  }
  return k;
}

/// A sqlite3 connection to a file, closed on destruction.
class SqliteDb {
 public:
  SqliteDb(const std::string& path, bool read_only) {
    const int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      error_ = "cannot open " + path + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory");
      sqlite3_close(db_);
      db_ = nullptr;
      return;
    }
    sqlite3_busy_timeout(db_, 20000);
  }
  ~SqliteDb() { sqlite3_close(db_); }
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;
  sqlite3* get() const { return db_; }
  const std::string& error() const { return error_; }

  /// Runs SQL; returns the error text, empty on success.
  std::string exec(const std::string& sql) {
    if (db_ == nullptr) {
      return error_;
    }
    char* msg = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string e = msg != nullptr ? msg : "error";
      sqlite3_free(msg);
      return e;
    }
    return {};
  }
  /// First column of the first row as text ("" when none or NULL).
  std::string scalar(const std::string& sql) {
    std::string out;
    sqlite3_stmt* s = nullptr;
    if (db_ == nullptr || sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "sqlite: " << (db_ ? sqlite3_errmsg(db_) : error_) << " in " << sql;
      return out;
    }
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    return out;
  }
  int64_t integer(const std::string& sql) {
    const std::string v = scalar(sql);
    return v.empty() ? 0 : std::stoll(v);
  }

 private:
  sqlite3* db_ = nullptr;
  std::string error_;
};

/// Reads `plugin`/`dataset` from an agent store (its own catalogue gives types and the key).
inline Table agentTable(const std::string& db_path, const std::string& plugin,
                        const std::string& dataset) {
  Table t;
  SqliteDb db(db_path, true);
  if (db.get() == nullptr) {
    t.error = db.error();
    return t;
  }
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db.get(),
                     "SELECT d.table_name, c.name, c.type, c.key_position FROM _datasets d "
                     "JOIN _columns c ON c.dataset_id = d.id WHERE d.plugin = ? AND d.name = ? "
                     "ORDER BY c.position",
                     -1, &s, nullptr);
  sqlite3_bind_text(s, 1, plugin.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 2, dataset.c_str(), -1, SQLITE_TRANSIENT);
  std::string table;
  std::vector<ColumnType> types;
  std::map<int64_t, size_t> key_at;  // key position → column index
  while (sqlite3_step(s) == SQLITE_ROW) {
    table = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    t.columns.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 1)));
    types.push_back(parseTypeName(reinterpret_cast<const char*>(sqlite3_column_text(s, 2)))
                        .value_or(ColumnType::Text));
    if (sqlite3_column_type(s, 3) != SQLITE_NULL) {
      key_at[sqlite3_column_int64(s, 3)] = t.columns.size() - 1;
    }
  }
  sqlite3_finalize(s);
  if (table.empty()) {
    t.error = "dataset " + plugin + "/" + dataset + " is not in the agent store " + db_path;
    return t;
  }
  std::vector<size_t> key_idx;
  for (const auto& [pos, idx] : key_at) {
    key_idx.push_back(idx);
    t.key_columns.push_back(t.columns[idx]);
  }
  std::string cols;
  for (const auto& c : t.columns) {
    cols += (cols.empty() ? "\"" : ", \"") + c + "\"";
  }
  if (sqlite3_prepare_v2(db.get(), ("SELECT " + cols + " FROM \"" + table + "\"").c_str(), -1, &s,
                         nullptr) != SQLITE_OK) {
    t.error = sqlite3_errmsg(db.get());
    return t;
  }
  while (sqlite3_step(s) == SQLITE_ROW) {
    std::vector<std::string> fields;
    for (size_t i = 0; i < t.columns.size(); ++i) {
      const int col = static_cast<int>(i);
      if (sqlite3_column_type(s, col) == SQLITE_NULL) {
        fields.emplace_back();
        continue;
      }
      switch (types[i]) {
        case ColumnType::Money:
          fields.push_back(Money::fromCentimes(sqlite3_column_int64(s, col)).toString());
          break;
        case ColumnType::Boolean:
          fields.emplace_back(sqlite3_column_int64(s, col) != 0 ? "true" : "false");
          break;
        case ColumnType::Real: {
          char b[40];
          std::snprintf(b, sizeof b, "%.17g", sqlite3_column_double(s, col));
          fields.emplace_back(b);
          break;
        }
        case ColumnType::Integer:
          fields.push_back(std::to_string(sqlite3_column_int64(s, col)));
          break;
        default:
          fields.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, col)),
                              static_cast<size_t>(sqlite3_column_bytes(s, col)));
      }
    }
    std::vector<std::string> key;
    for (size_t k : key_idx) {
      key.push_back(fields[k]);
    }
    const std::string k = joinKey(key);
    if (t.rows.count(k) != 0) {
      t.duplicate_keys.push_back(k);
    }
    t.rows[k] = std::move(fields);
  }
  sqlite3_finalize(s);
  return t;
}

/// The rows of agent `agent_id` in a hub CSV export, arranged like `like` (same columns, same
/// key). Rows of other agents are ignored; `other_rows` counts them.
inline Table hubTable(const std::string& csv, const std::string& agent_id, const Table& like,
                      size_t* other_rows = nullptr) {
  Table t;
  t.columns = like.columns;
  t.key_columns = like.key_columns;
  const auto rows = parseCsv(csv);
  if (rows.empty()) {
    t.error = "the CSV has no header: '" + csv.substr(0, 200) + "'";
    return t;
  }
  const auto& header = rows[0];
  auto index = [&header](const std::string& name) -> int {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) {
        return static_cast<int>(i);
      }
    }
    return -1;
  };
  const int agent_col = index("agent");
  std::vector<int> cols;
  for (const auto& c : like.columns) {
    cols.push_back(index(c));
    if (cols.back() < 0) {
      t.error = "the hub CSV has no column '" + c + "'";
      return t;
    }
  }
  if (agent_col < 0) {
    t.error = "the hub CSV has no agent column";
    return t;
  }
  if (other_rows != nullptr) {
    *other_rows = 0;
  }
  for (size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    if (row.size() != header.size()) {
      t.error = "CSV row " + std::to_string(r) + " has " + std::to_string(row.size()) +
                " fields, the header " + std::to_string(header.size());
      return t;
    }
    if (row[static_cast<size_t>(agent_col)] != agent_id) {
      if (other_rows != nullptr) {
        ++*other_rows;
      }
      continue;
    }
    std::vector<std::string> fields;
    for (int c : cols) {
      fields.push_back(row[static_cast<size_t>(c)]);
    }
    std::vector<std::string> key;
    for (const auto& kc : like.key_columns) {
      for (size_t i = 0; i < like.columns.size(); ++i) {
        if (like.columns[i] == kc) {
          key.push_back(fields[i]);
        }
      }
    }
    const std::string k = joinKey(key);
    if (t.rows.count(k) != 0) {
      t.duplicate_keys.push_back(k);
    }
    t.rows[k] = std::move(fields);
  }
  return t;
}

/// Every difference between the hub's rows and the agent's (first `max` of them); empty when
/// both hold the same keys with the same fields and neither repeats a key.
inline std::string diffTables(const Table& hub, const Table& agent, size_t max = 12) {
  std::ostringstream out;
  size_t n = 0;
  auto note = [&](const std::string& line) {
    if (n++ < max) {
      out << "  " << line << "\n";
    }
  };
  if (!hub.error.empty()) {
    note("hub: " + hub.error);
  }
  if (!agent.error.empty()) {
    note("agent: " + agent.error);
  }
  for (const auto& k : hub.duplicate_keys) {
    note("key " + k + " appears more than once at the hub");
  }
  for (const auto& k : agent.duplicate_keys) {
    note("key " + k + " appears more than once in the agent store");
  }
  for (const auto& [k, fields] : agent.rows) {
    auto it = hub.rows.find(k);
    if (it == hub.rows.end()) {
      note("key " + k + " is in the agent store but not at the hub");
      continue;
    }
    for (size_t i = 0; i < fields.size(); ++i) {
      if (it->second[i] != fields[i]) {
        note("key " + k + " column " + agent.columns[i] + ": hub '" + it->second[i] + "', agent '" +
             fields[i] + "'");
      }
    }
  }
  for (const auto& [k, fields] : hub.rows) {
    if (agent.rows.count(k) == 0) {
      note("key " + k + " is at the hub but not in the agent store");
    }
  }
  if (n > max) {
    out << "  ... and " << (n - max) << " more\n";
  }
  if (n != 0) {
    return "hub " + std::to_string(hub.rows.size()) + " rows, agent " +
           std::to_string(agent.rows.size()) + " rows:\n" + out.str();
  }
  return {};
}

// --- the hub ------------------------------------------------------------------------------

/// An exportsync-hub in its own folder. The admin token is made (with --create-admin-token)
/// when the hub is constructed; start() launches the server and waits until it answers.
class HubProcess {
 public:
  /// `port` 0: any free port (read back from hub.port_file); else that fixed port. `extra`
  /// keys go into hub.properties (an empty value removes a key).
  explicit HubProcess(const std::string& root, std::map<std::string, std::string> extra = {},
                      uint16_t port = 0)
      : root_(root), fixed_port_(port) {
    fs::create_directories(dataDir());
    fs::permissions(dataDir(), fs::perms(0755));
    const test_support::Properties keys{{"hub.listen", "127.0.0.1:" + std::to_string(port)},
                                        {"hub.port_file", root_ + "/hub.port"},
                                        {"hub.data_dir", dataDir()},
                                        {"hub.idle_timeout_s", "5"},
                                        {"log.level", "information"}};
    writeFile(configPath(), test_support::propertiesText(test_support::withChanges(keys, extra),
                                                         "written by an ExportSync sync test"));
    const auto r = runToEnd(kHubBinary, {"--config", configPath(), "--create-admin-token", "test"},
                            logBase(root_, "hub-token"));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::istringstream in(r.out);
    std::getline(in, admin_token_);
    EXPECT_EQ(admin_token_.rfind("esa1.", 0), 0u) << "admin token: '" << admin_token_ << "'";
  }
  ~HubProcess() { kill9(); }
  HubProcess(const HubProcess&) = delete;
  HubProcess& operator=(const HubProcess&) = delete;

  std::string configPath() const { return root_ + "/hub.properties"; }
  std::string dataDir() const { return root_ + "/data"; }
  std::string dbPath() const { return dataDir() + "/central.db"; }
  const std::string& adminToken() const { return admin_token_; }
  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  Process* process() { return proc_.get(); }
  bool running() { return proc_ && proc_->running(); }

  /// Starts the server; true once it answers /api/v1/health.
  bool start(milliseconds timeout = seconds(60)) {
    std::error_code ec;
    fs::remove(root_ + "/hub.port", ec);
    proc_ = std::make_unique<Process>(
        kHubBinary, std::vector<std::string>{"--config", configPath()}, logBase(root_, "hub"));
    port_ = test_support::waitUntilServing(*proc_, root_ + "/hub.port", "/api/v1/health", timeout);
    if (port_ == 0) {
      ADD_FAILURE() << "the hub did not start:\n" << logs();
      return false;
    }
    if (fixed_port_ != 0) {
      EXPECT_EQ(port_, fixed_port_);
    }
    return true;
  }
  void kill9() {
    if (proc_) {
      proc_->kill9();
    }
  }
  /// SIGTERM and wait for a clean exit (exit code 0).
  void stop() {
    if (proc_) {
      proc_->stop("hub");
    }
  }
  std::string logs() const { return proc_ ? proc_->logs("hub") : ""; }

  Reply get(const std::string& path, const std::string& token) const {
    return http(port_, "GET", path, "", token);
  }
  Reply get(const std::string& path) const { return get(path, admin_token_); }
  Reply post(const std::string& path, const std::string& body, const std::string& token,
             const std::string& content_type = "application/json") const {
    return http(port_, "POST", path, body, token, content_type);
  }
  /// POSTs an encoded batch with an agent's token.
  Reply sync(const std::string& wire, const std::string& token) const {
    return post("/api/v1/sync", wire, token, "application/x-exportsync-batch");
  }

  /// A one-time enrolment code for `region`.
  std::string createCode(const std::string& region = "MA-06", int64_t ttl_s = 3600) const {
    const auto r = post("/api/v1/admin/enrolment-codes",
                        "{\"region\":\"" + region + "\",\"ttl_s\":" + std::to_string(ttl_s) + "}",
                        admin_token_);
    EXPECT_EQ(r.status, 201) << r;
    return r.str("code");
  }
  /// Enrols directly (as the agent would) and returns {agent_id, token}.
  std::pair<std::string, std::string> enrolDirect(const std::string& code) const {
    const auto r = post("/api/v1/enrol", "{\"code\":\"" + code + "\",\"hostname\":\"test\"}", "");
    EXPECT_EQ(r.status, 200) << r;
    return {r.str("agent_id"), r.str("token")};
  }

  /// The CSV export of a dataset; "" (and a failure) when the hub does not answer 200.
  std::string csv(const std::string& plugin, const std::string& dataset,
                  bool expect_ok = true) const {
    const auto r = get("/api/v1/datasets/" + plugin + "/" + dataset + ".csv");
    if (expect_ok) {
      EXPECT_EQ(r.status, 200) << r;
    }
    return r.status == 200 ? r.body : std::string();
  }

  /// GET admin/agents as a JSON array of agent objects.
  Poco::JSON::Array::Ptr agents() const {
    const auto r = get("/api/v1/admin/agents");
    EXPECT_EQ(r.status, 200) << r;
    auto a = r.json()->getArray("agents");
    return a ? a : Poco::JSON::Array::Ptr(new Poco::JSON::Array);
  }
  /// One agent's entry of GET admin/agents (empty object when absent).
  JsonPtr agent(const std::string& id) const {
    auto list = agents();
    for (size_t i = 0; i < list->size(); ++i) {
      auto o = list->getObject(static_cast<unsigned>(i));
      if (o && o->optValue<std::string>("id", "") == id) {
        return o;
      }
    }
    return new Poco::JSON::Object;
  }
  int64_t mark(const std::string& agent_id) const {
    return agent(agent_id)->optValue<int64_t>("mark", -1);
  }

  /// What a refused request must not change: the exported rows of the example plugin, the
  /// agents with their marks, counters and revocation, and the set-aside rows.
  std::string snapshot() const {
    std::ostringstream out;
    for (const char* ds : {"items", "runs"}) {
      const auto r = get(std::string("/api/v1/datasets/example/") + ds + ".csv");
      out << "== " << ds << " HTTP " << r.status << "\n" << r.body;
    }
    auto list = agents();
    out << "== agents\n";
    for (size_t i = 0; i < list->size(); ++i) {
      auto o = list->getObject(static_cast<unsigned>(i));
      for (const char* k : {"id", "region", "incarnation"}) {
        out << o->optValue<std::string>(k, "?") << " ";
      }
      for (const char* k :
           {"mark", "applied_seq", "rows_received", "batches_received", "revoked_at"}) {
        out << k << "=" << o->optValue<int64_t>(k, -1) << " ";
      }
      out << "\n";
    }
    out << "== set-aside\n" << get("/api/v1/admin/set-aside").body << "\n";
    return out.str();
  }

 private:
  std::string root_;
  uint16_t fixed_port_ = 0;
  uint16_t port_ = 0;
  std::string admin_token_;
  std::unique_ptr<Process> proc_;
};

// --- an agent -----------------------------------------------------------------------------

/// An agent installation: <root>/state, <root>/plugins (the example plugin), agent.properties.
class AgentHome {
 public:
  explicit AgentHome(const std::string& root, std::string region = "MA-06")
      : root_(root), region_(std::move(region)) {
    for (const auto& d : {stateDir(), pluginDir()}) {
      fs::create_directories(d);
      fs::permissions(d, fs::perms(0755));
    }
    fs::copy_file(kExamplePlugin, pluginDir() + "/example.so",
                  fs::copy_options::overwrite_existing);
    fs::permissions(pluginDir() + "/example.so", fs::perms(0755));
  }
  ~AgentHome() { kill9(); }
  AgentHome(const AgentHome&) = delete;
  AgentHome& operator=(const AgentHome&) = delete;

  std::string stateDir() const { return root_ + "/state"; }
  std::string pluginDir() const { return root_ + "/plugins"; }
  std::string configPath() const { return root_ + "/agent.properties"; }
  std::string dbPath() const { return stateDir() + "/agent.db"; }
  const std::string& region() const { return region_; }

  /// Writes agent.properties: the example plugin enabled (rows from `extra`), status API on any
  /// free loopback port, sync to `hub_url`; then `extra` (an empty value removes a key).
  void writeConfig(const std::string& hub_url, const std::map<std::string, std::string>& extra) {
    std::map<std::string, std::string> keys{
        {"agent.region", region_},     {"agent.state_dir", stateDir()},
        {"plugins.dir", pluginDir()},  {"plugins.enabled", "example"},
        {"plugin.example.rows", "20"}, {"status.listen", "127.0.0.1:0"},
        {"log.level", "information"},  {"sync.hub_url", hub_url}};
    writeFile(configPath(), test_support::propertiesText(test_support::withChanges(keys, extra),
                                                         "written by an ExportSync sync test"));
  }

  /// `exportsync-agent --config F --once`: collect, then sync everything.
  RunResult runOnce(milliseconds timeout = seconds(90)) const {
    return runToEnd(kAgentBinary, {"--config", configPath(), "--once"},
                    logBase(root_, "agent-once"), timeout);
  }
  /// `exportsyncctl --config F <args>`.
  RunResult ctl(const std::vector<std::string>& args) const {
    std::vector<std::string> all{"--config", configPath()};
    all.insert(all.end(), args.begin(), args.end());
    return runToEnd(kCtlBinary, all, logBase(root_, "ctl"), seconds(60));
  }

  /// Starts the daemon (status.port is removed first, so statusJson() waits for this one).
  void startDaemon() {
    std::error_code ec;
    fs::remove(stateDir() + "/status.port", ec);
    daemon_ = std::make_unique<Process>(
        kAgentBinary, std::vector<std::string>{"--config", configPath()}, logBase(root_, "agent"));
  }
  Process* daemon() { return daemon_.get(); }
  void kill9() {
    if (daemon_) {
      daemon_->kill9();
    }
  }
  void stopDaemon() {
    if (daemon_) {
      daemon_->stop("agent");
    }
  }
  std::string logs() const { return daemon_ ? daemon_->logs("agent") : ""; }

  /// The running daemon's status (GET /status on its loopback API); empty object when it does
  /// not answer.
  JsonPtr status() const {
    const uint16_t port = test_support::readPortFile(stateDir() + "/status.port");
    if (port == 0) {
      return new Poco::JSON::Object;
    }
    const auto r = http(port, "GET", "/status", "", "", "", seconds(10));
    return r.status == 200 ? r.json() : JsonPtr(new Poco::JSON::Object);
  }
  /// status()["sync"] (empty object when absent).
  JsonPtr syncStatus() const {
    auto s = status()->getObject("sync");
    return s ? s : JsonPtr(new Poco::JSON::Object);
  }

  agent::Credentials credentials() const {
    auto c = agent::loadCredentials(stateDir());
    EXPECT_TRUE(c.isOk()) << c.status().message();
    if (!c || !c->has_value()) {
      ADD_FAILURE() << "the agent has no credentials in " << stateDir();
      return {};
    }
    return **c;
  }

  /// Runs SQL on the agent's store, as any local process may (the capture triggers record it).
  void sql(const std::string& statements) const {
    SqliteDb db(dbPath(), false);
    const std::string e = db.exec(statements);
    EXPECT_EQ(e, "") << statements;
  }
  int64_t integer(const std::string& query) const {
    SqliteDb db(dbPath(), true);
    return db.integer(query);
  }
  std::string incarnation() const {
    SqliteDb db(dbPath(), true);
    return db.scalar("SELECT value FROM _meta WHERE key = 'incarnation'");
  }
  int64_t acked() const { return integer("SELECT value FROM _meta WHERE key = 'sync_acked'"); }
  int64_t backlog() const { return integer("SELECT count(*) FROM _changes"); }
  /// Highest change seq ever assigned.
  int64_t lastSeq() const {
    return integer("SELECT seq FROM sqlite_sequence WHERE name = '_changes'");
  }
  Table table(const std::string& dataset, const std::string& plugin = "example") const {
    return agentTable(dbPath(), plugin, dataset);
  }

 private:
  std::string root_;
  std::string region_;
  std::unique_ptr<Process> daemon_;
};

/// Compares one example dataset at the hub with the agent's store; empty when equal.
inline std::string compareDataset(const HubProcess& hub, const AgentHome& agent,
                                  const std::string& agent_id, const std::string& dataset) {
  const Table a = agent.table(dataset);
  const Table h = hubTable(hub.csv("example", dataset), agent_id, a);
  const std::string d = diffTables(h, a);
  return d.empty() ? d : "example/" + dataset + ": " + d;
}

// --- crafted batches ----------------------------------------------------------------------

/// example/items as the example plugin declares it (version 1).
inline protocol::DatasetDescriptor itemsDescriptor() {
  protocol::DatasetDescriptor d;
  d.plugin = "example";
  d.name = "items";
  d.version = 1;
  d.columns = {{"id", ColumnType::Text, true, false},
               {"label", ColumnType::Text, false, false},
               {"quantity", ColumnType::Integer, false, false},
               {"unit_price", ColumnType::Money, false, false},
               {"weight_kg", ColumnType::Real, false, true},
               {"fragile", ColumnType::Boolean, false, false},
               {"received", ColumnType::Date, false, true},
               {"updated_at", ColumnType::Timestamp, false, false}};
  return d;
}

/// One example/items row (values in descriptor order).
inline std::vector<Value> itemValues(const std::string& id, int64_t quantity) {
  return {Value(id),
          Value("crafted " + id),
          Value(static_cast<long long>(quantity)),
          Value(Money::fromCentimes(999)),
          Value(1.25),
          Value(true),
          Value(*Date::fromYmd(2024, 6, 1)),
          Value(Timestamp::fromMicros(1'700'000'000'000'000LL))};
}

/// A batch of inserts into `dataset`: `rows` (values in descriptor order) get seq base+1 ..
/// base+rows.size().
inline protocol::Batch insertBatch(const std::string& agent_id, const std::string& region,
                                   const std::string& incarnation, int64_t base_seq,
                                   protocol::DatasetDescriptor dataset,
                                   std::vector<std::vector<Value>> rows) {
  protocol::Batch b;
  auto& h = b.header;
  h.agent_id = agent_id;
  h.region = region;
  h.incarnation = incarnation;
  h.base_seq = base_seq;
  h.datasets.push_back(std::move(dataset));
  int64_t seq = base_seq;
  for (auto& values : rows) {
    protocol::ChangeRecord c;
    c.seq = ++seq;
    c.dataset = 0;
    c.op = protocol::Op::Insert;
    c.values = std::move(values);
    b.changes.push_back(std::move(c));
  }
  h.first_seq = rows.empty() ? 0 : base_seq + 1;
  h.last_seq = seq;
  h.row_count = b.changes.size();
  return b;
}

/// A batch of example/items inserts, seq base+1 .. base+ids.size().
inline protocol::Batch itemsBatch(const std::string& agent_id, const std::string& region,
                                  const std::string& incarnation, int64_t base_seq,
                                  const std::vector<std::string>& ids, int64_t quantity = 7) {
  std::vector<std::vector<Value>> rows;
  for (const auto& id : ids) {
    rows.push_back(itemValues(id, quantity));
  }
  return insertBatch(agent_id, region, incarnation, base_seq, itemsDescriptor(), std::move(rows));
}

/// The core export_flows dataset as a regional plugin (artisanat) declares it.
inline protocol::DatasetDescriptor exportFlowsDescriptor() {
  const auto spec = core::exportFlowsSpec();
  return {"artisanat", spec.name, spec.version, spec.columns};
}

/// One export_flows row (values in descriptor order): a value in centimes, no quantity.
inline std::vector<Value> flowValues(const std::string& exporter_id, const std::string& hs_code,
                                     const std::string& destination, const std::string& period,
                                     int64_t centimes) {
  return {Value(exporter_id),
          Value(hs_code),
          Value(destination),
          Value(period),
          Value(Money::fromCentimes(centimes)),
          Value(),
          Value()};
}

inline std::string encode(const protocol::Batch& b) {
  auto w = protocol::encodeBatch(b);
  EXPECT_TRUE(w.isOk()) << w.status().message();
  return w ? *w : std::string();
}

}  // namespace exportsync::synctest
