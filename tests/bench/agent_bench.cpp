// exportsync-bench: the agent's ingest and memory benchmarks (issue #2, "Benchmark").
//
// Ingest: N shipments (tests/bench/shipments.hpp, 16 columns) go through the SDK Sink of the
// bench plugin, loaded in this process and run by collectPlugin() against a fresh Store (change
// capture on), in one collect run; then the same rows go through plain SQLite prepared-statement
// inserts into the same table without triggers, same PRAGMAs (WAL, synchronous=FULL), one
// transaction. Repeated; medians, min/max and spread are printed, and the ratio, as
// LevelDB's db_bench_sqlite3 does against its baseline. Rates are per wall-clock second (the
// targets) and per CPU second of this process (steadier on a shared machine). Two diagnostic
// lines split the SDK figure: SQLite alone with the store's capture triggers, and building the
// rows alone.
//
// Memory: the real exportsync-agent binary runs `--once` with the bench plugin (rows=N): peak
// RSS of the agent and of its plugin worker. Then the agent runs as a daemon with three plugins
// enabled; once their first runs are done it is left idle for a moment and its VmRSS is read.
//
// Numbers only mean something in a release build. No timed asserts: the process fails only when
// something did not run or stored the wrong number of rows.
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.hpp"
#include "bench/row_format.hpp"
#include "exportsync/agent/plugin_runtime.hpp"
#include "exportsync/agent/store.hpp"
#include "exportsync/plugin.hpp"
#include "shipments.hpp"
#include "support/child_process.hpp"
#include "support/files.hpp"

