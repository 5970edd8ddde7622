// ExportSync::testing: run a plugin's shared library in a test, without an agent or a hub.
//
//   auto h = exportsync::testing::Harness::load("build/my-plugin.so");
//   ASSERT_TRUE(h) << h.status().message();        // refused as the agent would refuse it
//   h->region("MA-06");
//   h->addInboxFile("ventes.csv", "ICE;Raison sociale\n001525148000067;Atlas Tapis\n");
//   auto run = h->run();                              // create → declare → configure → collect
//   ASSERT_TRUE(run.ok()) << run.status.message();
//   EXPECT_EQ(run.rows("exporters").size(), 1u);
//   const auto* row = run.rows("exporters").find({{"exporter_id", "001525148000067"}});
//   EXPECT_EQ(row->text("name"), "Atlas Tapis");
//   EXPECT_TRUE(run.rejections.empty()) << run.summary();
//
// The Harness is a host of its own (it links nothing of the agent): it loads the library with
// dlopen (RTLD_NOW | RTLD_LOCAL) and checks the entry symbol, ABI version and descriptor size
// before calling anything, with the agent's own checks and wording, then implements es_host_api
// in memory:
//  - config: the map given with config()/set() (short keys, as `plugin.<name>.<key>` reaches the
//    plugin); region: region(), "MA-06" unless set;
//  - declare: every dataset is checked with checkDatasetSpec(); none, or one declared twice, fails;
//  - sink: each upsert/remove is checked against the declared dataset with checkValue(), and
//    refused with the agent's wording ("dataset 'x': column 'y' expects integer, got text");
//  - the run is one transaction: rows and state writes are kept only when collect() succeeds and
//    was not cancelled; then the renames asked with renameAfterCommit() are performed, in order;
//  - rows and state persist from one run() to the next (like the agent's store) until reset().
// Differences from the agent: the plugin runs in the caller's process (a crash ends the test;
// static variables survive between runs), and there are no time or memory limits.
//
// Errors: load() and describe() return a Status; run() returns its failure in RunResult::status.
// The file helpers (tempDir(), inbox(), addInboxFile(), copyToInbox()) throw exportsync::Error
// when the file system refuses: a broken test machine, not an expected outcome.
// Nothing here depends on GoogleTest; RunResult::summary() makes a readable failure message.
//
// THREAD: a Harness and its results are used from one thread at a time; distinct Harness objects
// may run on distinct threads only for distinct plugin files (a library's statics are shared).
// OWNERSHIP: a Harness owns its temporary folder (removed on destruction unless the environment
// variable ES_KEEP_TEST_DIRS is set). Loaded libraries are never unloaded (as in the agent).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exportsync/dataset.hpp"
#include "exportsync/plugin.hpp"
#include "exportsync/plugin_abi.h"
#include "exportsync/status.hpp"

namespace exportsync::testing {

class RowValues;

namespace internal {
struct HarnessImpl;  // the loaded library, settings and committed rows; in sdk/testing/
}  // namespace internal

/// A value as text: "NULL" for null, ISO dates and timestamps, money as "12.50", reals with up
/// to 17 significant digits, booleans as true/false. THREAD: any.
std::string formatValue(const Value& value);

/// A value as the agent stores it for a column type, from an es_value. THREAD: any.
Value valueFromAbi(const es_value& value);

/// Writes "{" + row.toString() + "}": GoogleTest prints a RowValues with this.
void PrintTo(const RowValues& row, std::ostream* os);

/// One row as the plugin wrote it: values in declared column order, read by column name.
/// For a remove, only the key columns.
class RowValues {
 public:
  RowValues() = default;
  RowValues(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Value> values);

  /// The value of `column`; throws std::out_of_range naming the column and the row's columns when
  /// the row has no such column.
  const Value& operator[](std::string_view column) const;
  /// The value of `column` as formatValue() writes it ("NULL" for null).
  std::string text(std::string_view column) const;
  /// True when `column` is one of the row's columns.
  bool has(std::string_view column) const;
  const std::vector<std::string>& columns() const;
  const std::vector<Value>& values() const { return values_; }
  /// "exporter_id=001525148000067, name=Atlas Tapis, city=NULL".
  std::string toString() const;

