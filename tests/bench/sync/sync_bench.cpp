// exportsync-sync-bench: the sync benchmarks (issue #3, "Benchmark").
//
// Real exportsync-hub and exportsync-agent processes on 127.0.0.1, SQLite durable at both ends
// (WAL, synchronous=FULL, as they ship). Between them sits a small counting TCP proxy in this
// process, so "bytes on the wire" is every byte of HTTP the two exchange, both directions,
// headers and bodies (TCP/IP framing excluded). Per repetition, in fresh folders:
//
//  1. End to end: the agent's store is loaded with N shipments (tests/bench/shipments.hpp, the
//     ingest benchmark's rows) by `exportsync-agent --once` with the bench plugin and sync off;
//     then the agent daemon starts against an empty hub. Timed from the daemon's start until
//     the hub's mark (its _agents table) equals the agent's last change seq. Printed: rows/s,
//     bytes on the wire, their ratio to the CSV of the same rows, zstd -3 of that CSV for
//     reference, each process's peak RSS (VmHWM) and CPU time, the agent's own byte count
//     (status sync.bytes_sent) and a time line: the hub answering requests vs the agent
//     working between answers. The N rows are one collect run, so one store transaction: the
//     hub stages the first batches and applies all N rows when the last one arrives.
//  2. Incremental: through plain SQLite on the agent store, one transaction updating U rows
//     (three columns each), inserting I and deleting D; bytes on the wire until the agent has
//     the acknowledgement, against zstd -3 of those changed rows as CSV.
//  3. Nothing changed: a sync round with an empty backlog, two ways: a wake-up (POST /sync on
//     the agent's status API: the loop reads the change log and finds nothing), and a round
//     with its heartbeat (the daemon restarted: heartbeat, then an empty drain). Bytes on the
//     wire, and the query plans showing no table is scanned.
//  4. Freshness: T times, one row inserted with plain SQLite into the agent store; the time
//     from its commit until a read-only connection to the hub's central.db sees it (polled
//     every 0.5 ms). p50, p99, max. Measured on a direct connection (no proxy), the agent
//     restarted for it; a few trials through the proxy first, for comparison.
//
// Figures of every repetition, then medians. Numbers only mean something in a release build;
// no timed asserts: the program fails only when something did not run or the hub's rows differ
// from the agent's (compared column by column after every phase).
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.hpp"
#include "bench/row_format.hpp"
#include "exportsync/agent/sync_client.hpp"
#include "exportsync/plugin.hpp"
#include "shipments.hpp"
#include "support/files.hpp"
#include "support/http.hpp"
#include "support/wait.hpp"

namespace exportsync::bench {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using test_support::readFile;
using test_support::waitUntil;

constexpr double kMiB = 1024.0 * 1024.0;
constexpr const char* kRegion = "MA-06";
constexpr const char* kPlugin = "bench";

// Targets (issue #3); printed next to the figures, never asserted.
constexpr double kTargetRowsPerS = 100'000;
constexpr double kTargetWireRatio = 0.20;
constexpr double kTargetIncrementalRatio = 1.2;
constexpr double kTargetIdleBytes = 1024;
constexpr double kTargetP50Ms = 300;
constexpr double kTargetP99Ms = 1000;

struct Options {
  int64_t rows = 100'000;
  int reps = 3;
  int64_t updates = 1000;
  int64_t inserts = 100;
  int64_t deletes = 10;
  int trials = 200;
  int zstd_level = 3;  // the agent's sync.zstd_level (its default)
  bool keep = false;
  bool smoke = false;
  bool verbose = false;
  bool e2e_only = false;  // stop after the end-to-end phase (profiling)
  std::string dir;
  std::string agent_exe = ES_AGENT_EXE;
  std::string hub_exe = ES_HUB_EXE;
  std::string bench_plugin = ES_BENCH_PLUGIN;
  std::string agent_extra;  // more lines for the daemon's agent.properties (--agent-set)
};

void usage() {
  std::printf(
      "usage: exportsync-sync-bench [--rows N] [--reps R] [--trials T] [--updates U]\n"
      "                             [--inserts I] [--deletes D] [--zstd-level L] [--smoke]\n"
      "                             [--dir PARENT] [--keep] [--verbose] [--e2e-only]\n"
      "                             [--agent-set 'KEY = VALUE']...\n"
      "                             [--agent EXE] [--hub EXE] [--bench-plugin FILE]\n"
      "  defaults: 100000 rows, 3 repetitions, 1000 updates, 100 inserts, 10 deletes,\n"
      "            200 freshness trials\n"
      "  --smoke   tiny sizes (CI): checks everything runs and the hub's rows equal the agent's\n"
      "  --verbose every HTTP exchange seen by the counting proxy\n"
      "  --e2e-only stop after the end-to-end phase (to profile or count instructions)\n"
      "  --agent-set 'KEY = VALUE'  an extra line for the agent daemon's configuration\n"
      "            (experiments, e.g. 'sync.batch_rows = 100000'); repeatable\n");
}

Options parseOptions(int argc, char** argv) {
  Options o;
  for (ArgReader args(argc, argv); args.next();) {
    const std::string& a = args.flag();
    if (a == "--rows") {
      o.rows = args.count(20);
    } else if (a == "--reps") {
      o.reps = static_cast<int>(args.count(1));
    } else if (a == "--trials") {
      o.trials = static_cast<int>(args.count(1));
    } else if (a == "--updates") {
      o.updates = args.count(0);
    } else if (a == "--inserts") {
      o.inserts = args.count(0);
    } else if (a == "--deletes") {
      o.deletes = args.count(0);
    } else if (a == "--zstd-level") {
      o.zstd_level = static_cast<int>(args.count(1));
    } else if (a == "--smoke") {
      o.rows = 2000;
      o.reps = 1;
      o.updates = 100;
      o.inserts = 10;
      o.deletes = 5;
      o.trials = 10;
      o.smoke = true;
    } else if (a == "--dir") {
      o.dir = args.value();
    } else if (a == "--keep") {
      o.keep = true;
    } else if (a == "--verbose") {
      o.verbose = true;
    } else if (a == "--e2e-only") {
      o.e2e_only = true;
    } else if (a == "--agent-set") {
      o.agent_extra += std::string(args.value()) + "\n";
    } else if (a == "--agent") {
      o.agent_exe = args.value();
    } else if (a == "--hub") {
      o.hub_exe = args.value();
    } else if (a == "--bench-plugin") {
      o.bench_plugin = args.value();
    } else {
      args.unknown(usage);
    }
  }
  if (o.updates + o.deletes > o.rows / 2) {
    die("--updates plus --deletes must stay within half of --rows");
  }
  if (o.dir.empty()) {
    o.dir = test_support::tempParent();
  }
  return o;
}

// --- the counting proxy -------------------------------------------------------------------

// One HTTP exchange as the proxy saw it: a request (client bytes until the server answers)
// and its response. Keep-alive HTTP/1.1 without pipelining alternates the two directions, so a
// change of direction marks the boundary.
struct Exchange {
  double at_s = 0;    // first request byte, seconds since the proxy started
  double done_s = 0;  // last response byte so far
  std::string request_line;
  int64_t up = 0;    // agent → hub
  int64_t down = 0;  // hub → agent
};

// A TCP proxy 127.0.0.1:port → 127.0.0.1:target that counts payload bytes both ways.
class CountingProxy {
 public:
  explicit CountingProxy(uint16_t target) : target_(target), start_(Clock::now()) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check(listen_fd_ >= 0, "proxy socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    check(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0, "proxy bind");
    check(::listen(listen_fd_, 16) == 0, "proxy listen");
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }
  ~CountingProxy() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(listen_fd_);
    for (auto& t : pumps_) {
      t.join();
    }
  }
  CountingProxy(const CountingProxy&) = delete;
  CountingProxy& operator=(const CountingProxy&) = delete;