namespace exportsync::bench {
namespace {

namespace fs = std::filesystem;

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kTargetSdkRate = 150'000.0;
constexpr double kTargetRatio = 0.5;
constexpr double kTargetIdleMiB = 10.0;

struct Options {
  int64_t rows = 100'000;
  int reps = 5;
  int64_t idle_rows = 1000;
  int idle_wait_ms = 2000;
  bool ingest = true;
  bool memory = true;
  bool keep = false;
  bool smoke = false;  // sizes too small to judge the targets
  std::string dir;     // parent of the scratch folder; $TMPDIR or /tmp by default
  std::string agent_exe = ES_AGENT_EXE;
  std::string plugin_dir = ES_BENCH_PLUGIN_DIR;
  std::string example_plugin = ES_EXAMPLE_PLUGIN;
  std::string idle_floor_exe = ES_IDLE_FLOOR_EXE;
};

void usage() {
  std::printf(
      "usage: exportsync-bench [--rows N] [--reps R] [--ingest-only | --memory-only] [--smoke]\n"
      "                        [--dir PARENT] [--keep] [--idle-rows N] [--idle-wait-ms MS]\n"
      "                        [--agent EXE] [--plugin-dir DIR] [--example-plugin FILE]\n"
      "                        [--idle-floor EXE]\n"
      "  --smoke   tiny sizes (CI): checks everything runs and stores the right rows\n");
}

Options parseOptions(int argc, char** argv) {
  Options o;
  for (ArgReader args(argc, argv); args.next();) {
    const std::string& a = args.flag();
    if (a == "--rows") {
      o.rows = args.count(1);
    } else if (a == "--reps") {
      o.reps = static_cast<int>(args.count(1));
    } else if (a == "--idle-rows") {
      o.idle_rows = args.count(0);
    } else if (a == "--idle-wait-ms") {
      o.idle_wait_ms = static_cast<int>(args.count(0));
    } else if (a == "--ingest-only") {
      o.memory = false;
    } else if (a == "--memory-only") {
      o.ingest = false;
    } else if (a == "--smoke") {
      o.rows = 2000;
      o.reps = 1;
      o.idle_rows = 50;
      o.idle_wait_ms = 300;
      o.smoke = true;
    } else if (a == "--dir") {
      o.dir = args.value();
    } else if (a == "--keep") {
      o.keep = true;
    } else if (a == "--agent") {
      o.agent_exe = args.value();
    } else if (a == "--plugin-dir") {
      o.plugin_dir = args.value();
    } else if (a == "--example-plugin") {
      o.example_plugin = args.value();
    } else if (a == "--idle-floor") {
      o.idle_floor_exe = args.value();
    } else {
      args.unknown(usage);
    }
  }
  if (o.dir.empty()) {
    o.dir = test_support::tempParent();
  }
  return o;
}

// --- CSV size -------------------------------------------------------------------------------

// Bytes of the rows written as CSV (RFC 4180, no header): shortest round-trip reals,
// money as 1234.50, ISO dates and timestamps, booleans as true/false, null as empty.
double csvBytesPerRow(int64_t rows) {
  exportsync::Row row;
  std::string line;
  uint64_t total = 0;
  for (int64_t i = 0; i < rows; ++i) {
    fillShipment(i, row);
    line.clear();
    appendCsvRow(row, line);
    total += line.size();
  }
  return rows > 0 ? static_cast<double>(total) / static_cast<double>(rows) : 0;
}

// Time to build the rows alone (no storage): the floor under both paths.
Timing generationTime(int64_t rows) {
  exportsync::Row row;
  size_t sink = 0;
  const Stopwatch watch;
  for (int64_t i = 0; i < rows; ++i) {
    fillShipment(i, row);
    sink += row.fields().size();
  }
  const Timing took = watch.elapsed();
  check(sink == static_cast<size_t>(rows) * kColumnCount, "row generation");
  return took;
}

// --- Ingest: SDK ----------------------------------------------------------------------------

agent::PluginSettings benchSettings(int64_t rows) {
  agent::PluginSettings s;
  s.values["rows"] = std::to_string(rows);
  s.region = "MA-01";
  return s;
}

agent::RuntimeHooks benchHooks() {
  agent::RuntimeHooks hooks;
  hooks.log = [](int level, const std::string& msg) {
    if (level <= ES_LOG_WARNING) {
      std::fprintf(stderr, "plugin: %s\n", msg.c_str());
    }
  };
  return hooks;
}

// Opens (creating) a store at `db_path` holding the plugin's datasets, tables and triggers.
std::unique_ptr<agent::Store> storeWithSchema(const agent::LoadedPlugin& plugin,
                                              const std::string& db_path) {
  auto store = agent::Store::open(db_path);
  check(store.isOk(), "opening the store: " + store.status().message());
  auto desc = agent::describePlugin(plugin, benchSettings(1), benchHooks());
  check(desc.isOk(), "describing the bench plugin: " + desc.status().message());
  for (const auto& spec : desc->datasets) {
    auto st = (*store)->applySchema(plugin.name(), spec);
    check(st.isOk(), "applying the schema: " + st.message());
  }
  return std::move(*store);
}

Timing runSdk(const agent::LoadedPlugin& plugin, const std::string& db_path, int64_t rows) {
  // The schema is applied first (untimed): the timed part is the collect run itself.
  auto store = storeWithSchema(plugin, db_path);
  const auto settings = benchSettings(rows);
  const auto hooks = benchHooks();
  agent::RunStats stats;
  const Stopwatch watch;
  const auto st = agent::collectPlugin(plugin, *store, settings, hooks, stats);
  const Timing took = watch.elapsed();
  check(st.isOk(), "bench plugin collect: " + st.message());
  check(stats.upserted == rows, "collect upserted " + std::to_string(stats.upserted) +
                                    " rows, expected " + std::to_string(rows));
  auto ds = store->dataset(plugin.name(), kDataset);
  check(ds.isOk() && ds->has_value(), "the shipments dataset is not in the store");
  auto count = store->rowCount(**ds);
  auto changes = store->changeCount();
  check(count.isOk() && changes.isOk(), "counting rows and changes");
  check(*count == rows,
        "store holds " + std::to_string(*count) + " rows, expected " + std::to_string(rows));
  check(*changes == rows, "change log holds " + std::to_string(*changes) + " entries, expected " +
                              std::to_string(rows) + " inserts");
  return took;
}

// --- Ingest: plain SQLite -------------------------------------------------------------------

class PlainDb {
 public:
  explicit PlainDb(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      die("cannot open '" + path + "'");
    }
  }
  ~PlainDb() { sqlite3_close_v2(db_); }
  PlainDb(const PlainDb&) = delete;
  PlainDb& operator=(const PlainDb&) = delete;
  sqlite3* get() const { return db_; }
  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string msg = err != nullptr ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      die("sqlite: " + msg + " in: " + sql.substr(0, 200));
    }
  }
  int64_t scalar(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    check(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK,
          "prepare: " + std::string(sqlite3_errmsg(db_)));
    check(sqlite3_step(s) == SQLITE_ROW, "step: " + std::string(sqlite3_errmsg(db_)));
    const int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
  }

 private:
  sqlite3* db_ = nullptr;
};