  friend bool operator==(const RowValues& a, const RowValues& b);
  friend bool operator!=(const RowValues& a, const RowValues& b) { return !(a == b); }

 private:
  std::shared_ptr<const std::vector<std::string>> columns_;
  std::vector<Value> values_;
};

/// The rows a dataset holds: the final state, one row per primary key, in key order.
class DatasetRows {
 public:
  DatasetRows() = default;
  explicit DatasetRows(DatasetSpec spec);

  const DatasetSpec& spec() const { return spec_; }
  size_t size() const { return rows_.size(); }
  bool empty() const { return rows_.empty(); }
  /// The row whose key columns hold these values (every key column, by name), or nullptr.
  /// OWNERSHIP: points into this object; valid until it changes.
  const RowValues* find(const Row& key) const;
  /// Every row, in key order (copies: keep the vector, not a reference into it).
  std::vector<RowValues> all() const;

  /// Inserts or replaces by key. PRECONDITION: the row fits the spec (checked by the host).
  void upsert(RowValues row);
  /// Removes by key (key columns only, declared order); a missing row is not an error.
  void remove(const std::vector<Value>& key);

 private:
  struct KeyLess {
    bool operator()(const std::vector<Value>& a, const std::vector<Value>& b) const;
  };
  DatasetSpec spec_;
  std::vector<size_t> key_;  // declared positions of the key columns
  std::map<std::vector<Value>, RowValues, KeyLess> rows_;
};

/// One Sink call of a run, in call order. Refused calls are listed too, with their reason.
struct SinkCall {
  enum class Op { Upsert, Remove };
  Op op = Op::Upsert;
  std::string dataset;
  RowValues row;  ///< the whole row (upsert) or the key columns (remove)
  Status status;  ///< OK, or why the host refused the call (nothing was written then)
};

/// A record the plugin refused with Sink::reject().
struct Rejected {
  std::string source;
  uint64_t line = 0;  ///< 1-based; 0 when not applicable
  std::string column;
  std::string value;
  std::string reason;
  /// "ventes.csv:4 column 'hs_code' value '57': reason", as the agent reports it.
  std::string toString() const;
};

/// One log line of the plugin.
struct LogLine {
  es_log_level level = ES_LOG_INFO;
  std::string message;
};

/// One rename asked with renameAfterCommit().
struct Rename {
  std::string from;
  std::string to;
  bool done = false;  ///< performed after a successful run
  std::string error;  ///< why rename(2) failed, when it was attempted and failed
};

/// What one run did. OWNERSHIP: a value, independent of the Harness.
struct RunResult {
  /// OK, or the failure worded as the agent words it: "configure() failed: config key
  /// 'plugin.x.inbox' is missing; …", "collect() was cancelled; the run was rolled back".
  Status status;
  /// The datasets declared in this run.
  std::vector<DatasetSpec> datasets;
  /// The rows each declared dataset holds after the run: this run's writes when it succeeded,
  /// earlier runs' rows only when it failed (rolled back).
  std::map<std::string, DatasetRows, std::less<>> tables;
  /// Every upsert and remove of this run, in order, refused ones included (status not OK).
  std::vector<SinkCall> calls;
  uint64_t upserted = 0;  ///< accepted upserts
  uint64_t removed = 0;   ///< accepted removes
  uint64_t refused = 0;   ///< upserts and removes the host refused
  std::vector<Rejected> rejections;
  std::vector<LogLine> logs;
  /// Renames asked during the run; performed only when it succeeded.
  std::vector<Rename> renames;
  /// The plugin's durable state after the run.
  std::map<std::string, std::string> state;