  uint16_t port() const { return port_; }
  // Seconds since the proxy started (the clock of Exchange::at_s).
  double now() const { return secondsOf(Clock::now() - start_); }
  int64_t up() const { return up_; }
  int64_t down() const { return down_; }
  int64_t total() const { return up_ + down_; }
  size_t exchangeCount() {
    const std::lock_guard<std::mutex> lock(mutex_);
    return exchanges_.size();
  }
  // Exchanges from index `from` on.
  std::vector<Exchange> exchanges(size_t from = 0) {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (from >= exchanges_.size()) {
      return {};
    }
    return {exchanges_.begin() + static_cast<std::ptrdiff_t>(from), exchanges_.end()};
  }

 private:
  static void noDelay(int fd) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }

  void acceptLoop() {
    while (!stopping_) {
      const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) {
        if (stopping_ || (errno != EINTR && errno != ECONNABORTED)) {
          return;
        }
        continue;
      }
      const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(target_);
      if (server < 0 || ::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(client);
        if (server >= 0) {
          ::close(server);
        }
        continue;
      }
      noDelay(client);
      noDelay(server);
      pumps_.emplace_back([this, client, server] { pump(client, server); });
    }
  }

  // Copies both ways until either side closes.
  void pump(int client, int server) {
    std::vector<char> buf(1 << 16);
    int last_dir = 0;  // 1 up, 2 down
    size_t current = 0;
    bool open = true;
    while (open && !stopping_) {
      pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      const int n = ::poll(fds, 2, 200);
      if (n <= 0) {
        continue;
      }
      for (int side = 0; side < 2 && open; ++side) {
        if ((fds[side].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
          continue;
        }
        const int from = side == 0 ? client : server;
        const int to = side == 0 ? server : client;
        const ssize_t got = ::recv(from, buf.data(), buf.size(), 0);
        if (got <= 0) {
          open = false;
          break;
        }
        {
          const std::lock_guard<std::mutex> lock(mutex_);
          if (side == 0) {
            if (last_dir != 1) {
              Exchange e;
              e.at_s = secondsOf(Clock::now() - start_);
              const std::string_view head(buf.data(), static_cast<size_t>(got));
              e.request_line = std::string(head.substr(0, std::min(head.find('\r'), size_t{80})));
              exchanges_.push_back(e);
              current = exchanges_.size() - 1;
              last_dir = 1;
            }
            exchanges_[current].up += got;
          } else {
            if (last_dir == 0) {  // the server spoke first: not HTTP as we know it
              exchanges_.push_back(Exchange{});
              current = exchanges_.size() - 1;
            }
            last_dir = 2;
            exchanges_[current].down += got;
            exchanges_[current].done_s = secondsOf(Clock::now() - start_);
          }
        }
        (side == 0 ? up_ : down_) += got;
        ssize_t sent = 0;
        while (sent < got) {
          const ssize_t w =
              ::send(to, buf.data() + sent, static_cast<size_t>(got - sent), MSG_NOSIGNAL);
          if (w <= 0) {
            open = false;
            break;
          }
          sent += w;
        }
      }
    }
    ::close(client);
    ::close(server);
  }

  uint16_t target_;
  Clock::time_point start_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> up_{0};
  std::atomic<int64_t> down_{0};
  std::thread acceptor_;
  std::vector<std::thread> pumps_;  // touched by the acceptor thread only, joined at the end
  std::mutex mutex_;
  std::vector<Exchange> exchanges_;  // Guarded by mutex_.
};

// --- SQLite -------------------------------------------------------------------------------

class Db {
 public:
  Db(const std::string& path, bool read_only) : path_(path) {
    const int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      die("cannot open " + path + ": " + (db_ != nullptr ? sqlite3_errmsg(db_) : "no memory"));
    }
    sqlite3_busy_timeout(db_, 30000);
  }
  ~Db() {
    for (auto& [sql, s] : cache_) {
      sqlite3_finalize(s);
    }
    sqlite3_close_v2(db_);
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  sqlite3* get() const { return db_; }

  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string msg = err != nullptr ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      die("sqlite (" + path_ + "): " + msg + " in: " + sql.substr(0, 200));
    }
  }
  // A cached prepared statement, reset and unbound.
  sqlite3_stmt* stmt(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
        die("sqlite (" + path_ + "): " + sqlite3_errmsg(db_) + " in: " + sql);
      }
      it = cache_.emplace(sql, s).first;
    }
    sqlite3_reset(it->second);
    sqlite3_clear_bindings(it->second);
    return it->second;
  }
  // First column of the first row as an integer (`def` when no row or NULL).
  int64_t integer(const std::string& sql, const std::string& arg = "", int64_t def = 0) {
    sqlite3_stmt* s = stmt(sql);
    if (!arg.empty()) {
      sqlite3_bind_text(s, 1, arg.data(), static_cast<int>(arg.size()), SQLITE_TRANSIENT);
    }
    const int rc = sqlite3_step(s);
    int64_t v = def;
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
      v = sqlite3_column_int64(s, 0);
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      die("sqlite (" + path_ + "): " + sqlite3_errmsg(db_) + " in: " + sql);
    }
    sqlite3_reset(s);
    return v;
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* s = stmt(sql);
    std::string v;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
      v = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_reset(s);
    return v;
  }
  // EXPLAIN QUERY PLAN, one line per step.
  std::string plan(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &s, nullptr) !=
        SQLITE_OK) {
      return std::string("(cannot explain: ") + sqlite3_errmsg(db_) + ")";
    }
    std::string out;
    while (sqlite3_step(s) == SQLITE_ROW) {
      out += (out.empty() ? "" : "; ") +
             std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 3)));
    }
    sqlite3_finalize(s);
    return out;
  }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
  std::map<std::string, sqlite3_stmt*> cache_;
};

// --- CSV and zstd ---------------------------------------------------------------------------

size_t zstdSize(const std::string& data, int level) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
  check(ZSTD_isError(n) == 0, std::string("zstd: ") + ZSTD_getErrorName(n));
  return n;
}

// --- hub and agent --------------------------------------------------------------------------