// The CREATE TABLE the store made for the bench dataset (its triggers are separate objects).
struct TableDef {
  std::string name;
  std::string ddl;
  std::vector<exportsync::Column> columns;
};

TableDef storeTableDef(const agent::LoadedPlugin& plugin, const std::string& db_path) {
  (void)storeWithSchema(plugin, db_path);
  TableDef t;
  t.name = agent::datasetTableName(plugin.name(), kDataset);
  PlainDb db(db_path);
  sqlite3_stmt* s = nullptr;
  check(sqlite3_prepare_v2(db.get(), "SELECT sql FROM sqlite_master WHERE type='table' AND name=?",
                           -1, &s, nullptr) == SQLITE_OK,
        "reading the table definition");
  sqlite3_bind_text(s, 1, t.name.c_str(), -1, SQLITE_TRANSIENT);
  check(sqlite3_step(s) == SQLITE_ROW, "the store has no table '" + t.name + "'");
  t.ddl = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  exportsync::Schema schema;
  declareShipments(schema);
  t.columns = schema.datasets().front().columns;
  return t;
}

// Inserts the rows with one prepared statement in one transaction; times BEGIN to COMMIT.
Timing insertRows(PlainDb& db, const std::string& sql, const char* begin, int64_t rows) {
  sqlite3_stmt* stmt = nullptr;
  check(sqlite3_prepare_v3(db.get(), sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) ==
            SQLITE_OK,
        "preparing '" + sql.substr(0, 60) + "...': " + std::string(sqlite3_errmsg(db.get())));
  exportsync::Row row;
  const Stopwatch watch;
  db.exec(begin);
  for (int64_t r = 0; r < rows; ++r) {
    fillShipment(r, row);
    const auto& fields = row.fields();
    for (size_t i = 0; i < fields.size(); ++i) {
      schema::bindValue(stmt, static_cast<int>(i + 1), fields[i].second);
    }
    if (sqlite3_step(stmt) != SQLITE_DONE) {
      die("insert failed: " + std::string(sqlite3_errmsg(db.get())));
    }
    sqlite3_reset(stmt);
  }
  db.exec("COMMIT");
  const Timing took = watch.elapsed();
  sqlite3_finalize(stmt);
  return took;
}

std::string insertSql(const TableDef& table) {
  std::string sql = "INSERT INTO " + quoteIdent(table.name) + "(";
  std::string params;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    sql += (i != 0 ? ", " : "") + quoteIdent(table.columns[i].name);
    params += i != 0 ? ", ?" : "?";
  }
  return sql + ") VALUES(" + params + ")";
}

// The baseline: plain INSERTs into the same table, without triggers; WAL, synchronous=FULL.
Timing runPlain(const TableDef& table, const std::string& db_path, int64_t rows) {
  PlainDb db(db_path);
  db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  db.exec(table.ddl);
  const Timing took = insertRows(db, insertSql(table), "BEGIN IMMEDIATE", rows);
  const int64_t stored = db.scalar("SELECT count(*) FROM " + quoteIdent(table.name));
  check(stored == rows,
        "plain table holds " + std::to_string(stored) + " rows, expected " + std::to_string(rows));
  return took;
}