  bool ok() const { return status.isOk(); }
  /// The rows of `dataset`; throws std::out_of_range naming the declared datasets when it was not
  /// declared.
  const DatasetRows& rows(std::string_view dataset) const;
  /// Several lines for a failure message: status, row counts, refused calls, rejections, logs.
  std::string summary() const;
};

/// A loaded plugin and the in-memory host that runs it. Move-only.
class Harness {
 public:
  /// Loads `path` and checks it as the agent does (ELF file, dlopen, entry symbol, ABI major,
  /// descriptor size, name, callbacks), calling nothing but the entry symbol.
  /// @return the harness, or Code::Invalid with the agent's one-line reason ("plugin file 'x'
  /// refused: built for ABI 2.0, this agent supports ABI 1.0 to 1.0; …").
  [[nodiscard]] static Result<Harness> load(const std::string& path);

  Harness(Harness&&) noexcept;
  Harness& operator=(Harness&&) noexcept;
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;
  ~Harness();

  // --- What the plugin says about itself -----------------------------------------------------
  const std::string& file() const;
  std::string name() const;
  std::string version() const;
  std::string description() const;
  uint32_t abiMajor() const;
  uint32_t abiMinor() const;
  /// es_plugin_v1::struct_size as the plugin reports it.
  uint32_t descriptorSize() const;

  // --- Setup ---------------------------------------------------------------------------------
  /// Replaces the plugin's configuration (short keys: "inbox" for plugin.<name>.inbox).
  Harness& config(std::map<std::string, std::string> values);
  /// Sets one configuration key.
  Harness& set(const std::string& key, const std::string& value);
  /// Removes one configuration key.
  Harness& unset(const std::string& key);
  const std::map<std::string, std::string>& config() const;
  /// The office's region code the plugin sees; "MA-06" unless set. Not checked.
  Harness& region(std::string code);
  /// When true, es_host_api.cancelled() returns 1 from the start of the next runs.
  Harness& cancel(bool on = true);
  /// Makes cancelled() return 1 once the plugin has made `sink_calls` upsert/remove calls in a
  /// run (0 turns it off): tests a plugin's reaction to a stop request in the middle of a run.
  Harness& cancelAfter(uint64_t sink_calls);

  // --- Files ---------------------------------------------------------------------------------
  /// A temporary folder for this harness, created on first use; absolute.
  const std::string& tempDir();
  /// `<tempDir>/inbox`, created on first use (mode 0750), and set as config key `config_key`
  /// (the convention of ExportSync::files' inbox: plugin.<name>.inbox).
  std::string inbox(const std::string& config_key = "inbox");
  /// Writes `contents` to the inbox folder under `name` and returns its path. Calls inbox() first
  /// unless it was called already (with whichever key).
  std::string addInboxFile(const std::string& name, std::string_view contents);
  /// Copies the file at `path` into the inbox folder under its own name (as addInboxFile) and
  /// returns the new path.
  std::string copyToInbox(const std::string& path);

  // --- Runs ----------------------------------------------------------------------------------
  /// create → declare → destroy, as the agent's --list-plugins. Fails (Code::Schema or the
  /// plugin's code) with "declare() failed: …" or "declare() declared no dataset; …".
  [[nodiscard]] Result<std::vector<DatasetSpec>> describe();
  /// create → declare → configure → collect → commit (then renames) or roll back → destroy.
  RunResult run();

  // --- Durable state -------------------------------------------------------------------------
  /// The plugin's state as committed by the last successful run.
  const std::map<std::string, std::string>& state() const;
  /// Seeds or changes one state key, as if an earlier run had written it.
  Harness& putState(const std::string& key, const std::string& value);
  /// The rows committed so far in `dataset`, or nullptr when no run declared it.
  const DatasetRows* stored(std::string_view dataset) const;
  /// Forgets committed rows and state (config, region and files stay).
  void reset();

 private:
  explicit Harness(std::unique_ptr<internal::HarnessImpl> impl);
  std::string inboxForFiles();
  std::unique_ptr<internal::HarnessImpl> impl_;
};

}  // namespace exportsync::testing

namespace exportsync {
/// GoogleTest prints a Value with this (found by argument-dependent lookup): "text", 12.50, NULL.
void PrintTo(const Value& value, std::ostream* os);
}  // namespace exportsync