class Hub {
 public:
  Hub(const Options& o, const std::string& root) : o_(o), root_(root) {
    makeDir(dataDir());
    writeFile(root_ + "/hub.properties", "hub.listen = 127.0.0.1:0\nhub.port_file = " + root_ +
                                             "/hub.port\nhub.data_dir = " + dataDir() +
                                             "\nlog.level = information\n");
    Process p(o_.hub_exe, {"--config", root_ + "/hub.properties", "--create-admin-token", "bench"},
              root_ + "/hub-token");
    check(p.wait(milliseconds(60000)) && p.exitCode() == 0,
          "exportsync-hub --create-admin-token:\n" + p.logs());
    std::istringstream in(readFile(root_ + "/hub-token.stdout"));
    std::getline(in, admin_token_);
    check(admin_token_.rfind("esa1.", 0) == 0, "admin token '" + admin_token_ + "'");
  }
  void start() {
    std::error_code ec;
    fs::remove(root_ + "/hub.port", ec);
    proc_ = std::make_unique<Process>(
        o_.hub_exe, std::vector<std::string>{"--config", root_ + "/hub.properties"},
        root_ + "/hub");
    port_ = test_support::waitUntilServing(*proc_, root_ + "/hub.port", "/api/v1/health",
                                           milliseconds(60000));
    check(port_ != 0, "the hub did not start:\n" + proc_->logs());
  }
  void stop() {
    if (proc_) {
      check(proc_->terminate(milliseconds(30000)) && proc_->exitCode() == 0,
            "the hub did not stop cleanly:\n" + proc_->logs());
    }
  }
  std::string enrolmentCode() const {
    const auto r = test_support::httpRequest(
        port_, "POST", "/api/v1/admin/enrolment-codes", test_support::bearer(admin_token_),
        std::string("{\"region\":\"") + kRegion + "\",\"ttl_s\":3600}");
    check(r.status == 201,
          "creating an enrolment code: HTTP " + std::to_string(r.status) + " " + r.body);
    return r.str("code");
  }
  uint16_t port() const { return port_; }
  Process& process() { return *proc_; }
  std::string dataDir() const { return root_ + "/data"; }
  std::string dbPath() const { return dataDir() + "/central.db"; }

 private:
  const Options& o_;
  std::string root_;
  std::string admin_token_;
  uint16_t port_ = 0;
  std::unique_ptr<Process> proc_;
};

class AgentHome {
 public:
  AgentHome(const Options& o, const std::string& root) : o_(o), root_(root) {
    makeDir(stateDir());
    makeDir(pluginDir());
    const std::string so = pluginDir() + "/" + kPlugin + ".so";
    std::error_code ec;
    fs::copy_file(o_.bench_plugin, so, fs::copy_options::overwrite_existing, ec);
    check(!ec, "copying the bench plugin " + o_.bench_plugin + ": " + ec.message());
    ::chmod(so.c_str(), 0755);
  }
  std::string stateDir() const { return root_ + "/state"; }
  std::string pluginDir() const { return root_ + "/plugins"; }
  std::string configPath() const { return root_ + "/agent.properties"; }
  std::string dbPath() const { return stateDir() + "/agent.db"; }

  // Sync off, the bench plugin on: `--once` loads the rows.
  void configureLoad(int64_t rows) const {
    writeFile(configPath(),
              std::string("agent.region = ") + kRegion + "\nagent.state_dir = " + stateDir() +
                  "\nplugins.dir = " + pluginDir() + "\nplugins.enabled = " + kPlugin +
                  "\nplugin.bench.rows = " + std::to_string(rows) +
                  "\nstatus.listen = off\nlog.level = warning\n");
  }
  // The daemon: no plugin runs (the rows are in the store already), sync to `hub_url`, status
  // API on a free loopback port. Heartbeats at the shipped default (60 s), so within a phase
  // the only exchanges are the sync rounds; phase 3 measures a heartbeat round on its own.
  void configureDaemon(const std::string& hub_url) const {
    writeFile(configPath(), std::string("agent.region = ") + kRegion + "\nagent.state_dir = " +
                                stateDir() + "\nplugins.dir = " + pluginDir() +
                                "\nplugins.enabled =\nstatus.listen = 127.0.0.1:0\n"
                                "log.level = information\nsync.hub_url = " +
                                hub_url + "\nsync.zstd_level = " + std::to_string(o_.zstd_level) +
                                "\n" + o_.agent_extra);
  }
  void runOnce() const {
    Process p(o_.agent_exe, {"--config", configPath(), "--once"}, root_ + "/agent-once");
    check(p.wait(milliseconds(600000)), "exportsync-agent --once did not finish");
    check(p.exitCode() == 0, "exportsync-agent --once failed:\n" + p.logs());
  }
  void start(const std::string& tag) {
    std::error_code ec;
    fs::remove(stateDir() + "/status.port", ec);
    proc_ = std::make_unique<Process>(
        o_.agent_exe, std::vector<std::string>{"--config", configPath()}, root_ + "/agent-" + tag);
  }
  void stop() {
    if (proc_) {
      check(proc_->terminate(milliseconds(30000)) && proc_->exitCode() == 0,
            "the agent did not stop cleanly:\n" + proc_->logs());
    }
  }
  Process& process() { return *proc_; }
  uint16_t statusPort() const { return test_support::readPortFile(stateDir() + "/status.port"); }
  // GET /status; empty when it does not answer yet.
  std::string status() const {
    const uint16_t p = statusPort();
    return p == 0 ? std::string()
                  : test_support::httpRequest(p, "GET", "/status", {}, std::nullopt,
                                              "application/json", std::chrono::seconds(30))
                        .body;
  }

 private:
  const Options& o_;
  std::string root_;
  std::unique_ptr<Process> proc_;
};

// --- comparing the hub with the agent ------------------------------------------------------

struct Columns {
  std::string table;               // the agent's table for bench/shipments
  std::vector<std::string> names;  // in table order
};

Columns agentColumns(Db& agent) {
  Columns c;
  c.table =
      agent.text("SELECT table_name FROM _datasets WHERE plugin = 'bench' AND name = 'shipments'");
  check(!c.table.empty(), "the agent store has no bench/shipments dataset");
  sqlite3_stmt* s = agent.stmt(
      "SELECT c.name FROM _columns c JOIN _datasets d ON d.id = c.dataset_id "
      "WHERE d.plugin = 'bench' AND d.name = 'shipments' ORDER BY c.position");
  while (sqlite3_step(s) == SQLITE_ROW) {
    c.names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
  }
  sqlite3_reset(s);
  return c;
}