// Diagnostic: what SQLite alone costs with change capture. The store's own database (table and
// capture triggers), the store's connection settings and an UPSERT of the store writer's form,
// but no SDK, plugin or agent code: SDK minus this is the SDK and agent overhead.
Timing runCapture(const agent::LoadedPlugin& plugin, const TableDef& table,
                  const std::string& db_path, int64_t rows) {
  (void)storeWithSchema(plugin, db_path);
  std::string sets;
  std::string differs;
  std::string key;
  for (const auto& c : table.columns) {
    const std::string q = quoteIdent(c.name);
    if (c.key) {
      key += (key.empty() ? "" : ", ") + q;
    } else {
      sets += (sets.empty() ? "" : ", ") + q + " = excluded." + q;
      differs += (differs.empty() ? "" : " OR ") + quoteIdent(table.name) + "." + q +
                 " IS NOT excluded." + q;
    }
  }
  const std::string sql =
      insertSql(table) + " ON CONFLICT(" + key + ") DO UPDATE SET " + sets + " WHERE " + differs;
  PlainDb db(db_path);
  db.exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
      "PRAGMA temp_store=MEMORY;");
  const Timing took = insertRows(db, sql, "BEGIN IMMEDIATE; UPDATE _txn SET txn = txn + 1;", rows);
  check(db.scalar("SELECT count(*) FROM " + quoteIdent(table.name)) == rows &&
            db.scalar("SELECT count(*) FROM _changes") == rows,
        "the capture run did not store " + std::to_string(rows) + " rows and changes");
  return took;
}

// Both paths must have stored exactly the same rows.
void checkSameRows(const std::string& store_path, const std::string& plain_path,
                   const std::string& table) {
  PlainDb db(store_path);
  db.exec("ATTACH DATABASE '" + plain_path + "' AS plain");
  const std::string t = quoteIdent(table);
  const int64_t diff = db.scalar("SELECT count(*) FROM (SELECT * FROM main." + t +
                                 " EXCEPT SELECT * FROM plain." + t + ")") +
                       db.scalar("SELECT count(*) FROM (SELECT * FROM plain." + t +
                                 " EXCEPT SELECT * FROM main." + t + ")");
  check(diff == 0, std::to_string(diff) + " rows differ between the SDK store and the plain table");
  db.exec("DETACH DATABASE plain");
}

const char* verdict(const Options& o, bool met) {
  if (o.smoke) {
    return "not judged (--smoke)";
  }
  return met ? "met" : "MISSED";
}