// Every row and field of the hub's copy against the agent's store; "" when equal.
std::string compareStores(const std::string& agent_db, const std::string& hub_db,
                          const std::string& agent_id, int64_t* rows_out) {
  Db agent(agent_db, true);
  Db hub(hub_db, true);
  const Columns c = agentColumns(agent);
  const std::string hub_table =
      hub.text("SELECT table_name FROM _datasets WHERE plugin = 'bench' AND name = 'shipments'");
  if (hub_table.empty()) {
    return "the hub has no bench/shipments dataset";
  }
  std::string cols;
  for (const auto& n : c.names) {
    cols += (cols.empty() ? "" : ", ") + quoteIdent(n);
  }
  // Snapshots: both read transactions stay open for the whole comparison.
  sqlite3_stmt* a = agent.stmt("SELECT " + cols + " FROM " + quoteIdent(c.table) + " ORDER BY id");
  sqlite3_stmt* h = hub.stmt("SELECT " + cols + " FROM " + quoteIdent(hub_table) +
                             " WHERE _agent = ?1 ORDER BY id");
  sqlite3_bind_text(h, 1, agent_id.c_str(), -1, SQLITE_TRANSIENT);
  int64_t rows = 0;
  std::string diff;
  for (;;) {
    const int ra = sqlite3_step(a);
    const int rh = sqlite3_step(h);
    if (ra != SQLITE_ROW || rh != SQLITE_ROW) {
      if (ra != rh) {
        diff = ra == SQLITE_ROW ? "the agent has more rows than the hub (hub ended after " +
                                      std::to_string(rows) + ")"
                                : "the hub has more rows than the agent (agent ended after " +
                                      std::to_string(rows) + ")";
      }
      break;
    }
    ++rows;
    for (int i = 0; i < static_cast<int>(c.names.size()); ++i) {
      const int ta = sqlite3_column_type(a, i);
      const int th = sqlite3_column_type(h, i);
      bool same = ta == th;
      if (same && ta == SQLITE_FLOAT) {
        same = sqlite3_column_double(a, i) == sqlite3_column_double(h, i);
      } else if (same && ta == SQLITE_INTEGER) {
        same = sqlite3_column_int64(a, i) == sqlite3_column_int64(h, i);
      } else if (same && ta != SQLITE_NULL) {
        const std::string va(reinterpret_cast<const char*>(sqlite3_column_text(a, i)),
                             static_cast<size_t>(sqlite3_column_bytes(a, i)));
        const std::string vh(reinterpret_cast<const char*>(sqlite3_column_text(h, i)),
                             static_cast<size_t>(sqlite3_column_bytes(h, i)));
        same = va == vh;
      }
      if (!same) {
        const auto* ka = reinterpret_cast<const char*>(sqlite3_column_text(a, 0));
        const auto* kh = reinterpret_cast<const char*>(sqlite3_column_text(h, 0));
        diff = "row " + std::to_string(rows) + " (agent key " + (ka ? ka : "?") + ", hub key " +
               (kh ? kh : "?") + ") column " + c.names[static_cast<size_t>(i)] + " differs";
        break;
      }
    }
    if (!diff.empty()) {
      break;
    }
  }
  sqlite3_reset(a);
  sqlite3_reset(h);
  if (rows_out != nullptr) {
    *rows_out = rows;
  }
  return diff;
}

// --- one repetition -------------------------------------------------------------------------

struct RepResult {
  // 1. end to end
  double e2e_s = 0;
  double e2e_from_first_byte_s = 0;
  double rows_per_s = 0;
  int64_t wire_up = 0;
  int64_t wire_down = 0;
  size_t csv_bytes = 0;
  size_t csv_zstd = 0;
  long hub_hwm_kb = 0;
  long agent_hwm_kb = 0;
  double hub_cpu_s = 0;
  double agent_cpu_s = 0;
  double hub_sys_s = 0;  // of which in the kernel
  double agent_sys_s = 0;
  int64_t sync_exchanges = 0;
  int64_t agent_bytes_sent = -1;  // the agent's status: sync.bytes_sent
  double hub_busy_s = 0;          // sum over sync requests, first byte to answer
  double last_request_s = 0;      // the last sync request alone
  double agent_busy_s = 0;        // between an answer and the next request
  // 2. incremental
  int64_t inc_wire = 0;
  int64_t inc_sync_wire = 0;
  size_t inc_csv = 0;
  size_t inc_csv_zstd = 0;
  double inc_s = 0;
  // 3. nothing changed
  int64_t idle_wake_wire = 0;
  size_t idle_wake_exchanges = 0;
  int64_t idle_round_wire = 0;
  std::string idle_round_detail;
  // 4. freshness
  double fresh_p50_ms = 0;
  double fresh_p99_ms = 0;
  double fresh_max_ms = 0;
  int64_t fresh_late = 0;  // trials over 1 s
  double fresh_proxy_p50_ms = 0;
  double commit_p50_ms = 0;
  // end
  long hub_hwm_end_kb = 0;
  long agent_hwm_end_kb = 0;
  int64_t rows_compared = 0;
};

std::string kib(int64_t bytes) {
  char b[64];
  if (bytes < 10 * 1024) {
    std::snprintf(b, sizeof b, "%" PRId64 " B", bytes);
  } else if (bytes < 10 * 1024 * 1024) {
    std::snprintf(b, sizeof b, "%.1f KiB", static_cast<double>(bytes) / 1024.0);
  } else {
    std::snprintf(b, sizeof b, "%.2f MiB", static_cast<double>(bytes) / kMiB);
  }
  return b;
}

void printExchanges(const std::vector<Exchange>& list, const char* indent) {
  for (const auto& e : list) {
    std::printf("%s%8.3f s  %-36s up %8" PRId64 "  down %6" PRId64 "  answered in %.3f s\n", indent,
                e.at_s, e.request_line.c_str(), e.up, e.down, e.done_s - e.at_s);
  }
}

// Waits until the hub's mark for the agent reaches `seq`; false on timeout.
bool waitHubMark(Db& hub, const std::string& agent_id, int64_t seq, milliseconds timeout,
                 milliseconds poll = milliseconds(2)) {
  return waitUntil(
      [&] { return hub.integer("SELECT mark FROM _agents WHERE id = ?1", agent_id, -1) >= seq; },
      timeout, poll);
}

// Waits until the agent has recorded the hub's acknowledgement of `seq` (so its reply has
// crossed the proxy too).
bool waitAgentAcked(Db& agent, int64_t seq, milliseconds timeout) {
  return waitUntil(
      [&] {
        const std::string v = agent.text("SELECT value FROM _meta WHERE key = 'sync_acked'");
        return !v.empty() && std::stoll(v) >= seq;
      },
      timeout, milliseconds(2));
}

std::string sqlForRow(const std::string& table, const exportsync::Row& row) {
  std::string cols;
  std::string params;
  for (const auto& [name, value] : row.fields()) {
    cols += (cols.empty() ? "" : ", ") + quoteIdent(name);
    params += params.empty() ? "?" : ", ?";
  }
  return "INSERT INTO " + quoteIdent(table) + "(" + cols + ") VALUES(" + params + ")";
}

void insertRow(Db& db, const std::string& sql, const exportsync::Row& row) {
  sqlite3_stmt* s = db.stmt(sql);
  int i = 1;
  for (const auto& [name, value] : row.fields()) {
    schema::bindValue(s, i++, value);
  }
  const int rc = sqlite3_step(s);
  check(rc == SQLITE_DONE, std::string("insert: ") + sqlite3_errmsg(db.get()));
  sqlite3_reset(s);
}

// Sets a column of a Row (columns are unique).
void setField(exportsync::Row& row, const std::string& column, exportsync::Value value) {
  exportsync::Row out;
  for (const auto& [name, v] : row.fields()) {
    out.set(name, name == column ? value : v);
  }
  row = std::move(out);
}

const exportsync::Value& field(const exportsync::Row& row, const std::string& column) {
  for (const auto& [name, v] : row.fields()) {
    if (name == column) {
      return v;
    }
  }
  die("no column " + column);
}