void runIngest(const Options& o) {
  const std::string plugin_file = o.plugin_dir + "/bench.so";
  auto plugin = agent::loadPluginFile(plugin_file);
  check(plugin.isOk(), plugin.status().message());
  ScratchDir scratch(o.dir, "es-bench", o.keep);
  const TableDef table = storeTableDef(*plugin, scratch.path() + "/ddl.db");

  std::printf("Ingest: %" PRId64
              " rows x %d columns into one dataset, one collect run, %d "
              "repetition(s)\n",
              o.rows, kColumnCount, o.reps);
  const double csv = csvBytesPerRow(o.rows);
  std::printf("  CSV size of the rows: %.1f bytes/row (%.1f MiB in all)\n", csv,
              csv * static_cast<double>(o.rows) / kMiB);

  // Rates per wall second (the figure the targets are about) and per CPU second of this process
  // (steadier when other jobs share the machine), for each repetition.
  struct Series {
    std::vector<double> wall;
    std::vector<double> cpu;
    void add(double rows, const Timing& t) {
      wall.push_back(rows / t.wall);
      cpu.push_back(rows / t.cpu);
    }
  };
  Series sdk;
  Series capture;
  Series plain;
  Series gen;
  Series ratio;
  const auto rows_d = static_cast<double>(o.rows);
  for (int rep = 0; rep < o.reps; ++rep) {
    const std::string dir = scratch.path() + "/rep" + std::to_string(rep);
    makeDir(dir);
    // Rotate the order so a noisy neighbour does not always hit the same path.
    Timing sdk_t;
    Timing capture_t;
    Timing plain_t;
    for (int step = 0; step < 3; ++step) {
      switch ((rep + step) % 3) {
        case 0: sdk_t = runSdk(*plugin, dir + "/agent.db", o.rows); break;
        case 1: plain_t = runPlain(table, dir + "/plain.db", o.rows); break;
        default: capture_t = runCapture(*plugin, table, dir + "/capture.db", o.rows); break;
      }
    }
    if (rep == 0) {
      checkSameRows(dir + "/agent.db", dir + "/plain.db", table.name);
    }
    gen.add(rows_d, generationTime(o.rows));
    sdk.add(rows_d, sdk_t);
    capture.add(rows_d, capture_t);
    plain.add(rows_d, plain_t);
    ratio.wall.push_back(sdk.wall.back() / plain.wall.back());
    ratio.cpu.push_back(sdk.cpu.back() / plain.cpu.back());
    std::printf(
        "  rep %d: SDK %.0f rows/s (%.2f s wall, %.2f s CPU), plain %.0f rows/s "
        "(%.2f s wall, %.2f s CPU), ratio %.2f\n",
        rep + 1, sdk.wall.back(), sdk_t.wall, sdk_t.cpu, plain.wall.back(), plain_t.wall,
        plain_t.cpu, ratio.wall.back());
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::printf("\n  %-44s %9s %9s %9s %7s %11s\n", "rows/s, wall clock", "median", "min", "max",
              "spread", "per CPU-s");
  auto line = [](const char* name, const Series& s, int decimals) {
    const auto w = summarize(s.wall);
    const auto c = summarize(s.cpu);
    std::printf("  %-44s %9.*f %9.*f %9.*f %6.1f%% %11.*f\n", name, decimals, w.median, decimals,
                w.min, decimals, w.max, w.spread(), decimals, c.median);
  };
  line("SDK Sink + change capture (one collect run)", sdk, 0);
  line("plain SQLite prepared INSERT (baseline)", plain, 0);
  line("ratio SDK / plain", ratio, 2);
  line("diagnostic: SQLite UPSERT + capture, no SDK", capture, 0);
  line("diagnostic: row generation alone", gen, 0);
  // Where a row's CPU time goes: the SDK and agent share is taken per repetition (SDK minus the
  // diagnostic run next to it), then its median; about 2 us either way is noise.
  auto us = [](const std::vector<double>& rates, size_t i) { return 1e6 / rates[i]; };
  std::vector<double> overhead;
  for (size_t i = 0; i < sdk.cpu.size(); ++i) {
    overhead.push_back(us(sdk.cpu, i) - us(capture.cpu, i));
  }
  auto median_us = [](const Series& s) { return 1e6 / summarize(s.cpu).median; };
  std::printf(
      "  CPU per row: SDK %.1f us; the same UPSERTs and capture triggers without the SDK "
      "%.1f us (SDK + agent share %+.1f us); plain INSERT %.1f us; building a row %.1f us "
      "(in all three)\n",
      median_us(sdk), median_us(capture), summarize(overhead).median, median_us(plain),
      median_us(gen));
  const double sdk_median = summarize(sdk.wall).median;
  const double ratio_median = summarize(ratio.wall).median;
  std::printf("  targets: SDK >= %.0f rows/s: %s; SDK >= %.2f x plain: %s\n", kTargetSdkRate,
              verdict(o, sdk_median >= kTargetSdkRate), kTargetRatio,
              verdict(o, ratio_median >= kTargetRatio));
}

// --- Memory ---------------------------------------------------------------------------------

// The agent as a child process, stdout and stderr into one log, and the peak RSS of it and of
// its plugin workers, sampled from /proc while it runs.
class AgentProcess : public Process {
 public:
  AgentProcess(const std::string& exe, const std::vector<std::string>& args, const std::string& log)
      : Process(exe, args, log, log) {}

  /// ru_maxrss of the agent's process tree (itself and the workers it waited for), kB.
  int64_t treeMaxRssKb() const { return usage().ru_maxrss; }

  // Samples the VmHWM of the agent and of its live workers.
  void sample() {
    agent_hwm_kb_ = std::max(agent_hwm_kb_, statusKb("VmHWM"));
    for (pid_t c : test_support::childrenOf(pid())) {
      auto& v = worker_hwm_kb_[c];
      v = std::max(v, test_support::procStatusKb(c, "VmHWM"));
    }
  }
  int64_t agentHwmKb() const { return agent_hwm_kb_; }
  int64_t workerHwmKb() const {
    int64_t m = 0;
    for (const auto& [pid, kb] : worker_hwm_kb_) {
      m = std::max(m, kb);
    }
    return m;
  }

 private:
  int64_t agent_hwm_kb_ = 0;
  std::map<pid_t, int64_t> worker_hwm_kb_;
};

void copyPlugin(const std::string& from, const std::string& dir) {
  std::error_code ec;
  fs::copy_file(from, dir + "/" + fs::path(from).filename().string(),
                fs::copy_options::overwrite_existing, ec);
  check(!ec, "copying '" + from + "': " + ec.message());
}

void writeConfig(const std::string& path, const std::string& root,
                 const std::vector<std::pair<std::string, int64_t>>& plugins) {
  std::ofstream out(path);
  out << "agent.region = MA-01\n"
      << "agent.state_dir = " << root << "/state\n"
      << "plugins.dir = " << root << "/plugins\n"
      << "plugins.enabled = ";
  for (size_t i = 0; i < plugins.size(); ++i) {
    out << (i != 0 ? ", " : "") << plugins[i].first;
  }
  out << "\nlog.level = information\n";
  for (const auto& [name, rows] : plugins) {
    out << "plugin." << name << ".rows = " << rows << "\n"
        << "plugin." << name << ".interval_s = 86400\n";
  }
  check(out.good(), "writing '" + path + "'");
}

int64_t storedRows(const std::string& db_path, const std::string& plugin,
                   const std::string& dataset) {
  auto store = agent::Store::open(db_path, false);
  check(store.isOk(), store.status().message());
  auto ds = (*store)->dataset(plugin, dataset);
  check(ds.isOk() && ds->has_value(), "plugin '" + plugin + "' has no dataset '" + dataset + "'");
  auto n = (*store)->rowCount(**ds);
  check(n.isOk(), n.status().message());
  return *n;
}

struct PeakResult {
  int64_t agent_kb = 0;
  int64_t worker_kb = 0;
  int64_t tree_kb = 0;
  double seconds = 0;
};

PeakResult runPeak(const Options& o, const std::string& root) {
  makeDir(root);
  makeDir(root + "/state");
  makeDir(root + "/plugins");
  copyPlugin(o.plugin_dir + "/bench.so", root + "/plugins");
  writeConfig(root + "/agent.properties", root, {{"bench", o.rows}});
  const std::string log = root + "/agent.log";
  const auto t0 = Clock::now();
  AgentProcess p(o.agent_exe, {"--config", root + "/agent.properties", "--once"}, log);
  while (p.running()) {
    p.sample();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  PeakResult r;
  r.seconds = secondsOf(Clock::now() - t0);
  check(p.exitCode() == 0,
        "exportsync-agent --once exited with " + std::to_string(p.exitCode()) + ":\n" + p.tail());
  check(storedRows(root + "/state/agent.db", "bench", kDataset) == o.rows,
        "the agent's store does not hold " + std::to_string(o.rows) + " shipments");
  r.agent_kb = p.agentHwmKb();
  r.tree_kb = p.treeMaxRssKb();
  // wait4's ru_maxrss is the largest of the agent and every worker it reaped: when it exceeds
  // the agent's own high-water mark it is the collect worker's exact peak.
  r.worker_kb = std::max(p.workerHwmKb(), r.tree_kb > r.agent_kb ? r.tree_kb : 0);
  return r;
}

struct IdleResult {
  std::map<std::string, int64_t> status;  // /proc/<pid>/status, kB
  std::map<std::string, int64_t> rollup;  // /proc/<pid>/smaps_rollup, kB
  int threads = 0;
  double first_runs_s = 0;
  double stop_s = 0;
};

// "Key:   123 kB" lines of /proc/<pid>/smaps_rollup (Pss, Shared_Clean, ...).
std::map<std::string, int64_t> smapsRollupKb(pid_t pid) {
  std::map<std::string, int64_t> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || line.find(" kB") == std::string::npos) {
      continue;
    }
    out[line.substr(0, colon)] = std::strtoll(line.c_str() + colon + 1, nullptr, 10);
  }
  return out;
}