RepResult runRep(const Options& o, const std::string& root, int rep) {
  RepResult r;
  makeDir(root);
  Hub hub(o, root + "/hub");
  hub.start();
  CountingProxy proxy(hub.port());
  const std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());
  const std::string direct_url = "http://127.0.0.1:" + std::to_string(hub.port());

  // Load the agent's store: the bench plugin, sync off.
  AgentHome home(o, root + "/agent");
  home.configureLoad(o.rows);
  const auto load_started = Clock::now();
  home.runOnce();
  const double load_s = secondsOf(Clock::now() - load_started);
  std::string agent_id;
  {
    auto c = exportsync::agent::enrol(proxy_url, hub.enrolmentCode(), "", kRegion, home.stateDir());
    check(c.isOk(), "enrolment: " + c.status().message());
    agent_id = c->agent_id;
  }
  Db agent_db(home.dbPath(), false);
  Db hub_db(hub.dbPath(), true);
  const Columns cols = agentColumns(agent_db);
  const int64_t loaded = agent_db.integer("SELECT count(*) FROM " + quoteIdent(cols.table));
  check(loaded == o.rows, "the agent store holds " + std::to_string(loaded) + " rows, expected " +
                              std::to_string(o.rows));
  auto lastSeq = [&agent_db] {
    return agent_db.integer("SELECT seq FROM sqlite_sequence WHERE name = '_changes'");
  };
  const int64_t seq1 = lastSeq();
  check(agent_db.integer("SELECT count(*) FROM _changes") == o.rows,
        "the change log should hold one insert per row");
  std::printf("  rep %d: loaded %" PRId64
              " rows into the agent store in %.2f s (--once, sync off)"
              "; agent %s\n",
              rep, loaded, load_s, agent_id.c_str());

  // The CSV of the same rows, and zstd -3 of it.
  {
    std::string csv;
    csv.reserve(static_cast<size_t>(o.rows) * 200);
    exportsync::Row row;
    for (int64_t i = 0; i < o.rows; ++i) {
      fillShipment(i, row);
      appendCsvRow(row, csv);
    }
    r.csv_bytes = csv.size();
    r.csv_zstd = zstdSize(csv, 3);
  }

  // --- 1. end to end -----------------------------------------------------------------------
  home.configureDaemon(proxy_url);
  const int64_t up0 = proxy.up();
  const int64_t down0 = proxy.down();
  const size_t ex0 = proxy.exchangeCount();
  const auto t0 = Clock::now();
  home.start("e2e");
  const bool synced = waitHubMark(hub_db, agent_id, seq1, milliseconds(600000));
  const auto t1 = Clock::now();
  const double t1_proxy = proxy.now();
  check(synced, "the hub's mark did not reach " + std::to_string(seq1) + " in 10 minutes:\n" +
                    home.process().logs());
  r.e2e_s = secondsOf(t1 - t0);
  r.rows_per_s = static_cast<double>(o.rows) / r.e2e_s;
  check(waitAgentAcked(agent_db, seq1, milliseconds(60000)), "the agent did not record the ack");
  r.hub_hwm_kb = hub.process().statusKb("VmHWM");
  r.agent_hwm_kb = home.process().statusKb("VmHWM");
  const auto hub_cpu = hub.process().cpuTimes();
  const auto agent_cpu = home.process().cpuTimes();
  r.hub_cpu_s = hub_cpu.total();
  r.agent_cpu_s = agent_cpu.total();
  r.hub_sys_s = hub_cpu.system;
  r.agent_sys_s = agent_cpu.system;
  r.wire_up = proxy.up() - up0;
  r.wire_down = proxy.down() - down0;
  {
    // The agent's own count (HubClient: request heads and bodies it wrote), for comparison.
    // Its status is updated just after the purge that waitAgentAcked saw: wait for it.
    waitUntil(
        [&] {
          try {
            Poco::JSON::Parser parser;
            auto json = parser.parse(home.status()).extract<Poco::JSON::Object::Ptr>();
            auto sync = json->getObject("sync");
            if (!sync || sync->optValue<int64_t>("acked_seq", -1) < seq1) {
              return false;
            }
            r.agent_bytes_sent = sync->optValue<int64_t>("bytes_sent", -1);
            return true;
          } catch (const Poco::Exception&) {
            return false;
          }
        },
        milliseconds(10000), milliseconds(10));
  }
  {
    const auto list = proxy.exchanges(ex0);
    for (const auto& e : list) {
      if (e.request_line.rfind("POST /api/v1/sync", 0) == 0) {
        ++r.sync_exchanges;
      }
    }
    // From the first byte the agent sent (its start-up excluded) to the hub's commit.
    if (!list.empty()) {
      r.e2e_from_first_byte_s = t1_proxy - list.front().at_s;
    }
    // Where the time goes: the hub working on a request (from its first byte to the answer)
    // and the agent working between answers (reading, encoding, purging acknowledged changes).
    double prev_done = -1;
    for (const auto& e : list) {
      if (e.request_line.rfind("POST /api/v1/sync", 0) == 0) {
        r.hub_busy_s += e.done_s - e.at_s;
        r.last_request_s = e.done_s - e.at_s;
      }
      if (prev_done >= 0) {
        r.agent_busy_s += e.at_s - prev_done;
      }
      prev_done = e.done_s;
    }
    if (o.verbose) {
      printExchanges(list, "      ");
    }
  }
  {
    std::string diff = compareStores(home.dbPath(), hub.dbPath(), agent_id, &r.rows_compared);
    check(diff.empty(), "after the initial sync, hub and agent differ: " + diff);
    check(r.rows_compared == o.rows, "compared " + std::to_string(r.rows_compared) + " rows");
  }
  std::printf("  rep %d: 1. end to end  %" PRId64
              " rows in %.3f s = %.0f rows/s; wire %s (up %s, down "
              "%s) in %" PRId64
              " sync requests; CSV %s, ratio %.3f; peak RSS hub %.1f MiB, agent "
              "%.1f MiB; CPU hub %.2f s (%.2f s system), agent %.2f s (%.2f s system); %.3f s from "
              "the first byte\n",
              rep, o.rows, r.e2e_s, r.rows_per_s, kib(r.wire_up + r.wire_down).c_str(),
              kib(r.wire_up).c_str(), kib(r.wire_down).c_str(), r.sync_exchanges,
              kib(static_cast<int64_t>(r.csv_bytes)).c_str(),
              static_cast<double>(r.wire_up + r.wire_down) / static_cast<double>(r.csv_bytes),
              static_cast<double>(r.hub_hwm_kb) / 1024.0,
              static_cast<double>(r.agent_hwm_kb) / 1024.0, r.hub_cpu_s, r.hub_sys_s, r.agent_cpu_s,
              r.agent_sys_s, r.e2e_from_first_byte_s);
  std::printf("         the agent's own count (status sync.bytes_sent): %" PRId64
              " B sent; the proxy saw %" PRId64 " B up\n",
              r.agent_bytes_sent, r.wire_up);
  std::printf(
      "         time line: hub answering sync requests %.3f s (the last one %.3f s), agent "
      "between answers %.3f s\n",
      r.hub_busy_s, r.last_request_s, r.agent_busy_s);

  if (o.e2e_only) {
    home.stop();
    hub.stop();
    return r;
  }

  // --- 2. incremental ----------------------------------------------------------------------
  {
    const int64_t step = o.updates > 0 ? std::max<int64_t>(1, o.rows / o.updates) : 1;
    std::set<int64_t> updated;
    for (int64_t k = 0; k < o.updates; ++k) {
      updated.insert((k * step) % o.rows);
    }
    std::vector<int64_t> deleted;
    const int64_t dstep = o.deletes > 0 ? std::max<int64_t>(1, o.rows / o.deletes) : 1;
    for (int64_t k = 0, i = dstep / 2; k < o.deletes; ++k, i += dstep) {
      int64_t id = i % o.rows;
      while (updated.count(id) != 0 ||
             std::find(deleted.begin(), deleted.end(), id) != deleted.end()) {
        id = (id + 1) % o.rows;
      }
      deleted.push_back(id);
    }
    std::string csv;
    exportsync::Row row;
    const auto inc_started = Clock::now();
    const int64_t inc_up0 = proxy.up();
    const int64_t inc_down0 = proxy.down();
    const size_t inc_ex0 = proxy.exchangeCount();
    agent_db.exec("BEGIN IMMEDIATE");
    const std::string update_sql =
        "UPDATE " + quoteIdent(cols.table) +
        " SET quantity = ?1, fob_value = ?2, updated_at = ?3 WHERE id = ?4";
    for (int64_t i : updated) {
      fillShipment(i, row);
      const auto quantity = std::get<int64_t>(field(row, "quantity").storage()) + 1;
      const auto price = std::get<exportsync::Money>(field(row, "unit_price").storage());
      const auto fob = exportsync::Money::fromCentimes(price.centimes() * quantity);
      const auto updated_at =
          exportsync::Timestamp::fromMicros(1'735'689'600'000'000LL + i * 1'000'000);
      setField(row, "quantity", static_cast<long long>(quantity));
      setField(row, "fob_value", fob);
      setField(row, "updated_at", updated_at);
      sqlite3_stmt* s = agent_db.stmt(update_sql);
      schema::bindValue(s, 1, field(row, "quantity"));
      schema::bindValue(s, 2, field(row, "fob_value"));
      schema::bindValue(s, 3, field(row, "updated_at"));
      schema::bindValue(s, 4, field(row, "id"));
      check(sqlite3_step(s) == SQLITE_DONE && sqlite3_changes(agent_db.get()) == 1,
            std::string("update: ") + sqlite3_errmsg(agent_db.get()));
      sqlite3_reset(s);
      appendCsvRow(row, csv);
    }
    for (int64_t k = 0; k < o.inserts; ++k) {
      fillShipment(o.rows + k, row);
      insertRow(agent_db, sqlForRow(cols.table, row), row);
      appendCsvRow(row, csv);
    }
    for (int64_t i : deleted) {
      fillShipment(i, row);
      sqlite3_stmt* s = agent_db.stmt("DELETE FROM " + quoteIdent(cols.table) + " WHERE id = ?1");
      schema::bindValue(s, 1, field(row, "id"));
      check(sqlite3_step(s) == SQLITE_DONE && sqlite3_changes(agent_db.get()) == 1,
            std::string("delete: ") + sqlite3_errmsg(agent_db.get()));
      sqlite3_reset(s);
      appendCsv(field(row, "id"), csv);  // a deletion as CSV: its key
      csv += '\n';
    }
    agent_db.exec("COMMIT");
    const int64_t seq2 = lastSeq();
    check(seq2 == seq1 + o.updates + o.inserts + o.deletes,
          "the change log should hold one change per update, insert and delete");
    check(waitHubMark(hub_db, agent_id, seq2, milliseconds(120000)),
          "incremental: the hub's mark did not reach " + std::to_string(seq2));
    r.inc_s = secondsOf(Clock::now() - inc_started);
    check(waitAgentAcked(agent_db, seq2, milliseconds(60000)), "incremental: no ack at the agent");
    std::this_thread::sleep_for(milliseconds(100));  // an empty round may follow the ack
    r.inc_wire = (proxy.up() - inc_up0) + (proxy.down() - inc_down0);
    const auto list = proxy.exchanges(inc_ex0);
    for (const auto& e : list) {
      if (e.request_line.rfind("POST /api/v1/sync", 0) == 0) {
        r.inc_sync_wire += e.up + e.down;
      }
    }
    if (o.verbose) {
      printExchanges(list, "      ");
    }
    r.inc_csv = csv.size();
    r.inc_csv_zstd = zstdSize(csv, 3);
    std::string diff = compareStores(home.dbPath(), hub.dbPath(), agent_id, &r.rows_compared);
    check(diff.empty(), "after the incremental sync, hub and agent differ: " + diff);
    check(r.rows_compared == o.rows + o.inserts - o.deletes,
          "after the incremental sync the hub holds " + std::to_string(r.rows_compared) + " rows");
    std::printf(
        "  rep %d: 2. incremental %" PRId64 " updates, %" PRId64 " inserts, %" PRId64
        " deletes: wire %s (%zu exchanges, sync requests %s) in %.3f s; changed rows as CSV "
        "%s, zstd -3 %s; wire / zstd-CSV %.2f\n",
        rep, o.updates, o.inserts, o.deletes, kib(r.inc_wire).c_str(), list.size(),
        kib(r.inc_sync_wire).c_str(), r.inc_s, kib(static_cast<int64_t>(r.inc_csv)).c_str(),
        kib(static_cast<int64_t>(r.inc_csv_zstd)).c_str(),
        static_cast<double>(r.inc_wire) / static_cast<double>(r.inc_csv_zstd));
  }

  // --- 3. nothing changed --------------------------------------------------------------------
  {
    // A wake-up with an empty backlog: the loop reads the change log (seq > mark), finds
    // nothing, sends nothing.
    const int64_t w0 = proxy.total();
    const size_t wx0 = proxy.exchangeCount();
    const uint16_t sp = home.statusPort();
    check(sp != 0, "the agent's status API port");
    const auto wr = test_support::httpRequest(sp, "POST", "/sync", {}, std::string(),
                                              "application/json", std::chrono::seconds(30));
    check(wr.status == 200, "POST /sync on the agent: " + std::to_string(wr.status) + wr.body);
    std::this_thread::sleep_for(milliseconds(500));
    r.idle_wake_wire = proxy.total() - w0;
    r.idle_wake_exchanges = proxy.exchangeCount() - wx0;

    // A round with its heartbeat: restart the daemon; it sends a heartbeat, then drains an
    // empty backlog.
    home.stop();
    const int64_t h0 = proxy.total();
    const size_t hx0 = proxy.exchangeCount();
    home.start("idle");
    check(waitUntil(
              [&] {
                const auto s = home.status();
                return s.find("\"state\":\"synced\"") != std::string::npos;
              },
              milliseconds(60000), milliseconds(20)),
          "the restarted agent did not report synced:\n" + home.process().logs());
    std::this_thread::sleep_for(milliseconds(300));
    r.idle_round_wire = proxy.total() - h0;
    const auto list = proxy.exchanges(hx0);
    for (const auto& e : list) {
      r.idle_round_detail += (r.idle_round_detail.empty() ? "" : ", ") + e.request_line + " (" +
                             std::to_string(e.up) + " up, " + std::to_string(e.down) + " down)";
    }
    std::printf(
        "  rep %d: 3. nothing changed: wake-up round %s in %zu exchanges; round with heartbeat "
        "%s: %s\n",
        rep, kib(r.idle_wake_wire).c_str(), r.idle_wake_exchanges, kib(r.idle_round_wire).c_str(),
        r.idle_round_detail.c_str());
    if (rep == 1) {
      std::printf("         query plans (no table scan):\n");
      std::printf("           agent, batch builder: %s\n",
                  agent_db
                      .plan("SELECT seq, txn, dataset_id, op, key, row, at FROM _changes WHERE "
                            "seq > 5 ORDER BY seq LIMIT 10")
                      .c_str());
      std::printf("           agent, sync mark:     %s\n",
                  agent_db.plan("SELECT value FROM _meta WHERE key = 'sync_acked'").c_str());
      std::printf("           hub, agent by token:  %s\n",
                  hub_db.plan("SELECT id, mark FROM _agents WHERE token_hash = 'x'").c_str());
      std::printf("           hub, heartbeat:       %s\n",
                  hub_db.plan("UPDATE _agents SET status_json = 'x', last_seen = 1 WHERE id = 'a'")
                      .c_str());
    }
  }

  // --- 4. freshness ----------------------------------------------------------------------------
  auto freshness = [&](const char* tag, int trials, int64_t first_id, std::vector<double>& out,
                       std::vector<double>* commits) {
    std::mt19937_64 rng(static_cast<uint64_t>(rep) * 7919 + static_cast<uint64_t>(first_id));
    std::uniform_int_distribution<int> gap(20, 80);
    exportsync::Row row;
    fillShipment(first_id, row);
    const std::string sql = sqlForRow(cols.table, row);
    const std::string seen =
        "SELECT count(*) FROM " + quoteIdent(cols.table) + " WHERE _agent = ?1 AND id = ?2";
    for (int t = 0; t < trials; ++t) {
      fillShipment(first_id + t, row);
      const auto& id = std::get<std::string>(field(row, "id").storage());
      const auto c0 = Clock::now();
      insertRow(agent_db, sql, row);  // autocommit: committed when it returns
      const auto c1 = Clock::now();
      sqlite3_stmt* s = hub_db.stmt(seen);
      sqlite3_bind_text(s, 1, agent_id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(s, 2, id.c_str(), -1, SQLITE_TRANSIENT);
      bool visible = false;
      // Late is a figure (the agent's slow fallback poll is 30 s), lost is a failure.
      const auto deadline = c1 + std::chrono::seconds(90);
      while (Clock::now() < deadline) {
        sqlite3_reset(s);
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) == 1) {
          visible = true;
          break;
        }
        sqlite3_reset(s);
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
      const auto c2 = Clock::now();
      sqlite3_reset(s);
      check(visible,
            std::string("freshness (") + tag + "): row " + id + " not at the hub after 90 s");
      out.push_back(secondsOf(c2 - c1) * 1000.0);
      if (commits != nullptr) {
        commits->push_back(secondsOf(c1 - c0) * 1000.0);
      }
      std::this_thread::sleep_for(milliseconds(gap(rng)));
    }
  };
  const int64_t fresh_base = o.rows + o.inserts + 1000;
  {
    // Through the proxy first (a few trials, for comparison), then direct: the figure.
    std::vector<double> via_proxy;
    freshness("proxy", std::max(10, o.trials / 10), fresh_base, via_proxy, nullptr);
    r.fresh_proxy_p50_ms = percentile(via_proxy, 50);
    home.stop();
    home.configureDaemon(direct_url);
    home.start("fresh");
    check(waitUntil(
              [&] {
                const auto s = home.status();
                return s.find("\"state\":\"synced\"") != std::string::npos;
              },
              milliseconds(60000), milliseconds(20)),
          "the agent (direct) did not report synced:\n" + home.process().logs());
    std::vector<double> direct;
    std::vector<double> commits;
    freshness("direct", o.trials, fresh_base + 10000, direct, &commits);
    r.fresh_p50_ms = percentile(direct, 50);
    r.fresh_p99_ms = percentile(direct, 99);
    r.fresh_max_ms = percentile(direct, 100);
    r.fresh_late = std::count_if(direct.begin(), direct.end(), [](double ms) { return ms > 1000; });
    r.commit_p50_ms = percentile(commits, 50);
    std::printf(
        "  rep %d: 4. freshness (%d trials, direct): p50 %.1f ms, p99 %.1f ms, max %.1f ms, "
        "%" PRId64
        " over 1 s (the agent's commit itself: p50 %.1f ms; via the proxy, %zu "
        "trials: p50 %.1f ms)\n",
        rep, o.trials, r.fresh_p50_ms, r.fresh_p99_ms, r.fresh_max_ms, r.fresh_late,
        r.commit_p50_ms, via_proxy.size(), r.fresh_proxy_p50_ms);
  }

  // --- end ---------------------------------------------------------------------------------------
  const int64_t seq_end = lastSeq();
  check(waitHubMark(hub_db, agent_id, seq_end, milliseconds(60000)), "final sync");
  r.hub_hwm_end_kb = hub.process().statusKb("VmHWM");
  r.agent_hwm_end_kb = home.process().statusKb("VmHWM");
  {
    std::string diff = compareStores(home.dbPath(), hub.dbPath(), agent_id, &r.rows_compared);
    check(diff.empty(), "at the end, hub and agent differ: " + diff);
  }
  home.stop();
  hub.stop();
  std::printf("  rep %d: hub and agent hold the same %" PRId64
              " rows, every field compared; peak RSS over the whole run: hub %.1f MiB, agent "
              "%.1f MiB (this daemon)\n",
              rep, r.rows_compared, static_cast<double>(r.hub_hwm_end_kb) / 1024.0,
              static_cast<double>(r.agent_hwm_end_kb) / 1024.0);
  std::fflush(stdout);
  return r;
}