int threadCount(pid_t pid) {
  std::error_code ec;
  int n = 0;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec);
       it != fs::directory_iterator(); ++it) {
    ++n;
  }
  return n;
}

IdleResult runIdle(const Options& o, const std::string& root,
                   const std::vector<std::string>& plugins) {
  makeDir(root);
  makeDir(root + "/state");
  makeDir(root + "/plugins");
  copyPlugin(o.example_plugin, root + "/plugins");
  copyPlugin(o.plugin_dir + "/bench-idle-a.so", root + "/plugins");
  copyPlugin(o.plugin_dir + "/bench-idle-b.so", root + "/plugins");
  std::vector<std::pair<std::string, int64_t>> cfg;
  for (const auto& name : plugins) {
    cfg.emplace_back(name, o.idle_rows);
  }
  writeConfig(root + "/agent.properties", root, cfg);
  const std::string log = root + "/agent.log";
  const std::string db = root + "/state/agent.db";
  const auto t0 = Clock::now();
  AgentProcess p(o.agent_exe, {"--config", root + "/agent.properties"}, log);

  // Wait until every plugin's first run is recorded as ok and no worker is left.
  const auto deadline = t0 + std::chrono::seconds(120);
  for (;;) {
    check(p.running(),
          "the agent exited early with " + std::to_string(p.exitCode()) + ":\n" + p.tail());
    check(Clock::now() < deadline, "the plugins' first runs did not finish in 120 s:\n" + p.tail());
    size_t ok = 0;
    if (::access(db.c_str(), F_OK) == 0) {
      auto store = agent::Store::open(db, false);
      if (store) {
        for (const auto& name : plugins) {
          auto h = (*store)->health(name);
          if (h && h->has_value()) {
            check((*h)->last_result == "ok" || (*h)->last_result.empty(),
                  "plugin '" + name + "' run: " + (*h)->last_error + "\n" + p.tail());
            ok += (*h)->last_result == "ok" ? 1 : 0;
          }
        }
      }
    }
    if (ok == plugins.size() && test_support::childrenOf(p.pid()).empty()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  IdleResult r;
  r.first_runs_s = secondsOf(Clock::now() - t0);
  std::this_thread::sleep_for(std::chrono::milliseconds(o.idle_wait_ms));
  check(test_support::childrenOf(p.pid()).empty(),
        "a plugin worker is running while the agent should be idle");
  r.status = test_support::procStatusKb(p.pid());
  r.rollup = smapsRollupKb(p.pid());
  r.threads = threadCount(p.pid());
  const auto t1 = Clock::now();
  p.signal(SIGTERM);
  while (p.running()) {
    check(Clock::now() - t1 < std::chrono::seconds(10), "the agent did not stop on SIGTERM");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.stop_s = secondsOf(Clock::now() - t1);
  check(p.exitCode() == 0,
        "the agent exited with " + std::to_string(p.exitCode()) + " after SIGTERM:\n" + p.tail());
  for (const auto& name : plugins) {
    const char* dataset = name == "example" ? "items" : kDataset;
    check(storedRows(db, name, dataset) == o.idle_rows,
          "plugin '" + name + "' did not store " + std::to_string(o.idle_rows) + " rows");
  }
  return r;
}

double mib(int64_t kb) { return static_cast<double>(kb) / 1024.0; }

// VmRSS (kB) of exportsync-idle-floor once it waits: the agent's libraries, loaded by a Poco
// ServerApplication that does nothing; with `tls`, OpenSSL's client side initialised as well.
int64_t idleFloorKb(const Options& o, const std::string& root, bool tls) {
  makeDir(root);
  Process p(o.idle_floor_exe, tls ? std::vector<std::string>{"tls"} : std::vector<std::string>{},
            root + "/floor" + (tls ? "-tls" : ""));
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (p.out().find("ready") == std::string::npos) {
    check(p.running(), "the idle floor exited early:\n" + p.logs());
    check(Clock::now() < deadline, "the idle floor was not ready in 30 s:\n" + p.logs());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int64_t kb = test_support::procStatusKb(p.pid(), "VmRSS");
  p.signal(SIGTERM);
  while (p.running()) {
    check(Clock::now() < deadline, "the idle floor did not stop on SIGTERM");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  check(p.exitCode() == 0,
        "the idle floor exited with " + std::to_string(p.exitCode()) + ":\n" + p.logs());
  return kb;
}

void runMemory(const Options& o) {
  ScratchDir scratch(o.dir, "es-bench", o.keep);
  std::printf("\nMemory: %s\n", o.agent_exe.c_str());
  const auto peak = runPeak(o, scratch.path() + "/peak");
  std::printf("  --once, bench plugin rows=%" PRId64 " (%.2f s wall, collect in a worker):\n",
              o.rows, peak.seconds);
  std::printf("  %-52s %8.1f MiB\n", "agent peak RSS (VmHWM)", mib(peak.agent_kb));
  std::printf("  %-52s %8.1f MiB\n", "plugin worker peak RSS (VmHWM / wait4 ru_maxrss)",
              mib(peak.worker_kb));
  std::printf("  %-52s %8.1f MiB\n", "process tree peak (wait4 ru_maxrss)", mib(peak.tree_kb));

  const std::vector<std::string> plugins = {"example", "bench-idle-a", "bench-idle-b"};
  const auto idle = runIdle(o, scratch.path() + "/idle", plugins);
  auto kb = [&idle](const char* k) {
    auto it = idle.status.find(k);
    return it == idle.status.end() ? int64_t{0} : it->second;
  };
  std::printf("  daemon, 3 plugins (example, bench-idle-a, bench-idle-b; rows=%" PRId64
              "), first runs done in %.2f s, then idle %.1f s:\n",
              o.idle_rows, idle.first_runs_s, o.idle_wait_ms / 1000.0);
  std::printf("  %-52s %8.1f MiB  (target <= %.0f MiB: %s)\n", "agent idle RSS (VmRSS)",
              mib(kb("VmRSS")), kTargetIdleMiB, verdict(o, mib(kb("VmRSS")) <= kTargetIdleMiB));
  std::printf("  %-52s %8.1f / %.1f / %.1f MiB\n", "  of which anon / file / shmem",
              mib(kb("RssAnon")), mib(kb("RssFile")), mib(kb("RssShmem")));
  auto rollup = [&idle](const char* k) {
    auto it = idle.rollup.find(k);
    return it == idle.rollup.end() ? int64_t{0} : it->second;
  };
  // Clean pages of shared libraries are counted whole in RSS; PSS divides each page among the
  // processes that map it (libc, libstdc++ ... are mapped by most of the machine's processes).
  std::printf("  %-52s %8.1f / %.1f MiB\n", "  shared clean / private (dirty+clean)",
              mib(rollup("Shared_Clean")), mib(rollup("Private_Dirty") + rollup("Private_Clean")));
  std::printf("  %-52s %8.1f MiB (anon %.1f, file %.1f)\n", "  agent idle PSS (smaps_rollup)",
              mib(rollup("Pss")), mib(rollup("Pss_Anon")), mib(rollup("Pss_File")));
  std::printf("  %-52s %8.1f MiB, %d threads\n", "  agent VmHWM since start", mib(kb("VmHWM")),
              idle.threads);
  std::printf("  %-52s %8.2f s\n", "stop after SIGTERM", idle.stop_s);
  // What no agent on these libraries can go below: they are loaded before main() runs.
  std::printf(
      "  floor: a Poco ServerApplication on the agent's libraries (%s) that does nothing:\n",
      o.idle_floor_exe.c_str());
  std::printf("  %-52s %8.1f MiB\n", "  idle RSS (VmRSS)",
              mib(idleFloorKb(o, scratch.path() + "/floor", false)));
  std::printf("  %-52s %8.1f MiB\n", "  idle RSS, TLS client initialised (an https hub)",
              mib(idleFloorKb(o, scratch.path() + "/floor", true)));
}

// The program; main() calls it.
int run(int argc, char** argv) {
  setProgramName("exportsync-bench");
  const Options o = parseOptions(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("exportsync-bench (SQLite %s)\n", sqlite3_libversion());
  if (o.ingest) {
    runIngest(o);
  }
  if (o.memory) {
    runMemory(o);
  }
  return 0;
}

}  // namespace
}  // namespace exportsync::bench

int main(int argc, char** argv) { return exportsync::bench::run(argc, argv); }