template <typename F>
double medianOf(const std::vector<RepResult>& rs, F f) {
  std::vector<double> v;
  for (const auto& r : rs) {
    v.push_back(static_cast<double>(f(r)));
  }
  return median(v);
}

template <typename F>
std::string spreadOf(const std::vector<RepResult>& rs, F f, int decimals) {
  if (rs.size() < 2) {
    return "";
  }
  double lo = 1e300;
  double hi = -1e300;
  for (const auto& r : rs) {
    lo = std::min(lo, static_cast<double>(f(r)));
    hi = std::max(hi, static_cast<double>(f(r)));
  }
  char a[48];
  char b[48];
  std::snprintf(a, sizeof a, "%.*f", decimals, lo);
  std::snprintf(b, sizeof b, "%.*f", decimals, hi);
  return std::string(" [") + a + " .. " + b + "]";
}

const char* verdict(bool ok) { return ok ? "met" : "MISSED"; }

// The program; main() calls it.
int run(int argc, char** argv) {
  setProgramName("exportsync-sync-bench");
  const Options o = parseOptions(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  for (const auto& exe : {o.agent_exe, o.hub_exe, o.bench_plugin}) {
    check(::access(exe.c_str(), R_OK) == 0, "missing " + exe + " (build it first)");
  }
  std::printf("exportsync-sync-bench: %" PRId64 " rows of %d columns, %d repetition(s)%s\n", o.rows,
              kColumnCount, o.reps,
              o.smoke ? " (smoke: sizes too small to judge the targets)" : "");
  std::printf(
      "  hub and agent: separate processes on 127.0.0.1, SQLite WAL + synchronous=FULL at "
      "both ends; wire = HTTP bytes both ways through a counting proxy\n");
  std::printf("  host: %u CPUs, load average %s (before)\n", std::thread::hardware_concurrency(),
              loadAverage().c_str());
  std::fflush(stdout);
  ScratchDir scratch(o.dir, "es-sync-bench", o.keep);
  std::vector<RepResult> results;
  for (int rep = 1; rep <= o.reps; ++rep) {
    results.push_back(runRep(o, scratch.path() + "/rep" + std::to_string(rep), rep));
  }

  const auto& rs = results;
  const double rows_s = medianOf(rs, [](const RepResult& r) { return r.rows_per_s; });
  const double wire = medianOf(rs, [](const RepResult& r) { return r.wire_up + r.wire_down; });
  const double csv = medianOf(rs, [](const RepResult& r) { return r.csv_bytes; });
  const double ratio = medianOf(rs, [](const RepResult& r) {
    return static_cast<double>(r.wire_up + r.wire_down) / static_cast<double>(r.csv_bytes);
  });
  const double zstd_ratio = medianOf(rs, [](const RepResult& r) {
    return static_cast<double>(r.csv_zstd) / static_cast<double>(r.csv_bytes);
  });
  const double inc_ratio = medianOf(rs, [](const RepResult& r) {
    return static_cast<double>(r.inc_wire) / static_cast<double>(r.inc_csv_zstd);
  });
  const double idle = medianOf(rs, [](const RepResult& r) { return r.idle_round_wire; });
  const double p50 = medianOf(rs, [](const RepResult& r) { return r.fresh_p50_ms; });
  const double p99 = medianOf(rs, [](const RepResult& r) { return r.fresh_p99_ms; });

  std::printf("\nSync benchmark, medians of %d repetition(s) [min .. max]:\n", o.reps);
  std::printf("  1. end to end, %" PRId64 " rows (%.1f bytes/row as CSV, %.1f MiB)\n", o.rows,
              csv / static_cast<double>(o.rows), csv / kMiB);
  std::printf("     rate                  %9.0f rows/s%s   target >= %.0f: %s\n", rows_s,
              spreadOf(
                  rs, [](const RepResult& r) { return r.rows_per_s; }, 0)
                  .c_str(),
              kTargetRowsPerS, verdict(rows_s >= kTargetRowsPerS));
  std::printf("     time                  %9.3f s%s\n",
              medianOf(rs, [](const RepResult& r) { return r.e2e_s; }),
              spreadOf(
                  rs, [](const RepResult& r) { return r.e2e_s; }, 3)
                  .c_str());
  std::printf(
      "     bytes on the wire     %9.0f B (%s; up %s, down %s)\n", wire,
      kib(static_cast<int64_t>(wire)).c_str(),
      kib(static_cast<int64_t>(medianOf(rs, [](const RepResult& r) { return r.wire_up; }))).c_str(),
      kib(static_cast<int64_t>(medianOf(rs, [](const RepResult& r) {
        return r.wire_down;
      }))).c_str());
  std::printf("     wire / CSV            %9.3f%s   target <= %.2f: %s\n", ratio,
              spreadOf(
                  rs,
                  [](const RepResult& r) {
                    return static_cast<double>(r.wire_up + r.wire_down) /
                           static_cast<double>(r.csv_bytes);
                  },
                  3)
                  .c_str(),
              kTargetWireRatio, verdict(ratio <= kTargetWireRatio));
  std::printf("     zstd -3 of the CSV    %9.3f of the CSV (reference)\n", zstd_ratio);
  std::printf("     peak RSS (VmHWM)      hub %.1f MiB, agent %.1f MiB (after the sync)\n",
              medianOf(rs, [](const RepResult& r) { return r.hub_hwm_kb; }) / 1024.0,
              medianOf(rs, [](const RepResult& r) { return r.agent_hwm_kb; }) / 1024.0);
  std::printf(
      "     CPU time              hub %.2f s (%.2f s system), agent %.2f s (%.2f s "
      "system)\n",
      medianOf(rs, [](const RepResult& r) { return r.hub_cpu_s; }),
      medianOf(rs, [](const RepResult& r) { return r.hub_sys_s; }),
      medianOf(rs, [](const RepResult& r) { return r.agent_cpu_s; }),
      medianOf(rs, [](const RepResult& r) { return r.agent_sys_s; }));
  std::printf(
      "     time line             hub answering %.3f s (last request %.3f s), agent "
      "between answers %.3f s\n",
      medianOf(rs, [](const RepResult& r) { return r.hub_busy_s; }),
      medianOf(rs, [](const RepResult& r) { return r.last_request_s; }),
      medianOf(rs, [](const RepResult& r) { return r.agent_busy_s; }));
  if (o.e2e_only) {
    std::printf("  host: load average %s (after)\n", loadAverage().c_str());
    return 0;
  }
  std::printf("  2. incremental, %" PRId64 " updated + %" PRId64 " inserted + %" PRId64
              " deleted rows\n",
              o.updates, o.inserts, o.deletes);
  std::printf("     bytes on the wire     %9.0f B; zstd -3 of the changed rows as CSV %.0f B\n",
              medianOf(rs, [](const RepResult& r) { return r.inc_wire; }),
              medianOf(rs, [](const RepResult& r) { return r.inc_csv_zstd; }));
  std::printf("     wire / zstd-CSV       %9.2f%s   target <= %.1f: %s\n", inc_ratio,
              spreadOf(
                  rs,
                  [](const RepResult& r) {
                    return static_cast<double>(r.inc_wire) / static_cast<double>(r.inc_csv_zstd);
                  },
                  2)
                  .c_str(),
              kTargetIncrementalRatio, verdict(inc_ratio <= kTargetIncrementalRatio));
  std::printf("  3. nothing changed\n");
  std::printf("     wake-up round         %9.0f B on the wire\n",
              medianOf(rs, [](const RepResult& r) { return r.idle_wake_wire; }));
  std::printf("     round with heartbeat  %9.0f B on the wire   target <= %.0f: %s\n", idle,
              kTargetIdleBytes, verdict(idle <= kTargetIdleBytes));
  std::printf("  4. freshness, %d trials: commit at the agent -> visible in the hub's store\n",
              o.trials);
  std::printf("     p50                   %9.1f ms%s   target <= %.0f: %s\n", p50,
              spreadOf(
                  rs, [](const RepResult& r) { return r.fresh_p50_ms; }, 1)
                  .c_str(),
              kTargetP50Ms, verdict(p50 <= kTargetP50Ms));
  std::printf("     p99                   %9.1f ms%s   target <= %.0f: %s\n", p99,
              spreadOf(
                  rs, [](const RepResult& r) { return r.fresh_p99_ms; }, 1)
                  .c_str(),
              kTargetP99Ms, verdict(p99 <= kTargetP99Ms));
  std::printf("     max                   %9.1f ms%s; trials over 1 s: %.0f\n",
              medianOf(rs, [](const RepResult& r) { return r.fresh_max_ms; }),
              spreadOf(
                  rs, [](const RepResult& r) { return r.fresh_max_ms; }, 1)
                  .c_str(),
              medianOf(rs, [](const RepResult& r) { return r.fresh_late; }));
  std::printf("  host: load average %s (after)\n", loadAverage().c_str());
  if (o.smoke) {
    std::printf("smoke: ok (hub rows equal the agent's after every phase)\n");
  }
  return 0;
}

}  // namespace
}  // namespace exportsync::bench

int main(int argc, char** argv) { return exportsync::bench::run(argc, argv); }
